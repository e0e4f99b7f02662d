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
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, Pdf, Rectangle, String

from formflow.core.record import Challenge
from formflow.errors import RenderError
from formflow.outbox.files import write_private
from formflow.render.model import CAFCASS_ITEMS, DocumentModel, ItemStatus, Section, Table
from formflow.render.pdf import MARKING, html_to_pdf, render_html

_ITEM = re.compile(r"^\s*(?:item[\s._-]*)?([1-7])(?![0-9])", re.IGNORECASE)
_JUNK = re.compile(r"^(~\$|\.|~WRL)|^(thumbs\.db|desktop\.ini)$", re.IGNORECASE)
DAMAGED = (
    "cannot be read as a PDF: it may be damaged or only partly copied. Open it in a PDF "
    "reader and save a copy under the same name, or ask whoever sent it for it again"
)


@dataclass(frozen=True)
class Supplied:
    item: int | None
    path: Path
    relative: str


@dataclass(frozen=True)
class Part:
    """A supplied PDF that opened cleanly."""

    item: int
    relative: str
    pdf: Pdf


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


def open_pdf(supplied: Supplied) -> Pdf | str:
    """The PDF, or why it cannot go into the bundle (said so the IRO can act on it).

    qpdf repairs what it can (a lost cross-reference table, say) while reading; what it
    cannot repair is refused here, by name, rather than failing the whole bundle."""
    if supplied.path.suffix.lower() != ".pdf":
        return "needs converting to PDF"
    try:
        pdf = Pdf.open(supplied.path)
        if not pdf.pages:
            return "has no pages"
        for page in pdf.pages:  # reads every page now, so damage shows here, not later
            _ = page.mediabox
        return pdf
    except pikepdf.PasswordError:
        return "is protected by a password: supply it without one"
    except (pikepdf.PdfError, OSError, ValueError, KeyError, RuntimeError):
        return DAMAGED


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


def _index_pdf(model: DocumentModel) -> Pdf:
    """The index pages, without the footers of a document of their own: the bundle's
    stamp numbers every page, the index's included, once."""
    html = render_html("document.html", {**model.context(), "bundle_index": True})
    return Pdf.open(io.BytesIO(html_to_pdf(html)))


def settled_index(
    lengths: Sequence[int], index_for: Callable[[list[int]], DocumentModel]
) -> tuple[Pdf, list[int]]:
    """A bundle's index, and the first page of each part after it (parts in bundle
    order, ``lengths`` their page counts): the index names those pages, so its own length
    moves them; it is laid out again until that settles (three tries at most)."""
    index_pages = 1
    for _ in range(3):
        starts = list(accumulate(lengths, initial=index_pages + 1))[: len(lengths)]
        index = _index_pdf(index_for(starts))
        if len(index.pages) == index_pages:
            break
        index_pages = len(index.pages)
    return index, starts


def finished_bundle(
    assembly: Assembly, title: str, outline: list[OutlineItem], stamp: str
) -> bytes:
    """The bundle's bytes: its parts joined under ``title``, bookmarked, and every page
    stamped with ``stamp`` (a reference, or a subject access label)."""
    bundle = assembly.finish(title)
    with bundle.open_outline() as bookmarks:
        bookmarks.root.extend(outline)
    _stamp(bundle, stamp)
    buffer = io.BytesIO()
    bundle.save(buffer, min_version="1.7")
    return buffer.getvalue()


def shown_size(page: pikepdf.Page) -> tuple[float, float]:
    """The width and height of ``page`` as a reader shows it: its crop box, turned by
    its /Rotate."""
    box = Rectangle(page.cropbox)
    turned = int(page.obj.get("/Rotate", 0)) % 180 == 90
    return (box.height, box.width) if turned else (box.width, box.height)


STAMP_POINTS = 8.0
STAMP_MARGIN_MM = 8
"""Bottom margin of the stamp: its line sits about 3 mm above the edge of the paper,
clear of formflow's own footers (9 mm) and inside a printer's unprintable border."""


def stamp_text(reference: str) -> str:
    return f"{MARKING} · {reference} · Page "


def page_stamps(sizes: list[tuple[float, float]], reference: str) -> Pdf:
    """One page per size, each exactly that size and transparent, with the protective
    marking, the reference and "Page N of M" centred at its foot. On a page too narrow
    for the line at 8 pt (an odd-sized scan), the type is made smaller to fit."""
    text = stamp_text(reference)
    rules = []
    for n, (width, height) in enumerate(sizes):
        length = len(text) + len(" 999 of 999")
        points = min(STAMP_POINTS, (width - 24) / (0.56 * length))
        rules.append(
            f"@page p{n} {{ size: {width:.3f}pt {height:.3f}pt;"
            f" margin: 0 6pt {STAMP_MARGIN_MM}mm 6pt;"
            f' @bottom-center {{ content: "{text}" counter(page) " of " counter(pages);'
            f" font-size: {max(points, 4.0):.2f}pt; white-space: nowrap; }} }}"
        )
    html = (
        '<html lang="en-GB"><head><title>stamps</title><style>'
        + "".join(rules)
        + '@page { @bottom-center { font-family: "Liberation Sans", sans-serif; color: #333; } }'
        + "div { height: 1px; page-break-after: always; }</style></head><body>"
        + "".join(f'<div style="page: p{n}"></div>' for n in range(len(sizes)))
        + "</body></html>"
    )
    return Pdf.open(io.BytesIO(html_to_pdf(html, tagged=False, house_style=False)))


