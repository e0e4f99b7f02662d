"""Reading a form by its printed labels, for files that carry no tags at all.

The seed 003 form has no controls, and LibreOffice drops every control's tag on save, so
the label is often all there is. A label sits in a table cell; its value is in the cell
to its right, in the same cell below the label (after any bracketed guidance), or in the
cell below. A tick box sits to the right or left of its label, or starts the label's
cell. The action table is found by its header row (Action, By when, By whom), and an
earlier stage's table by a first row starting "Earlier stage N".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from formflow.form import MAX_ACTIONS, MAX_HISTORY, Field, FieldKind
from formflow.intake.catalogue import LabelIndex, action_tags, history_index, normalise_label

TICK_GLYPHS = "☒☑✓✔√xX"
_TICK_PREFIX = re.compile(rf"^\s*([{TICK_GLYPHS}☐])\s+(.*)$", re.DOTALL)
_DATE_LINE = re.compile(r"^\s*date\s*:?\s*(.*)$", re.IGNORECASE)
_HISTORY_TITLE = re.compile(r"^earlier stage (\d+)")
_ACTION_HEADER = ("action", "by when", "by whom")
MAX_LABEL_LINES = 4

COMPANION_DATES = {
    "response_text": "response_date",
    "final_comments": "final_comments_date",
    "iro_decision_reason": "iro_decision_date",
}
"""Long-text fields whose box ends with a 'Date:' line, as on the seed 003 form."""


@dataclass(frozen=True)
class Cell:
    lines: tuple[str, ...]
    column: int
    continued: bool = False
    """A vertically merged cell below its first row: it shows nothing of its own."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[Cell, ...], ...]


Block = str | Table
"""A paragraph's text outside any table, or a table."""


@dataclass(frozen=True)
class LabelHit:
    field: Field
    tick: str | None
    """A tick box that starts the label's own cell, as in "☒ Stage 1"."""
    rest: str
    """What follows the label in its own cell (after ':' or below it)."""


def read_labels(
    blocks: Iterable[Block], index: LabelIndex, *, structure: bool = True
) -> dict[str, str]:
    """Values by tag, read by label; ``structure`` also reads action and earlier-stage tables."""
    found: dict[str, str] = {}
    items = list(blocks)
    for position, block in enumerate(items):
        if isinstance(block, Table):
            _read_table(block, index, found, structure)
        else:
            _read_paragraph(items, position, index, found)
    return found


def _record(found: dict[str, str], tag: str, value: str) -> None:
    """The first non-empty value for a tag wins; an empty one only marks the field as present."""
    if (value.strip() or tag not in found) and not found.get(tag, "").strip():
        found[tag] = value


@lru_cache(maxsize=16384)
def label_in(text: str, index: LabelIndex) -> LabelHit | None:
    """The field whose label opens ``text`` (cached: every form repeats the same labels).

    A label may run over several lines ("From:" then "(Allocated ... Chair/IRO)"). The
    longest run of lines that matches exactly wins; failing that, the shortest that
    matches loosely, so a loose match never swallows the value typed under the label.
    """
    tick = None
    prefixed = _TICK_PREFIX.match(text)
    if prefixed:
        tick, text = prefixed.group(1), prefixed.group(2)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    counts = range(1, min(MAX_LABEL_LINES, len(lines)) + 1)
    for exact, order in ((True, reversed(counts)), (False, counts)):
        for count in order:
            hit = _label_lines(lines, count, index, exact)
            if hit is not None:
                return LabelHit(hit[0], tick, hit[1])
    return None


def _label_lines(
    lines: list[str], count: int, index: LabelIndex, exact: bool
) -> tuple[Field, str] | None:
    match = index.match_exact if exact else index.match_fuzzy
    head = " ".join(lines[:count])
    below = "\n".join(_without_guidance(lines[count:]))
    for candidate in (head, _without_brackets(head)):
        field = match(candidate)
        if field is not None:
            return field, below
    if count == 1 and ":" in head:
        label, _, inline = head.partition(":")
        field = match(label)
        if field is not None:
            return field, "\n".join(filter(None, [inline.strip(), below]))
    return None


def _without_brackets(text: str) -> str:
    return re.sub(r"\([^)]*\)?", " ", text)


def _without_guidance(lines: list[str]) -> list[str]:
    """Drop the bracketed guidance printed under a label, such as "(Brief summary of ...)"."""
    start = 0
    while start < len(lines) and lines[start].startswith("(") and lines[start].endswith(")"):
        start += 1
    return lines[start:]


# --- tables ----------------------------------------------------------------------------


