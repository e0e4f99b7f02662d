"""Build formflow's Word templates: ``templates/challenge.docx`` and ``templates/document.docx``.

There is no Word on the build machine, so the templates are made here with python-docx and
raw WordprocessingML, and committed; ``tests/render/test_templates.py`` checks that the
committed files equal what this script builds. Run it after changing the layout:

    .venv/bin/python tools/build_templates.py

challenge.docx is the fillable form: every field a content control whose ``w:tag`` is the
tag in ``formflow.form`` and whose ``w:alias`` is its label, with the same label in the
table cell to its left, so a form that LibreOffice saved (tags gone) still reads by label.
Jinja placeholders sit inside the controls, one run each: rendered with no context it is
the blank form; with a challenge it is the pre-filled, next-stage or final form.

challenge-form.docx and challenge-form.pdf are the blank official form rendered from it,
for staff to copy; both are written by this script too.

document.docx is the letter-like layout for the other documents (closure note, CAFCASS
checklist, draft IRO report): title, banner, summary table and sections of paragraphs and
three-column tables, all driven by a document model built in ``formflow.render.model``.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.enum.section import WD_ORIENT
from docx.oxml import parse_xml
from docx.shared import Pt, Twips

from formflow.form import (
    BODY_FIELDS,
    CAFCASS_FIELDS,
    FINAL_FIELDS,
    HEADER_FIELDS,
    INFORMAL_FIELDS,
    IRO_FIELDS,
    MAX_ACTIONS,
    RESPONSE_FIELDS,
    THEME_FIELDS,
    Field,
    FieldKind,
    action_fields,
    history_action_fields,
    history_fields,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"'
)
PAGE_WIDTH = 11906  # A4, twips
MARGIN = 1020  # 1.8 cm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
DARK = "1F3864"  # section headings
LIGHT = "DCE6F2"  # label cells
PALE = "F2F2F2"  # guidance and read-only history
FONT = "Arial"
LANGUAGE = "en-GB"
BOX_FONT = "MS Gothic"  # Word's own font for checkbox glyphs

# Fixed so a rebuilt template is byte-identical to the committed one.
ZIP_DATE = (2025, 1, 1, 0, 0, 0)
FIXED_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Ids:
    """Content-control ids: unique within the template, deterministic across builds, and
    unique in every rendered form too. Word keeps only the last of several controls that
    share an id (the rest lose their tags and their tick boxes), so a control inside a
    loop gets ``K + REPEAT * m``: K is its own place in the template (all below REPEAT)
    and ``m`` a Jinja expression unique to each time round the loop."""

    REPEAT = 10000

    def __init__(self) -> None:
        self.value = 1000

    def next(self, repeat: str = "") -> str:
        self.value += 1
        assert self.value < self.REPEAT, "more controls than the id scheme allows"
        return f"{{{{ {self.value} + {self.REPEAT} * ({repeat}) }}}}" if repeat else str(self.value)


IDS = Ids()


# --- WordprocessingML pieces ----------------------------------------------------------


def run(
    text: str, *, bold: bool = False, italic: bool = False, size: int | None = None, color: str = ""
) -> str:
    props = "".join(
        (
            "<w:b/>" if bold else "",
            "<w:i/>" if italic else "",
            f'<w:color w:val="{color}"/>' if color else "",
            f'<w:sz w:val="{size * 2}"/><w:szCs w:val="{size * 2}"/>' if size else "",
        )
    )
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def para(
    runs: str = "",
    *,
    align: str = "",
    before: int = 0,
    after: int = 60,
    keep_next: bool = False,
    style: str = "",
) -> str:
    """A paragraph; ``style`` "Heading1" or "Heading2" makes it a real heading, which a
    screen reader lists and Word's navigation pane shows (the runs keep their look)."""
    props = "".join(
        (
            f'<w:pStyle w:val="{style}"/>' if style else "",
            "<w:keepNext/>" if keep_next else "",
            f'<w:spacing w:before="{before}" w:after="{after}"/>',
            f'<w:jc w:val="{align}"/>' if align else "",
        )
    )
    return f"<w:p><w:pPr>{props}</w:pPr>{runs}</w:p>"


