"""Checks on rendered PDFs with poppler's own tools, as a reader's viewer sees the pages."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)
_WORD = re.compile(
    r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>'
)


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    words: tuple[Word, ...]

    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} (poppler-utils) is missing: run `make test`, which installs it.")
    return path


def pages(pdf: Path) -> list[Page]:
    """Every page as displayed (its /Rotate applied), with each word's box in points from
    the top left, from ``pdftotext -bbox``."""
    out = subprocess.run(
        [poppler("pdftotext"), "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [
        Page(
            float(width),
            float(height),
            tuple(
                Word(html.unescape(w[4]), float(w[0]), float(w[1]), float(w[2]), float(w[3]))
                for w in _WORD.findall(body)
            ),
        )
        for width, height, body in _PAGE.findall(out)
    ]


def pdfinfo(pdf: Path) -> dict[str, str]:
    out = subprocess.run(
        [poppler("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


@dataclass(frozen=True)
class Raster:
    """One page rendered in grey, 0 black to 255 white."""

    width: int
    height: int
    pixels: bytes

    def ink(self, top: int, bottom: int, threshold: int = 160) -> list[tuple[int, int]]:
        """(x, y) of every dark pixel in rows top..bottom-1."""
        return [
            (x, y)
            for y in range(max(top, 0), min(bottom, self.height))
            for x in range(self.width)
            if self.pixels[y * self.width + x] < threshold
        ]

    def rules_down(self, x: int, top: int, bottom: int, threshold: int = 200) -> list[int]:
        """The y of each horizontal line crossing column ``x`` between top and bottom (a
        run of dark pixels counts once, at its first row)."""
        lines, inside = [], False
        for y in range(top, bottom):
            dark = self.pixels[y * self.width + x] < threshold
            if dark and not inside:
                lines.append(y)
            inside = dark
        return lines


def raster(pdf: Path, page: int, dpi: int = 72) -> Raster:
    """Page ``page`` (from 1) as ``pdftoppm -gray`` draws it, rotation applied; at the
    default 72 dpi one pixel is one point."""
    out = subprocess.run(
        [poppler("pdftoppm"), "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), str(pdf)],
        check=True,
        capture_output=True,
    ).stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", out)  # one blank, then the pixels
    assert header, "pdftoppm did not write a grey image"
    width, height = int(header[1]), int(header[2])
    return Raster(width, height, out[header.end() : header.end() + width * height])


def _marks_in_tag_order(document: Any) -> list[tuple[int, int]]:
    """(page number, marked-content id) of every piece of content the structure tree of
    an open pdfplumber document reaches, in the tree's order."""
    marks: list[tuple[int, int]] = []

    def walk(element: dict[str, Any]) -> None:
        marks.extend((element["page_number"], mcid) for mcid in element.get("mcids") or [])
        for child in element.get("children") or []:
            walk(child)

    for element in document.structure_tree:
        walk(element)
    return marks


def text_in_tag_order(pdf: Path) -> str:
    """The text as a screen reader meets it: the structure tree walked in order, each
    element's marked content in turn (pdfplumber's reading of the tree and the chars)."""
    import pdfplumber  # the tests' own dependency, for these checks only

    with pdfplumber.open(pdf) as document:
        by_mark: dict[tuple[int, int], list[str]] = {}
        for page in document.pages:
            for char in page.chars:
                if char.get("mcid") is not None:
                    by_mark.setdefault((page.page_number, char["mcid"]), []).append(char["text"])
        words = ("".join(by_mark.get(mark, [])) for mark in _marks_in_tag_order(document))
        return " ".join(w for w in words if w.strip())


def untagged_text(pdf: Path) -> str:
    """Text that is neither reached from the structure tree nor marked as an artifact."""
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        reached = set(_marks_in_tag_order(document))
        return "".join(
            char["text"]
            for page in document.pages
            for char in page.chars
            if char.get("tag") != "Artifact" and (page.page_number, char.get("mcid")) not in reached
        )
