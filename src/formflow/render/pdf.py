"""PDFs from the HTML templates in ``templates/html`` with WeasyPrint, offline and sandboxed.

The fillable form uses WeasyPrint's AcroForm support (``pdf_forms=True``): ``<input>`` and
``<textarea>`` named by the form.py tags. Checked by experiment on WeasyPrint 70.0: a
checkbox's on-state is ``/on``, the HTML ``checked`` attribute is honoured (``/V`` and
``/AS`` are ``/on``), text ``value`` and textarea content become ``/V``, and
``readonly`` is ignored, so the history fields are made read-only here (``_form_finisher``).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from typing import Any
from xml.etree import ElementTree

import pydyf
from cssselect2 import ElementWrapper
from jinja2 import TemplateError
from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle
from weasyprint.html import UA, UA_FORM_STYLESHEET
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError

from formflow.errors import RenderError
from formflow.form import (
    BODY_FIELDS,
    CAFCASS_FIELDS,
    FINAL_FIELDS,
    HEADER_FIELDS,
    INFORMAL_FIELDS,
    IRO_FIELDS,
    MAX_ACTIONS,
    RESPONSE_FIELDS,
    STAGE_FIELDS,
    THEME_FIELDS,
    Field,
    FieldKind,
    action_fields,
    history_action_fields,
    history_fields,
)
from formflow.render.context import document_title
from formflow.render.fonts import field_font_css
from formflow.render.safety import html_environment, url_fetcher
from formflow.resources import templates_dir

READ_ONLY = 1
HISTORY_PREFIX = "history_"

_DETAILS = (
    "reference",
    "policy",
    "date_of_notification",
    "raised_by_name",
    "raised_by_iro",
    "raised_by_cp_chair",
    "addressed_to_name",
    "addressed_to_role",
)
_CHILD = (
    "child_name",
    "child_date_of_birth",
    "child_case_number",
    "status_child_in_care",
    "status_cp_plan",
    "social_worker",
    "team",
    "team_manager",
)


def _html_template(name: str) -> str:
    path = templates_dir() / "html" / name
    if not path.is_file():
        raise RenderError(f"The HTML template {name} is missing from {path.parent}.")
    return path.read_text(encoding="utf-8")


@cache
def _stylesheet() -> CSS:
    """formflow's print stylesheet, parsed once for the process rather than per document."""
    css = _html_template("formflow.css") + field_font_css()
    return CSS(string=css, url_fetcher=url_fetcher(), font_config=_font_config())


# WeasyPrint's default stylesheet gives every element six pseudo-elements (::marker and
# the footnote and note calls and markers) whose styles are computed for each element:
# 1,900 of a form's 2,270 style computations, for features formflow never uses. Without
# them a form's PDF takes about 13 % less time. Markers are kept for list items.
_UNUSED_UA_RULES = re.compile(r"^::(?:footnote|note)-[a-z-]+ \{[^}]*\}\n", re.MULTILINE)


def lighter_user_agent_css() -> str:
    """WeasyPrint's default stylesheet without the rules for every element's notes."""
    return _UNUSED_UA_RULES.sub("", UA).replace("\n::marker {", "\nli::marker {")


@cache
def _user_agent() -> CSS:
    # Layout takes the default counter styles from WeasyPrint's own UA_COUNTER_STYLE
    # (HTML._ua_counter_style), filled when WeasyPrint read this stylesheet. Read into it
    # again, "decimal" and "disc" would be refused with a warning at every start.
    return CSS(string=lighter_user_agent_css(), counter_style=CounterStyle())


