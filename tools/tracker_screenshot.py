"""A picture of the live tracker as a spreadsheet program shows it: ``docs/images/tracker.png``.

Writes ``tracker.xlsx`` from the fictional register the dashboard's tests use, exactly as
the watcher writes it, has LibreOffice Calc print it to PDF (headless, on one landscape
page), turns the page into a PNG with pdftoppm and cuts it to the cells. Calc comes from
Debian's ``libreoffice-calc-nogui``, installed here with apt when it is missing (as root;
nothing else is installed). Run after changing the tracker::

    .venv/bin/python tools/tracker_screenshot.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "web")]

from web_support import TODAY, fill_register  # noqa: E402

from formflow.config import Settings  # noqa: E402
from formflow.outbox.folders import Home  # noqa: E402
from formflow.policy_catalogue import built_in  # noqa: E402
from formflow.reports.tracker import write_tracker  # noqa: E402
from formflow.store.register import Register  # noqa: E402

TARGET = ROOT / "docs" / "images" / "tracker.png"


def calc() -> str:
    """LibreOffice's command, installed from Debian's packages if it is missing."""
    found = shutil.which("soffice")
    if found is None:
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "libreoffice-calc-nogui"],
            check=True,
        )
        found = shutil.which("soffice")
    assert found, "soffice was not installed"
    return found


def landscape(workbook: Path) -> None:
    """One page, landscape, fitted to its width: the whole row is seen at once."""
    from openpyxl import load_workbook

    book = load_workbook(workbook)
    sheet = book.active
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = True
    book.save(workbook)


def cropped(page: Path, target: Path, margin: int = 24) -> None:
    """The printed page cut to the cells, with a white margin."""
    from PIL import Image, ImageChops

    image = Image.open(page).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    assert box, "the printed page is blank"
    left, top, right, bottom = box
    image.crop((left - margin, top - margin, right + margin, bottom + margin)).save(target)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        home = Home(root)
        fill_register(home)
        with Register(home.database) as register:
            challenges = register.challenges()
        write_tracker(home.outbox, challenges, built_in(), Settings().calendar, TODAY)
        workbook = root / "tracker.xlsx"
        shutil.copy(home.outbox / "tracker.xlsx", workbook)
        landscape(workbook)  # the picture's page only; the tracker itself is unchanged
        profile = f"-env:UserInstallation=file://{root}/lo-profile"
        subprocess.run(
            [
                calc(),
                profile,
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(root),
                str(workbook),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-singlefile",
                str(root / "tracker.pdf"),
                str(root / "page"),
            ],
            check=True,
        )
        cropped(root / "page.png", TARGET)
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
