"""A next-stage form lists its earlier stages under the council's own level names, as
formflow writes them; reading it back matches them to the procedure's levels."""

from __future__ import annotations

import pytest
from form_builders import official_form
from intake_cases import NEXT_STAGE, parse

from formflow.core.record import Stage
from formflow.errors import RejectedForm

UNDER_PETERBOROUGH = {**NEXT_STAGE, "policy": "peterborough"}


@pytest.mark.parametrize("written", ["Case Alert", "CASE ALERT", "Stage 1", "1"])
def test_an_earlier_level_is_read_by_its_name_or_its_number(written: str) -> None:
    challenge = parse(official_form({**UNDER_PETERBOROUGH, "history_1_stage": written}, history=1))
    assert challenge.history[0].stage == Stage("1")
    assert challenge.history[0].stage.label == "Case Alert"
    assert challenge.stage.label == "Management Alert"


def test_an_earlier_level_the_procedure_does_not_have_is_named_with_its_choices() -> None:
    form = official_form({**UNDER_PETERBOROUGH, "history_1_stage": "Practice Alert"}, history=1)
    with pytest.raises(RejectedForm) as caught:
        parse(form)
    assert (
        "'Stage' in earlier stage 1 has 'Practice Alert': write one of Discussion with the "
        "Social Worker, Case Alert or Management Alert."
    ) in caught.value.reasons
