"""The seed 003 form as councils have it: no role or legal-status boxes, filled every way.

What the form does not ask is not demanded: the role and legal status are inferred where
the form or the procedure settles them (each inference in the record with its reason),
otherwise left not stated, and asked for only by the rule that needs them (a CAFCASS
referral is only for a child in care).
"""

from __future__ import annotations

import dataclasses

import pytest
from form_builders import (
    Style,
    as_libreoffice,
    glyph_mark,
    official_form,
    seed_form,
)
from intake_cases import DATE_STYLES, OFFICIAL, SEED_ROLE, TODAY, parse, seed_values
from seed_corpus import MARKS, score, variant

from formflow.config import Settings
from formflow.core.record import Challenge, Inference, LegalStatus, Role
from formflow.errors import RejectedForm
from formflow.intake import read_form_bytes
from formflow.policy_catalogue import built_in

CORPUS_SIZE = 120
REQUIRED_ACCURACY = 0.98


def read_seed(data: bytes, policy_id: str = "rotherham") -> Challenge:
    return read_form_bytes(
        data,
        suffix=".docx",
        policies=built_in(),
        policy_id=policy_id,
        settings=Settings(),
        today=TODAY,
    )


def filled(**changes: object) -> bytes:
    values = dataclasses.replace(seed_values(DATE_STYLES["03/11/2025"]), **changes)  # type: ignore[arg-type]
    return seed_form(values)


def test_the_seed_form_as_printed_is_accepted_with_nothing_demanded() -> None:
    challenge = read_seed(filled(raised_by="Morwenna Pentreath"))
    assert challenge.raised_by.name == "Morwenna Pentreath"
    assert challenge.raised_by.role is None
    assert challenge.child.legal_status is None
    assert challenge.inferred == ()


@pytest.mark.parametrize(
    ("written", "role", "said"),
    [
        ("Morwenna Pentreath (IRO)", Role.IRO, "(IRO)"),
        ("Morwenna Pentreath - IRO", Role.IRO, "IRO"),
        ("Morwenna Pentreath, CP Chair", Role.CP_CHAIR, "CP Chair"),
        (
            "Morwenna Pentreath (Child Protection Conference Chair)",
            Role.CP_CHAIR,
            "(Child Protection Conference Chair)",
        ),
    ],
)
def test_a_role_written_after_the_name_is_inferred_and_said(
    written: str, role: Role, said: str
) -> None:
    challenge = read_seed(filled(raised_by=written))
    assert challenge.raised_by == dataclasses.replace(
        challenge.raised_by, name="Morwenna Pentreath"
    )
    assert challenge.raised_by.role is role
    assert challenge.inferred == (
        Inference("raised_by.role", role.value, f"the name in 'From' is followed by '{said}'."),
    )


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("Tegan Example (CiC)", LegalStatus.CHILD_IN_CARE),
        ("Tegan Example (LAC)", LegalStatus.CHILD_IN_CARE),
        ("Tegan Example - looked after", LegalStatus.CHILD_IN_CARE),
        ("Tegan Example (CP plan)", LegalStatus.CHILD_PROTECTION_PLAN),
        ("Tegan Example (CiC and CP plan)", LegalStatus.BOTH),
    ],
)
def test_a_status_written_after_the_childs_name_is_inferred(
    written: str, status: LegalStatus
) -> None:
    challenge = read_seed(filled(child=written))
    assert challenge.child.name == "Tegan Example"
    assert challenge.child.legal_status is status
    inference = challenge.inference("child.legal_status")
    assert inference is not None and inference.value == status.value
    assert inference.reason.startswith("the name in 'Name of Child' is followed by ")


def test_a_procedure_only_iros_use_settles_the_role_and_the_status() -> None:
    challenge = read_seed(filled(raised_by="Morwenna Pentreath"), policy_id="cic-issues")
    assert challenge.raised_by.role is Role.IRO
    assert challenge.child.legal_status is LegalStatus.CHILD_IN_CARE
    name = built_in()("cic-issues").name
    assert challenge.inferred == (
        Inference(
            "raised_by.role", "IRO", f"only IROs raise challenges under the {name} procedure."
        ),
        Inference(
            "child.legal_status",
            "child in care",
            f"the {name} procedure covers only children in care.",
        ),
    )