def _stamp(bundle: Pdf, reference: str) -> None:
    """Stamp every page, each in its own size and orientation (qpdf turns the stamp
    against the page's /Rotate), as a pagination artifact that screen readers skip."""
    stamps = page_stamps([shown_size(p) for p in bundle.pages], reference)
    for page, stamp in zip(bundle.pages, stamps.pages, strict=True):
        form = bundle.copy_foreign(stamps.make_indirect(stamp.as_form_xobject()))
        name = page.add_resource(form, Name.XObject, prefix="Stamp")
        placed = page.calc_form_xobject_placement(form, name, Rectangle(page.cropbox))
        page.contents_add(b"q\n", prepend=True)
        page.contents_add(
            b"\nQ\n/Artifact <</Type /Pagination /Subtype /Footer>> BDC\n" + placed + b"\nEMC\n"
        )


class Assembly:
    """The bundle being built: pages and their tags, one source document after another.

    Each source's structure tree is copied under an element of its own (the index's
    under the bundle's Document; each supplied file under a Part titled with its item and
    file name), its pages' keys into the tree are moved past the earlier sources', and
    its form fields are kept read-only under a name of their own. A page supplied without
    tags (a scan) is tagged as one figure whose alternative text says what it is."""

    def __init__(self) -> None:
        self.pdf = Pdf.new()
        self.nums = Array()
        self.next_key = 0
        self.role_map = Dictionary()
        self.fields = Array()
        self.fonts = Dictionary()
        self.document = self.pdf.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Document, K=Array())
        )
        self.tree = self.pdf.make_indirect(
            Dictionary(
                Type=Name.StructTreeRoot,
                K=Array([self.document]),
                ParentTree=Dictionary(Nums=self.nums),
                RoleMap=self.role_map,
            )
        )
        self.document.P = self.tree

    def part(self, title: str, parent: pikepdf.Object | None = None) -> pikepdf.Object:
        """A new Part element titled ``title``, the last child of ``parent``."""
        parent = self.document if parent is None else parent
        element = self.pdf.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name.Part, T=String(title), P=parent, K=Array())
        )
        parent.K.append(element)
        return element

    def add(self, source: Pdf, parent: pikepdf.Object, label: str) -> None:
        first = len(self.pdf.pages)
        with warnings.catch_warnings():
            # The form fields are carried by _adopt_fields, renamed so forms never clash.
            warnings.simplefilter("ignore", pikepdf.exceptions.PageCopyWarning)
            self.pdf.pages.extend(source.pages)
        pages = list(self.pdf.pages)[first:]
        tree = source.Root.get("/StructTreeRoot")
        if tree is None:
            self._tag_untagged(pages, parent, label)
        else:
            self._adopt_tree(self.pdf.copy_foreign(source.make_indirect(tree)), pages, parent)
            _describe_pictures(parent, tree.get("/RoleMap", Dictionary()), label)
        fields = source.Root.get("/AcroForm", Dictionary()).get("/Fields")
        if fields:
            form = self.pdf.copy_foreign(source.make_indirect(source.Root.AcroForm))
            self._adopt_fields(form, len(self.fields) + 1)

    def _adopt_tree(
        self, tree: pikepdf.Object, pages: list[pikepdf.Page], parent: pikepdf.Object
    ) -> None:
        offset = self.next_key
        for element in _kids(tree):
            moved = _kids(element) if element.get("/S") == Name.Document else [element]
            for child in moved:
                if isinstance(child, Dictionary):
                    child.P = parent
                parent.K.append(child)
        keys = dict(_number_tree(tree.get("/ParentTree", Dictionary())))
        for key, value in sorted(keys.items()):
            self.nums.extend(Array([key + offset, value]))
        for page in pages:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annotation in page.obj.get("/Annots", Array()):
                if "/StructParent" in annotation:
                    annotation.StructParent = int(annotation.StructParent) + offset
        self.next_key = offset + max(keys, default=-1) + 1
        for role, standard in tree.get("/RoleMap", Dictionary()).items():
            if role not in self.role_map:
                self.role_map[role] = standard

    def _tag_untagged(self, pages: list[pikepdf.Page], parent: pikepdf.Object, label: str) -> None:
        for n, page in enumerate(pages, start=1):
            figure = self.pdf.make_indirect(
                Dictionary(
                    Type=Name.StructElem,
                    S=Name.Figure,
                    P=parent,
                    Pg=page.obj,
                    K=0,
                    Alt=String(_scan_description(label, n, len(pages))),
                )
            )
            parent.K.append(figure)
            page.contents_add(b"/Figure <</MCID 0>> BDC\n", prepend=True)
            page.contents_add(b"\nEMC\n")
            page.obj.StructParents = self.next_key
            self.nums.extend(Array([self.next_key, Array([figure])]))
            self.next_key += 1

    def _adopt_fields(self, form: pikepdf.Object, number: int) -> None:
        """A bundled form's fields, read-only, under the name ``bundled-N`` so they never
        share a name (and so a value) with another bundled form's."""
        group = self.pdf.make_indirect(
            Dictionary(T=String(f"bundled-{number}"), Kids=form.Fields, Ff=READ_ONLY)
        )
        for field in form.Fields:
            field.Parent = group
        self.fields.append(group)
        # Viewers draw most fields' values from these fonts (NeedAppearances): keep each
        # form's, the first of a name winning (formflow's forms all share theirs).
        for name, font in form.get("/DR", Dictionary()).get("/Font", Dictionary()).items():
            if name not in self.fonts:
                self.fonts[name] = font

    def finish(self, title: str) -> Pdf:
        pdf = self.pdf
        pdf.Root.StructTreeRoot = self.tree
        self.tree.ParentTreeNextKey = self.next_key
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        pdf.Root.Lang = String("en-GB")
        pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        if self.fields:
            pdf.Root.AcroForm = Dictionary(
                Fields=self.fields, NeedAppearances=True, DR=Dictionary(Font=self.fonts)
            )
        for page in pdf.pages:
            page.obj.Tabs = Name.S  # fields in the order of the tags, as PDF/UA asks
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title
            meta["dc:language"] = ["en-GB"]
            meta["pdfuaid:part"] = "1"
        pdf.docinfo[Name.Title] = String(title)
        return pdf


