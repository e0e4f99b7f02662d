"""The functional core: what a challenge is and what the procedure says happens next.

``record`` (the challenge), ``calendar`` (working days and bank holidays), ``policy`` (a
council's procedure as values), ``engine`` (events and the transitions they cause) and
``planning`` (what one form or one tick decides). Pure: no files, no clock, no
environment, no database. It may import the standard library, ``holidays``,
``formflow.errors`` and itself, nothing else of formflow (tests/test_layout.py checks).
"""