def jinja_para(statement: str) -> str:
    """A paragraph holding only a ``{%p ... %}`` tag: docxtpl replaces it by the tag."""
    return f'<w:p><w:r><w:t xml:space="preserve">{{%p {escape(statement)} %}}</w:t></w:r></w:p>'


def text_control(
    tag: str, alias: str, value: str, *, locked: bool = False, repeat: str = ""
) -> str:
    """A block-level plain-text content control holding one paragraph with ``value``.

    ``tag``, ``alias`` and ``value`` may contain Jinja (one run, no double quotes)."""
    lock = '<w:lock w:val="sdtContentLocked"/>' if locked else ""
    return (
        "<w:sdt><w:sdtPr>"
        f"<w:alias w:val={quoteattr(alias)}/><w:tag w:val={quoteattr(tag)}/>"
        f'<w:id w:val="{IDS.next(repeat)}"/>{lock}<w:text w:multiLine="1"/>'
        "</w:sdtPr><w:sdtContent>"
        f'<w:p><w:pPr><w:spacing w:before="20" w:after="20"/></w:pPr>'
        f'<w:r><w:t xml:space="preserve">{escape(value)}</w:t></w:r></w:p>'
        "</w:sdtContent></w:sdt>"
    )


def checkbox_control(tag: str, alias: str, variable: str, repeat: str = "") -> str:
    """A paragraph with a Word 2010 checkbox control; its state and glyph follow ``variable``."""
    box_font = f'<w:rFonts w:ascii="{BOX_FONT}" w:eastAsia="{BOX_FONT}" w:hAnsi="{BOX_FONT}"/>'
    return (
        '<w:p><w:pPr><w:spacing w:before="20" w:after="20"/><w:jc w:val="center"/></w:pPr>'
        "<w:sdt><w:sdtPr>"
        f'<w:rPr>{box_font}<w:sz w:val="24"/></w:rPr>'
        f"<w:alias w:val={quoteattr(alias)}/><w:tag w:val={quoteattr(tag)}/>"
        f'<w:id w:val="{IDS.next(repeat)}"/>'
        f'<w14:checkbox><w14:checked w14:val="{{{{ {variable}|checked }}}}"/>'
        f'<w14:checkedState w14:val="2612" w14:font="{BOX_FONT}"/>'
        f'<w14:uncheckedState w14:val="2610" w14:font="{BOX_FONT}"/></w14:checkbox>'
        "</w:sdtPr><w:sdtContent>"
        f'<w:r><w:rPr>{box_font}<w:sz w:val="24"/></w:rPr>'
        f"<w:t>{{{{ {variable}|box }}}}</w:t></w:r>"
        "</w:sdtContent></w:sdt></w:p>"
    )


def cell(content: str, width: int, *, fill: str = "", span: int = 1) -> str:
    props = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if fill:
        props += f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>'
    props += '<w:vAlign w:val="center"/>'
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{content or para()}</w:tc>"


def row(cells: Iterable[str], *, height: int = 0, header: bool = False) -> str:
    props = "<w:cantSplit/>"
    if height:
        props += f'<w:trHeight w:val="{height}" w:hRule="atLeast"/>'
    if header:
        props += "<w:tblHeader/>"
    return f"<w:tr><w:trPr>{props}</w:trPr>{''.join(cells)}</w:tr>"


def column_headings(headings: Sequence[str], widths: Sequence[int]) -> str:
    """A table's first row, marked as its header row: Word's accessibility checker asks
    for one, and a screen reader reads each cell with its column's heading."""
    return row(
        [
            cell(para(run(h, bold=True, size=9, color="FFFFFF")), w, fill=DARK)
            for h, w in zip(headings, widths, strict=True)
        ],
        header=True,
    )


SUMMARY_HEADINGS = ("Item", "Details")
"""The columns of a summary table of labels and values."""


def jinja_row(statement: str, widths: Sequence[int]) -> str:
    """A row holding only a ``{%tr ... %}`` tag: docxtpl replaces the row by the tag."""
    tag = para(run("{%tr " + statement + " %}"))
    return row([cell(tag, sum(widths), span=len(widths))])


def table(widths: Sequence[int], rows: Iterable[str]) -> str:
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="7F7F7F"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        f'<w:tblBorders>{borders}</w:tblBorders><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="85" w:type="dxa"/><w:right w:w="85" w:type="dxa"/>'
        "</w:tblCellMar></w:tblPr>"
        f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    )


