"""The dashboard as its readers read it: the challenge's timeline in people's words, the
CAFCASS table only where CAFCASS is in question, the annual figures adding up, duplicate
drops apart from errors; checked in the HTML each page sends."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest
from web_support import NOW, OVERDUE, TODAY, Site, make_site, sign_in

from conftest import make_challenge
from formflow.config import Settings
from formflow.core.engine import assess
from formflow.core.record import Challenge, Closure, ClosureKind
from formflow.policy_catalogue import built_in
from formflow.store.register import Register


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


def page(site: Site, path: str) -> str:
    client = site.client()
    sign_in(client)
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def register_more(site: Site, *challenges: Challenge) -> None:
    with Register(site.home.database) as register:
        for c in challenges:
            assessed = assess(c, built_in()(c.policy), Settings().calendar, TODAY)
            register.save_challenge(c, assessed, NOW)


def table_after(html: str, heading: str) -> list[tuple[str, int]]:
    """The (label, number) rows of the first table after ``heading``."""
    section = html[html.index(f"<h2>{heading}</h2>") :]
    table = section[: section.index("</table>")]
    rows = re.findall(r'<th scope="row">([^<]*)</th><td>(\d+)</td>', table)
    return [(unescape(label), int(n)) for label, n in rows]


def test_where_they_ended_adds_up_to_the_challenges_raised(site: Site) -> None:
    register_more(
        site,
        *(
            make_challenge(reference=reference, closure=Closure(TODAY, kind, "Ended."))
            for reference, kind in (
                ("PC-2025-WWWWWW", ClosureKind.WITHDRAWN),
                ("PC-2025-MMMMMM", ClosureKind.MERGED),
            )
        ),
    )
    html = page(site, "/report?year=2025")
    found = re.search(r"<dt>Raised</dt><dd>(\d+)</dd>", html)
    assert found is not None
    raised = int(found.group(1))
    ended = dict(table_after(html, "Where they ended"))
    assert raised == 6
    assert ended["Withdrawn"] == 1 and ended["Merged into another challenge"] == 1
    assert sum(ended.values()) == raised
    chart = html[html.index("<h2>Where they ended</h2>") :]
    assert ">Withdrawn</text>" in chart[: chart.index("</svg>")]
