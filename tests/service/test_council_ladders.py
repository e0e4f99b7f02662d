"""Barnet's, Nottinghamshire's and Peterborough's procedures, end to end: a form written by
``formflow new --policy COUNCIL`` and filled in as staff fill it is dropped through the real
pipeline, each response is typed into the form formflow wrote and dropped back, and the
challenge climbs the council's own ladder, under the council's names, to its top or to
resolution, with every document written on the way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from filled_forms import answer, fill_docx, fill_pdf
from formflow.cli import main
from formflow.config import load_settings
from formflow.core.engine import Status, assess, status_of
from formflow.core.record import Challenge, Stage, StageOutcome
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.pipeline.notices import read_eml
from formflow.policy_catalogue import PolicyCatalogue
from formflow.store.register import Register

AGREED_CHAIR = "agreed_service_manager_independent_chair_service"
AGREED_OPERATIONS = "agreed_service_manager_of_the_operational_social_work_team"
"""Nottinghamshire's joint level: a tick for each Service Manager's agreement."""
CONCERN = "The pathway plan has not been reviewed since the placement move in September."


def council_home(tmp_path: Path, council: str) -> Home:
    home = Home(tmp_path / council)
    home.create()
    (home.root / "formflow.toml").write_text(
        f'[council]\nname = "Fictional Borough Council"\ndefault_policy = "{council}"\n'
    )
    return home


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def raise_by_form(
    home: Home, level: str, role: str, status: str, pdf: bool = False, on: dt.date | None = None
) -> Path:
    """The IRO/CP chair's form as ``formflow new`` pre-fills it, with the concern and the
    child's team typed in (and the date of notification, where not today), dropped into
    the inbox."""
    suffix = ".pdf" if pdf else ".docx"
    draft = home.root / f"draft{suffix}"
    cli(
        "new", "--home", str(home.root), "--stage", level, "--role", role,
        "--legal-status", status, "--child-name", "Tegan Example", "--child-dob", "2014-02-09",
        "--case-number", "LCS-000123", "--raised-by", "Morwenna Pentreath", "--to",
        "Priya Raman", *(["--pdf"] if pdf else []), "-o", str(draft),
    )  # fmt: skip
    typed = {"concern": CONCERN, "social_worker": "Ifan Jenkins", "team_manager": "Priya Raman"}
    if on is not None:
        typed["date_of_notification"] = on.strftime("%d/%m/%Y")
    fill = fill_pdf if pdf else fill_docx
    return fill(draft, home.inbox / f"challenge{suffix}", typed)


@contextmanager
def pipeline_for(home: Home) -> Iterator[tuple[Pipeline, Register, PolicyCatalogue]]:
    settings = load_settings(home=home.root)
    policies = PolicyCatalogue.for_home(home.root, settings)
    with Register(home.database) as register:
        yield Pipeline(register, Services(home, settings, policies)), register, policies


def processed(pipeline: Pipeline, form: Path) -> str:
    result = pipeline.handle(form)
    assert result.outcome is Outcome.PROCESSED, result.message
    assert result.reference is not None
    return result.reference


def current(register: Register, reference: str) -> Challenge:
    challenge = register.challenge(reference)
    assert challenge is not None
    return challenge


def written(home: Home, reference: str) -> set[str]:
    return {p.name.removeprefix(f"{reference}-") for p in (home.outbox / reference).iterdir()}


def resolve(form: Path, target: Path, on: dt.date, action: str) -> Path:
    day = on.strftime("%d/%m/%Y")
    typed = {"response_text": "Agreed.", "response_by": "Priya Raman", "response_date": day}
    return fill_docx(
        form,
        target,
        typed | {"action_1": action, "action_1_by_when": day},
        ticked=("response_resolved",),
    )


def test_barnet_practice_alert_to_the_top_of_the_ladder(tmp_path: Path) -> None:
    home = council_home(tmp_path, "barnet")
    with pipeline_for(home) as (pipeline, register, policies):
        reference = processed(pipeline, raise_by_form(home, "1", "IRO", "child in care"))
        alert = current(register, reference)
        assert alert.stage == Stage("1") and alert.stage.label == "Practice Alert"
        settings = load_settings(home=home.root)
        seen = assess(alert, policies("barnet"), settings.calendar, alert.date_of_notification)
        assert seen.due == settings.calendar.add_working_days(alert.date_of_notification, 5)
        assert seen.overall_target == settings.calendar.add_working_days(
            alert.date_of_notification, 20
        )
        assert written(home, reference) == {
            f"practice-alert-form.{kind}" for kind in ("docx", "pdf", "eml")
        }

        # 'escalating the matter in dispute through a number of levels of seniority': the
        # level above is one the guide does not name, so it is shown by its place.
        form = home.outbox / reference / f"{reference}-practice-alert-form.docx"
        processed(pipeline, answer(form, home.inbox / "answer-1.docx", alert.date_of_notification))
        higher = current(register, reference)
        assert higher.stage.label == "Level 3 (name not stated)"
        assert higher.addressed_to is not None
        assert higher.addressed_to.role is None  # the source names no responder: none invented
        assert assess(higher, policies("barnet"), settings.calendar, dt.date.today()).due is None

        # The stored guide ends before saying what follows: the IRO is asked, nothing moves.
        form = home.outbox / reference / f"{reference}-level-3-name-not-stated-form.docx"
        on = higher.date_of_notification
        processed(pipeline, answer(form, home.inbox / "answer-2.docx", on))
        top = current(register, reference)
        assert top.stage == Stage("2") and status_of(top) is Status.AWAITING_RESPONSE
        assert [h.stage.label for h in top.history] == ["Practice Alert"]
        assert top.response is not None and top.response.resolved is False
        assert top.closure is None
    assert written(home, reference) >= {
        "level-3-name-not-stated-form.docx",
        "level-3-name-not-stated-form.pdf",
    }
    assert not any("cafcass" in name for name in written(home, reference))
    note = read_eml(home.outbox / reference / f"{reference}-note-to-the-iro.eml").get_content()
    assert "does not say what happens when Level 3 (name not stated) is not resolved" in note
    assert "decide with `formflow escalate`, `close` or `withdraw`" in note


def test_nottinghamshire_iro_alert_waits_for_the_iros_decision_then_resolves(
    tmp_path: Path,
) -> None:
    home = council_home(tmp_path, "nottinghamshire")
    settings = load_settings(home=home.root)
    with pipeline_for(home) as (pipeline, register, policies):
        weeks_ago = settings.calendar.next_working_day(dt.date.today() - dt.timedelta(days=35))
        form = raise_by_form(home, "1", "IRO", "child in care", on=weeks_ago)
        reference = processed(pipeline, form)
        alert = current(register, reference)
        assert alert.stage.label == "IRO Alert" and alert.date_of_notification == weeks_ago
        due = assess(alert, policies("nottinghamshire"), settings.calendar, dt.date.today()).due
        assert due == settings.calendar.add_working_days(alert.date_of_notification, 10)

        # The deadline passes: the tick reminds and tells the IRO, and does not move it on.
        after = settings.calendar.next_working_day(due + dt.timedelta(days=1))
        cli("tick", "--home", str(home.root), "--today", after.isoformat())
        reminder = read_eml(home.outbox / reference / f"{reference}-response-overdue.eml")
        assert "Priya Raman" in str(reminder["To"]) and "Morwenna Pentreath" in str(reminder["Cc"])
        assert "does not move on by itself" in reminder.get_content()
        waiting = current(register, reference)
        assert waiting.stage == Stage("1") and status_of(waiting) is Status.AWAITING_RESPONSE
        assert assess(waiting, policies("nottinghamshire"), settings.calendar, after).overdue
        # The next chase reminds nobody again, and says it is still waiting, not that
        # nothing is overdue.
        again = cli("tick", "--home", str(home.root), "--today", after.isoformat())
        assert "Nothing is overdue" not in again
        assert f"{reference}  IRO Alert response overdue since" in again
        assert "waiting for the IRO's decision" in again

        # The IRO decides to escalate.
        cli(
            "escalate", reference, "--home", str(home.root), "--on", after.isoformat(),
            "--by", "Morwenna Pentreath, IRO", "--reason", "No response to the IRO Alert.",
        )  # fmt: skip
        formal = current(register, reference)
        assert formal.stage.label == "Formal Dispute Resolution"
        assert [h.outcome for h in formal.history] == [StageOutcome.ESCALATED]

        form = home.outbox / reference / f"{reference}-formal-dispute-resolution-form.docx"
        processed(pipeline, resolve(form, home.inbox / "resolved.docx", after, "Hold the review"))
        assert status_of(current(register, reference)) is Status.RESOLVED
    assert written(home, reference) >= {
        "iro-alert-form.docx",
        "formal-dispute-resolution-form.docx",
        "formal-dispute-resolution-form.pdf",
        "final-record.docx",
    }


def test_peterborough_cp_chair_from_discussion_to_management_alert(tmp_path: Path) -> None:
    home = council_home(tmp_path, "peterborough")
    settings = load_settings(home=home.root)
    with pipeline_for(home) as (pipeline, register, policies):
        form = raise_by_form(home, "informal", "CP chair", "child protection plan", pdf=True)
        reference = processed(pipeline, form)
        talk = current(register, reference)
        assert talk.stage.label == "Discussion with the Social Worker"
        seen = assess(talk, policies("peterborough"), settings.calendar, dt.date.today())
        assert seen.due is None and not seen.overdue  # the agreed date is not on the form

        form = home.outbox / reference / f"{reference}-discussion-with-the-social-worker-form.docx"
        processed(pipeline, answer(form, home.inbox / "answer-1.docx", talk.date_of_notification))
        alert = current(register, reference)
        assert alert.stage.label == "Case Alert"

        on = alert.date_of_notification
        form = home.outbox / reference / f"{reference}-case-alert-form.docx"
        processed(pipeline, resolve(form, home.inbox / "resolved.docx", on, "Visit the child"))
        assert status_of(current(register, reference)) is Status.RESOLVED

        # The agreed action was not carried out. The procedure does not say where the
        # challenge goes then, so re-opening it on the final record asks the CP chair to
        # choose the level, and the CP chair does.
        final = home.outbox / reference / f"{reference}-final-record.docx"
        reopen = fill_docx(
            final,
            home.inbox / "reopen.docx",
            {"iro_decision_reason": "The visit did not take place."},
            ticked=("iro_decision_reopen",),
        )
        asked = pipeline.handle(reopen)
        assert asked.outcome is Outcome.REJECTED
        assert "give the level with `formflow reopen --stage LEVEL`" in asked.message
        cli(
            "reopen", reference, "--stage", "2", "--by", "Morwenna Pentreath, CP chair",
            "--reason", "The visit did not take place.", "--home", str(home.root),
        )  # fmt: skip
        management = current(register, reference)
        assert management.stage.label == "Management Alert"
        assert management.history[-1].outcome is StageOutcome.ACTIONS_NOT_IMPLEMENTED

        form = home.outbox / reference / f"{reference}-management-alert-form.docx"
        on = management.date_of_notification
        processed(pipeline, answer(form, home.inbox / "answer-2.docx", on))
        # Nothing above the Management Alert is stated: the CP chair is asked, and closes it.
        assert status_of(current(register, reference)) is Status.AWAITING_RESPONSE
        cli(
            "close", reference, "--by", "Morwenna Pentreath, CP chair",
            "--reason", "No further level in the procedure.", "--home", str(home.root),
        )  # fmt: skip
        assert status_of(current(register, reference)) is Status.CLOSED_UNRESOLVED
    assert written(home, reference) >= {
        "case-alert-form.pdf",
        "final-record.pdf",
        "management-alert-form.docx",
        "management-alert-form.pdf",
        "closure-note.eml",
        "closure-note.pdf",
    }


def test_nottinghamshire_cp_chair_ladder_through_its_own_forms(tmp_path: Path) -> None:
    """The CP chairs' ladder, which no form could carry before the form followed the
    procedure: the CPC Alert raised on the council's own form, bypassed to the Service
    Managers for a child at immediate risk, whose joint level resolves only with both
    agreements ticked on the form formflow wrote."""
    home = council_home(tmp_path, "nottinghamshire")
    form = raise_by_form(home, "cpc-alert", "CP chair", "child protection plan")
    with pipeline_for(home) as (pipeline, register, _):
        reference = processed(pipeline, form)
        challenge = current(register, reference)
        assert challenge.stage == Stage("cpc-alert") and challenge.stage.label == "CPC Alert"
        assert "cpc-alert-form.docx" in written(home, reference)
        sent = home.outbox / reference / f"{reference}-cpc-alert-form.docx"
        cli(
            "escalate", reference, "--by", "Morwenna Pentreath, CP chair", "--reason",
            "Immediate risk of harm at the conference.", "--home", str(home.root),
        )  # fmt: skip
        challenge = current(register, reference)
        assert challenge.stage.label == "Service Managers informed"
        assert challenge.history[-1].outcome is StageOutcome.ESCALATED
        joint = home.outbox / reference / f"{reference}-service-managers-informed-form.docx"
        day = dt.date.today().strftime("%d/%m/%Y")
        typed = {"response_text": "Agreed.", "response_by": "Priya Raman", "response_date": day}
        one = fill_docx(joint, home.inbox / "one.docx", typed, ("response_resolved", AGREED_CHAIR))
        refused = pipeline.handle(one)
        assert refused.outcome is Outcome.REJECTED
        assert "does not record the agreement of" in refused.message
        both = fill_docx(
            joint,
            home.inbox / "both.docx",
            typed,
            ("response_resolved", AGREED_CHAIR, AGREED_OPERATIONS),
        )
        processed(pipeline, both)
        assert status_of(current(register, reference)) is Status.RESOLVED
        assert sent.is_file()
