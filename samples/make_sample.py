"""Make samples/stage1-challenge.docx: a fictional stage 1 challenge for the README
walk-through (``python samples/make_sample.py``). Every name here is invented."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from formflow.config import Settings
from formflow.policy_catalogue import built_in
from formflow.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage
from formflow.render import write_form

SAMPLE = Challenge(
    policy="nelincs",
    date_of_notification=dt.date.today(),
    raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
    child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
    stage=Stage.ONE,
    concern="The pathway plan has not been reviewed since the placement move in September.",
    social_worker="Ifan Jenkins",
    team="Children in Care Team 2",
    team_manager="Priya Raman",
    themes=frozenset({"drift_delay_planning", "management_oversight"}),
)

if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "stage1-challenge.docx"
    write_form(SAMPLE, built_in()("nelincs"), Settings(), target, today=dt.date.today())
    print(target)