def spacer() -> str:
    return para(after=0, before=0) + para(after=80)


# --- the form's building blocks -----------------------------------------------------------


def heading_row(title: str, guidance: str, widths: Sequence[int]) -> str:
    content = para(
        run(title, bold=True, size=11, color="FFFFFF"), after=0, keep_next=True, style="Heading2"
    )
    if guidance:
        content += para(run(guidance, italic=True, size=8, color="FFFFFF"), after=20)
    return row([cell(content, sum(widths), fill=DARK, span=len(widths))], header=True)


def label_cell(label: str, width: int, span: int = 1) -> str:
    return cell(para(run(label, bold=True, size=9), after=20), width, fill=LIGHT, span=span)


def field_row(field: Field, widths: Sequence[int], *, locked: bool = False) -> str:
    """Label in the left cell, the control in the cell to its right (spanning the rest)."""
    label_width, rest = widths[0], sum(widths[1:])
    span = len(widths) - 1
    if field.kind is FieldKind.CHECKBOX:
        control = checkbox_control(field.tag, field.label, field.tag)
    else:
        control = text_control(field.tag, field.label, f"{{{{ {field.tag} }}}}", locked=locked)
    return row([label_cell(field.label, label_width), cell(control, rest, span=span)], height=380)


def long_field_rows(field: Field, widths: Sequence[int], height: int = 1400) -> list[str]:
    """A label row over a full-width value row, for free text."""
    total, span = sum(widths), len(widths)
    control = text_control(field.tag, field.label, f"{{{{ {field.tag} }}}}")
    return [
        row([label_cell(field.label, total, span)]),
        row([cell(control, total, span=span)], height=height),
    ]


def fields_table(title: str, guidance: str, fields: Sequence[Field]) -> str:
    widths = (3500, TEXT_WIDTH - 3500)
    rows = [heading_row(title, guidance, widths)]
    for field in fields:
        if field.kind is FieldKind.LONG_TEXT:
            rows += long_field_rows(field, widths, height=900)
        else:
            rows.append(field_row(field, widths))
    return table(widths, rows)


def checkbox_rows(fields: Sequence[Field], widths: Sequence[int], guidance: bool) -> list[str]:
    rows = []
    for field in fields:
        cells = [
            label_cell(field.label, widths[0]),
            cell(checkbox_control(field.tag, field.label, field.tag), widths[1]),
        ]
        if guidance:
            note = para(run(f"{{{{ stage_guidance.{field.tag} }}}}", size=9), after=20)
            cells.append(cell(note, widths[2]))
        rows.append(row(cells, height=380))
    return rows


def procedure_rows(
    collection: str, widths: Sequence[int], *, tick: bool = False, guidance: bool = False
) -> list[str]:
    """Rows whose fields the procedure sets (its levels, its own questions, its joint
    agreements, its CAFCASS steps): one row per item of ``collection`` in the context,
    each with its label, its control tagged as the item says and, where asked, guidance."""
    label = "{{ x.label }}"
    if tick:
        control = checkbox_control("{{ x.tag }}", label, "x.value", repeat="loop.index")
    else:
        control = text_control("{{ x.tag }}", label, "{{ x.value }}", repeat="loop.index")
    cells = [label_cell(label, widths[0]), cell(control, widths[1])]
    if guidance:
        cells.append(cell(para(run("{{ x.guidance }}", size=9), after=20), widths[2]))
    return [
        jinja_row(f"for x in {collection}", widths),
        row(cells, height=380),
        jinja_row("endfor", widths),
    ]


def action_table_rows(widths: Sequence[int]) -> list[str]:
    """The header row (the labels the reader finds) and MAX_ACTIONS fixed rows."""
    first, by_when, by_whom = action_fields(1)
    header = row(
        [
            label_cell(first.label, widths[0] + widths[1], span=2),
            label_cell(by_when.label, widths[2]),
            label_cell(by_whom.label, widths[3]),
        ]
    )
    rows = [header]
    for n in range(1, MAX_ACTIONS + 1):
        action, when, whom = action_fields(n)
        rows.append(
            row(
                [
                    cell(
                        text_control(action.tag, f"{action.label} {n}", f"{{{{ {action.tag} }}}}"),
                        widths[0] + widths[1],
                        span=2,
                    ),
                    cell(
                        text_control(when.tag, f"{when.label} {n}", f"{{{{ {when.tag} }}}}"),
                        widths[2],
                    ),
                    cell(
                        text_control(whom.tag, f"{whom.label} {n}", f"{{{{ {whom.tag} }}}}"),
                        widths[3],
                    ),
                ],
                height=420,
            )
        )
    return rows


