"""What each document says, and that what a person typed stays text everywhere."""

from __future__ import annotations

import datetime as dt
import gc
import importlib.util
import io
import os
import stat
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import active_children
from pathlib import Path
from typing import Any, cast

import pikepdf
import pytest
from docxtpl import DocxTemplate
from pypdf import PdfReader
from render_fixtures import (
    NELINCS,
    SETTINGS,
    TODAY,
    assessed,
    document_xml,
    docx_text,
    stage_one,
    stage_two,
)
from weasyprint import HTML
from weasyprint.html import UA

from formflow.core.engine import Document, Respond, Status, apply
from formflow.core.record import Action, Closure, ClosureKind, LegalStatus
from formflow.errors import RejectedForm, RenderError
from formflow.intake import read_form
from formflow.policy_catalogue import built_in
from formflow.render import (
    document_writers,
    pack,
    write_cafcass_pack,
    write_closure_note,
    write_final_record,
    write_form,
    write_next_stage,
)
from formflow.render import pdf as pdf_module
from formflow.render.context import form_context
from formflow.render.model import checklist
from formflow.render.output import document_name, inside
from formflow.render.pdf import (
    PARENT_CHECK_SECONDS,
    PDF_PROCESS_QUEUE,
    all_fields,
    form_html,
    form_pdf,
    html_to_pdf,
    lighter_user_agent_css,
    pdf_later,
    pdf_process,
    render_html,
    settle_heap,
)
from formflow.render.safety import docx_environment, url_fetcher
from formflow.resources import templates_dir

