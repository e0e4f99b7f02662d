"""The dashboard's retention page: what may be disposed of and what is held, for
signed-in users only, by reference and never by the child's name."""

from __future__ import annotations

from pathlib import Path

from web_support import CHILD, NOW, RESOLVED, make_site, sign_in

from formflow.config import Settings
from formflow.store.register import Register
from formflow.store.retention import place_hold

RULES = {
    "retention": {"rule": [{"name": "Resolved: at once (test)", "from": "closure", "years": 0}]}
}


def test_the_page_lists_what_is_due_and_what_is_held(tmp_path: Path) -> None:
    site = make_site(tmp_path, Settings(raw=RULES))
    client = site.client()
    assert client.get("/retention").status_code == 302  # signed out: to the sign-in page
    sign_in(client)
    page = client.get("/retention").get_data(as_text=True)
    assert RESOLVED in page and "Resolved: at once (test)" in page and "6 Nov 2025" in page
    assert CHILD not in page
    with Register(site.home.register) as register:
        place_hold(register, None, reason="Public inquiry", by="Ada Lovell", at=NOW)
    page = client.get("/retention").get_data(as_text=True)
    assert "Nothing is due for disposal." in page and "Every record" in page


def test_the_page_says_when_retention_is_not_configured(tmp_path: Path) -> None:
    client = make_site(tmp_path).client()
    sign_in(client)
    assert "Retention is not configured" in client.get("/retention").get_data(as_text=True)