READ_ONLY = 1


def _scan_description(label: str, page: int, pages: int) -> str:
    """A page supplied without tags, as a screen reader announces it: which file, and
    which of its pages where it has more than one."""
    where = f"the supplied file '{label}'"
    where = f"Page {page} of {pages} of {where}" if pages > 1 else where[0].upper() + where[1:]
    return (
        f"{where}: a scan or an untagged PDF, so its text cannot be read aloud. Ask the "
        "sender for an accessible copy."
    )


def _describe_pictures(part: pikepdf.Object, role_map: pikepdf.Object, label: str) -> None:
    """Alternative text for each picture a supplied file tagged without one, so no image
    in the bundle is announced as nothing at all."""
    pending, seen = list(_kids(part)), set()
    while pending:
        element = pending.pop()
        if not isinstance(element, Dictionary) or element.objgen in seen:
            continue
        if element.is_indirect:  # only a reference can lead back to an element seen
            seen.add(element.objgen)
        role = element.get("/S")
        if not isinstance(role, Name):  # a marked-content or object reference
            continue
        if role_map.get(role, role) == Name.Figure and not str(element.get("/Alt", "")).strip():
            element.Alt = String(
                f"A picture in the supplied file '{label}', which came without a description."
            )
        pending.extend(_kids(element))


def _kids(element: pikepdf.Object) -> list[pikepdf.Object]:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _number_tree(node: pikepdf.Object) -> Iterator[tuple[int, pikepdf.Object]]:
    nums = node.get("/Nums", Array())
    for n in range(0, len(nums) - 1, 2):
        yield int(nums[n]), nums[n + 1]
    for kid in node.get("/Kids", Array()):
        yield from _number_tree(kid)


def build_bundle(
    challenge: Challenge, council_name: str, folder: Path
) -> tuple[bytes, tuple[ItemStatus, ...]]:
    parts, items, unassigned = assess_supplied(folder)
    reference = challenge.reference or ""
    ordered = sorted(parts, key=lambda p: p.item)

    def first_pages(part_starts: list[int]) -> dict[int, int]:
        """Each bundled item's first page: that of its first part."""
        starts: dict[int, int] = {}
        for part, page in zip(ordered, part_starts, strict=True):
            starts.setdefault(part.item, page)
        return starts

    index, part_starts = settled_index(
        [len(p.pdf.pages) for p in ordered],
        lambda found: index_model(challenge, council_name, items, first_pages(found), unassigned),
    )
    starts = first_pages(part_starts)
    assembly = Assembly()
    assembly.add(index, assembly.document, "the index")
    outline = [OutlineItem("Index", 0)]
    for item in items:
        title = f"{item.number}. {CAFCASS_ITEMS[item.number - 1][:60]}"
        if item.number not in starts:
            outline.append(OutlineItem(f"{title} (MISSING)", 0))
            continue
        outline.append(OutlineItem(title, starts[item.number] - 1))
        element = assembly.part(f"Bundled item {item.number}. {CAFCASS_ITEMS[item.number - 1]}")
        for part in sorted((p for p in parts if p.item == item.number), key=lambda p: p.relative):
            try:
                assembly.add(part.pdf, assembly.part(part.relative, element), part.relative)
            except (pikepdf.PdfError, RuntimeError, ValueError) as exc:
                raise RenderError(f"{part.relative} {DAMAGED} ({exc}).") from exc
    bundle = finished_bundle(assembly, f"CAFCASS referral bundle {reference}", outline, reference)
    return bundle, items


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
    are whatever the IRO was sent, and a PDF library can loop or balloon on a hostile file."""
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
