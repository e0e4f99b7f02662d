"""Fixture forms built in code: Word files in each style the intake reads, and fillable PDFs.

python-docx makes the package (styles, settings, relationships); the body is then written
with lxml so that content controls, legacy form fields and merged cells are exactly as
Word writes them. Every person and child here is fictional.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import docx
from lxml import etree

from formflow import form
from formflow.core.policy import Prerequisite
from formflow.form import Field, FieldKind

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
W = f"{{{W_NS}}}"
W14 = f"{{{W14_NS}}}"
NSMAP = {"w": W_NS, "w14": W14_NS}

FormValues = dict[str, str | bool]
"""What the person typed, by tag: text exactly as typed, or whether a box is ticked."""


class Style(StrEnum):
    CONTROLS = "content controls"
    LEGACY = "legacy form fields"
    PLAIN = "plain text"


class Placement(StrEnum):
    """The five places a content control can sit."""

    BODY = "body"
    INLINE = "inline in a paragraph"
    TABLE = "around a table"
    ROW = "around a row"
    CELL = "inside a cell"


# --- XML pieces ----------------------------------------------------------------------------


def el(name: str, *children: etree._Element, **attrs: str) -> etree._Element:
    prefix, local = name.split(":")
    element = etree.Element(f"{{{NSMAP[prefix]}}}{local}", nsmap=NSMAP)
    for key, value in attrs.items():
        element.set(f"{{{NSMAP[prefix]}}}{key}", value)
    element.extend(children)
    return element


def run(text: str) -> etree._Element:
    t = el("w:t")
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    t.text = text
    return el("w:r", t)


def runs(text: str, split: bool = False) -> list[etree._Element]:
    """Runs for ``text``; line breaks become w:br; ``split`` cuts words across runs as Word does."""
    out: list[etree._Element] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(el("w:r", el("w:br")))
        pieces = [line[j : j + 3] for j in range(0, len(line), 3)] if split else [line]
        out.extend(run(piece) for piece in pieces if piece)
    return out


def para(*content: etree._Element) -> etree._Element:
    return el("w:p", *content)


def text_paras(text: str, split: bool = False) -> list[etree._Element]:
    return [para(*runs(line, split)) for line in text.split("\n")] or [para()]


def cell(*content: etree._Element, span: int = 1, vmerge: str | None = None) -> etree._Element:
    props = el("w:tcPr")
    if span > 1:
        props.append(el("w:gridSpan", val=str(span)))
    if vmerge is not None:
        props.append(el("w:vMerge", val=vmerge) if vmerge == "restart" else el("w:vMerge"))
    return el("w:tc", props, *(content or [para()]))


def row(*cells: etree._Element) -> etree._Element:
    return el("w:tr", *cells)


def table(rows: Iterable[etree._Element], columns: int = 2) -> etree._Element:
    grid = el("w:tblGrid", *(el("w:gridCol", w="3000") for _ in range(columns)))
    return el("w:tbl", el("w:tblPr", el("w:tblW", w="0", type="auto")), grid, *rows)


def sdt(tag: str, *content: etree._Element, placeholder: bool = False) -> etree._Element:
    props = el("w:sdtPr", el("w:alias", val=tag.replace("_", " ")), el("w:tag", val=tag))
    if placeholder:
        props.append(el("w:showingPlcHdr"))
    return el("w:sdt", props, el("w:sdtContent", *content))


def checkbox_sdt(tag: str, ticked: bool, glyph: str | None = None) -> etree._Element:
    box = el(
        "w14:checkbox",
        el("w14:checked", val="1" if ticked else "0"),
        el("w14:checkedState", val="2612", font="MS Gothic"),
        el("w14:uncheckedState", val="2610", font="MS Gothic"),
    )
    props = el("w:sdtPr", el("w:alias", val=tag), el("w:tag", val=tag), box)
    shown = glyph if glyph is not None else ("☒" if ticked else "☐")
    return el("w:sdt", props, el("w:sdtContent", run(shown)))


def legacy_text(name: str, text: str) -> list[etree._Element]:
    data = el("w:ffData", el("w:name", val=name), el("w:enabled"), el("w:textInput"))
    instr = el("w:instrText")
    instr.text = " FORMTEXT "
    return [
        el("w:r", el("w:fldChar", data, fldCharType="begin")),
        el("w:r", instr),
        el("w:r", el("w:fldChar", fldCharType="separate")),
        *(runs(text) if text else [run("\u2002" * 5)]),
        el("w:r", el("w:fldChar", fldCharType="end")),
    ]


def legacy_checkbox(name: str, checked: str | None) -> list[etree._Element]:
    """``checked``: None for no w:checked element, "" for a bare one, else its w:val."""
    box = el("w:checkBox", el("w:sizeAuto"), el("w:default", val="0"))
    if checked == "":
        box.append(el("w:checked"))
    elif checked is not None:
        box.append(el("w:checked", val=checked))
    data = el("w:ffData", el("w:name", val=name), el("w:enabled"), box)
    instr = el("w:instrText")
    instr.text = " FORMCHECKBOX "
    return [
        el("w:r", el("w:fldChar", data, fldCharType="begin")),
        el("w:r", instr),
        el("w:r", el("w:fldChar", fldCharType="end")),
    ]


# --- the package ------------------------------------------------------------------------------


def package(body: Sequence[etree._Element]) -> bytes:
    """A .docx whose body holds ``body``, in a package python-docx made."""
    base = io.BytesIO()
    docx.Document().save(base)
    return replace_part(base.getvalue(), "word/document.xml", _document_xml(body))


def _document_xml(body: Sequence[etree._Element]) -> bytes:
    document = el("w:document", el("w:body", *body, el("w:sectPr")))
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", standalone=True)


def replace_part(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info))
    return out.getvalue()


def swap_checkbox_glyphs(data: bytes) -> bytes:
    """Checkbox controls whose glyph says the opposite of their state."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    root = etree.fromstring(xml)
    for box in root.iter(f"{W14}checkbox"):
        for t in box.getparent().getparent().iter(f"{W}t"):
            t.text = "☐" if t.text == "☒" else "☒"
    return replace_part(data, "word/document.xml", etree.tostring(root))


