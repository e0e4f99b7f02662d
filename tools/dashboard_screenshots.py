"""Screenshots of each dashboard page for the README: ``docs/images/dashboard-*.png``.

Serves the fictional register the dashboard's tests use, with ``formflow serve``, and
photographs each page in the same headless Chromium the browser tests drive (Debian's
chromium and chromium-driver; nothing downloaded). Run after changing a page::

    .venv/bin/python tools/dashboard_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "web")]

from browser import chromium, served  # noqa: E402
from web_support import FAST_HASHER, OVERDUE, PASSWORD, USER, fill_register  # noqa: E402

from formflow.outbox.folders import Home  # noqa: E402
from formflow.web.accounts import Accounts  # noqa: E402

IMAGES = ROOT / "docs" / "images"
PAGES = {
    "dashboard-sign-in": "signin",
    "dashboard-open-challenges": "",
    "dashboard-challenge": f"challenges/{OVERDUE}",
    "dashboard-annual-figures": "report?year=2025",
    "dashboard-rejected-files": "rejected",
}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        home = Home(root)
        fill_register(home)
        (home.rejected / "team meeting notes.docx").write_bytes(b"x")
        (home.rejected / "team meeting notes.docx.errors.txt").write_text(
            "This is not a challenge form: no fields could be read.\n"
            "Use the challenge form (templates/challenge-form.docx) and save it into the inbox."
        )
        Accounts(home.var / "users.db", hasher=FAST_HASHER).add(USER, PASSWORD)
        with served(root) as url, chromium(root / "downloads") as driver:
            from selenium.webdriver.common.by import By

            for name, page in PAGES.items():
                driver.get(f"{url}{page}")
                if page != "signin" and driver.title.startswith("Sign in"):
                    driver.find_element(By.ID, "name").send_keys(USER)
                    field = driver.find_element(By.ID, "password")
                    field.send_keys(PASSWORD)
                    field.submit()
                    driver.get(f"{url}{page}")
                height = driver.execute_script("return document.body.scrollHeight")
                driver.set_window_size(1280, min(int(height) + 40, 4000))
                target = IMAGES / f"{name}.png"
                driver.save_screenshot(str(target))
                print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
