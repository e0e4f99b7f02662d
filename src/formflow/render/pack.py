"""The CAFCASS bundle: the IRO's folder of documents as one PDF, indexed, bookmarked, numbered.

The folder rule (how IROs already keep a challenge's documents in the shared drive): a
file belongs to item N (1 to 7) when its name, or the name of the sub-folder it is in,
starts with N, optionally after the word "item": ``1 Care Order.pdf``,
``item-3 review records.pdf``, ``5 - wishes and feelings/letter.pdf``. Files that match no
item are listed as not assigned; editor junk (``~$x.docx``, ``.DS_Store``) is ignored.
Only PDFs go into the bundle: anything else is listed as needing conversion, and an
encrypted or unreadable PDF is listed with the reason. A missing item is shown as
MISSING in the index and bookmarked there, never dropped silently.
"""

from __future__ import annotations

import io
import multiprocessing
import re
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.errors import PdfReadError, PyPdfError

from formflow.errors import RenderError
from formflow.files import write_private
from formflow.record import Challenge
from formflow.render.model import CAFCASS_ITEMS, DocumentModel, ItemStatus, Section, Table
from formflow.render.pdf import html_to_pdf, render_html

_ITEM = re.compile(r"^\s*(?:item[\s._-]*)?([1-7])(?![0-9])", re.IGNORECASE)
_JUNK = re.compile(r"^(~\$|\.|~WRL)|^(thumbs\.db|desktop\.ini)$", re.IGNORECASE)
A4_WIDTH = 595.28


@dataclass(frozen=True)
class Supplied:
    item: int | None
    path: Path
    relative: str


@dataclass(frozen=True)
class Part:
    """A supplied PDF that opened cleanly, with its page count."""

    item: int
    relative: str
    reader: PdfReader


def item_number(name: str) -> int | None:
    match = _ITEM.match(name)
    return int(match.group(1)) if match else None


def find_supplied(folder: Path) -> list[Supplied]:
    """The files in ``folder`` and its sub-folders (one level), each with its item or None."""
    if not folder.is_dir():
        raise RenderError(f"The folder of CAFCASS documents {folder} does not exist.")
    found = []
    for path in sorted(folder.iterdir()):
        if _JUNK.match(path.name):
            continue
        if path.is_dir():
            folder_item = item_number(path.name)
            for inner in sorted(path.iterdir()):
                if inner.is_file() and not _JUNK.match(inner.name):
                    item = item_number(inner.name) or folder_item
                    found.append(Supplied(item, inner, f"{path.name}/{inner.name}"))
        elif path.is_file():
            found.append(Supplied(item_number(path.name), path, path.name))
    return found


def open_pdf(supplied: Supplied) -> PdfReader | str:
    """The PDF, or why it cannot go into the bundle."""
    if supplied.path.suffix.lower() != ".pdf":
        return "needs converting to PDF"
    try:
        reader = PdfReader(supplied.path, strict=False)
        if reader.is_encrypted:
            return "encrypted: supply it without a password"
        if not reader.pages:
            return "has no pages"
        return reader
    except (PyPdfError, PdfReadError, OSError, ValueError, KeyError) as exc:
        return f"cannot be read as a PDF ({type(exc).__name__})"


def assess_supplied(folder: Path) -> tuple[list[Part], tuple[ItemStatus, ...], list[str]]:
    parts: list[Part] = []
    provided: dict[int, list[str]] = {n: [] for n in range(1, 8)}
    problems: dict[int, list[str]] = {n: [] for n in range(1, 8)}
    unassigned = []
    for supplied in find_supplied(folder):
        if supplied.item is None:
            unassigned.append(supplied.relative)
            continue
        opened = open_pdf(supplied)
        if isinstance(opened, str):
            problems[supplied.item].append(f"{supplied.relative}: {opened}")
        else:
            parts.append(Part(supplied.item, supplied.relative, opened))
            provided[supplied.item].append(supplied.relative)
    items = tuple(ItemStatus(n, tuple(provided[n]), tuple(problems[n])) for n in range(1, 8))
    return parts, items, unassigned


def index_model(
    challenge: Challenge,
    council_name: str,
    items: tuple[ItemStatus, ...],
    starts: dict[int, int],
    unassigned: list[str],
) -> DocumentModel:
    rows = []
    for item in items:
        where = f"page {starts[item.number]}" if item.number in starts else "—"
        files = "; ".join((*item.provided, *item.problems)) or "Nothing supplied"
        rows.append(
            (
                f"{item.number}. {item.status}",
                CAFCASS_ITEMS[item.number - 1],
                f"{files} ({where})" if item.number in starts else files,
            )
        )
    sections = [
        Section("Contents", table=Table(("Item", "Document", "Files and page"), tuple(rows)))
    ]
    if unassigned:
        sections.append(
            Section(
                "Files not assigned to an item",
                (
                    "Name each file, or its folder, starting with the item number (1 to 7) "
                    "to include it: " + "; ".join(unassigned),
                ),
            )
        )
    missing = sum(1 for i in items if i.status == "MISSING")
    assert challenge.reference is not None
    return DocumentModel(
        title="CAFCASS REFERRAL BUNDLE",
        reference=challenge.reference,
        council_name=council_name,
        banner=f"{missing} of 7 items MISSING." if missing else "All 7 items included.",
        sections=tuple(sections),
    )