def strip_tags(data: bytes) -> bytes:
    """What LibreOffice does on save: every content control loses its w:tag and w:alias."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    root = etree.fromstring(xml)
    for lost in root.iter(f"{W}tag", f"{W}alias"):
        lost.getparent().remove(lost)
    return replace_part(data, "word/document.xml", etree.tostring(root))


# --- the official form ---------------------------------------------------------------------------


def printed(item: Field) -> str:
    return item.label


@dataclass(frozen=True)
class Writer:
    """Writes each field's value in one style; ``placement`` picks where text controls sit."""

    style: Style
    values: FormValues
    label: Callable[[Field], str] = printed

    def value(self, item: Field, placement: Placement = Placement.CELL) -> list[etree._Element]:
        """Block content (paragraphs) carrying the field's value, for a table cell."""
        typed = self.values.get(item.tag, False if item.kind is FieldKind.CHECKBOX else "")
        if item.kind is FieldKind.CHECKBOX:
            return [para(*self._tick(item.tag, bool(typed)))]
        text = str(typed)
        if self.style is Style.LEGACY:
            return [para(*legacy_text(item.tag, text))]
        if self.style is Style.PLAIN:
            return text_paras(text, split=True)
        if not text:
            return [sdt(item.tag, para(run(PLACEHOLDER)), placeholder=True)]
        if placement is Placement.INLINE:
            return [para(sdt(item.tag, *runs(text)))]
        return [sdt(item.tag, *text_paras(text))]

    def _tick(self, tag: str, ticked: bool) -> list[etree._Element]:
        if self.style is Style.CONTROLS:
            return [checkbox_sdt(tag, ticked)]
        if self.style is Style.LEGACY:
            return legacy_checkbox(tag, "1" if ticked else "0")
        return [run("☒" if ticked else "☐")]


PLACEHOLDER = "Click or tap here to enter text."

INLINE_TAGS = frozenset({"date_of_notification", "child_name", "child_date_of_birth"})


def field_rows(writer: Writer, fields: Iterable[Field]) -> list[etree._Element]:
    rows = []
    for item in fields:
        where = Placement.INLINE if item.tag in INLINE_TAGS else Placement.CELL
        rows.append(row(cell(para(run(writer.label(item)))), cell(*writer.value(item, where))))
    return rows


def official_form(
    values: FormValues,
    style: Style = Style.CONTROLS,
    prerequisites: Sequence[Prerequisite] = (),
    history: int = 0,
    label: Callable[[Field], str] = printed,
) -> bytes:
    """The form as form.py describes it, every control placement used at least once.

    ``label`` prints each field's label (to test loose matching, or to hide labels so
    that only tags can be read)."""
    writer = Writer(style, values, label)
    policy = form.HEADER_FIELDS[1]
    header = [f for f in form.HEADER_FIELDS if f is not policy]
    ladder = [
        *form.STAGE_FIELDS.values(),
        *form.CAFCASS_FIELDS,
        *(form.prerequisite_field(p.id, p.label) for p in prerequisites),
    ]
    body: list[etree._Element] = [
        para(run("CHALLENGE AND RESOLUTION FORM")),
        para(run(label(policy))),
        *_body_value(writer, policy),
        table(field_rows(writer, header)),
        _around_table(writer, table(field_rows(writer, ladder))),
        table(field_rows(writer, form.INFORMAL_FIELDS)),
        *_concern_table(writer),
        table(field_rows(writer, form.THEME_FIELDS.values())),
        _action_table(writer, form.action_fields),
        table(field_rows(writer, (*form.RESPONSE_FIELDS, *form.FINAL_FIELDS))),
    ]
    for entry in range(1, history + 1):
        body.append(history_table(writer, entry))
    return package(body)