HISTORY_WIDTHS = (2300, 3238, 1800, 2300)
EACH_ACTION = "h.n * 100 + a.n"
"""Unique to each action row of each earlier stage (fewer than 100 actions a stage)."""


def history_tables() -> str:
    """One locked table per earlier stage, first row "Earlier stage {n}: ...", as the reader
    expects; tags carry the entry number (``history_{n}_...``)."""
    widths = HISTORY_WIDTHS
    total = sum(widths)
    title = para(
        run("Earlier stage {{ h.n }}: {{ h.title }}", bold=True, size=10, color="FFFFFF"),
        after=20,
        keep_next=True,
        style="Heading3",
    )
    rows = [row([cell(title, total, fill=DARK, span=4)], header=True)]
    for field in history_fields(1):
        suffix = field.tag.removeprefix("history_1_")
        control = text_control(
            f"history_{{{{ h.n }}}}_{suffix}",
            field.label,
            f"{{{{ h.{suffix} }}}}",
            locked=True,
            repeat="h.n",
        )
        rows.append(
            row([label_cell(field.label, widths[0]), cell(control, total - widths[0], span=3)])
        )
    action, by_when, by_whom = history_action_fields(1, 1)
    rows.append(jinja_row("if h.actions", widths))
    rows.append(
        row(
            [
                label_cell(action.label, widths[0] + widths[1], span=2),
                label_cell(by_when.label, widths[2]),
                label_cell(by_whom.label, widths[3]),
            ]
        )
    )
    rows.append(jinja_row("endif", widths))
    rows.append(jinja_row("for a in h.actions", widths))
    prefix = "history_{{ h.n }}_action_{{ a.n }}"
    rows.append(
        row(
            [
                cell(
                    text_control(
                        prefix, action.label, "{{ a.action }}", locked=True, repeat=EACH_ACTION
                    ),
                    widths[0] + widths[1],
                    span=2,
                ),
                cell(
                    text_control(
                        prefix + "_by_when",
                        by_when.label,
                        "{{ a.by_when }}",
                        locked=True,
                        repeat=EACH_ACTION,
                    ),
                    widths[2],
                ),
                cell(
                    text_control(
                        prefix + "_by_whom",
                        by_whom.label,
                        "{{ a.by_whom }}",
                        locked=True,
                        repeat=EACH_ACTION,
                    ),
                    widths[3],
                ),
            ]
        )
    )
    rows.append(jinja_row("endfor", widths))
    return (
        jinja_para("if history")
        + para(
            run("What has happened so far", bold=True, size=12, color=DARK),
            before=120,
            style="Heading2",
        )
        + para(
            run(
                "The earlier stages of this challenge, oldest first, as they ended. They are "
                "locked: the response for this stage goes in section 8.",
                italic=True,
                size=9,
            )
        )
        + jinja_para("for h in history")
        + table(widths, rows)
        + spacer()
        + jinja_para("endfor")
        + jinja_para("endif")
    )


def summary_box() -> str:
    """Who must respond, by when, copies: rows built by the renderer, absent on a blank form.

    Its labels are deliberately not form labels, so readers ignore it."""
    widths = (3500, TEXT_WIDTH - 3500)
    rows = [
        column_headings(SUMMARY_HEADINGS, widths),
        jinja_row("for s in summary", widths),
        row(
            [
                label_cell("{{ s.label }}", widths[0]),
                cell(para(run("{{ s.value }}", bold=True, size=10), after=20), widths[1]),
            ],
            height=340,
        ),
        jinja_row("endfor", widths),
    ]
    return jinja_para("if summary") + table(widths, rows) + spacer() + jinja_para("endif")


