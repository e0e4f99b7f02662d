"""Reading a Word form's fields, in order of trust: content controls, legacy form fields, labels.

python-docx has no API for content controls and hides paragraphs inside them, so the main
document part is read with lxml. The same walk builds a plain model of the document
(paragraphs and tables of cells, each cell once however it is merged) for the label reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from formflow.errors import RejectedForm
from formflow.intake.catalogue import (
    RawForm,
    is_known_tag,
    known_tags,
    main_index,
    official_form_tags,
)
from formflow.intake.labels import Block, Cell, Table, read_labels
from formflow.intake.safety import Package, parse_xml

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

TICKED_GLYPH = "☒"
UNTICKED_GLYPH = "☐"
LEGACY_NAME_LIMIT = 20
"""Word truncates a legacy form field's name (a bookmark) to 20 characters."""

# Content that Word keeps but does not show, or shows twice.
_HIDDEN = frozenset(
    {
        W + "moveFrom",
        W + "del",
        W + "instrText",
        W + "delText",
        W + "txbxContent",
        MC + "Fallback",
        W + "rPr",
        W + "pPr",
        W + "sdtPr",
        W + "sdtEndPr",
        W + "tcPr",
        W + "trPr",
        W + "tblPr",
        W + "tblGrid",
    }
)


def read_docx(package: Package) -> tuple[RawForm, list[Block]]:
    """Every field found, by tag (label values overridden by legacy fields, then by controls),
    and the document's blocks for a later look at labels that depend on the procedure."""
    body = parse_xml(package.parts[package.main_part]).find(W + "body")
    if body is None:
        return {}, []
    _check_size_of(body)
    controls = _content_controls(body)
    if official_form_tags() <= controls.keys():
        # Every field came from a tagged control, which outranks any label or legacy
        # field: walking the tables for labels (most of the time spent) would add nothing.
        return controls, []
    document = list(blocks(body))
    found: RawForm = dict(read_labels(document, main_index()))
    found.update(_legacy_fields(body))
    found.update(controls)
    return found, document


MAX_CELLS = 4_000
MAX_PARAGRAPHS = 4_000
"""A challenge form has a few hundred table cells and paragraphs (measured: 132 cells and
163 paragraphs blank, 176 and 215 at stage 2; a form carrying every earlier stage stays
under a thousand). Reading labels costs about 0.5 ms a table row and 0.3 ms a paragraph,
so a document far beyond these (60,000 rows took 30 s) would hold the watcher: refused
first, which bounds reading at about two seconds here."""


def _check_size_of(body: etree._Element) -> None:
    cells = sum(1 for _ in body.iter(W + "tc"))
    paragraphs = sum(1 for _ in body.iter(W + "p"))
    if cells > MAX_CELLS or paragraphs > MAX_PARAGRAPHS:
        raise RejectedForm(
            [
                f"This Word document has {cells:,} table cells and {paragraphs:,} paragraphs, "
                "far more than a challenge form (a few hundred), so formflow does not read it: "
                "drop the challenge form on its own."
            ]
        )


# --- content controls --------------------------------------------------------------


def _content_controls(body: etree._Element) -> RawForm:
    found: RawForm = {}
    for sdt in body.iter(W + "sdt"):
        props = sdt.find(W + "sdtPr")
        tag = _val(props.find(W + "tag")) if props is not None else None
        if props is None or tag is None or not is_known_tag(tag) or tag in found:
            continue
        found[tag] = control_value(sdt, props)
    return found


def control_value(sdt: etree._Element, props: etree._Element) -> str | bool:
    checkbox = props.find(W14 + "checkbox")
    if checkbox is not None:
        return _checkbox_state(checkbox)
    if props.find(W + "showingPlcHdr") is not None:
        return ""
    date = props.find(W + "date")
    full_date = date.get(W + "fullDate") if date is not None else None
    if full_date:
        return full_date[:10]
    content = sdt.find(W + "sdtContent")
    return "" if content is None else _content_text(content)


