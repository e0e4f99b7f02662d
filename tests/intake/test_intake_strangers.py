"""Real .docx and PDF files that are not challenge forms: each rejected with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from intake_cases import STRANGERS, TODAY

from formflow.errors import RejectedForm
from formflow.intake import read_form
from formflow.policy_catalogue import built_in


def strangers() -> list[Path]:
    # A missing corpus must fail the run, never skip it: CI keeps shared/ beside the repo.
    assert STRANGERS.is_dir(), f"the strangers corpus is missing: expected it at {STRANGERS}"
    found = sorted(p for p in STRANGERS.iterdir() if p.suffix in (".docx", ".pdf"))
    assert found, f"the strangers corpus at {STRANGERS} holds no .docx or .pdf files"
    return found


@pytest.mark.parametrize("path", strangers(), ids=lambda p: p.name)
def test_stranger_is_rejected_with_a_reason(path: Path) -> None:
    with pytest.raises(RejectedForm) as caught:
        read_form(path, policies=built_in(), today=TODAY)
    assert caught.value.reasons
    assert all(
        reason.endswith(".") and "Traceback" not in reason for reason in caught.value.reasons
    )


def test_the_password_protected_stranger_says_so() -> None:
    with pytest.raises(RejectedForm) as caught:
        read_form(
            STRANGERS / "pdf-libreoffice-writer-password.pdf", policies=built_in(), today=TODAY
        )
    assert "protected with a password" in caught.value.reasons[0]
