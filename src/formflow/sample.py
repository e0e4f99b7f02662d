"""The fictional sample challenge for a first run (``formflow new --sample``; ``make run``
writes it to ``samples/stage1-challenge.docx``). Every name in it is invented.

It is dated the day it is made, so the first challenge a newcomer drops into the inbox
is due five working days later, not already overdue."""

from __future__ import annotations

import datetime as dt

from formflow.core.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage


def sample_challenge(today: dt.date) -> Challenge:
    """A stage 1 challenge under ``nelincs``, raised on ``today``, with no reference yet
    (formflow gives one when the form arrives)."""
    return Challenge(
        policy="nelincs",
        date_of_notification=today,
        raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
        child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
        stage=Stage.ONE,
        concern=("The pathway plan has not been reviewed since the placement move in September."),
        social_worker="Ifan Jenkins",
        team="Children in Care Team 2",
        team_manager="Priya Raman",
        themes=frozenset({"drift_delay_planning", "management_oversight"}),
    )
