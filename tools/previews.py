"""Refresh the previews in ``docs/images/`` (the README links them) from the current
documents: the first page of each document kind, the CAFCASS bundle's index and one
bundled page, drawn by poppler's ``pdftoppm`` at 100 dpi. Every name is fictional.

    .venv/bin/python tools/previews.py
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from formflow.config import load_settings
from formflow.core.engine import ActionsNotImplemented, Respond, apply, assess
from formflow.core.record import Action, Closure, ClosureKind, Person
from formflow.policy_catalogue import built_in
from formflow.render import (
    write_cafcass_pack,
    write_closure_note,
    write_final_record,
    write_form,
    write_next_stage,
)
from formflow.resources import templates_dir
from formflow.sample import sample_challenge

REPOSITORY = Path(__file__).resolve().parents[1]
IMAGES = REPOSITORY / "docs" / "images"
RAISED = dt.date(2026, 11, 2)  # fixed, so the previews change only when the layout does


def documents(folder: Path) -> dict[str, tuple[Path, int]]:
    """Each preview's name, and the PDF and page it shows."""
    settings = load_settings(REPOSITORY / "formflow.example.toml")
    policy = built_in()("nelincs")
    calendar = settings.calendar
    start = replace(
        sample_challenge(RAISED),
        reference="PC-2026-7KQ3XM",
        addressed_to=Person("Priya Raman", "Team Manager"),
        actions=(Action("Review the pathway plan", dt.date(2026, 11, 20), "Ifan Jenkins"),),
    )
    answer = Respond(dt.date(2026, 11, 5), False, "We cannot agree the plan yet.", "Priya Raman")
    stage_two = apply(start, answer, policy, calendar).challenge
    stage_two = replace(stage_two, addressed_to=Person("Sam Okafor", "Service Manager"))
    plan = (Action("Hold the pathway plan review", dt.date(2026, 11, 24), "Ifan Jenkins"),)
    agreed = Respond(dt.date(2026, 11, 10), True, "Review agreed.", "Sam Okafor", actions=plan)
    resolved = apply(stage_two, agreed, policy, calendar).challenge
    not_held = ActionsNotImplemented(dt.date(2026, 11, 25), "The pathway plan review was not held.")
    reopened = apply(resolved, not_held, policy, calendar).challenge
    closed = replace(
        stage_two,
        closure=Closure(
            dt.date(2026, 12, 1), ClosureKind.CLOSED_UNRESOLVED, "Stage 4 not resolved."
        ),
    )
    today = dt.date(2026, 11, 6)
    supplied = folder / "supplied"
    supplied.mkdir()
    write_form(start, policy, settings, supplied / "1 Care Order.pdf", today=today, pdf=True)
    out = folder / "out"
    pdf = {
        "stage-2-form": write_next_stage(
            stage_two,
            policy,
            settings,
            out,
            today=today,
            assessment=assess(stage_two, policy, settings.calendar, today),
        )[1],
        "reopened-form": write_next_stage(
            reopened,
            policy,
            settings,
            out / "reopened",
            today=dt.date(2026, 11, 25),
            assessment=assess(reopened, policy, settings.calendar, dt.date(2026, 11, 25)),
        )[1],
        "final-record": write_final_record(resolved, policy, settings, out, today=today)[1],
        "closure-note": write_closure_note(closed, policy, settings, out, today=today)[1],
    }
    pack = write_cafcass_pack(stage_two, policy, settings, out, today=today, supplied=supplied)
    checklist = next(p for p in pack if p.name.endswith("checklist.pdf"))
    bundle = next(p for p in pack if p.name.endswith("bundle.pdf"))
    return {
        "blank-form": (templates_dir() / "challenge-form.pdf", 1),
        **{name: (path, 1) for name, path in pdf.items()},
        "cafcass-checklist": (checklist, 1),
        "cafcass-bundle": (bundle, 1),
        "cafcass-bundle-page": (bundle, 2),
    }


def main() -> int:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm (poppler-utils) is missing: `make system-packages` installs it.")
        return 1
    with tempfile.TemporaryDirectory() as folder:
        for name, (pdf, page) in documents(Path(folder)).items():
            target = IMAGES / name
            pages = ["-f", str(page), "-l", str(page), "-singlefile"]
            subprocess.run(
                [pdftoppm, "-png", "-r", "100", *pages, str(pdf), str(target)], check=True
            )
            print(f"wrote {target.relative_to(REPOSITORY)}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
