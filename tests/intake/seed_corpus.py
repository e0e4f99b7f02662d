"""A corpus of seed 003 forms filled every way staff fill them, and how many fields read right.

Each variant draws, from a seeded generator, one way of doing each thing people do
differently: the tick (a glyph, ☐ left beside an X, a Word symbol, a letter in Wingdings 2,
a checkbox control, a legacy form field), every date's UK style, the role written after
the name or not at all, the child's status after their name or not, the team box's
wording, values typed after their labels or beside them, runs split or whole, merged
cells, stray spaces, and whether LibreOffice saved it.
The expected record is known for each, so field accuracy is counted, not guessed at.
Every person and child here is fictional.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from form_builders import (
    Mark,
    SeedValues,
    as_libreoffice,
    beside_box_mark,
    control_mark,
    glyph_mark,
    legacy_mark,
    seed_form,
    symbol_font_mark,
    symbol_mark,
)
from intake_cases import DATE_STYLES, TODAY

from formflow.config import Settings
from formflow.core.record import THEMES, Challenge
from formflow.errors import RejectedForm
from formflow.intake import read_form_bytes
from formflow.policy_catalogue import built_in

MARKS: dict[str, Mark] = {
    "☒/☐": glyph_mark("☒", "☐"),
    "☑/empty": glyph_mark("☑", ""),
    "✓/empty": glyph_mark("✓", ""),
    "√/empty": glyph_mark("√", ""),
    "X/empty": glyph_mark("X", ""),
    "x/☐": glyph_mark("x", "☐"),
    "Yes/No": glyph_mark("Yes", "No"),
    "☐ X beside the box": beside_box_mark,
    "Wingdings symbol": symbol_mark("Wingdings"),
    "Wingdings 2 symbol": symbol_mark("Wingdings 2"),
    "R and £ in Wingdings 2": symbol_font_mark(),
    "checkbox control": control_mark,
    "legacy checkbox": legacy_mark,
}

IROS = ("Morwenna Pentreath", "Aled ap Rhys", "Siobhán O'Connell", "Kwame Mensah-Boateng")
CHILDREN = ("Tegan Example", "Ruby-Mae Sample", "Dylan Fictional", "Zofia Nowak-Test")
MANAGERS = ("Priya Raman", "Dafydd Okafor", "Helen Fairweather")
TEAMS = ("Children in Care Team 2", "Safeguarding Team North", "Leaving Care Service")

ROLE_WRITTEN = {
    "": None,
    " (IRO)": "IRO",
    " - IRO": "IRO",
    ", CP Chair": "CP chair",
    " (Child Protection Conference Chair)": "CP chair",
    " IRO": "IRO",
}
STATUS_WRITTEN = {
    "": None,
    " (CiC)": "child in care",
    " (LAC)": "child in care",
    " - looked after": "child in care",
    " (CP plan)": "child protection plan",
    " (CiC and CP plan)": "both",
}
TEAM_WRITTEN: tuple[Callable[[str, str], str], ...] = (
    lambda team, manager: f"{team} / {manager}",
    lambda team, manager: f"Team: {team}; Manager: {manager}",
    lambda team, manager: f"{team} - TM: {manager}",
    lambda team, manager: f"{team} (Manager: {manager})",
)


@dataclass(frozen=True)
class Variant:
    """One filled form and the fields it must read as."""

    name: str
    data: bytes
    expected: dict[str, Any]


def _spaced(rng: random.Random, text: str) -> str:
    """Stray spaces as people leave them: doubled between words, or trailing."""
    if rng.random() < 0.3:
        text = text.replace(" ", "  ", 1)
    return text + (" " if rng.random() < 0.3 else "")


def variant(number: int) -> Variant:
    rng = random.Random(number)
    date_style = DATE_STYLES[rng.choice(sorted(DATE_STYLES))]
    mark_name = rng.choice(sorted(MARKS))
    notified = dt.date(2025, 11, 3) + dt.timedelta(days=rng.randrange(0, 12))
    born = dt.date(2009, 1, 1) + dt.timedelta(days=rng.randrange(0, 4000))
    iro, child = rng.choice(IROS), rng.choice(CHILDREN)
    manager, team = rng.choice(MANAGERS), rng.choice(TEAMS)
    role_words = rng.choice(sorted(ROLE_WRITTEN))
    status_words = rng.choice(sorted(STATUS_WRITTEN))
    stage = rng.randrange(1, 5)
    themes = frozenset(k for k in THEMES if rng.random() < 0.4)
    actions = tuple(
        (
            f"Action {n}: review the plan with the child",
            notified + dt.timedelta(days=7 + n),
            rng.choice(MANAGERS),
        )
        for n in range(1, rng.randrange(0, 5) + 1)
    )
    responded = notified + dt.timedelta(days=4)
    values = SeedValues(
        notification=date_style(notified),
        raised_by=_spaced(rng, iro + role_words),
        to=manager,
        child=_spaced(rng, child + status_words),
        dob=date_style(born),
        case_number=f"LCS-{rng.randrange(100000, 999999)}",
        social_worker="Ifan Jenkins",
        team_and_manager=rng.choice(TEAM_WRITTEN)(team, manager),
        stage=stage,
        concern="The pathway plan has not been reviewed.\nThe child's views were not recorded.",
        outcome="The child does not know where they will live next year.",
        themes=themes,
        actions=tuple((a, date_style(d), who) for a, d, who in actions),
        response="Agreed to review the plan.",
        response_date=date_style(responded),
        final_comments="Actions tracked by the IRO.",
        final_date=date_style(responded + dt.timedelta(days=1)),
    )
    merged, split, saved_by_libreoffice = (rng.random() < 0.5 for _ in range(3))
    inline = rng.random() < 0.2
    data = seed_form(values, merged=merged, mark=MARKS[mark_name], split=split, inline=inline)
    if saved_by_libreoffice:
        data = as_libreoffice(data)
    expected = {
        "date_of_notification": notified.isoformat(),
        "raised_by.name": iro,
        "raised_by.role": ROLE_WRITTEN[role_words],
        "addressed_to.name": manager,
        "child.name": child,
        "child.date_of_birth": born.isoformat(),
        "child.case_number": values.case_number,
        "child.legal_status": STATUS_WRITTEN[status_words],
        "social_worker": "Ifan Jenkins",
        "team": team,
        "team_manager": manager,
        "stage": str(stage),
        "concern": values.concern,
        "outcome_impact": values.outcome,
        **{f"themes.{k}": k in themes for k in THEMES},
        **{
            f"actions.{n}": (a, d.isoformat(), who)
            for n, (a, d, who) in enumerate(actions, start=1)
        },
        "response.text": values.response,
        "response.date": responded.isoformat(),
        "final_comments.text": values.final_comments,
        "final_comments.date": (responded + dt.timedelta(days=1)).isoformat(),
        "cafcass.requested": False,
    }
    how = f"{mark_name}, {'LibreOffice' if saved_by_libreoffice else 'Word'}"
    return Variant(f"variant {number} ({how})", data, expected)


def fields_read(challenge: Challenge) -> dict[str, Any]:
    """The record's fields under the corpus's names."""
    r = challenge.to_dict()
    response, final = r["response"] or {}, r["final_comments"] or {}
    return {
        "date_of_notification": r["date_of_notification"],
        "raised_by.name": r["raised_by"]["name"],
        "raised_by.role": r["raised_by"]["role"],
        "addressed_to.name": (r["addressed_to"] or {}).get("name"),
        **{f"child.{k}": v for k, v in r["child"].items()},
        "social_worker": r["social_worker"],
        "team": r["team"],
        "team_manager": r["team_manager"],
        "stage": r["stage"],
        "concern": r["concern"],
        "outcome_impact": r["outcome_impact"],
        **{f"themes.{k}": v for k, v in r["themes"].items()},
        **{
            f"actions.{n}": (a["action"], a["by_when"], a["by_whom"])
            for n, a in enumerate(r["actions"], start=1)
        },
        "response.text": response.get("text"),
        "response.date": response.get("date"),
        "final_comments.text": final.get("text"),
        "final_comments.date": final.get("date"),
        "cafcass.requested": r["cafcass"]["requested"],
    }


SETTINGS = Settings(default_policy="rotherham")
"""The seed 003 form is Rotherham's: a home using it names its procedure the default."""