def banner() -> str:
    """FINAL on a finalised record; a line saying why this form was sent on a next-stage one.

    A shaded, bordered paragraph, not a one-cell table: a table with no header row is one
    Word's accessibility checker flags, and a screen reader announces a table for a line."""
    border = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="4" w:color="C00000"/>'
        for side in ("top", "left", "bottom", "right")
    )
    box = (
        f'<w:p><w:pPr><w:pBdr>{border}</w:pBdr><w:shd w:val="clear" w:color="auto" '
        'w:fill="FDE9D9"/><w:spacing w:before="60" w:after="60"/><w:ind w:left="85" '
        'w:right="85"/></w:pPr>'
        + run("{{ banner }}", bold=True, size=12, color="C00000")
        + "</w:p>"
    )
    return jinja_para("if banner") + box + spacer() + jinja_para("endif")


def masthead(title: str) -> str:
    return (
        para(run("{{ council_name }}", bold=True, size=14, color=DARK), after=0)
        + para(run("Children's Services · Safeguarding and Quality Assurance", size=9), after=160)
        + para(run(title, bold=True, size=16), after=60, style="Heading1")
    )


def challenge_body() -> str:
    form_width = (3500, TEXT_WIDTH - 3500)
    stage_widths = (2600, 800, TEXT_WIDTH - 3400)
    theme_widths = (TEXT_WIDTH - 1000, 1000)
    action_widths = (2300, 3238, 1800, 2300)

    header = {f.tag: f for f in HEADER_FIELDS}
    details = [header[t] for t in ("reference", "policy", "date_of_notification")] + [
        header[t]
        for t in (
            "raised_by_name",
            "raised_by_iro",
            "raised_by_cp_chair",
            "addressed_to_name",
            "addressed_to_role",
        )
    ]
    child = [
        header[t]
        for t in (
            "child_name",
            "child_date_of_birth",
            "child_case_number",
            "status_child_in_care",
            "status_cp_plan",
            "social_worker",
            "team",
            "team_manager",
        )
    ]
    cafcass_box, cafcass_date = CAFCASS_FIELDS
    concern, impact = BODY_FIELDS
    response_text, *response_rest = RESPONSE_FIELDS
    final_text, final_date = FINAL_FIELDS

    stage_table = table(
        stage_widths,
        [
            heading_row(
                "3. Stage of escalation", "Tick one stage. {{ procedure_line }}", stage_widths
            ),
            *procedure_rows("levels", stage_widths, tick=True, guidance=True),
            *checkbox_rows([cafcass_box], stage_widths, guidance=True),
            field_row(cafcass_date, stage_widths),
        ],
    )
    themes_table = table(
        theme_widths,
        [
            heading_row("6. Themes and issues", "Tick any that apply.", theme_widths),
            *checkbox_rows(list(THEME_FIELDS.values()), theme_widths, guidance=False),
        ],
    )
    concern_table = table(
        form_width,
        [
            heading_row(
                "5. The concern",
                "A brief summary of the concern that led to this challenge, the impact on the "
                "child, and the attempts made to resolve it, informally and formally.",
                form_width,
            ),
            *long_field_rows(concern, form_width, height=2200),
            *long_field_rows(impact, form_width, height=1400),
        ],
    )
    actions_table = table(
        action_widths,
        [
            heading_row(
                "7. Recommended action",
                "SMART actions leading to improved outcomes for the child: what, by when, by whom.",
                action_widths,
            ),
            *action_table_rows(action_widths),
        ],
    )
    response_table = table(
        form_width,
        [
            heading_row(
                "8. Response to the challenge",
                "For the manager responding: your response and the plan agreed, then tick "
                "Resolved or Not resolved.",
                form_width,
            )
        ]
        + long_field_rows(response_text, form_width, height=2200)
        + [field_row(f, form_width) for f in response_rest]
        + procedure_rows("agreements", form_width, tick=True),
    )
    final_table = table(
        form_width,
        [
            heading_row("9. Final comments", "", form_width),
            *long_field_rows(final_text, form_width, height=1100),
            field_row(final_date, form_width),
        ],
    )
    *decisions, reason, decided_on = IRO_FIELDS
    iro_table = table(
        form_width,
        [
            heading_row(
                "11. The IRO's decision",
                "For the IRO/CP chair. On a new form: tick 'Separate challenge' only if the child "
                "already has an open challenge about another concern. Later: tick one decision, "
                "give the reason and the date. To refer to CAFCASS, tick it in section 3 and "
                "date each step in section 10.",
                form_width,
            ),
            *(field_row(f, form_width) for f in decisions),
            *long_field_rows(reason, form_width, height=1100),
            field_row(decided_on, form_width),
        ],
    )
    prerequisites = table(
        form_width,
        [
            heading_row(
                "10. Before a referral to CAFCASS",
                "Children in care only. Enter the date each step the procedure requires was taken.",
                form_width,
            ),
            *procedure_rows("prerequisites", form_width),
        ],
    )
    return "".join(
        (
            masthead("CHALLENGE AND RESOLUTION FORM"),
            banner(),
            para(
                run(
                    "For Independent Reviewing Officers and Child Protection Conference Chairs "
                    "raising a professional challenge about a child's plan. Complete every "
                    "section that applies; dates as dd/mm/yyyy.",
                    italic=True,
                    size=9,
                ),
                after=120,
            ),
            summary_box(),
            fields_table(
                "1. About this challenge",
                "Leave the reference blank on a new challenge; formflow gives one.",
                details,
            ),
            spacer(),
            fields_table("2. The child", "Tick the child's legal status: one or both.", child),
            spacer(),
            stage_table,
            spacer(),
            jinja_para("if own_fields"),
            table(
                form_width,
                [
                    heading_row(
                        "3a. What this procedure also asks", "{{ own_field_choices }}", form_width
                    ),
                    *procedure_rows("own_fields", form_width),
                ],
            ),
            spacer(),
            jinja_para("endif"),
            fields_table(
                "4. Informal stage",
                "Where the concern was first raised informally: when, with whom, and what came "
                "of it.",
                INFORMAL_FIELDS,
            ),
            spacer(),
            concern_table,
            spacer(),
            themes_table,
            spacer(),
            history_tables(),
            actions_table,
            spacer(),
            response_table,
            spacer(),
            final_table,
            spacer(),
            jinja_para("if prerequisites"),
            prerequisites,
            jinja_para("endif"),
            spacer(),
            iro_table,
        )
    )


