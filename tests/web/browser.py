"""Headless Chromium from Debian's packages, driven by selenium, never downloading: the
driver and browser paths are given, and selenium-manager is told it is offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


@contextmanager
def chromium(downloads: Path) -> Iterator[object]:
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="formflow-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        try:
            yield driver
        finally:
            driver.quit()


@contextmanager
def served(home: Path, log: list[str] | None = None) -> Iterator[str]:
    """``formflow serve`` as a person starts it, on a free port; its printed address.
    What it printed after that is added to ``log`` once it has stopped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "formflow.cli", "serve", "--home", str(home), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"Dashboard at (http://\S+)", line)
            if found:
                yield found.group(1)
                break
        else:
            raise AssertionError("formflow serve printed no address")
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            if log is not None:
                log.extend(process.stderr.read().splitlines())
            process.stderr.close()


def axe_violations(driver: object) -> list[dict[str, object]]:
    """axe-core's WCAG 2 A and AA rules on the page in the browser (axe-core comes in the
    axe-selenium-python wheel)."""
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    results = axe.run(options='{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}')
    violations: list[dict[str, object]] = results["violations"]
    return violations
