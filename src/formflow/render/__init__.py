"""Generation: the documents formflow writes for a challenge, in Word and PDF.

    write_form          the official form, blank or pre-filled (docx, or fillable PDF)
    write_next_stage    the form for the next responder, with the history so far
    write_final_record  the finalised form when a stage ends resolved
    write_closure_note  why a challenge closed unresolved
    write_cafcass_pack  checklist, draft IRO report and (given a folder) the bundle

Every writer names its files from the reference and the document kind only, writes them
whole (temporary name, then rename) with mode 0o600, and returns the paths written.

It may import the core, ``errors``, ``config``, ``form``, ``resources`` and the outbox's
private writes; never the pipeline, the watcher, the commands or the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from formflow.config import Settings
from formflow.core.engine import Assessment, Document, Status
from formflow.core.policy import Policy
from formflow.core.record import Challenge, ClosureKind
from formflow.errors import RenderError
from formflow.outbox.files import write_private
from formflow.render import model
from formflow.render.context import (
    final_banner,
    final_summary,
    form_context,
    next_stage_banner,
    next_stage_summary,
)
from formflow.render.docx import DOCUMENT_TEMPLATE, FORM_TEMPLATE, render_docx
from formflow.render.output import document_name, inside
from formflow.render.pdf import form_pdf, html_to_pdf, pdf_later, render_html

__all__ = [
    "document_writers",
    "write_cafcass_pack",
    "write_closure_note",
    "write_final_record",
    "write_form",
    "write_next_stage",
]


def write_form(
    challenge: Challenge | None,
    policy: Policy,
    settings: Settings,
    path: Path,
    *,
    today: dt.date,
    pdf: bool = False,
) -> Path:
    """The official form at ``path``: blank when ``challenge`` is None, else pre-filled.

    ``today`` is accepted for symmetry with the other writers; a blank form carries no
    date. The caller chooses the path (``formflow new -o``)."""
    del today
    context = form_context(challenge, policy, settings.council_name)
    data = form_pdf(context) if pdf else render_docx(FORM_TEMPLATE, context)
    return write_private(path, data)


def _pair(
    outdir: Path, reference: str | None, kind: str, docx: bytes, pdf: Callable[[], bytes]
) -> list[Path]:
    """The Word and PDF copies of one document; the PDF was started in the PDF process
    before the Word document was rendered, so the two are made side by side."""
    return [
        write_private(inside(outdir, document_name(reference, kind, ".docx")), docx),
        write_private(inside(outdir, document_name(reference, kind, ".pdf")), pdf()),
    ]


def write_next_stage(
    challenge: Challenge,
    policy: Policy,
    settings: Settings,
    outdir: Path,
    *,
    today: dt.date,
    assessment: Assessment,
) -> list[Path]:
    """The form for the responder at the challenge's current stage (docx and fillable PDF).

    ``assessment`` is the challenge's as the caller made it (``engine.assess``, on the
    day the form is written): the pipeline assesses each record once, and the banner and
    summary say what that assessment says."""
    del today
    if assessment.status is not Status.AWAITING_RESPONSE:
        raise RenderError(
            f"No next-stage form: the challenge is {assessment.status.value}, not awaiting a "
            "response."
        )
    context = form_context(
        challenge,
        policy,
        settings.council_name,
        banner=next_stage_banner(challenge, assessment),
        summary=next_stage_summary(challenge, policy, assessment),
        title=f"{challenge.stage.label} challenge form",
    )
    kind = f"{challenge.stage.slug}-form"
    pdf = pdf_later(form_pdf, context)
    return _pair(outdir, challenge.reference, kind, render_docx(FORM_TEMPLATE, context), pdf)


def write_final_record(
    challenge: Challenge,
    policy: Policy,
    settings: Settings,
    outdir: Path,
    *,
    today: dt.date,
    assessment: Assessment | None = None,
) -> list[Path]:
    """The finalised form: marked FINAL, the agreed plan and when each action falls due."""
    del today, assessment
    if challenge.closure is None or challenge.closure.kind is not ClosureKind.RESOLVED:
        raise RenderError("A final record is for a challenge resolved; this one is not.")
    context = form_context(
        challenge,
        policy,
        settings.council_name,
        banner=final_banner(challenge),
        summary=final_summary(challenge, policy),
        title="Final record",
        agreed_actions_only=True,
    )
    # Fillable like the Word copy: the IRO re-opens or closes it in section 11 of either.
    pdf = pdf_later(form_pdf, context)
    return _pair(
        outdir, challenge.reference, "final-record", render_docx(FORM_TEMPLATE, context), pdf
    )


def _document(outdir: Path, kind: str, document: model.DocumentModel) -> list[Path]:
    context = document.context()
    pdf = pdf_later(html_to_pdf, render_html("document.html", context))
    return _pair(outdir, document.reference, kind, render_docx(DOCUMENT_TEMPLATE, context), pdf)


def write_closure_note(
    challenge: Challenge,
    policy: Policy,
    settings: Settings,
    outdir: Path,
    *,
    today: dt.date,
    assessment: Assessment | None = None,
) -> list[Path]:
    """Why a challenge closed unresolved, with every step taken."""
    del today, assessment
    note = model.closure_note(challenge, policy, settings.council_name)
    return _document(outdir, "closure-note", note)


def write_cafcass_pack(
    challenge: Challenge,
    policy: Policy,
    settings: Settings,
    outdir: Path,
    *,
    today: dt.date,
    assessment: Assessment | None = None,
    supplied: Path | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> list[Path]:
    """The CAFCASS checklist (docx, PDF), the draft IRO report (docx) and, when ``supplied``
    names the IRO's folder of documents, the bundle PDF. Children in care only.
    ``on_problem`` hears each supplied file that could not be bundled, and why."""
    del assessment
    model.require_in_care(challenge)
    report = model.iro_report(challenge, policy, settings.council_name, today)
    report_name = document_name(challenge.reference, "cafcass-iro-report-draft", ".docx")
    written = [
        write_private(inside(outdir, report_name), render_docx(DOCUMENT_TEMPLATE, report.context()))
    ]
    items: tuple[model.ItemStatus, ...] = ()
    if supplied is not None:
        # Only here: the bundle needs pikepdf (qpdf), 5 MB the service need not carry.
        from formflow.render.pack import write_bundle

        bundle_path = inside(outdir, document_name(challenge.reference, "cafcass-bundle", ".pdf"))
        items = write_bundle(challenge, settings.council_name, supplied, bundle_path)
        written.append(bundle_path)
        tell = on_problem or (lambda _problem: None)
        for item in items:
            for problem in item.problems:
                tell(f"Item {item.number}: {problem}; the checklist shows it MISSING.")
    checklist = model.checklist(
        challenge, policy, settings.council_name, items, report_name, settings.cafcass_phone
    )
    return _document(outdir, "cafcass-checklist", checklist) + written


Writer = Callable[..., list[Path]]


def document_writers() -> dict[Document, Writer]:
    """What to call for each document the engine asks for; all take
    ``(challenge, policy, settings, outdir, *, today, assessment)``, the assessment being
    the challenge's (only the next-stage form uses it)."""
    writers: dict[Document, Writer] = {
        Document.NEXT_STAGE_FORM: write_next_stage,
        Document.FINAL_RECORD: write_final_record,
        Document.CLOSURE_NOTE: write_closure_note,
        Document.CAFCASS_PACK: write_cafcass_pack,
    }
    return writers
