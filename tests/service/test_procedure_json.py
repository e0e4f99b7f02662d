"""``show --json`` gives one name per meaning (issue 24 part 3 item 7)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import Service, show_json

from formflow.store.register import Register


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with Register(tmp_path / "var" / "formflow.db") as register:
        yield Service(tmp_path, register)


def test_show_json_names_the_levels_start_apart_from_the_notification(service: Service) -> None:
    reference = service.raised()
    shown = show_json(service.home.root, reference)
    record = shown["challenge"]
    assert isinstance(record, dict)
    assert "date_of_notification" not in record
    assert record["level_raised_on"] == service.record(reference).date_of_notification.isoformat()
    assert shown["notified_on"] == service.record(reference).notified_on.isoformat()
