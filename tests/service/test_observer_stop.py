"""Stopping the inbox observer: watchdog's own stop race is not reported as an error."""

from __future__ import annotations

import logging
import queue
from pathlib import Path

import pytest

from formflow.watch.supervisor import ObserverSupervisor

INACTIVE = "InotifyEmitter.queue_events() called when the thread is inactive"


class RacingObserver:
    """Stands for watchdog's inotify observer when its emitter, blocked waiting for an
    event, wakes after the stop took its queue away: it logs INACTIVE as it stops."""

    emitters: tuple[object, ...] = ()

    def stop(self) -> None:
        logging.getLogger("watchdog.observers.inotify").error(INACTIVE)

    def is_alive(self) -> bool:
        return False


def test_the_error_watchdog_logs_when_formflow_stops_it_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = ObserverSupervisor(tmp_path, None, queue.SimpleQueue(), queue.SimpleQueue())
    supervisor.observer = RacingObserver()  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR):
        supervisor.stop()
    assert caplog.records == []


def test_the_same_error_at_any_other_time_is_still_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        RacingObserver().stop()
    assert [r.getMessage() for r in caplog.records] == [INACTIVE]