def _body_value(writer: Writer, item: Field) -> list[etree._Element]:
    if writer.style is Style.CONTROLS:
        return [sdt(item.tag, *text_paras(str(writer.values.get(item.tag, ""))))]
    return writer.value(item)


def _around_table(writer: Writer, tbl: etree._Element) -> etree._Element:
    return sdt("stage_and_cafcass", tbl) if writer.style is Style.CONTROLS else tbl


def _concern_table(writer: Writer) -> list[etree._Element]:
    concern, impact = form.BODY_FIELDS
    value_row = row(cell(*writer.value(concern), span=2))
    if writer.style is Style.CONTROLS:
        text = str(writer.values.get(concern.tag, ""))
        value_row = sdt(concern.tag, row(cell(*text_paras(text), span=2)))
    return [
        table([row(cell(para(run(writer.label(concern))), span=2)), value_row]),
        table(field_rows(writer, [impact])),
    ]


def _action_table(
    writer: Writer, fields_of: Callable[[int], tuple[Field, Field, Field]]
) -> etree._Element:
    header = row(*(cell(para(run(label))) for label in ("Action", "By when", "By whom")))
    rows = [header]
    for n in range(1, form.MAX_ACTIONS + 1):
        rows.append(row(*(cell(*writer.value(item)) for item in fields_of(n))))
    return table(rows, columns=3)


def history_table(writer: Writer, entry: int) -> etree._Element:
    title = row(cell(para(run(f"Earlier stage {entry}")), span=3))
    rows = [title]
    for item in form.history_fields(entry):
        rows.append(row(cell(para(run(writer.label(item)))), cell(*writer.value(item), span=2)))
    actions = _action_table(writer, lambda n: form.history_action_fields(entry, n))
    rows.extend(actions.findall(f"{W}tr"))
    return table(rows, columns=3)


# --- the seed 003 layout: labels only, no controls -----------------------------------------------


@dataclass(frozen=True)
class SeedValues:
    """The seed form's boxes as typed. It has no role and no legal-status boxes: what the
    person says of either is in the words they write after a name, if anywhere."""

    notification: str
    raised_by: str
    to: str
    child: str
    dob: str
    case_number: str
    social_worker: str
    team_and_manager: str
    stage: int
    concern: str
    outcome: str
    themes: frozenset[str]
    actions: tuple[tuple[str, str, str], ...]
    response: str
    response_date: str
    final_comments: str
    final_date: str
    cafcass: bool = False


Mark = Callable[[bool], list[etree._Element]]
"""What a person puts in a tick cell, ticked or not: a cell's paragraphs."""


def glyph_mark(tick: str, untick: str) -> Mark:
    """A character typed or pasted: ☒, ✓, X, "Yes"; an empty string leaves the cell empty."""

    def mark(on: bool) -> list[etree._Element]:
        text = tick if on else untick
        return [para(run(text))] if text else [para()]

    return mark


SYMBOL_CODES = {"Wingdings": ("F0FE", "F0A8"), "Wingdings 2": ("F052", "F0A3")}
"""Insert > Symbol: Wingdings ☑ (FE) and ☐ (A8); Wingdings 2 ☑ (R) and ☐ (£)."""


def symbol_mark(font: str) -> Mark:
    """A box inserted from Word's symbol dialog: a ``w:sym`` run, no text at all."""

    def mark(on: bool) -> list[etree._Element]:
        code = SYMBOL_CODES[font][0 if on else 1]
        return [para(el("w:r", el("w:sym", font=font, char=code)))]

    return mark


def symbol_font_mark(tick: str = "R", untick: str = "£") -> Mark:
    """A letter typed in the Wingdings 2 font, which Word shows as ☑ (R) or ☐ (£)."""

    def mark(on: bool) -> list[etree._Element]:
        fonts = el("w:rFonts", ascii="Wingdings 2", hAnsi="Wingdings 2")
        t = el("w:t")
        t.text = tick if on else untick
        return [para(el("w:r", el("w:rPr", fonts), t))]

    return mark


