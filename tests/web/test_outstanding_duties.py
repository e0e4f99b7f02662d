"""A duty to record that the procedure names is shown on the challenge's page until the
form gives the date it was done (issue 24 part 2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from web_support import NOW, TODAY, make_site, sign_in

from conftest import make_challenge
from formflow.config import Settings
from formflow.core.engine import Raise, apply, assess
from formflow.core.record import Stage
from formflow.policy_catalogue import built_in
from formflow.store.register import Register

REFERENCE = "PC-2025-D7TY4K"
PETERBOROUGH = built_in()("peterborough")
DUTY = (
    "Outstanding at Case Alert: the Case Alert is entered into the Case Alert spreadsheet. "
    "Give the date it was done in"
)


def test_a_duty_to_record_is_outstanding_on_the_page_until_its_date_is_given(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path)
    raised = apply(
        make_challenge(reference=REFERENCE, policy="peterborough"),
        Raise(Stage("1"), dt.date(2025, 11, 3)),
        PETERBOROUGH,
        Settings().calendar,
    ).challenge
    pages = []
    for challenge in (raised, replace(raised, details={"recorded_1_1": "2025-11-04"})):
        with Register(site.home.register) as register:
            seen = assess(challenge, PETERBOROUGH, Settings().calendar, TODAY)
            register.save_challenge(challenge, seen, NOW)
        client = site.client()
        sign_in(client)
        pages.append(client.get(f"/challenges/{REFERENCE}").get_data(as_text=True))
    before, after = pages
    assert DUTY in before.replace("&#39;", "'")
    assert "Outstanding" not in after
