"""The CAFCASS bundle's pages as a court would see them: one stamp on each, on the paper."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from pdf_checks import Page, Word, pages, raster, untagged_text
from render_fixtures import NELINCS, SETTINGS, TODAY, stage_two

from formflow.render import write_cafcass_pack, write_form
from formflow.render.pdf import html_to_pdf

MM = 72 / 25.4
A4 = (595.28, 841.89)
LETTER = (612.0, 792.0)


def supplied_pdf(path: Path, sizes: list[tuple[float, float, int]]) -> None:
    """An untagged PDF (as a scanner makes them) with pages of these sizes and /Rotate,
    each with a dark block where the scan's content would be."""
    pdf = pikepdf.new()
    for width, height, rotate in sizes:
        page = pdf.add_blank_page(page_size=(width, height))
        page.contents_add(pdf.make_stream(f"0.2 g 20 20 {width - 40} {height - 40} re f".encode()))
        if rotate:
            page.obj.Rotate = rotate
    pdf.save(path)


def stamps_on(page: Page, reference: str) -> list[tuple[Word, ...]]:
    """Each "OFFICIAL-SENSITIVE · REFERENCE · Page N of M" line on the page, as its words."""
    words = page.words
    return [
        words[n : n + 8]
        for n, word in enumerate(words)
        if word.text == "OFFICIAL-SENSITIVE"
        and [w.text for w in words[n + 2 : n + 3]] == [reference]
    ]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bundle")
    folder = tmp / "supplied"
    folder.mkdir()
    write_form(None, NELINCS, SETTINGS, folder / "1 Care Order.pdf", today=TODAY, pdf=True)
    supplied_pdf(
        folder / "2 reports.pdf",
        [(*A4, 0), (A4[1], A4[0], 0), (*LETTER, 0), (LETTER[1], LETTER[0], 0)],
    )
    supplied_pdf(folder / "3 scan.pdf", [(*A4, 90), (*A4, 270), (283.0, 425.0, 0), (200, 151, 180)])
    out = tmp / "out"
    write_cafcass_pack(stage_two(), NELINCS, SETTINGS, out, today=TODAY, supplied=folder)
    return out / "PC-2025-7KQ3XM-cafcass-bundle.pdf"


def test_every_bundled_page_has_one_stamp_with_its_number(bundle: Path) -> None:
    shown = pages(bundle)
    total = len(shown)
    assert total == 1 + 3 + 4 + 4
    for number, page in enumerate(shown, start=1):
        stamps = [[w.text for w in line] for line in stamps_on(page, "PC-2025-7KQ3XM")]
        assert stamps == [
            [
                "OFFICIAL-SENSITIVE",
                "·",
                "PC-2025-7KQ3XM",
                "·",
                "Page",
                str(number),
                "of",
                str(total),
            ]
        ], f"page {number}: {page.text()[-200:]}"


def test_the_stamp_is_on_the_paper_at_the_foot_of_every_size_and_orientation(
    bundle: Path,
) -> None:
    """Drawn as a viewer draws it: in the foot of every page (below the 7 mm that
    formflow's own footers and the test scans leave clear), the stamp's ink is inside the
    paper with 2 mm to spare, centred, and there is nothing else."""
    shown = pages(bundle)
    sizes = {(round(p.width), round(p.height)) for p in shown}
    assert {(595, 842), (842, 595), (612, 792), (792, 612), (283, 425), (200, 151)} <= sizes
    for number in range(1, len(shown) + 1):
        page = raster(bundle, number)
        foot = page.ink(page.height - round(7 * MM), page.height)
        assert foot, f"page {number} has no stamp"
        left, right = min(x for x, _ in foot), max(x for x, _ in foot)
        assert left >= 2 * MM and right <= page.width - 2 * MM, f"page {number} runs off"
        assert max(y for _, y in foot) <= page.height - 2 * MM, f"page {number} too low"
        assert abs((left + right) / 2 - page.width / 2) < 3 * MM, f"page {number} off centre"
        assert right - left > page.width / 5, f"page {number}: the stamp is too small to read"


def test_the_index_has_no_footer_of_its_own(bundle: Path) -> None:
    index = pages(bundle)[0]
    assert len(re.findall(r"Page \d+ of \d+", index.text())) == 1
    assert index.text().count("OFFICIAL-SENSITIVE") == 1


def test_bundled_files_keep_their_tags_and_scans_say_what_they_are(bundle: Path) -> None:
    assert untagged_text(bundle) == ""
    with pikepdf.open(bundle) as pdf:
        document = pdf.Root.StructTreeRoot.K[0]
        parts = {str(p.T): p for p in document.K if p.get("/S") == "/Part"}
        assert list(parts) == [
            "Bundled item 1. Final Care Order and final Care Plan filed in proceedings",
            "Bundled item 2. The children's guardian's report immediately before the Care Order",
            "Bundled item 3. Review records from the preceding 12 months",
        ]
        (form,) = parts[
            "Bundled item 1. Final Care Order and final Care Plan filed in proceedings"
        ].K
        assert str(form.T) == "1 Care Order.pdf"
        assert {str(k.S) for k in form.K} >= {"/H1", "/Table"}  # the form's own tags
        (scan,) = parts["Bundled item 3. Review records from the preceding 12 months"].K
        figures = list(scan.K)
        assert [str(f.S) for f in figures] == ["/Figure"] * 4
        assert "Page 1 of 4 of the supplied file '3 scan.pdf': a scan" in str(figures[0].Alt)
        (group,) = pdf.Root.AcroForm.Fields
        assert str(group.T) == "bundled-1" and int(group.Ff) & 1  # read-only, named apart
        assert len(group.Kids) >= 70


def test_every_picture_in_the_bundle_says_what_it_is(tmp_path: Path) -> None:
    """Alternative text on every figure, read back from the bundle: a one-page scan is
    named by its file (not "Page 1 of 1 of 1 ..."), and a picture a tagged file gave no
    description says where it came from."""
    folder = tmp_path / "supplied"
    folder.mkdir()
    supplied_pdf(folder / "1 Care Order.pdf", [(*A4, 0)])
    picture = base64.b64encode(_png())
    letter = (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"/><title>Letter</title>'
        f'</head><body><p>A letter.</p><img src="data:image/png;base64,{picture.decode()}"/>'
        "</body></html>"
    )
    (folder / "2 letter.pdf").write_bytes(html_to_pdf(letter))
    out = tmp_path / "out"
    write_cafcass_pack(stage_two(), NELINCS, SETTINGS, out, today=TODAY, supplied=folder)
    with pikepdf.open(out / "PC-2025-7KQ3XM-cafcass-bundle.pdf") as pdf:
        figures = _figures(pdf.Root.StructTreeRoot)
        said = [str(f.get("/Alt", "")) for f in figures]
    assert len(said) == 2 and all(said), said
    assert said[0].startswith("The supplied file '1 Care Order.pdf': a scan"), said
    assert "of 1 of" not in said[0]
    assert (
        said[1]
        == "A picture in the supplied file '2 letter.pdf', which came without a description."
    )


def _png() -> bytes:
    """An 8 by 8 grey square, as a PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixels = b"".join(b"\x00" + b"\x80\x80\x80" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def _figures(node: pikepdf.Object) -> list[pikepdf.Object]:
    """The /Figure elements below ``node``, in reading order."""
    found = []
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            if kid.S == "/Figure":
                found.append(kid)
            found.extend(_figures(kid))
    return found