def _index_pdf(model: DocumentModel) -> PdfReader:
    return PdfReader(io.BytesIO(html_to_pdf(render_html("document.html", model.context()))))


def page_stamps(total: int, reference: str) -> PdfReader:
    """``total`` transparent A4 pages, each with "Page N of M" at the bottom right."""
    html = (
        "<!DOCTYPE html><html><head><style>"
        "@page { size: A4; margin: 0 0 9mm 0; @bottom-right { margin-right: 12mm;"
        f' content: "{reference} · Page " counter(page) " of " counter(pages);'
        ' font: 8pt "Liberation Sans", sans-serif; } }'
        "div { page-break-after: always; height: 1px; }</style></head><body>"
        + "<div></div>" * total
        + "</body></html>"
    )
    return PdfReader(io.BytesIO(html_to_pdf(html)))


def build_bundle(
    challenge: Challenge, council_name: str, folder: Path
) -> tuple[bytes, tuple[ItemStatus, ...]]:
    parts, items, unassigned = assess_supplied(folder)
    index_pages = 1
    for _ in range(3):  # the index's own length moves every start page
        starts: dict[int, int] = {}
        page = index_pages + 1
        for part in sorted(parts, key=lambda p: p.item):
            starts.setdefault(part.item, page)
            page += len(part.reader.pages)
        index = _index_pdf(index_model(challenge, council_name, items, starts, unassigned))
        if len(index.pages) == index_pages:
            break
        index_pages = len(index.pages)
    writer = PdfWriter()
    writer.append(index, import_outline=False)
    writer.add_outline_item(title="Index", page_number=0)
    for item in items:
        title = f"{item.number}. {CAFCASS_ITEMS[item.number - 1][:60]}"
        if item.number in starts:
            writer.add_outline_item(title=title, page_number=starts[item.number] - 1)
            for part in sorted(
                (p for p in parts if p.item == item.number), key=lambda p: p.relative
            ):
                writer.append(part.reader, import_outline=False)
        else:
            writer.add_outline_item(title=f"{title} (MISSING)", page_number=0)
    _stamp(writer, challenge.reference or "")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), items


def _stamp(writer: PdfWriter, reference: str) -> None:
    stamps = page_stamps(len(writer.pages), reference)
    for page, stamp in zip(writer.pages, stamps.pages, strict=True):
        box = page.mediabox
        shift = Transformation().translate(float(box.right) - A4_WIDTH, float(box.bottom))
        page.merge_transformed_page(stamp, shift)


BUNDLE_SECONDS = 300
"""Time for one bundle: a year of review records can run to hundreds of pages."""
BUNDLE_MEMORY_BYTES = 2 * 1024 * 1024 * 1024


def _build_in_child(
    connection: Connection, challenge: Challenge, council_name: str, folder: Path
) -> None:
    """The child's whole life: cap its memory, build the bundle, send it back."""
    resource.setrlimit(resource.RLIMIT_AS, (BUNDLE_MEMORY_BYTES, BUNDLE_MEMORY_BYTES))
    try:
        connection.send(build_bundle(challenge, council_name, folder))
    except Exception as exc:  # the parent turns any failure into one plain sentence
        connection.send(exc if isinstance(exc, RenderError) else RenderError(str(exc)))
    finally:
        connection.close()


def write_bundle(
    challenge: Challenge, council_name: str, folder: Path, path: Path
) -> tuple[ItemStatus, ...]:
    """Build the bundle in a child process with a memory cap and a time limit: the PDFs
    are whatever the IRO was sent, and pypdf has had infinite-loop bugs on hostile files."""
    context = multiprocessing.get_context("forkserver")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_build_in_child, args=(sender, challenge, council_name, folder), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(BUNDLE_SECONDS):
            raise RenderError(
                f"The CAFCASS bundle was not built within {BUNDLE_SECONDS // 60} minutes: one "
                "of the supplied PDFs may be damaged. Open each in a PDF reader, save a copy, "
                "and build the pack again."
            )
        result = receiver.recv()
    except EOFError as exc:
        raise RenderError(
            "The CAFCASS bundle could not be built: a supplied PDF needed more memory than "
            "allowed. Open each in a PDF reader, save a copy, and build the pack again."
        ) from exc
    finally:
        receiver.close()
        child.kill()
        child.join()
    if isinstance(result, RenderError):
        raise result
    data, items = cast(tuple[bytes, tuple[ItemStatus, ...]], result)
    write_private(path, data)
    return items
