"""End to end in a real browser: headless Chromium against ``formflow serve``.

Sign in, see the overdue challenge in red, open its timeline, download a document, sign
out and be refused afterwards; every page passes axe-core's WCAG 2 A/AA rules and can be
used from the keyboard."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser import available, axe_violations, chromium, served
from web_support import (
    CHILD,
    DOCUMENT,
    FAST_HASHER,
    OVERDUE,
    PASSWORD,
    USER,
    fill_register,
)

from formflow.outbox.folders import Home
from formflow.web.accounts import Accounts

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not available(), reason="chromium and chromium-driver (make test installs them)"
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("home")
    fill_register(Home(root))
    (Home(root).rejected / "minutes.docx").write_bytes(b"x")
    (Home(root).rejected / "minutes.docx.errors.txt").write_text("This is not a challenge form.")
    Accounts(root / "var" / "users.db", hasher=FAST_HASHER).add(USER, PASSWORD)
    with served(root) as url:
        yield url, root


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Path]]:
    downloads = tmp_path_factory.mktemp("downloads")
    with chromium(downloads) as driver:
        yield driver, downloads


def sign_in(driver: object, url: str, name: str = USER) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)  # type: ignore[attr-defined]
    assert "Sign in" in driver.title  # type: ignore[attr-defined]
    driver.find_element(By.ID, "name").send_keys(name)  # type: ignore[attr-defined]
    password = driver.find_element(By.ID, "password")  # type: ignore[attr-defined]
    password.send_keys(PASSWORD)
    password.submit()
    settled(driver, lambda d: not d.title.startswith("Sign in"))


def settled(driver: object, condition: Callable[[Any], bool]) -> None:
    """Wait for the next page: a submit returns before the browser has navigated."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(condition)  # type: ignore[arg-type]


def test_a_person_signs_in_follows_an_overdue_challenge_downloads_and_signs_out(
    site: tuple[str, Path], browser: tuple[object, Path]
) -> None:
    from selenium.webdriver.common.by import By

    url, _root = site
    driver, downloads = browser
    sign_in(driver, url)
    assert driver.title.startswith("Open challenges")  # type: ignore[attr-defined]
    row = driver.find_element(By.CSS_SELECTOR, "tr.overdue")  # type: ignore[attr-defined]
    assert OVERDUE in row.text and re.search(r"Overdue by \d+ days", row.text)
    cell = row.find_element(By.TAG_NAME, "td")
    assert cell.value_of_css_property("color") == "rgba(148, 37, 20, 1)"  # #942514, red
    assert CHILD not in driver.page_source  # type: ignore[attr-defined]

    row.find_element(By.LINK_TEXT, OVERDUE).click()
    settled(driver, lambda d: d.title.startswith(OVERDUE))
    heading = driver.find_element(By.TAG_NAME, "h1").text  # type: ignore[attr-defined]
    assert heading == f"{OVERDUE}: {CHILD}"
    timeline = driver.find_element(By.CSS_SELECTOR, "table.timeline").text  # type: ignore[attr-defined]
    assert "Raised at Stage 1 with the Team Manager" in timeline
    assert "<script>alert('x')</script>" in timeline  # typed text shown as text

    driver.find_element(By.LINK_TEXT, DOCUMENT).click()  # type: ignore[attr-defined]
    target = downloads / DOCUMENT
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.read_bytes() == b"the stage 1 form"

    driver.find_element(By.CSS_SELECTOR, ".signout button").click()  # type: ignore[attr-defined]
    settled(driver, lambda d: "You have signed out." in d.page_source)
    driver.get(f"{url}challenges/{OVERDUE}")  # type: ignore[attr-defined]
    assert driver.title.startswith("Sign in")  # type: ignore[attr-defined]
    assert CHILD not in driver.page_source  # type: ignore[attr-defined]


def test_a_next_that_leaves_the_site_keeps_chromium_here(
    site: tuple[str, Path], browser: tuple[object, Path]
) -> None:
    """The examined open redirect: /<TAB>/evil.example, which Chromium read as
    //evil.example. Signed in, the browser must stay on this site."""
    url, _root = site
    driver, _ = browser
    driver.get(url)  # type: ignore[attr-defined]
    if driver.title.startswith("Sign in"):  # type: ignore[attr-defined]
        sign_in(driver, url)
    here = urlsplit(url).netloc
    for target in ["/%09/evil.example", "/%0a/evil.example", "/%5Cevil.example"]:
        driver.get(f"{url}signin?next={target}")  # type: ignore[attr-defined]
        landed = urlsplit(driver.current_url)  # type: ignore[attr-defined]
        assert landed.netloc == here, (target, driver.current_url)  # type: ignore[attr-defined]


PAGES = ["", f"challenges/{OVERDUE}", "report?year=2025", "rejected", "sign-ins", "retention"]


@pytest.mark.parametrize("page", ["signin", *PAGES])
def test_every_page_passes_the_accessibility_check(
    site: tuple[str, Path], browser: tuple[object, Path], page: str
) -> None:
    url, _root = site
    driver, _ = browser
    if page != "signin":
        driver.get(f"{url}{page}")  # type: ignore[attr-defined]
        if driver.title.startswith("Sign in"):  # type: ignore[attr-defined]
            sign_in(driver, f"{url}{page}")
    else:
        driver.delete_all_cookies()  # type: ignore[attr-defined]
        driver.get(f"{url}signin")  # type: ignore[attr-defined]
    violations = axe_violations(driver)
    assert violations == [], [(v["id"], v["help"]) for v in violations]


def test_the_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_the_page(
    site: tuple[str, Path], browser: tuple[object, Path]
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    url, _ = site
    driver, _ = browser
    driver.get(url)  # type: ignore[attr-defined]
    if driver.title.startswith("Sign in"):  # type: ignore[attr-defined]
        sign_in(driver, url)
    driver.get(url)  # type: ignore[attr-defined]  # focus starts at the top of a fresh page
    ActionChains(driver).send_keys(Keys.TAB).perform()
    focused = driver.switch_to.active_element  # type: ignore[attr-defined]
    assert focused.text == "Skip to main content"
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    assert driver.switch_to.active_element.get_attribute("id") == "main"  # type: ignore[attr-defined]
    ActionChains(driver).send_keys(Keys.TAB).perform()
    assert driver.switch_to.active_element.text == "Excel (.xlsx)"  # type: ignore[attr-defined]


def test_the_accessibility_check_does_find_faults(browser: tuple[object, Path]) -> None:
    """So a clean result above means something: an unlabelled field and grey on white."""
    driver, _ = browser
    driver.get(  # type: ignore[attr-defined]
        "data:text/html,<html lang='en'><title>Faulty</title><main><h1>Faulty</h1>"
        "<input><p style='color:%23bbb'>Pale text</p></main></html>"
    )
    found = {v["id"] for v in axe_violations(driver)}
    assert {"label", "color-contrast"} <= found
