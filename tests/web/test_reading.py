"""The dashboard as its readers read it: the challenge's timeline in people's words, the
CAFCASS table only where CAFCASS is in question, the annual figures adding up, duplicate
drops apart from errors; checked in the HTML each page sends."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
from browser import available, chromium, served
from click.testing import CliRunner
from flask.testing import FlaskClient
from web_support import (
    FAST_HASHER,
    HOSTILE,
    NOW,
    PASSWORD,
    TODAY,
    USER,
    Site,
    make_site,
    sign_in,
)

from conftest import make_challenge
from filled_forms import fill_docx
from formflow.cli import main
from formflow.config import Settings
from formflow.core.calendar import uk_date
from formflow.core.engine import assess
from formflow.core.record import Challenge, Closure, ClosureKind, RaisedBy, Role
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.web.accounts import Accounts, SignInLimiter
from formflow.web.app import create_app


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
    with Register(site.home.register) as register:
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


def test_the_open_list_names_each_procedure_as_its_forms_do(site: Site) -> None:
    with Register(site.home.register) as register:
        ids = {c.policy for c in register.challenges() if c.closure is None}
    named = {id: built_in()(id).name for id in ids}
    html = page(site, "/")
    cells = {read(cell) for cell in re.findall(r"<td>([^<]*)</td>", html)}
    assert set(named.values()) <= cells and not ids & cells
    offered = re.findall(r'<option value="([^"]+)"\s*>([^<]+)</option>', html)
    assert {(id, unescape(name)) for id, name in offered if id in ids} == set(named.items())


# --- a challenge's life through real forms, read on its page --------------------------

CALENDAR = Settings().calendar


@dataclass(frozen=True)
class Life:
    home: Home
    reference: str
    stage_2_due: dt.date
    extended_to: dt.date
    actions_due: tuple[dt.date, dt.date]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def outbox_form(home: Home, reference: str, name: str) -> Path:
    return home.outbox / reference / f"{reference}-{name}"


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Life:
    """With the commands a council uses: the sample form raised today and processed;
    resolved at Stage 1 with two agreed actions; re-opened by the IRO on the final record,
    which is then processed a second time; Stage 2's deadline extended."""
    root = tmp_path_factory.mktemp("life")
    home, at = Home(root), ["--home", str(root)]
    today = dt.date.today()
    actions_due = (CALENDAR.add_working_days(today, 10), CALENDAR.add_working_days(today, 12))
    sample = root / "sample.docx"
    run("new", "--sample", *at, "-o", str(sample))
    reference = run("process", *at, str(sample)).split()[-1]
    resolved = fill_docx(
        outbox_form(home, reference, "stage-1-form.docx"),
        root / "resolved.docx",
        {
            "response_text": "Agreed.",
            "response_by": "Priya Raman",
            "response_date": f"{today:%d/%m/%Y}",
            "action_1": "Hold the review",
            "action_1_by_when": f"{actions_due[0]:%d/%m/%Y}",
            "action_2": "Update the pathway plan",
            "action_2_by_when": f"{actions_due[1]:%d/%m/%Y}",
        },
        ticked=("response_resolved",),
    )
    run("process", *at, str(resolved))
    reopened = fill_docx(
        outbox_form(home, reference, "final-record.docx"),
        root / "reopen.docx",
        {
            "iro_decision_reason": "The review was not held.",
            "iro_decision_date": f"{today:%d/%m/%Y}",
        },
        ticked=("iro_decision_reopen",),
    )
    run("process", *at, str(reopened))
    (root / "again").mkdir()
    again = root / "again" / "reopen.docx"
    again.write_bytes(reopened.read_bytes())
    run("process", *at, str(again))  # the same form saved into the inbox again
    with Register(home.database) as register:
        due = register.deadlines(reference)["response"]
    extended = CALENDAR.add_working_days(due, 5)
    who = ["--by", "Morwenna Pentreath", "--reason", "manager on leave"]
    run("extend", reference, "--to", extended.isoformat(), *who, *at)
    return Life(home, reference, due, extended, actions_due)


def signed_in(home: Home) -> FlaskClient:
    accounts = Accounts(home.var / "users.db", hasher=FAST_HASHER)
    if not accounts.exists(USER):
        accounts.add(USER, PASSWORD)
    app = create_app(home, Settings(), accounts=accounts, limiter=SignInLimiter(accounts))
    app.config["TESTING"] = True
    client = app.test_client()
    assert sign_in(client) == 302
    return client


