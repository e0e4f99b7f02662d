"""What the register says, for people: reports and the live tracking spreadsheet.

tables   open challenges, a timeline, the tracking spreadsheet's rows, a year's figures
         (pure over the records; only the child's initials and case number, never a name)
tracker  ``outbox/tracker.xlsx`` and ``tracker.csv``, rewritten after every change
subject_access  a child's own record for a subject access request: a PDF bundle (through
         render/pack.py's assembly) and a zip

It may import the core, ``config``, ``policy_catalogue``, the outbox's private writes,
the register and ``render`` (the subject access bundle's pages); the pipeline (for a
draft's initials), the dashboard and the commands import it, never the other way round.
"""
