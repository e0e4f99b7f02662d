"""The stability tracker decides when a file has stopped changing, on a fake clock."""

from __future__ import annotations

import pytest
from service_support import FakeClock

from formflow.watch.stability import Signature, StabilityTracker

A = Signature(100, 1)
B = Signature(200, 2)


def test_a_file_is_ready_only_after_the_settle_time_unchanged() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock)
    assert not tracker.update("f", A)
    clock.advance(1.9)
    assert not tracker.update("f", A)
    clock.advance(0.1)
    assert tracker.update("f", A)


def test_a_change_in_size_or_mtime_starts_the_wait_again() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock)
    tracker.update("f", A)
    clock.advance(1.5)
    assert not tracker.update("f", B)  # grew
    clock.advance(1.5)
    assert not tracker.update("f", B)
    clock.advance(0.5)
    assert tracker.update("f", B)
    clock.advance(5)
    assert not tracker.update("f", Signature(200, 3))  # touched again: mtime changed


@pytest.mark.parametrize(
    ("steps", "ready"),
    [
        ([(0, A)], False),
        ([(0, A), (3, A)], True),
        ([(0, A), (1, B), (1.5, B)], False),
        ([(0, A), (1, B), (2, B)], True),
        ([(0, A), (3, None), (3, A)], False),  # gone and back: starts again
    ],
)
def test_table_of_observations(steps: list[tuple[float, Signature | None]], ready: bool) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock)
    result = False
    for wait, signature in steps:
        clock.advance(wait)
        result = tracker.update("f", signature)
    assert result is ready


def test_a_vanished_file_is_forgotten() -> None:
    tracker = StabilityTracker(1.0, FakeClock())
    tracker.update("f", A)
    assert "f" in tracker
    tracker.update("f", None)
    assert "f" not in tracker and len(tracker) == 0


def test_zero_settle_still_needs_two_looks() -> None:
    tracker = StabilityTracker(0, FakeClock())
    assert not tracker.update("f", A)
    assert tracker.update("f", A)


def test_waiting_lists_oldest_first() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock)
    tracker.update("b", A)
    clock.advance(1)
    tracker.update("a", A)
    assert tracker.waiting() == ["b", "a"]


def test_a_closed_file_needs_only_the_short_settle() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock, closed_settle_seconds=0.2)
    assert not tracker.update("f", A)
    tracker.closed("f", A)
    clock.advance(0.1)
    assert not tracker.update("f", A)
    clock.advance(0.1)
    assert tracker.update("f", A)


def test_a_file_changed_after_its_close_waits_the_full_settle_again() -> None:
    """A writer that closes and then appends (or a second copy over the first)."""
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock, closed_settle_seconds=0.2)
    tracker.update("f", A)
    tracker.closed("f", A)
    clock.advance(0.1)
    assert not tracker.update("f", B)
    clock.advance(1.0)
    assert not tracker.update("f", B)
    clock.advance(1.0)
    assert tracker.update("f", B)


def test_a_close_never_makes_the_wait_longer_than_the_settle_time() -> None:
    clock = FakeClock()
    tracker = StabilityTracker(0.1, clock, closed_settle_seconds=0.2)
    tracker.closed("f", A)
    clock.advance(0.1)
    assert tracker.update("f", A)