def control_mark(on: bool) -> list[etree._Element]:
    """A checkbox content control from Word's Developer tab: no tag, as people insert it."""
    box = checkbox_sdt("", on)
    props = box.find(f"{W}sdtPr")
    assert props is not None
    for unnamed in props.findall(f"{W}tag") + props.findall(f"{W}alias"):
        props.remove(unnamed)
    return [para(box)]


def legacy_mark(on: bool) -> list[etree._Element]:
    """A legacy FORMCHECKBOX named as Word names it (Check1), not by any formflow tag."""
    return [para(*legacy_checkbox("Check1", "1" if on else "0"))]


def beside_box_mark(on: bool) -> list[etree._Element]:
    """An X typed after the empty box glyph, which is left where it was."""
    return [para(run("☐ X" if on else "☐"))]


RESPONDERS = ("Team Manager", "Service Manager", "Head of Service", "Deputy Strategic Director/DCS")


def seed_form(
    v: SeedValues,
    tick: str = "☒",
    untick: str = "☐",
    merged: bool = False,
    *,
    mark: Mark | None = None,
    split: bool = True,
    inline: bool = False,
) -> bytes:
    """The seed 003 'Challenge and Resolution Form' as printed (shared/seeds/003_*.txt): its
    label cells, the stage ladder whose Stage 1 and 'Placement concerns' rows have no box
    printed, no role or legal-status boxes. ``mark`` fills tick cells (default: the glyphs);
    ``split`` cuts typed text across runs as Word does; ``inline`` types the header's values
    after their labels ("Name of Child: Tegan Example"), leaving the value cells empty."""
    marked = mark or glyph_mark(tick, untick)

    def box(on: bool, printed: bool = True) -> etree._Element:
        return cell(*(marked(on) if on or printed else [para()]))

    def pair(label: Sequence[str], value: str) -> etree._Element:
        lines = list(label)
        if inline:
            lines[0] = f"{lines[0].strip().rstrip(':')}: {value}"
            value = ""
        label_paras = [para(*runs(line, split=True)) for line in lines]
        return row(
            cell(*label_paras), cell(*text_paras(value, split=split), span=2 if merged else 1)
        )

    header = table(
        [
            pair(["Date of Notification"], v.notification),
            pair(["From: ", "(Allocated Child Protection Conference Chair/IRO)"], v.raised_by),
            pair(["To:"], v.to),
            pair(["Name of Child"], v.child),
            pair(["DoB"], v.dob),
            pair(["LCS number"], v.case_number),
            pair(["Social Worker "], v.social_worker),
            pair(["Team and Team Manager "], v.team_and_manager),
        ],
        columns=3 if merged else 2,
    )
    ladder_rows = [
        row(
            cell(para(run("Stage of Escalation "))),
            cell(para(run("Please tick"))),
            cell(para(run("Manager/Service"))),
        )
    ]
    for n, who in enumerate(RESPONDERS, start=1):
        form_name = "QA form/ Challenge Escalation Form" if n == 1 else "Challenge Escalation Form"
        ladder_rows.append(
            row(
                cell(
                    para(),
                    para(run(f"Stage  {n}" if n == 2 else f"Stage {n}")),
                    para(run(form_name)),
                ),
                box(v.stage == n, printed=n != 1),
                cell(
                    para(run(f"({who} – within 5 working days)")),
                    vmerge=("restart" if n == 1 else "") if merged else None,
                ),
            )
        )
    ladder_rows.append(
        row(
            cell(para(run("At any point (subject to Service Manager Agreement)"))),
            box(v.cafcass),
            cell(para(run("(CAFCASS)"))),
        )
    )
    concern = table(
        [
            row(
                cell(
                    para(run("What are we worried about?")),
                    para(run("What actions have taken place to resolve the worries?")),
                    para(run("(Brief summary of concern resulting in the formal challenge)")),
                    *text_paras(v.concern, split=split),
                )
            ),
            row(
                cell(
                    para(run("Outcome and Impact for the Child/Young Person. ")),
                    para(
                        run(
                            "(Identify impact / outcomes and the reasons for this challenge.  The "
                            "attempts that have been made to address and resolve issues of "
                            "dispute both at an informal and formal stage/s)"
                        )
                    ),
                    *text_paras(v.outcome, split=split),
                )
            ),
        ],
        columns=1,
    )
    theme_rows = [row(cell(para(run("Themes and Issues"))), cell(para(run("Please tick"))))]
    for key, field in form.THEME_FIELDS.items():
        label = field.label.replace("child's", "child’s").replace(
            "voice of the child/young person", "Voice of the Child/Young Person "
        )
        theme_rows.append(
            row(cell(para(), para(run(label))), box(key in v.themes, printed=key != "placement"))
        )
    action_rows = [
        row(
            cell(
                para(
                    run("Recommended Action (SMART actions leading to improved outcomes/impact) ")
                ),
                span=3,
            )
        ),
        row(cell(para(run("Action"))), cell(para(run("By when"))), cell(para(run("By whom")))),
    ]
    for n in range(form.MAX_ACTIONS):
        typed = v.actions[n] if n < len(v.actions) else ("", "", "")
        action_rows.append(row(*(cell(*text_paras(t, split=split)) for t in typed)))
    closing = table(
        [
            row(
                cell(
                    para(
                        run(
                            "Response to Challenge and Resolution from Team manager/Service Manager/Head of Service "
                        )
                    ),
                    *text_paras(v.response, split=split),
                    para(),
                    para(run(f"Date: {v.response_date}")),
                )
            ),
            row(
                cell(
                    para(run("Child Protection/IRO Service Manager final comments ")),
                    *text_paras(v.final_comments, split=split),
                    para(run("Date:")),
                    para(run(v.final_date)),
                )
            ),
        ],
        columns=1,
    )
    return package(
        [
            para(run("CHILDREN AND YOUNG PEOPLES SERVICES")),
            para(run("Safeguarding Unit – Child Protection Conference Chairs and IROs")),
            para(run("CHALLENGE AND RESOLUTION FORM")),
            header,
            table(ladder_rows, columns=3),
            concern,
            table(theme_rows),
            table(action_rows, columns=3),
            closing,
            para(run("Challenge and Resolution – Flowchart and Guidance")),
            para(run("Stage 1 (5 Days)")),
            para(run("To be raised on the challenge and resolution form by the IRO/CPC.")),
        ]
    )


