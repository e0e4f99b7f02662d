"""The font of the fillable PDF's fields: Liberation Sans cut to the scripts in use here.

WeasyPrint embeds the font that form fields use whole, since a person may type any
character into them, and reads every glyph of it again for each PDF. With the page's
own Liberation Sans that was 2,620 glyphs: a 294 KB form, and the largest single cost
of writing one. The fields get a copy cut to Latin (with the accents of Welsh, Irish,
Polish, Vietnamese and the rest), Greek, Cyrillic, punctuation and common symbols:
1,380 glyphs, without hinting, so forms are about 130 KB and quicker to write. It is
made once per process (about 0.4 s) from the installed font (the Makefile installs fonts-liberation2)
and never saved as a font file. A field value outside those scripts is still stored
exactly (formflow reads the value, not the picture); a PDF viewer draws it with a
fallback font.
"""

from __future__ import annotations

import base64
import io
import logging
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

log = logging.getLogger(__name__)

FIELD_FAMILY = "formflow fields"
LIBERATION_SANS = (
    Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
)
FIELD_CHARACTERS = (
    range(0x0020, 0x0250),  # Basic Latin, Latin-1, Latin Extended-A and -B
    range(0x0370, 0x0530),  # Greek, Cyrillic and its supplement
    range(0x1E00, 0x1F00),  # Latin Extended Additional: Welsh ẁ ẃ ẅ ỳ, Vietnamese
    range(0x2000, 0x2200),  # punctuation, currency, letterlike symbols, arrows
)


def field_font(source: Path) -> bytes:
    """``source`` cut to FIELD_CHARACTERS, without hinting."""
    options = subset.Options()
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = ["*"]
    # Viewers draw field text without kerning or ligatures, and FFTM (FontForge's
    # timestamps) is a table fontTools cannot cut: dropping them makes the cut 3x quicker.
    options.layout_features = []
    options.drop_tables += ["FFTM", "GSUB", "GPOS", "kern"]
    font = TTFont(source, recalcTimestamp=False)
    wanted = {c for c in font.getBestCmap() if any(c in r for r in FIELD_CHARACTERS)}
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=wanted)
    cutter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def field_font_css() -> str:
    """The @font-face rule for the fields' font and the rule that uses it; empty when
    Liberation Sans is not installed (the fields then use the page's font, whole)."""
    source = next((path for path in LIBERATION_SANS if path.is_file()), None)
    if source is None:
        log.warning(
            "Liberation Sans is not installed (Debian: fonts-liberation2), so fillable "
            "PDFs embed their whole font and are about twice as large."
        )
        return ""
    encoded = base64.b64encode(field_font(source)).decode("ascii")
    return (
        f'@font-face {{ font-family: "{FIELD_FAMILY}"; '
        f"src: url(data:font/ttf;base64,{encoded}); }}\n"
        # .service, a line of plain text on every form, is drawn in it too: WeasyPrint 70
        # fails writing a PDF 1.4 whose font has fields but no drawn glyph (its CIDSet
        # takes the last of no glyphs), as a blank form's field font would otherwise.
        f'input[type=text], textarea, .service {{ font-family: "{FIELD_FAMILY}", sans-serif; }}\n'
    )