def test_words_on_the_form_come_before_the_procedure() -> None:
    challenge = read_seed(filled(), policy_id="cic-issues")
    assert challenge.inferred[0] == SEED_ROLE


def test_cafcass_asks_for_the_status_only_when_the_form_does_not_say() -> None:
    # ops-flowchart names no CAFCASS prerequisites, so the status is all that is asked.
    with pytest.raises(RejectedForm) as caught:
        read_seed(filled(cafcass=True), policy_id="ops-flowchart")
    assert caught.value.reasons == [
        "'At any point: CAFCASS' is ticked, but the form does not say whether the child is "
        "in care, and a CAFCASS referral is only for a child in care: tick 'Child in care' "
        "where the form has it, or write '(child in care)' after the name in 'Name of Child'."
    ]
    referred = read_seed(
        filled(cafcass=True, child="Tegan Example (child in care)"), policy_id="ops-flowchart"
    )
    assert referred.cafcass.requested
    assert referred.child.legal_status is LegalStatus.CHILD_IN_CARE


def test_the_official_form_with_no_box_ticked_is_not_stated_either() -> None:
    boxes = ("raised_by_iro", "raised_by_cp_chair", "status_child_in_care", "status_cp_plan")
    unticked = {**OFFICIAL, **dict.fromkeys(boxes, False)}
    challenge = parse(official_form(unticked, Style.CONTROLS))
    assert (challenge.raised_by.role, challenge.child.legal_status) == (None, None)


@pytest.mark.parametrize("libreoffice", [False, True], ids=["Word", "LibreOffice"])
@pytest.mark.parametrize("mark", sorted(MARKS))
def test_every_way_of_ticking_reads(mark: str, libreoffice: bool) -> None:
    data = seed_form(seed_values(DATE_STYLES["3 Nov 2025"]), mark=MARKS[mark])
    challenge = parse(as_libreoffice(data) if libreoffice else data)
    assert challenge.stage.value == "2"
    assert challenge.themes == {"placement", "drift_delay_planning"}
    assert not challenge.cafcass.requested


def test_a_mark_beside_an_empty_box_that_is_no_tick_is_not_guessed() -> None:
    data = seed_form(seed_values(DATE_STYLES["03/11/2025"]), mark=glyph_mark("☐ ?", "☐"))
    with pytest.raises(RejectedForm, match=r"'Stage 2' has '☐ \?' in its tick box"):
        parse(data)


def test_field_accuracy_over_the_corpus_is_at_least_98_percent() -> None:
    result = score([variant(n) for n in range(CORPUS_SIZE)])
    assert result.total > 25 * CORPUS_SIZE
    assert result.accuracy >= REQUIRED_ACCURACY, "\n".join(result.wrong)


def test_a_role_written_that_the_procedure_does_not_cover_is_explained() -> None:
    with pytest.raises(RejectedForm) as caught:
        read_seed(filled(raised_by="Harriet Oduya, CP Chair"), policy_id="cic-issues")
    [reason] = caught.value.reasons
    assert "is not for challenges raised by a CP chair" in reason
    assert "what is written after the name in 'From'" in reason


@pytest.mark.parametrize(
    ("written", "resolved"),
    [
        ("Resolved: the review is booked for 14 November.", True),
        ("resolved. Plan agreed at the meeting.", True),
        ("Not resolved - we do not agree the plan has drifted.", False),
        ("Unresolved: no placement is available.", False),
        ("Resolution is still being discussed.", None),
        ("Agreed to review the plan.", None),
    ],
)
def test_the_seed_forms_response_says_its_outcome_in_its_first_words(
    written: str, resolved: bool | None
) -> None:
    """The seed 003 layout has no Resolved / Not resolved boxes: its response's first
    words say the outcome, and nothing else is guessed from the text."""
    challenge = read_seed(filled(response=written))
    assert challenge.response is not None
    assert challenge.response.text == written
    assert challenge.response.resolved is resolved


def test_a_form_with_outcome_boxes_is_never_read_from_the_words() -> None:
    """On formflow's own form the boxes decide: an unticked pair stays no outcome even
    when the response begins with 'Resolved'."""
    values = {**OFFICIAL, "response_text": "Resolved: agreed.", "response_resolved": False}
    challenge = parse(official_form(values))
    assert challenge.response is not None and challenge.response.resolved is None
