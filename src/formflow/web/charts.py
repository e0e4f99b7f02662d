"""Bar charts as SVG, drawn on the server: no script, they print, and they scale.

Each chart is a horizontal bar per label with its value written beside the bar, so the
figure is readable without the bar; the page puts the same figures in a table too. Labels
are escaped here because the markup is inserted into the page as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_HEIGHT = 22
GAP = 8
FONT_SIZE = 14
CHARACTER_WIDTH = 0.6 * FONT_SIZE
"""More than the average character of Arial or Liberation Sans takes (about half the
font size): an estimate on the safe side, since the server cannot measure the text."""
LABEL_WIDTH = 260
"""At least; wider when a label needs it (a theme's name is 42 characters)."""
BAR_WIDTH = 380
VALUE_WIDTH = 60
BAR_COLOUR = "#1d70b8"
"""GOV.UK blue: 5.2:1 against white, above WCAG's 3:1 for graphics."""
TEXT_COLOUR = "#0b0c0c"


def bar_chart(title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """An SVG bar chart of ``bars`` (label, value), labelled for screen readers."""
    top = max((value for _, value in bars), default=0) or 1
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    label_width = max(
        [LABEL_WIDTH, *(round(len(label) * CHARACTER_WIDTH) + 16 for label, _ in bars)]
    )
    width = label_width + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = round(BAR_WIDTH * value / top, 1)
        middle = y + BAR_HEIGHT / 2
        shown = f"{value:g}{unit}"
        parts.append(
            f'<text x="{label_width - 8}" y="{middle}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{TEXT_COLOUR}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + length + 6}" y="{middle}" dominant-baseline="middle" '
            f'fill="{TEXT_COLOUR}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
