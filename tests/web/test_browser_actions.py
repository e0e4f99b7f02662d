"""Acting on a challenge in a real browser: headless Chromium against ``formflow serve``,
by keyboard, then ``formflow show --json`` and ``check`` on the home it served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import available, axe_violations, chromium, served
from click.testing import CliRunner
from test_browser import settled, sign_in
from web_support import FAST_HASHER, OVERDUE, PASSWORD, fill_register

from formflow.cli import main
from formflow.outbox.folders import Home
from formflow.web.accounts import Accounts

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not available(), reason="chromium and chromium-driver (make test installs them)"
    ),
]


MANAGER = "priya"
DIRECTORY = """
[directory]
"Priya Raman" = { email = "priya.raman@example.gov.uk", role = "Team Manager", team = "Children in Care Team 2" }
"""
"""The Team Manager every challenge of ``fill_register`` is addressed to, as a council
lists her in ``formflow.toml``."""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    fill_register(Home(tmp_path))
    (tmp_path / "formflow.toml").write_text(DIRECTORY, encoding="utf-8")
    accounts = Accounts(tmp_path / "var" / "users.db", hasher=FAST_HASHER)
    accounts.add(MANAGER, PASSWORD, role="manager", person="Priya Raman")
    return tmp_path


def test_a_manager_responds_in_chromium_by_keyboard_and_it_is_recorded(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with served(home) as url, chromium(tmp_path_factory.mktemp("downloads")) as driver:
        sign_in(driver, f"{url}challenges/{OVERDUE}", MANAGER)
        settled(driver, lambda d: d.title.startswith(OVERDUE))
        find = driver.find_element  # type: ignore[attr-defined]
        assert "Signed in as priya (manager)" in find(By.TAG_NAME, "body").text
        find(By.LINK_TEXT, "Respond").send_keys(Keys.ENTER)
        settled(driver, lambda d: d.title.startswith("Respond"))
        found = axe_violations(driver)
        assert found == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in found]  # type: ignore[attr-defined]

        find(By.ID, "text").send_keys("The review is booked for 1 December.")
        find(By.ID, "outcome-resolved").send_keys(Keys.SPACE)
        find(By.ID, "action_1").send_keys("Hold the pathway plan review")
        find(By.ID, "by_whom_1").send_keys("Social worker")
        find(By.CSS_SELECTOR, "main form button").send_keys(Keys.ENTER)
        settled(driver, lambda d: d.title.startswith("Check before"))
        assert "will be resolved at Stage 1" in find(By.TAG_NAME, "main").text
        found = axe_violations(driver)
        assert found == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in found]  # type: ignore[attr-defined]

        find(By.CSS_SELECTOR, "main form button").send_keys(Keys.ENTER)
        settled(driver, lambda d: d.title.startswith("Recorded"))
        assert "Resolved at Stage 1" in find(By.TAG_NAME, "main").text

    shown = CliRunner().invoke(main, ["show", OVERDUE, "--json", "--home", str(home)])
    record = json.loads(shown.output)
    assert record["challenge"]["response"]["text"] == "The review is booked for 1 December."
    assert record["challenge"]["actions"][0]["action"] == "Hold the pathway plan review"
    assert record["events"][-1]["actor"] == MANAGER
    assert record["challenge"]["response"]["by"] == "Priya Raman"
    assert [d["kind"] for d in record["documents"]][-1] == "final record"
    checked = CliRunner().invoke(main, ["check", "--home", str(home)])
    assert checked.exit_code == 0, checked.output