@dataclass(frozen=True)
class Score:
    right: int
    total: int
    wrong: tuple[str, ...]
    """One line per field read wrong, or per form refused: which variant, which field."""

    @property
    def accuracy(self) -> float:
        return self.right / self.total


def score(variants: list[Variant]) -> Score:
    right = total = 0
    wrong: list[str] = []
    for v in variants:
        total += len(v.expected)
        try:
            challenge = read_form_bytes(
                v.data,
                suffix=".docx",
                policies=built_in(),
                policy_id=None,
                settings=SETTINGS,
                today=TODAY,
            )
        except RejectedForm as rejection:
            wrong.append(f"{v.name}: refused: {'; '.join(rejection.reasons)}")
            continue
        got = fields_read(challenge)
        for key, expected in v.expected.items():
            if got.get(key) == expected:
                right += 1
            else:
                wrong.append(f"{v.name}: {key} read as {got.get(key)!r}, not {expected!r}")
        wrong.extend(
            f"{v.name}: {key} read but not on the form"
            for key in got.keys() - v.expected.keys()
            if key.startswith("actions.")
        )
    return Score(right, total, tuple(wrong))


if __name__ == "__main__":  # the figure for a report: python tests/intake/seed_corpus.py
    result = score([variant(n) for n in range(400)])
    print(f"{result.right} of {result.total} fields right ({result.accuracy:.2%})")
    print("\n".join(result.wrong[:40]))
