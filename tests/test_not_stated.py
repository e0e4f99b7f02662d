"""A role or legal status the form did not state: never held against a challenge, asked for
only by the rule that needs it (a CAFCASS referral), filled in when a later form states it,
and shown as "Not stated" (or with the reason it was inferred) on every document."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import make_challenge
from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import (
    CloseUnresolved,
    Document,
    Raise,
    RequestCafcass,
    Respond,
    Status,
    apply,
    assess,
    status_of,
    with_form_updates,
)
from formflow.core.record import (
    Cafcass,
    Challenge,
    Inference,
    LegalStatus,
    RaisedBy,
    Role,
    Stage,
)
from formflow.errors import TransitionError
from formflow.intake import read_form
from formflow.pipeline.notices import RAISER_NOT_STATED, recipients_for
from formflow.policy_catalogue import built_in
from formflow.render import write_next_stage
from formflow.render.context import next_stage_summary
from formflow.render.model import IN_CARE_NOT_STATED, checklist, closure_note

CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)
PREREQUISITES_MET = Cafcass(
    prerequisites={"iro_manager_consulted": MON, "nominated_officer_informed": MON}
)
ROLE_INFERRED = Inference("raised_by.role", "IRO", "the name in 'From' is followed by '(IRO)'.")


def unstated(**overrides: object) -> Challenge:
    """A challenge read from a seed 003 form that said neither role nor status."""
    base = make_challenge(policy="nelincs", cafcass=PREREQUISITES_MET, **overrides)
    return replace(
        base,
        raised_by=RaisedBy(base.raised_by.name, None),
        child=replace(base.child, legal_status=None),
    )


def at_top(challenge: Challenge) -> Challenge:
    policy = built_in()(challenge.policy)
    state = apply(challenge, Raise(Stage.FOUR, MON), policy, CALENDAR).challenge
    return apply(state, Respond(MON, resolved=False), policy, CALENDAR).challenge


def test_a_challenge_with_nothing_stated_is_raised_and_escalated() -> None:
    policy = built_in()("nelincs")
    state = apply(unstated(), Raise(Stage.ONE, MON), policy, CALENDAR).challenge
    moved = apply(state, Respond(MON, resolved=False), policy, CALENDAR).challenge
    assert moved.stage == Stage.TWO


def test_cafcass_is_asked_for_the_status_and_granted_once_stated() -> None:
    considering = at_top(unstated())
    assert status_of(considering) is Status.CAFCASS_CONSIDERATION
    with pytest.raises(TransitionError, match="does not say whether this child is in care"):
        apply(considering, RequestCafcass(MON), built_in()("nelincs"), CALENDAR)
    stated = replace(considering.child, legal_status=LegalStatus.CHILD_IN_CARE)
    referred = apply(
        replace(considering, child=stated),
        RequestCafcass(MON),
        built_in()("nelincs"),
        CALENDAR,
    )
    assert status_of(referred.challenge) is Status.REFERRED_TO_CAFCASS


def test_the_top_of_the_ladder_says_the_status_is_needed() -> None:
    policy = built_in()("nelincs")
    state = apply(unstated(), Raise(Stage.FOUR, MON), policy, CALENDAR).challenge
    transition = apply(state, Respond(MON, resolved=False), policy, CALENDAR)
    assert transition.documents == (Document.CAFCASS_PACK,)
    assert "does not say whether the child is in care" in transition.message


@given(
    role=st.sampled_from([None, *Role]),
    status=st.sampled_from([None, *LegalStatus]),
    later_role=st.sampled_from([None, *Role]),
    later_status=st.sampled_from([None, *LegalStatus]),
)
def test_a_later_form_fills_only_what_the_record_did_not_state(
    role: Role | None,
    status: LegalStatus | None,
    later_role: Role | None,
    later_status: LegalStatus | None,
) -> None:
    previous = unstated()
    previous = replace(
        previous,
        raised_by=RaisedBy("Morwenna Pentreath", role),
        child=replace(previous.child, legal_status=status),
    )
    incoming = replace(
        previous,
        raised_by=RaisedBy("Morwenna Pentreath", later_role),
        child=replace(previous.child, legal_status=later_status),
        inferred=(ROLE_INFERRED,) if later_role is Role.IRO else (),
    )
    merged = with_form_updates(previous, incoming)
    assert merged.raised_by.role == (role or later_role)
    assert merged.child.legal_status == (status or later_status)
    assert merged.inferred == ((ROLE_INFERRED,) if role is None and later_role is Role.IRO else ())


def test_documents_say_not_stated_and_why_a_value_was_inferred() -> None:
    challenge = replace(
        at_top(unstated()),
        raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
        inferred=(ROLE_INFERRED,),
    )
    policy = built_in()("nelincs")
    rows = {
        r.label: r.value for r in checklist(challenge, policy, "Northtown", (), "d.docx").summary
    }
    assert rows["Legal status"] == "Not stated"
    assert rows["Raised by"] == (
        "Morwenna Pentreath (IRO) (inferred: the name in 'From' is followed by '(IRO)'.)"
    )
    pack = checklist(challenge, policy, "Northtown", (), "d.docx")
    assert pack.banner.startswith(IN_CARE_NOT_STATED)


def test_the_next_stage_form_and_closure_note_show_what_is_not_stated() -> None:
    policy = built_in()("nelincs")
    state = apply(unstated(), Raise(Stage.ONE, MON), policy, CALENDAR).challenge
    summary = next_stage_summary(state, policy, assess(state, policy, CALENDAR, MON))
    shown = {r.label: r.value for r in summary}
    assert shown["Legal status"] == "Not stated"
    assert shown["Raised by"].endswith("(role not stated)")
    note = closure_note(
        apply(at_top(unstated()), CloseUnresolved(MON, "No referral."), policy, CALENDAR).challenge,
        policy,
        "Northtown",
    )
    assert {r.label: r.value for r in note.summary}["Legal status"] == "Not stated"
    assert "considered a referral to CAFCASS" in note.sections[-1].paragraphs[0]


def test_a_notice_to_a_raiser_whose_role_is_not_stated_goes_to_either_role() -> None:
    challenge = at_top(unstated())
    recipients = recipients_for(Document.CAFCASS_PACK, challenge, built_in()("nelincs"))
    assert [r.role for r in recipients.to] == [RAISER_NOT_STATED]


@pytest.mark.parametrize("pdf", [False, True], ids=["Word", "PDF"])
def test_a_next_stage_form_for_an_unstated_record_reads_back_unstated(
    tmp_path: Path, pdf: bool
) -> None:
    """Its role and status boxes are left empty, and an empty box demands nothing."""
    policy = built_in()("nelincs")
    state = apply(unstated(), Raise(Stage.ONE, MON), policy, CALENDAR).challenge
    assessment = assess(state, policy, CALENDAR, MON)
    written = write_next_stage(
        state, policy, Settings(), tmp_path, today=MON, assessment=assessment
    )
    form = next(p for p in written if p.suffix == (".pdf" if pdf else ".docx"))
    read = read_form(form, policies=built_in(), settings=Settings(), today=MON)
    assert (read.raised_by.role, read.child.legal_status, read.inferred) == (None, None, ())
    assert read.reference == state.reference