class _Html(HTML):  # type: ignore[misc]  # WeasyPrint has no type hints
    """WeasyPrint's HTML document, read as XML, with the lighter default stylesheet.

    formflow's templates are well-formed XHTML: void elements closed, attributes quoted,
    typed values escaped by Jinja and cleared of the characters XML forbids
    (``safety.clean_text``). The standard library's expat reads a form in under a
    millisecond, where tinyhtml5, WeasyPrint's HTML5 parser in pure Python, took 17 to
    33 ms of each form's PDF. WeasyPrint's own ``__init__`` is not called: it would parse
    the document again. The attributes set here are the ones it sets, and a test checks
    that the PDFs come out the same as WeasyPrint's own parser makes them."""

    def __init__(self, xhtml: str) -> None:
        try:
            root = ElementTree.fromstring(xhtml)
        except ElementTree.ParseError as exc:
            raise RenderError(f"A document's HTML is not well-formed XHTML ({exc}).") from exc
        self.base_url = None
        self.url_fetcher = url_fetcher()
        self.media_type = "print"
        self.wrapper_element = ElementWrapper.from_html_root(root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [_user_agent(), UA_FORM_STYLESHEET] if forms else [_user_agent()]


PARENT_CHECK_SECONDS = 2.0


def _exit_with(parent: int) -> None:
    """In the PDF process: leave when the process that started it is gone. A pool worker
    never notices on its own (it holds both ends of its task queue), so after a kill -9
    of the service it would otherwise live on, holding 100 MB, for ever."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="formflow-parent-watch", daemon=True).start()


def settle_heap() -> None:
    """Make the layout objects a process keeps (stylesheets, fonts) now, then take every
    object made so far out of the garbage collector's sight (``gc.freeze``).

    A full collection walks every tracked object, and a PDF's layout makes enough garbage
    to start one every few documents. Without this, each walked the process's 100,000 or
    so start-up objects again: measured on the form, 28 ms of every PDF went to full
    collections, 8 ms after. Frozen objects are never freed, so this is for objects that
    live as long as the process anyway; the collection first frees what start-up left."""
    _stylesheet()
    _user_agent()
    _font_config()
    gc.collect()
    gc.freeze()


def _start_pdf_process(parent: int) -> None:
    """The PDF process's set-up. It lays out one document at a time and does nothing
    else, so instead of the forty or so automatic collections during each document, it
    collects once after each one (``_one_document``). Measured on the form: 10 ms of
    collection per PDF, against 38 ms with the defaults, and a peak 8 MB lower, since
    the garbage of one document is all there ever is."""
    _exit_with(parent)
    settle_heap()
    gc.disable()


def _one_document(render: Callable[..., bytes], *args: Any, **options: Any) -> bytes:
    """In the PDF process: ``render(*args, **options)``, then the collection of its garbage."""
    try:
        return render(*args, **options)
    finally:
        gc.collect()


@cache
def pdf_process() -> ProcessPoolExecutor:
    """A second process for PDF layout, which is most of a document's cost and all CPU:
    while it lays out the PDF, this one writes the Word document and the notices."""
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_start_pdf_process,
        initargs=(os.getpid(),),
    )
    atexit.register(pool.shutdown, cancel_futures=True)
    return pool


PDF_PROCESS_QUEUE = 3
_process_free = threading.Semaphore(PDF_PROCESS_QUEUE)
"""Documents with the PDF process: the one it lays out and those next in line, so it
never waits for a job between documents. With four jobs, three of every four PDFs go
there and one is laid out here, which balances the two processes: this one also writes
every Word document and email and reads every form. Measured with 200 forms dropped at
once: one at a time with two jobs, 2.7-2.9 forms/s (this process at 80-94 % of a core,
the PDF process at 66 %); two with three jobs, 2.9-3.6 (97 % against 76 %); three with
four jobs, 3.5-3.6."""
_here = threading.Lock()
"""One layout at a time in this process: WeasyPrint's shared font configuration is not
made for threads, and the GIL would run two layouts no faster than one."""


def pdf_later(render: Callable[..., bytes], *args: Any, **options: Any) -> Callable[[], bytes]:
    """Start ``render(*args, **options)`` in the PDF process; call the result for the bytes.

    When the PDF process already has PDF_PROCESS_QUEUE documents (the watcher runs jobs
    side by side), this one is laid out here instead of queueing, so both cores work. If the
    PDF process has died (killed for memory, say), a new one is made for the next
    document and this one is rendered here instead, so a dead helper never loses a form."""

    def here() -> bytes:
        with _here:
            return render(*args, **options)

    if not _process_free.acquire(blocking=False):
        return here
    try:
        future = pdf_process().submit(_one_document, render, *args, **options)
    except BrokenProcessPool:  # it died after the last document
        _process_free.release()
        pdf_process.cache_clear()
        return here
    future.add_done_callback(lambda _done: _process_free.release())

    def result() -> bytes:
        try:
            return future.result()
        except BrokenProcessPool:  # it died on this one
            pdf_process.cache_clear()
            return here()

    return result


@cache
def _font_config() -> FontConfiguration:
    """One font configuration for the process. Without it WeasyPrint makes a new one per
    document and never frees it: measured here, 0.2 to 0.7 MB more resident memory per PDF,
    without bound, in a service that renders for months."""
    return FontConfiguration()


def render_html(template: str, context: dict[str, Any]) -> str:
    try:
        compiled = html_environment().from_string(_html_template(template))
        return compiled.render({**context, "document_title": document_title(context)})
    except TemplateError as exc:
        raise RenderError(f"The HTML template {template} could not be filled: {exc}") from exc


MARKING = "OFFICIAL-SENSITIVE"
"""The protective marking on every page (the government's marking for a child's case)."""

PDF_VARIANT = "pdf/ua-1"
"""Every document formflow writes is tagged and declares PDF/UA-1 (the Public Sector
Bodies Accessibility Regulations 2018): WeasyPrint writes the structure tree from the
HTML, MarkInfo, the title (``<title>``) and the language (``lang="en-GB"``)."""


def html_to_pdf(
    html: str,
    *,
    fillable: bool = False,
    finisher: Callable[[pydyf.PDF, Objects], None] | None = None,
    tagged: bool = True,
    house_style: bool = True,
) -> bytes:
    """The PDF of ``html`` (XHTML: see ``_Html``); nothing is fetched (``safety.url_fetcher``).

    ``tagged=False`` is for the bundle's page stamps only, which become artifacts of the
    bundle's pages; ``house_style=False`` leaves out formflow.css (its page footers)."""

    def finish(_document: object, pdf: pydyf.PDF) -> None:
        if not tagged and finisher is None:
            return
        # One map for both: reading each object's reference costs a few ms a form.
        objects = {o.reference: o for o in pdf.objects if isinstance(o, pydyf.Object)}
        if tagged:
            footers_as_artifacts(pdf, objects)
        if finisher is not None:
            finisher(pdf, objects)

    try:
        document = _Html(html)
        data: bytes = document.write_pdf(
            stylesheets=[_stylesheet()] if house_style else [],
            pdf_forms=fillable,
            finisher=finish,
            font_config=_font_config(),
            pdf_variant=PDF_VARIANT if tagged else None,
        )
    except FatalURLFetchingError as exc:
        # A BaseException in WeasyPrint: turn it into the domain error.
        raise RenderError(f"The document tried to fetch a resource: {exc}") from exc
    return data


Objects = dict[bytes, Any]
"""A PDF's objects by their reference (``b"12 0 R"``), as WeasyPrint is about to write them."""


def footers_as_artifacts(pdf: pydyf.PDF, objects: Objects) -> None:
    """Mark the running footers (the page margin boxes) as pagination artifacts.

    WeasyPrint 70 marks their text with marked-content ids that no element of the
    structure tree reaches (an artifact in the tree is PDF 2.0 only), so the text is
    neither read nor skipped: PDF/UA-1 wants every piece of content to be one or the
    other. Here each id the tree never reaches becomes ``/Artifact <</Type /Pagination>>``,
    which screen readers skip and checkers accept."""
    root = pdf.catalog.get("StructTreeRoot")
    if root is None:
        return
    reached: set[tuple[object, int]] = set()
    pending = list(objects[root]["K"])
    while pending:
        element = objects.get(pending.pop())
        if not isinstance(element, pydyf.Dictionary) or "K" not in element:
            continue
        for kid in element["K"]:
            if isinstance(kid, int):
                reached.add((element["Pg"], kid))
            else:
                pending.append(kid)
    for page_reference in pdf.page_references:
        content = objects[objects[page_reference]["Contents"]].stream
        for n, item in enumerate(content):
            mcid = item.get("MCID") if isinstance(item, pydyf.Dictionary) else None
            if mcid is not None and (page_reference, mcid) not in reached:
                content[n - 1] = "/Artifact"
                content[n] = pydyf.Dictionary({"Type": "/Pagination"})


def _field(field: Field, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "tag": field.tag,
        "label": field.label,
        "value": values.get(field.tag, False if field.kind is FieldKind.CHECKBOX else ""),
        "checkbox": field.kind is FieldKind.CHECKBOX,
        "long": field.kind is FieldKind.LONG_TEXT,
    }


def form_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The form's fields grouped by section, with the values of ``values`` (tag -> value)."""
    header = {f.tag: f for f in HEADER_FIELDS}
    cafcass_box, cafcass_date = CAFCASS_FIELDS
    return {
        "details": [_field(header[t], values) for t in _DETAILS],
        "child": [_field(header[t], values) for t in _CHILD],
        "stages": [_field(cafcass_box, values)],
        "cafcass_date": _field(cafcass_date, values),
        "informal": [_field(f, values) for f in INFORMAL_FIELDS],
        "body": [_field(f, values) for f in BODY_FIELDS],
        "themes": [_field(f, values) for f in THEME_FIELDS.values()],
        "actions": [
            {"n": n, "cells": [_field(f, values) for f in action_fields(n)]}
            for n in range(1, MAX_ACTIONS + 1)
        ],
        "response": [_field(f, values) for f in RESPONSE_FIELDS],
        "final": [_field(f, values) for f in FINAL_FIELDS],
        "iro": [_field(f, values) for f in IRO_FIELDS],
    }


def form_html(context: dict[str, Any], *, fillable: bool) -> str:
    history_labels = [
        {
            "suffix": f.tag.removeprefix("history_1_"),
            "label": f.label,
            "long": f.kind is FieldKind.LONG_TEXT,
        }
        for f in history_fields(1)
    ]
    return render_html(
        "challenge.html",
        {
            **context,
            "fillable": fillable,
            "fields": form_fields(context),
            "history_labels": history_labels,
            "action_labels": [f.label for f in action_fields(1)],
        },
    )


def _form_finisher(labels: dict[str, str]) -> Callable[[pydyf.PDF, Objects], None]:
    """What WeasyPrint leaves out of a form, added to its PDF objects before they are
    written (a second pass through pypdf cost more than a quarter of the form's time).

    Tooltips (``/TU``) are the printed labels, not the tags. Checkboxes get a
    ZapfDingbats tick (``/DA``, ``/MK /CA``): WeasyPrint sets ``NeedAppearances``, and a
    viewer that redraws fields (poppler, Acrobat) otherwise shows a ticked box empty. The
    earlier stages' fields are read-only: they are the record, not for editing."""

    def finish(pdf: pydyf.PDF, by_reference: Objects) -> None:
        form = pdf.catalog.get("AcroForm")
        if form is None:
            return
        zapf = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type1", "BaseFont": "/ZapfDingbats"})
        pdf.add_object(zapf)
        resources = by_reference[form["DR"]]
        by_reference[resources["Font"]]["ZaDb"] = zapf.reference
        for widget in by_reference.values():
            if isinstance(widget, pydyf.Dictionary) and widget.get("Subtype") == "/Widget":
                _finish_widget(widget, labels)

    return finish


def _finish_widget(widget: pydyf.Dictionary, labels: dict[str, str]) -> None:
    name = widget["T"].string
    if name in labels:
        widget["TU"] = pydyf.String(labels[name])
    if widget.get("FT") == "/Btn":
        widget["DA"] = pydyf.String("/ZaDb 0 Tf 0 g")
        widget.setdefault("MK", pydyf.Dictionary())["CA"] = pydyf.String("4")
    if name.startswith(HISTORY_PREFIX):
        widget["Ff"] = int(widget.get("Ff", 0)) | READ_ONLY


def form_pdf(context: dict[str, Any], *, fillable: bool = True) -> bytes:
    finisher = _form_finisher(field_labels(context)) if fillable else None
    return html_to_pdf(form_html(context, fillable=fillable), fillable=fillable, finisher=finisher)


def field_labels(context: dict[str, Any]) -> dict[str, str]:
    """Every field's printed label by tag, for the PDF's tooltips; an action's cells say
    which action they belong to ("Action 2, by when"), where the printed column heading
    alone would name every row the same."""
    labels = {f.tag: f.label for f in all_fields()}
    for n in range(1, MAX_ACTIONS + 1):
        labels.update(_numbered(action_fields(n), f"Action {n}"))
    for p in (
        *(context.get("prerequisites") or ()),
        *(context.get("levels") or ()),
        *(context.get("own_fields") or ()),
        *(context.get("agreements") or ()),
    ):
        labels[p["tag"]] = p["label"]
    for h in context.get("history") or ():
        labels.update({f.tag: f.label for f in history_fields(h["n"])})
        for a in h["actions"]:
            named = f"Earlier stage {h['n']}, action {a['n']}"
            labels.update(_numbered(history_action_fields(h["n"], a["n"]), named))
    return labels


def _numbered(cells: tuple[Field, Field, Field], action: str) -> dict[str, str]:
    what, when, whom = cells
    return {
        what.tag: action,
        when.tag: f"{action}, {when.label.lower()}",
        whom.tag: f"{action}, {whom.label.lower()}",
    }


def all_fields() -> list[Field]:
    return [
        *HEADER_FIELDS,
        *STAGE_FIELDS.values(),
        *CAFCASS_FIELDS,
        *INFORMAL_FIELDS,
        *BODY_FIELDS,
        *THEME_FIELDS.values(),
        *(f for n in range(1, MAX_ACTIONS + 1) for f in action_fields(n)),
        *RESPONSE_FIELDS,
        *FINAL_FIELDS,
        *IRO_FIELDS,
    ]