TYPED = "{{ 7*7 }} {% for x in y %} & < > <w:p> {_{ Siôn Llŷr 😀\nsecond line"
TYPED_PDF = TYPED.replace(" 😀", "")  # no emoji font on the machine; the rest must survive


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.fixture(scope="module")
def build_templates() -> Any:
    spec = importlib.util.spec_from_file_location(
        "build_templates", templates_dir().parent / "tools" / "build_templates.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_templates_equal_what_the_script_builds(build_templates: Any) -> None:
    for name, data in build_templates.build_all().items():
        assert (templates_dir() / name).read_bytes() == data, f"rebuild templates/{name}"


def _field_boxes(path: Path) -> dict[str, tuple[int, list[float]]]:
    """Each field of a PDF form: its page and its rectangle."""
    boxes = {}
    for number, page in enumerate(PdfReader(path).pages):
        for annotation in page.get("/Annots") or ():
            widget = annotation.get_object()
            boxes[str(widget["/T"])] = (number, [float(x) for x in widget["/Rect"]])
    return boxes


def test_the_blank_forms_on_the_shared_drive_are_the_current_layout(
    build_templates: Any, tmp_path: Path
) -> None:
    """A layout change without a rebuild once left staff copying a stale blank PDF. The
    Word form is the same bytes on every build; the PDF's fields must sit where a build
    puts them now (within half a point: its bytes depend on the installed fonts and
    WeasyPrint's release, its layout only on a real change)."""
    built = {path.name: path for path in build_templates.write_blank_forms(tmp_path)}
    committed_docx = templates_dir() / "challenge-form.docx"
    assert committed_docx.read_bytes() == built["challenge-form.docx"].read_bytes(), (
        "rebuild templates/challenge-form.docx (python tools/build_templates.py)"
    )
    committed, fresh = (
        _field_boxes(templates_dir() / "challenge-form.pdf"),
        _field_boxes(built["challenge-form.pdf"]),
    )
    assert len(fresh) == 76 and committed.keys() == fresh.keys()
    for tag, (page, box) in fresh.items():
        assert committed[tag][0] == page, f"{tag} is on another page: rebuild the blank PDF"
        moved = max(abs(a - b) for a, b in zip(committed[tag][1], box, strict=True))
        assert moved < 0.5, f"{tag} moved {moved:.2f} pt: rebuild templates/challenge-form.pdf"


@pytest.mark.parametrize("name", ["challenge.docx", "document.docx"])
def test_templates_use_only_the_context_the_renderer_gives(name: str) -> None:
    variables = DocxTemplate(templates_dir() / name).get_undeclared_template_variables(
        docx_environment()
    )
    if name == "challenge.docx":
        known = set(form_context(stage_two(), NELINCS, "x")) | {f.tag for f in all_fields()}
    else:
        known = {"title", "reference", "council_name", "banner", "summary", "sections"}
    assert variables <= known


def test_blank_form_has_every_field_and_no_template_syntax(tmp_path: Path) -> None:
    path = write_form(None, NELINCS, SETTINGS, tmp_path / "blank.docx", today=TODAY)
    text = docx_text(path)
    assert "{{" not in text and "{%" not in text
    assert "CHALLENGE AND RESOLUTION FORM" in text and "Northtown Council" in text
    xml = path.read_bytes()
    assert len(xml) > 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_next_stage_form_addresses_the_new_responder(tmp_path: Path) -> None:
    docx, pdf = write_next_stage(
        stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
    )
    assert docx.name == "PC-2025-7KQ3XM-stage-2-form.docx"
    assert pdf.name == "PC-2025-7KQ3XM-stage-2-form.pdf"
    text = docx_text(docx)
    assert "Sam Okafor, Service Manager" in text
    assert "Your response is due by" in text and "14 November 2025" in text
    assert "Overall target" in text and "17 November 2025" in text  # 10 days from 3 Nov
    assert "Earlier stage 1: Stage 1, not resolved" in text
    assert "We cannot agree the plan.\nA second line." in text
    assert "Review the pathway plan" in text
    assert NELINCS.name in text
    html = form_html(form_context(stage_two(), NELINCS, "N"), fillable=True)
    assert 'name="history_1_action_1"' in html


def test_next_stage_form_says_what_the_assessment_it_is_given_says(tmp_path: Path) -> None:
    """The writer takes the caller's assessment (the pipeline's one per record) and never
    assesses the challenge again."""
    challenge = stage_two()
    given = replace(assessed(challenge), due=dt.date(2025, 12, 1))
    docx, _ = write_next_stage(
        challenge, NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=given
    )
    text = docx_text(docx)
    assert "Your response is due by" in text and "1 December 2025" in text
    assert "14 November 2025" not in text


def test_no_next_stage_form_for_a_challenge_not_awaiting_a_response(tmp_path: Path) -> None:
    challenge = stage_two()
    given = replace(assessed(challenge), status=Status.RESOLVED)
    with pytest.raises(RenderError, match="not awaiting a response"):
        write_next_stage(challenge, NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=given)
    assert list(tmp_path.iterdir()) == []


def test_copy_list_comes_from_the_policy(tmp_path: Path) -> None:
    from formflow.policy_catalogue import built_in

    rotherham = built_in()("rotherham")
    challenge = replace(stage_two(), policy="rotherham")
    docx, _ = write_next_stage(
        challenge,
        rotherham,
        SETTINGS,
        tmp_path,
        today=TODAY,
        assessment=assessed(challenge, rotherham),
    )
    text = docx_text(docx)
    assert "Head of Service; IRO/CPC; Social Worker; Team Manager" in text


def test_typed_text_stays_text_in_docx_pdf_and_html(tmp_path: Path) -> None:
    challenge = stage_two(concern=TYPED, child=replace(stage_one().child, name="Siôn Llŷr"))
    challenge = replace(challenge, concern=TYPED)
    docx, pdf = write_next_stage(
        challenge, NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(challenge)
    )
    assert TYPED in docx_text(docx)
    fields = PdfReader(pdf).get_fields() or {}
    assert fields["concern"]["/V"] == TYPED
    assert fields["child_name"]["/V"] == "Siôn Llŷr"
    html = form_html(form_context(challenge, NELINCS, "N"), fillable=False)
    assert "{{ 7*7 }} {% for x in y %} &amp; &lt; &gt; &lt;w:p&gt;" in html
    resolved = apply(challenge, Respond(TODAY, True, TYPED, "Sam"), NELINCS, SETTINGS.calendar)
    _, final_pdf = write_final_record(resolved.challenge, NELINCS, SETTINGS, tmp_path, today=TODAY)
    text = pdf_text(final_pdf)
    for line in TYPED_PDF.split("\n"):
        assert line in text


class _ParsedAsHtml5(pdf_module._Html):
    """A document as WeasyPrint's own parser, tinyhtml5, reads it."""

    def __init__(self, xhtml: str) -> None:
        HTML.__init__(self, string=xhtml, url_fetcher=url_fetcher(), base_url=None)


def _drawn(data: bytes) -> list[object]:
    """What a PDF shows: each page's drawing and each field, without object numbers."""
    shown: list[object] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            shown.append(page.Contents.read_bytes())
            for widget in page.obj.get("/Annots", None) or []:
                shown.append({k: str(v) for k, v in widget.items() if k not in ("/P", "/AP")})
    return shown


def _odd_text() -> str:
    """Typed text with markup, template syntax, accents, line ends and characters XML forbids."""
    return TYPED_PDF + "\r\nvertical\vtab, form\x0cfeed, \ufffe \udc80 end"


@pytest.mark.parametrize(
    "make",
    [
        lambda: form_pdf(form_context(stage_two(concern=_odd_text()), NELINCS, "N")),
        lambda: form_pdf(
            form_context(stage_two(concern=_odd_text()), NELINCS, "N"), fillable=False
        ),
        lambda: form_pdf(form_context(None, NELINCS, "N")),
        lambda: html_to_pdf(
            render_html(
                "document.html",
                checklist(stage_two(), NELINCS, "N", (), "draft-report.docx").context(),
            )
        ),
    ],
    ids=["next-stage form", "final record", "blank form", "CAFCASS checklist"],
)
def test_our_xhtml_reading_draws_what_weasyprints_own_parser_draws(
    make: Callable[[], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = _drawn(make())
    monkeypatch.setattr(pdf_module, "_Html", _ParsedAsHtml5)
    assert _drawn(make()) == ours


def test_html_that_is_not_well_formed_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="not well-formed XHTML"):
        html_to_pdf("<html><body><p>unclosed</body></html>")


def test_pdf_fetches_no_files_and_no_network() -> None:
    for url in ("file:///etc/passwd", "http://example.invalid/x.png"):
        with pytest.raises(RenderError, match="fetch"):
            html_to_pdf(f'<html><body><img src="{url}"/></body></html>')
    gif = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    assert html_to_pdf(f'<html><body><img src="{gif}"/></body></html>').startswith(b"%PDF")


def test_file_names_stay_inside_the_output_folder(tmp_path: Path) -> None:
    with pytest.raises(RenderError):
        document_name("../etc/passwd", "form", ".docx")
    with pytest.raises(RenderError):
        document_name("PC-2025-7KQ3XM", "../x", ".docx")
    with pytest.raises(RenderError):
        inside(tmp_path, "../escape.docx")


def test_final_record_is_marked_final_with_when_actions_fall_due(tmp_path: Path) -> None:
    plan = (Action("Hold the review", dt.date(2025, 11, 20), "Ifan Jenkins"),)
    answer = Respond(dt.date(2025, 11, 12), True, "Agreed.", "Sam Okafor", actions=plan)
    resolved = apply(stage_two(), answer, NELINCS, SETTINGS.calendar).challenge
    docx, pdf = write_final_record(resolved, NELINCS, SETTINGS, tmp_path, today=TODAY)
    # The PDF is fillable (section 11 is the IRO's), so entries are in its fields.
    fields = " ".join(str(f.get("/V", "")) for f in (PdfReader(pdf).get_fields() or {}).values())
    for text in (docx_text(docx), pdf_text(pdf) + fields):
        assert "FINAL: resolved at Stage 2 on 12 November 2025" in text
        assert "Action 1 falls due" in text
        assert "20 November 2025, by Ifan Jenkins" in text
        assert "Earlier stage 1" in text
        assert "Hold the review" in text


def test_closure_note_says_why(tmp_path: Path) -> None:
    challenge = replace(
        stage_two(),
        child=replace(stage_one().child, legal_status=LegalStatus.CHILD_PROTECTION_PLAN),
        closure=Closure(
            dt.date(2025, 12, 1), ClosureKind.CLOSED_UNRESOLVED, "Stage 4 not resolved."
        ),
    )
    docx, pdf = write_closure_note(challenge, NELINCS, SETTINGS, tmp_path, today=TODAY)
    for text in (docx_text(docx), pdf_text(pdf)):
        assert "Stage 4 not resolved." in text
        assert "only for a child in care" in text.replace("\n", " ")


def test_no_cafcass_pack_for_a_child_not_in_care(tmp_path: Path) -> None:
    challenge = replace(
        stage_two(),
        child=replace(stage_one().child, legal_status=LegalStatus.CHILD_PROTECTION_PLAN),
    )
    with pytest.raises(RenderError, match="only for a child in care"):
        write_cafcass_pack(challenge, NELINCS, SETTINGS, tmp_path, today=TODAY)


def test_cafcass_pack_lists_every_item_and_flags_problems(tmp_path: Path) -> None:
    folder = tmp_path / "supplied"
    folder.mkdir()
    write_form(None, NELINCS, SETTINGS, folder / "1 Care Order.pdf", today=TODAY, pdf=True)
    (folder / "item-3 review records.docx").write_bytes(b"not a pdf")
    (folder / "7 care plan.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "~$draft.docx").write_bytes(b"junk")
    out = tmp_path / "out"
    paths = write_cafcass_pack(stage_two(), NELINCS, SETTINGS, out, today=TODAY, supplied=folder)
    names = sorted(p.name for p in paths)
    assert names == [
        "PC-2025-7KQ3XM-cafcass-bundle.pdf",
        "PC-2025-7KQ3XM-cafcass-checklist.docx",
        "PC-2025-7KQ3XM-cafcass-checklist.pdf",
        "PC-2025-7KQ3XM-cafcass-iro-report-draft.docx",
    ]
    checklist = docx_text(out / "PC-2025-7KQ3XM-cafcass-checklist.docx")
    assert "1. PROVIDED" in checklist and "2. MISSING" in checklist
    assert "needs converting to PDF" in checklist
    assert "cannot be read as a PDF" in checklist
    assert "Cafcass Legal, initially by telephone" in checklist
    assert "NOT RECORDED" in checklist
    bundle = PdfReader(out / "PC-2025-7KQ3XM-cafcass-bundle.pdf")
    pages = len(bundle.pages)
    assert [o.title for o in bundle.outline][:2] == [
        "Index",
        "1. Final Care Order and final Care Plan filed in proceedings",
    ]
    assert len(bundle.outline) == 8
    assert "MISSING" in bundle.outline[2].title
    assert f"Page {pages} of {pages}" in bundle.pages[-1].extract_text()
    report = docx_text(out / "PC-2025-7KQ3XM-cafcass-iro-report-draft.docx")
    assert "3 November 2025" in report and "Stage 1 raised with Priya Raman" in report


def test_every_engine_document_has_a_writer() -> None:
    """All but the note to the IRO, which is a covering email with nothing attached."""
    assert set(document_writers()) == set(Document) - {Document.IRO_NOTE}


def test_the_blank_official_form_is_fillable_and_reads_as_empty() -> None:
    """templates/challenge-form.docx and .pdf are what staff copy: every field present as
    a content control or AcroForm field, and nothing filled in."""
    docx_form = templates_dir() / "challenge-form.docx"
    xml = document_xml(docx_form)
    fixed = [f for f in all_fields() if not f.tag.startswith(("history_", "cafcass_prerequisite_"))]
    for field in fixed:
        assert f'w:val="{field.tag}"' in xml, f"no content control tagged {field.tag}"
    pdf_fields = PdfReader(templates_dir() / "challenge-form.pdf").get_fields() or {}
    assert {f.tag for f in fixed} <= set(pdf_fields)
    for blank in (docx_form, templates_dir() / "challenge-form.pdf"):
        with pytest.raises(RejectedForm, match="'Date of Notification' is empty"):
            read_form(blank, policies=built_in(), settings=SETTINGS, today=TODAY)


@pytest.mark.parametrize("when", ["before the document", "during the document"])
def test_a_dead_pdf_process_loses_no_document(tmp_path: Path, when: str) -> None:
    """The PDF process can be killed (for memory, say); the document is still written and
    the next one gets a new process."""
    pool = pdf_process()
    if when == "before the document":
        with pytest.raises(BrokenProcessPool):
            pool.submit(os._exit, 1).result()
        paths = write_next_stage(
            stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
        )
    else:
        pool.submit(time.sleep, 0.3)
        threading.Timer(0.1, lambda: [p.kill() for p in active_children()]).start()
        paths = write_next_stage(
            stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
        )
    assert [p.suffix for p in paths] == [".docx", ".pdf"]
    assert paths[1].read_bytes().startswith(b"%PDF")
    assert pdf_process() is not pool
    assert pdf_process().submit(int, "7").result() == 7


def test_the_lighter_default_stylesheet_drops_only_the_rules_for_notes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trimmed copy of WeasyPrint's default stylesheet must really be trimmed (a new
    WeasyPrint that words the rules differently shows here, not as a silent slowdown),
    keep everything else, and be the one documents are laid out with."""
    lighter = lighter_user_agent_css()
    for pseudo in ("::footnote-call", "::footnote-marker", "::note-call", "::note-marker"):
        assert pseudo in UA and pseudo not in lighter
    assert "li::marker {" in lighter and "\n::marker {" not in lighter
    assert len(lighter) > 0.95 * len(UA)
    used: list[bool] = []
    original = pdf_module._user_agent
    monkeypatch.setattr(pdf_module, "_user_agent", lambda: used.append(True) or original())
    assert html_to_pdf("<html><body><p>Checked</p></body></html>").startswith(b"%PDF")
    assert used


def test_the_lighter_default_stylesheet_is_read_without_warnings_and_keeps_list_markers(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The watcher reads it at start, so a warning there would greet every operator."""
    with caplog.at_level("WARNING"):
        pdf_module._user_agent.__wrapped__()
    assert caplog.records == []
    path = tmp_path / "list.pdf"
    path.write_bytes(
        html_to_pdf("<html><body><ol><li>First</li><li>Second</li></ol></body></html>")
    )
    text = pdf_text(path)
    assert "1. \n2. " in text and "Second" in text  # decimal markers, drawn apart from items


def test_a_document_is_laid_out_here_while_the_pdf_process_is_busy() -> None:
    """With jobs side by side, a second document does not queue behind the first one in
    the PDF process: it is rendered in this process, so both cores work."""
    getpid = cast(Callable[..., bytes], os.getpid)
    sleep = cast(Callable[..., bytes], time.sleep)
    busy = [pdf_later(sleep, 0.5) for _ in range(PDF_PROCESS_QUEUE)]
    assert pdf_later(getpid)() == os.getpid()
    for document in busy:
        document()
    for _ in range(100):  # the process is marked free just after the result is delivered
        elsewhere = pdf_later(getpid)()
        if elsewhere != os.getpid():
            break
        time.sleep(0.02)
    assert elsewhere != os.getpid()


def test_a_bundle_that_takes_too_long_is_stopped_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Supplied PDFs are read in a child with a memory cap and a time limit; a limit of
    zero stands in for a file that makes pypdf loop."""
    folder = tmp_path / "supplied"
    folder.mkdir()
    write_form(None, NELINCS, SETTINGS, folder / "1 Care Order.pdf", today=TODAY, pdf=True)
    monkeypatch.setattr(pack, "BUNDLE_SECONDS", 0)
    with pytest.raises(RenderError, match="was not built within 0 minutes"):
        pack.write_bundle(stage_two(), "Northtown", folder, tmp_path / "bundle.pdf")
    assert not (tmp_path / "bundle.pdf").exists()


def test_the_pdf_process_collects_garbage_once_after_each_document() -> None:
    """Its start-up objects are frozen and automatic collection is off: the collection
    after each document (``_one_document``) is the only one."""
    assert pdf_process().submit(gc.isenabled).result() is False
    assert pdf_process().submit(gc.get_freeze_count).result() > 10_000


class _Box:
    """A layout object that refers to itself, as WeasyPrint's boxes do to their parents."""

    def __init__(self) -> None:
        self.parent = self


@pytest.mark.parametrize("fails", [False, True])
def test_a_documents_garbage_is_freed_after_it_with_collection_off(fails: bool) -> None:
    left: list[weakref.ref[_Box]] = []

    def render() -> bytes:
        left.append(weakref.ref(_Box()))  # garbage at once, that only a collection frees
        if fails:
            raise RenderError("the layout failed")
        return b"%PDF"

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if fails:
            with pytest.raises(RenderError):
                pdf_module._one_document(render)
        else:
            assert pdf_module._one_document(render) == b"%PDF"
    finally:
        if was_enabled:
            gc.enable()
    assert left[0]() is None, "a cycle made by the document outlived it"


def test_settle_heap_makes_the_layout_objects_then_freezes_everything() -> None:
    made_before = _Box()
    try:
        settle_heap()
        assert pdf_module._stylesheet.cache_info().currsize == 1
        assert pdf_module._font_config.cache_info().currsize == 1
        assert gc.get_freeze_count() > 10_000
        assert not any(o is made_before for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is made_before for o in gc.get_objects())


def test_the_pdf_process_leaves_when_the_service_is_killed(tmp_path: Path) -> None:
    """After kill -9 of the service, its PDF process must not live on as an orphan."""
    script = (
        "import os, sys, time\n"
        "from formflow.render.pdf import pdf_process\n"
        "if __name__ == '__main__':\n"
        "    print(pdf_process().submit(os.getpid).result(), flush=True)\n"
        "    time.sleep(60)\n"
    )
    (tmp_path / "service.py").write_text(script)
    service = subprocess.Popen(
        [sys.executable, str(tmp_path / "service.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None
        worker = int(service.stdout.readline())
        service.kill()
        service.wait(timeout=10)
        service.stdout.close()
        deadline = time.monotonic() + 10 * PARENT_CHECK_SECONDS
        while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{worker}").exists(), "the PDF process outlived the service"
    finally:
        if service.poll() is None:
            service.kill()