def document_body() -> str:
    """The letter-like layout the document model fills."""
    summary_widths = (3200, TEXT_WIDTH - 3200)
    widths = (2400, 4038, TEXT_WIDTH - 6438)
    summary = table(
        summary_widths,
        [
            column_headings(SUMMARY_HEADINGS, summary_widths),
            jinja_row("for s in summary", summary_widths),
            row(
                [
                    label_cell("{{ s.label }}", summary_widths[0]),
                    cell(para(run("{{ s.value }}", size=10), after=20), summary_widths[1]),
                ],
                height=340,
            ),
            jinja_row("endfor", summary_widths),
        ],
    )
    section_table = table(
        widths,
        [
            column_headings([f"{{{{ s.table.header[{i}] }}}}" for i in range(3)], widths),
            jinja_row("for r in s.table.rows", widths),
            row(
                [
                    cell(para(run(f"{{{{ r[{i}] }}}}", size=9), after=20), w)
                    for i, w in enumerate(widths)
                ]
            ),
            jinja_row("endfor", widths),
        ],
    )
    return "".join(
        (
            masthead("{{ title }}"),
            banner(),
            jinja_para("if summary"),
            summary,
            spacer(),
            jinja_para("endif"),
            jinja_para("for s in sections"),
            para(
                run("{{ s.heading }}", bold=True, size=12, color=DARK),
                before=160,
                keep_next=True,
                style="Heading2",
            ),
            jinja_para("for line in s.paragraphs"),
            para(run("{{ line }}", size=10), after=100),
            jinja_para("endfor"),
            jinja_para("if s.table"),
            section_table,
            jinja_para("endif"),
            jinja_para("endfor"),
        )
    )


# --- the package -------------------------------------------------------------------------------