def read(html: str) -> str:
    """Markup as a reader sees it: the text, with whitespace as one space."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def timeline_rows(html: str) -> list[list[str]]:
    """The timeline's rows, each cell's text."""
    table = html[html.index('<table class="timeline">') :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return [
        [read(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_the_timeline_tells_each_event_once_in_peoples_words_and_uk_dates(life: Life) -> None:
    html = signed_in(life.home).get(f"/challenges/{life.reference}").get_data(as_text=True)
    rows = timeline_rows(html)
    assert len(rows) == 5, rows  # one line per event: a form's file event is not repeated
    said = [what for _when, what, _who, _why in rows]
    assert said[0].startswith("Form received: Raised at Stage 1 with the Team Manager")
    assert said[1].startswith("Form received: Resolved at Stage 1")
    assert said[2].startswith("Form received: Agreed actions from Stage 1 not implemented")
    assert said[3].startswith("The same file (reopen.docx) was saved into the inbox again.")
    assert said[4] == (
        f"Stage 2 response deadline extended from {uk_date(life.stage_2_due)} to "
        f"{uk_date(life.extended_to)}: manager on leave. "
        "Stage 2 form for the Service Manager written."
    )
    assert rows[4][2:] == ["Morwenna Pentreath", ""]  # the reason is in what happened
    assert [why for *_, why in rows][:3] == [
        "file: sample.docx",
        "file: resolved.docx",
        "file: reopen.docx",
    ]
    today = uk_date(dt.date.today())
    assert all(re.fullmatch(rf"{today}, \d\d:\d\d", when) for when, *_ in rows)
    words = " ".join(" ".join(row) for row in rows)
    assert not re.search(r"\btransition\b|\bfile processed\b|\d{4}-\d\d-\d\d", words)


def test_the_timeline_names_the_stage_of_each_form_written(life: Life) -> None:
    html = signed_in(life.home).get(f"/challenges/{life.reference}").get_data(as_text=True)
    said = [what for _when, what, _who, _why in timeline_rows(html)]
    assert said[0].endswith(". Stage 1 form for the Team Manager written.")
    assert said[1].endswith(". Final record written.")
    assert said[2].endswith(". Stage 2 form for the Service Manager written.")
    assert "written" not in said[3]  # the same file again wrote nothing
    assert said[4].endswith(". Stage 2 form for the Service Manager written.")
    assert not any("next-stage form" in line.lower() for line in said)


def test_a_form_replaced_by_a_newer_copy_is_listed_as_such_with_no_dead_link(
    life: Life,
) -> None:
    client = signed_in(life.home)
    html = client.get(f"/challenges/{life.reference}").get_data(as_text=True)
    documents = html[html.index('<ul class="documents">') :]
    documents = documents[: documents.index("</ul>")]
    links = re.findall(r'href="([^"]+)"', documents)
    assert links and not any("superseded" in link for link in links)
    said = read(documents)
    assert f"{life.reference}-stage-2-form.pdf (next-stage form, " in said, said
    assert f"replaced by a newer one; kept in outbox/{life.reference}/superseded/" in said, said


def test_a_reopened_challenge_still_shows_what_the_earlier_stage_agreed(life: Life) -> None:
    html = signed_in(life.home).get(f"/challenges/{life.reference}").get_data(as_text=True)
    actions = read(html[html.index("<h2>Agreed actions</h2>") : html.index("<h2>CAFCASS pack")])
    assert "No actions have been agreed." not in actions
    first, second = (uk_date(d) for d in life.actions_due)
    ended = "Stage 1 ended: actions not implemented"
    assert f"Hold the review Stage 1 {first} {ended}" in actions
    assert f"Update the pathway plan Stage 1 {second} {ended}" in actions


def test_no_cafcass_table_while_no_referral_is_in_question(life: Life) -> None:
    html = signed_in(life.home).get(f"/challenges/{life.reference}").get_data(as_text=True)
    assert "MISSING" not in html
    assert "No referral to Cafcass Legal has been asked for or is being considered." in html


def test_a_form_saved_again_is_not_listed_as_an_error_to_correct(life: Life) -> None:
    html = signed_in(life.home).get("/rejected").get_data(as_text=True)
    assert html.count("reopen.docx") == 1
    heading = "<h2>Copies of forms already processed</h2>"
    errors, copies = html[: html.index(heading)], html[html.index(heading) :]
    assert "There are no rejected files." in errors
    assert "reopen.docx" in copies and f">{life.reference}</a>" in copies


# --- in a real browser: nothing cut off, references on one line -----------------------

LONG_TEAM = "Children in Care and Care Leavers Team (North Locality, Grimsby and the Wolds)"


@pytest.mark.slow
@pytest.mark.skipif(
    not available(), reason="chromium and chromium-driver (make test installs them)"
)
def test_chart_labels_are_whole_and_references_never_wrap_in_a_browser(site: Site) -> None:
    from selenium.webdriver.common.by import By

    register_more(
        site,
        make_challenge(
            reference="PC-2025-LLLLLL",
            team=LONG_TEAM,
            raised_by=RaisedBy("Morwenna Pentreath-Llewellyn-Ap-Gwynfor " * 2, Role.IRO),
            themes=frozenset({"voice_of_child", "care_plan"}),
            concern=f"Long and hostile: {HOSTILE}",
        ),
    )
    with served(site.home.root) as url, chromium(site.home.root / "downloads") as driver:
        driver.set_window_size(1024, 800)  # type: ignore[attr-defined]
        driver.get(url)  # type: ignore[attr-defined]
        driver.find_element(By.ID, "name").send_keys(USER)  # type: ignore[attr-defined]
        password = driver.find_element(By.ID, "password")  # type: ignore[attr-defined]
        password.send_keys(PASSWORD)
        password.submit()
        driver.get(f"{url}report?year=2025")  # type: ignore[attr-defined]
        lefts = driver.execute_script(  # type: ignore[attr-defined]
            "return [...document.querySelectorAll('svg.chart text')]"
            ".map(t => [t.textContent, t.getBBox().x])"
        )
        assert "Inadequate voice of the child/young person" in [label for label, _ in lefts]
        assert [label for label, x in lefts if x < 0] == []
        driver.get(url)  # type: ignore[attr-defined]
        lines = driver.execute_script(  # type: ignore[attr-defined]
            "return [...document.querySelectorAll('table.challenges th[scope=row] a')]"
            ".map(a => [a.textContent, a.getClientRects().length])"
        )
        assert ["PC-2025-LLLLLL", 1] in lines
        assert [reference for reference, count in lines if count != 1] == []