def _checkbox_state(checkbox: etree._Element) -> bool:
    checked = checkbox.find(W14 + "checked")
    value = checked.get(W14 + "val") if checked is not None else None
    return value is not None and value.lower() in ("1", "true")


def _content_text(content: etree._Element) -> str:
    paragraphs = list(content.iter(W + "p"))
    if not paragraphs:
        return run_text(content)
    return "\n".join(run_text(p) for p in paragraphs)


def _val(element: etree._Element | None) -> str | None:
    return None if element is None else element.get(W + "val")


# --- legacy form fields ------------------------------------------------------------


@dataclass
class _OpenField:
    form_data: etree._Element | None
    in_result: bool = False
    parts: list[str] = field(default_factory=list)


def _legacy_fields(body: etree._Element) -> RawForm:
    """FORMTEXT and FORMCHECKBOX fields: the result is the text between 'separate' and 'end'."""
    found: RawForm = {}
    stack: list[_OpenField] = []
    for element in body.iter(W + "fldChar", W + "t", W + "tab", W + "br", W + "p"):
        if element.tag == W + "fldChar":
            _field_char(element, stack, found)
        elif stack and stack[-1].in_result:
            stack[-1].parts.append(_piece(element, stack[-1].parts))
    return found


def _piece(element: etree._Element, parts: list[str]) -> str:
    if element.tag == W + "t":
        return element.text or ""
    if element.tag == W + "tab":
        return "\t"
    # A line break, or a new paragraph inside a field result that spans paragraphs.
    return "\n" if parts else ""


def _field_char(element: etree._Element, stack: list[_OpenField], found: RawForm) -> None:
    kind = element.get(W + "fldCharType")
    if kind == "begin":
        stack.append(_OpenField(element.find(W + "ffData")))
    elif kind == "separate" and stack:
        stack[-1].in_result = True
    elif kind == "end" and stack:
        closed = stack.pop()
        if closed.form_data is None:
            return
        tag = _legacy_tag(_val(closed.form_data.find(W + "name")))
        if tag is not None and tag not in found:
            found[tag] = _legacy_value(closed)


def _legacy_tag(name: str | None) -> str | None:
    if not name:
        return None
    if is_known_tag(name):
        return name
    if len(name) == LEGACY_NAME_LIMIT:
        matches = [tag for tag in known_tags() if tag.startswith(name)]
        if len(matches) == 1:
            return matches[0]
    return None


def _legacy_value(closed: _OpenField) -> str | bool:
    assert closed.form_data is not None
    checkbox = closed.form_data.find(W + "checkBox")
    if checkbox is not None:
        return legacy_checked(checkbox)
    return "".join(closed.parts)


def legacy_checked(checkbox: etree._Element) -> bool:
    """``w:checked`` with no value means checked; otherwise its value, else ``w:default``."""
    for name in ("checked", "default"):
        element = checkbox.find(W + name)
        if element is not None:
            value = element.get(W + "val")
            return value is None or value.lower() in ("1", "true", "on")
    return False


# --- the document as paragraphs and tables -------------------------------------------


def blocks(container: etree._Element) -> Iterator[Block]:
    """Paragraph texts and tables in reading order, looking through content controls."""
    for child in container:
        if child.tag == W + "p":
            yield run_text(child)
        elif child.tag == W + "tbl":
            yield from _table(child)
        elif child.tag in (W + "sdt", W + "customXml") and not _is_placeholder(child):
            yield from blocks(_inner(child))


def _inner(element: etree._Element) -> etree._Element:
    content = element.find(W + "sdtContent")
    return element if content is None else content


def _is_placeholder(sdt: etree._Element) -> bool:
    props = sdt.find(W + "sdtPr")
    return props is not None and props.find(W + "showingPlcHdr") is not None


def _table(tbl: etree._Element) -> Iterator[Block]:
    nested: list[Block] = []
    rows = tuple(
        tuple(_cell(tc, column, nested) for tc, column in _cells(tr)) for tr in _children(tbl, "tr")
    )
    yield Table(rows)
    yield from nested


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    """Direct children named ``name``, including those wrapped in content controls."""
    for child in element:
        if child.tag == W + name:
            yield child
        elif child.tag in (W + "sdt", W + "customXml"):
            yield from _children(_inner(child), name)