def new_document(footer: str) -> docx.document.Document:
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Twips(PAGE_WIDTH), Twips(16838)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Twips(MARGIN))
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(10)
    rfonts = style.element.rPr.rFonts
    for attr in ("w:eastAsia", "w:cs"):
        rfonts.set(docx.oxml.ns.qn(attr), FONT)
    for lang in document.styles.element.iter(docx.oxml.ns.qn("w:lang")):  # the defaults
        lang.set(docx.oxml.ns.qn("w:val"), LANGUAGE)
        lang.set(docx.oxml.ns.qn("w:eastAsia"), LANGUAGE)
    for name in ("Heading 1", "Heading 2", "Heading 3"):
        heading = document.styles[name]
        heading.font.name = FONT  # the runs set size, weight and colour themselves
        heading.element.rPr.rFonts.set(docx.oxml.ns.qn("w:eastAsia"), FONT)
        heading.element.rPr.rFonts.set(docx.oxml.ns.qn("w:cs"), FONT)
    for lang in document.settings.element.iter(docx.oxml.ns.qn("w:themeFontLang")):
        lang.attrib.clear()
        lang.set(docx.oxml.ns.qn("w:val"), LANGUAGE)
    paragraph = section.footer.paragraphs[0]
    paragraph._p.append(
        parse_xml(
            f'<w:r {NS}><w:rPr><w:sz w:val="16"/></w:rPr>'
            f'<w:t xml:space="preserve">{escape(footer)} · Page </w:t></w:r>'
        )
    )
    paragraph._p.append(parse_xml(f'<w:fldSimple {NS} w:instr="PAGE"/>'))
    paragraph._p.append(
        parse_xml(
            f'<w:r {NS}><w:rPr><w:sz w:val="16"/></w:rPr><w:t xml:space="preserve"> of </w:t></w:r>'
        )
    )
    paragraph._p.append(parse_xml(f'<w:fldSimple {NS} w:instr="NUMPAGES"/>'))
    return document


def fill_body(document: docx.document.Document, body_xml: str) -> None:
    body = document.element.body
    sect_pr = body[-1]
    for child in list(body)[:-1]:
        body.remove(child)
    wrapper = parse_xml(f"<w:body {NS}>{body_xml}</w:body>")
    for child in list(wrapper):
        sect_pr.addprevious(child)


def deterministic(data: bytes) -> bytes:
    """The same bytes on every build: fixed zip timestamps and core properties."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in sorted(
            source.infolist(), key=lambda i: (i.filename != "[Content_Types].xml", i.filename)
        ):
            info = zipfile.ZipInfo(item.filename, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(item.filename))
    return out.getvalue()


def build(body_xml: str, title: str, footer: str) -> bytes:
    IDS.value = 1000
    document = new_document(footer)
    fill_body(document, body_xml)
    props = document.core_properties
    props.title, props.author, props.comments = title, "formflow", ""
    props.last_modified_by, props.revision = "formflow", 1
    props.created = props.modified = FIXED_TIME
    props.keywords = props.subject = props.category = ""
    props.language = LANGUAGE
    buffer = io.BytesIO()
    document.save(buffer)
    return deterministic(buffer.getvalue())


def build_all() -> dict[str, bytes]:
    return {
        "challenge.docx": build(
            challenge_body(),
            "Challenge and resolution form",
            "OFFICIAL-SENSITIVE · Challenge and resolution form {{ reference }}",
        ),
        "document.docx": build(
            document_body(), "formflow document", "OFFICIAL-SENSITIVE · {{ title }} {{ reference }}"
        ),
    }


def write_blank_forms(folder: Path) -> list[Path]:
    """The official blank form staff copy from the shared drive, as Word and fillable PDF,
    for the default procedure (``formflow new --policy ID`` makes one for another). The
    same bytes on every build, so a rebuild with no change to the layout changes nothing."""
    from formflow.config import Settings
    from formflow.policy_catalogue import built_in
    from formflow.render import write_form

    settings = Settings()
    policy = built_in()(settings.default_policy)
    written = []
    for name, pdf in (("challenge-form.docx", False), ("challenge-form.pdf", True)):
        path = write_form(None, policy, settings, folder / name, today=dt.date.today(), pdf=pdf)
        if not pdf:
            path.write_bytes(deterministic(path.read_bytes()))
        written.append(path)
    return written


def main() -> int:
    for name, data in build_all().items():
        (TEMPLATES / name).write_bytes(data)
        print(f"wrote templates/{name} ({len(data)} bytes)")
    for path in write_blank_forms(TEMPLATES):
        print(f"wrote templates/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
