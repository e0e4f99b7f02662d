"""The fillable PDF's field font: cut from Liberation Sans, covering what is written here."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from render_fixtures import NELINCS, SETTINGS, TODAY, assessed, stage_two

from formflow.render import fonts, write_form, write_next_stage

WRITTEN_HERE = "Ŵŷ ẁẃẅỳ Siân Ó Súilleabháin Łucja Ńowak Þór Ærøskøbing Ђорђе Ζωή € – “ ” ’ … №"


def _installed() -> Path:
    source = next((p for p in fonts.LIBERATION_SANS if p.is_file()), None)
    assert source is not None, "Liberation Sans is missing: run `make system-packages` as root"
    return source


@pytest.fixture
def no_liberation_sans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(fonts, "LIBERATION_SANS", (tmp_path / "missing.ttf",))
    fonts.field_font_css.cache_clear()
    yield
    fonts.field_font_css.cache_clear()


def test_the_field_font_covers_names_and_notes_and_is_about_half_the_font() -> None:
    whole = TTFont(_installed())
    cut = TTFont(io.BytesIO(fonts.field_font(_installed())))
    covered = cut.getBestCmap()
    assert [c for c in WRITTEN_HERE if c != " " and ord(c) not in covered] == []
    assert len(cut.getGlyphOrder()) < 0.6 * len(whole.getGlyphOrder())
    assert not {"fpgm", "prep", "cvt "} & set(cut.keys())  # no hinting


def test_a_fillable_form_embeds_the_cut_font_for_its_fields(tmp_path: Path) -> None:
    pdf = next(
        p
        for p in write_next_stage(
            stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
        )
        if p.suffix == ".pdf"
    )
    reader = PdfReader(pdf)
    names = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    form_fonts = reader.trailer["/Root"]["/AcroForm"]["/DR"]["/Font"]
    field_names = {str(f.get_object().get("/BaseFont")) for f in form_fonts.values()}
    assert any("formflow-fields" in n for n in field_names | names)
    assert pdf.stat().st_size < 200_000  # 294 KB with the whole font


def test_without_liberation_sans_the_fields_keep_the_page_font(
    tmp_path: Path, no_liberation_sans: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert fonts.field_font_css() == ""
    assert "fonts-liberation2" in caplog.text


def test_a_blank_fillable_form_is_written(tmp_path: Path) -> None:
    """No field has text, so the field font draws nothing in the fields themselves."""
    path = write_form(None, NELINCS, SETTINGS, tmp_path / "blank.pdf", today=TODAY, pdf=True)
    assert len(PdfReader(path).get_fields() or {}) >= 70