def _cells(tr: etree._Element) -> Iterator[tuple[etree._Element, int]]:
    """Each ``w:tc`` once, with the grid column it starts at (merged cells span columns)."""
    column = 0
    for tc in _children(tr, "tc"):
        yield tc, column
        span = tc.find(f"{W}tcPr/{W}gridSpan")
        column += int(_val(span) or 1) if span is not None else 1


def _cell(tc: etree._Element, column: int, nested: list[Block]) -> Cell:
    lines: list[str] = []
    for block in blocks(tc):
        if isinstance(block, Table):
            nested.append(block)
        else:
            lines.extend(block.split("\n"))
    merge = tc.find(f"{W}tcPr/{W}vMerge")
    continued = merge is not None and _val(merge) != "restart"
    return Cell(tuple(lines), column, continued)


def run_text(element: etree._Element) -> str:
    """The visible text under ``element``; checkboxes become ☒ or ☐ by their state, not glyph."""
    parts: list[str] = []
    _collect(element, parts)
    return "".join(parts)


# Tick boxes inserted from Word's symbol fonts (Insert > Symbol, or a letter typed in the
# font): no Unicode character is stored, only the font and its code. Codes are the low byte
# (Word writes U+F0xx for a symbol font's xx).
_SYMBOL_TICKS: dict[str, dict[int, str]] = {
    "wingdings": {0xFC: "✓", 0xFE: "☑", 0xFD: "☒", 0x78: "☒", 0xA8: "☐", 0x6F: "☐", 0x71: "☐"},
    "wingdings 2": {0x50: "✓", 0x52: "☑", 0x53: "☒", 0x54: "☒", 0xA3: "☐", 0x2A: "☐"},
}


def _symbol(font: str | None, code: int) -> str | None:
    return _SYMBOL_TICKS.get((font or "").strip().lower(), {}).get(code & 0xFF)


def _symbol_font(run: etree._Element) -> str | None:
    fonts = run.find(f"{W}rPr/{W}rFonts")
    font = fonts.get(W + "ascii") if fonts is not None else None
    return font if font is not None and font.strip().lower() in _SYMBOL_TICKS else None


def _sym_text(sym: etree._Element) -> str:
    try:
        code = int(sym.get(W + "char") or "", 16)
    except ValueError:
        return ""
    return _symbol(sym.get(W + "font"), code) or ""


def _collect(element: etree._Element, parts: list[str], font: str | None = None) -> None:
    for child in element:
        tag = child.tag
        if tag == W + "r":
            _collect(child, parts, _symbol_font(child))
        elif tag == W + "t" and font is not None:
            parts.append("".join(_symbol(font, ord(c)) or c for c in child.text or ""))
        elif tag == W + "sym":
            parts.append(_sym_text(child))
        elif tag == W + "t":
            parts.append(child.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append("\n")
        elif tag == W + "sdt":
            _collect_control(child, parts)
        elif tag == W + "fldChar":
            _collect_legacy_checkbox(child, parts)
        elif tag not in _HIDDEN and isinstance(tag, str):
            _collect(child, parts)


def _collect_control(sdt: etree._Element, parts: list[str]) -> None:
    props = sdt.find(W + "sdtPr")
    checkbox = props.find(W14 + "checkbox") if props is not None else None
    if checkbox is not None:
        parts.append(TICKED_GLYPH if _checkbox_state(checkbox) else UNTICKED_GLYPH)
    elif not _is_placeholder(sdt):
        _collect(_inner(sdt), parts)


def _collect_legacy_checkbox(fld_char: etree._Element, parts: list[str]) -> None:
    checkbox = fld_char.find(f"{W}ffData/{W}checkBox")
    if checkbox is not None:
        parts.append(TICKED_GLYPH if legacy_checked(checkbox) else UNTICKED_GLYPH)