def _read_table(table: Table, index: LabelIndex, found: dict[str, str], structure: bool) -> None:
    rows = table.rows
    entry = _history_entry(rows) if structure else None
    if entry is not None:
        index, rows = history_index(entry), rows[1:]
    used: set[tuple[int, int]] = set()
    action_row = 0
    for r, row in enumerate(rows):
        if structure and _is_action_header(row):
            action_row = 1
            continue
        if action_row and _is_action_row(row, index) and action_row <= MAX_ACTIONS:
            for tag, cell in zip(action_tags(action_row, entry), row, strict=False):
                _record(found, tag, cell.text)
            action_row += 1
            continue
        action_row = 0
        for c, cell in enumerate(row):
            if (r, c) not in used and not cell.continued:
                _read_cell(rows, r, c, index, found, used)


def _history_entry(rows: tuple[tuple[Cell, ...], ...]) -> int | None:
    if not rows:
        return None
    title = normalise_label(" ".join(cell.text for cell in rows[0]))
    match = _HISTORY_TITLE.match(title)
    if match and 1 <= int(match.group(1)) <= MAX_HISTORY:
        return int(match.group(1))
    return None


def _is_action_header(row: tuple[Cell, ...]) -> bool:
    return tuple(normalise_label(cell.text) for cell in row[:3]) == _ACTION_HEADER


def _is_action_row(row: tuple[Cell, ...], index: LabelIndex) -> bool:
    return len(row) >= 3 and label_in(row[0].text, index) is None


def _read_cell(
    rows: tuple[tuple[Cell, ...], ...],
    r: int,
    c: int,
    index: LabelIndex,
    found: dict[str, str],
    used: set[tuple[int, int]],
) -> None:
    hit = label_in(rows[r][c].text, index)
    if hit is None:
        return
    used.add((r, c))
    if hit.field.kind is FieldKind.CHECKBOX:
        value = hit.tick if hit.tick is not None else _tick_beside(rows[r], r, c, index, used)
    elif hit.rest:
        value = hit.rest
    else:
        value = _value_beside(rows, r, c, index, used)
    tag = hit.field.tag
    companion = COMPANION_DATES.get(tag)
    if companion is not None:
        value, date = _split_date_line(value)
        if date is not None:
            _record(found, companion, date)
    _record(found, tag, value)


def _tick_beside(
    row: tuple[Cell, ...], r: int, c: int, index: LabelIndex, used: set[tuple[int, int]]
) -> str:
    for neighbour in (c + 1, c - 1):
        if 0 <= neighbour < len(row) and (r, neighbour) not in used:
            text = row[neighbour].text
            if label_in(text, index) is None and len(text) <= 5:
                used.add((r, neighbour))
                return text
    return ""


def _value_beside(
    rows: tuple[tuple[Cell, ...], ...],
    r: int,
    c: int,
    index: LabelIndex,
    used: set[tuple[int, int]],
) -> str:
    """The cell to the right (whatever it says: a role may read like a label), else the
    cell below in the same grid column, unless that is another label."""
    if c + 1 < len(rows[r]):
        used.add((r, c + 1))
        return rows[r][c + 1].text
    column = rows[r][c].column
    for below_r in range(r + 1, len(rows)):
        for below_c, cell in enumerate(rows[below_r]):
            if cell.column == column and not cell.continued:
                if label_in(cell.text, index) is not None or (below_r, below_c) in used:
                    return ""
                used.add((below_r, below_c))
                return cell.text
    return ""


def _split_date_line(value: str) -> tuple[str, str | None]:
    """Take the last 'Date: ...' line (or the line after a bare 'Date:') out of a text box."""
    lines = value.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        match = _DATE_LINE.match(lines[i])
        if match is None:
            continue
        date = match.group(1).strip()
        after = [line for line in lines[i + 1 :] if line.strip()]
        if not date and after:
            date = after[0].strip()
            after = after[1:]
        return "\n".join(lines[:i] + after), date
    return value, None


# --- paragraphs outside tables -------------------------------------------------------------


def _read_paragraph(
    items: list[Block], position: int, index: LabelIndex, found: dict[str, str]
) -> None:
    text = items[position]
    assert isinstance(text, str)
    hit = label_in(text, index)
    if hit is None:
        return
    if hit.field.kind is FieldKind.CHECKBOX:
        if hit.tick is not None:
            _record(found, hit.field.tag, hit.tick)
        return
    value = hit.rest or "\n".join(_following(items, position + 1, index, hit.field.kind))
    _record(found, hit.field.tag, value)


def _following(items: list[Block], start: int, index: LabelIndex, kind: FieldKind) -> Iterator[str]:
    """The paragraphs after a label paragraph: one for short text, up to the next label for long."""
    for item in items[start:]:
        if isinstance(item, Table) or label_in(item, index) is not None:
            return
        yield item
        if kind is not FieldKind.LONG_TEXT:
            return