# --- saved by LibreOffice ---------------------------------------------------------------------


def as_libreoffice(data: bytes) -> bytes:
    """The document with the traits of one LibreOffice Writer saved, so tests need no
    LibreOffice: every content control loses its tag and alias (measured with 7.4, see
    PITFALLS.md); a vertically merged cell is written ``continue``, as its DOCX export
    does (sw/source/filter/ww8/docxattributeoutput.cxx); each run carries its fonts and
    language explicitly; cell paragraphs carry a style of their own; a bookmark sits in the
    first paragraph. The text and the cell grid are kept, as LibreOffice keeps them."""
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(strip_tags(data))).read("word/document.xml"))
    for r in root.iter(f"{W}r"):
        if r.find(f"{W}rPr") is None:
            fonts = el("w:rFonts", ascii="Arial", hAnsi="Arial", cs="Arial")
            r.insert(0, el("w:rPr", fonts, el("w:lang", val="en-GB")))
    for merge in root.iter(f"{W}vMerge"):
        if merge.get(f"{W}val") is None:
            merge.set(f"{W}val", "continue")
    for tc in root.iter(f"{W}tc"):
        for p in tc.findall(f"{W}p"):
            if p.find(f"{W}pPr") is None:
                p.insert(0, el("w:pPr", el("w:pStyle", val="TableContents")))
    first = next(root.iter(f"{W}p"))
    cursor = el("w:bookmarkStart", id="0")
    cursor.set(f"{W}name", "_GoBack")  # ``name`` is el()'s own first parameter
    first.append(cursor)
    first.append(el("w:bookmarkEnd", id="0"))
    return replace_part(data, "word/document.xml", etree.tostring(root))


# --- fillable PDFs ------------------------------------------------------------------------------------


def pdf_form(values: FormValues, fields: Iterable[Field]) -> bytes:
    """A fillable PDF made by WeasyPrint: one labelled input per field, named by its tag."""
    import html

    from weasyprint import HTML

    rows = []
    for item in fields:
        typed = values.get(item.tag, False if item.kind is FieldKind.CHECKBOX else "")
        label = html.escape(item.label)
        if item.kind is FieldKind.CHECKBOX:
            checked = " checked" if typed else ""
            control = f'<input type="checkbox" name="{item.tag}"{checked}>'
        elif item.kind is FieldKind.LONG_TEXT:
            control = f'<textarea name="{item.tag}">{html.escape(str(typed))}</textarea>'
        else:
            control = f'<input type="text" name="{item.tag}" value="{html.escape(str(typed))}">'
        rows.append(f"<p>{label} {control}</p>")
    page = "<html><body>" + "".join(rows) + "</body></html>"
    pdf: bytes = HTML(string=page).write_pdf(pdf_forms=True)
    return pdf
