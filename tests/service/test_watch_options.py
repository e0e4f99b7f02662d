"""[watch] settings and their command-line overrides."""

from __future__ import annotations

import pytest

from formflow.config import Settings
from formflow.errors import ConfigError
from formflow.watch.supervisor import MAX_JOBS, WatchOptions, watch_options


def _options(section: dict[str, object], **overrides: float | int | None) -> WatchOptions:
    return watch_options(Settings(raw={"watch": section}), **overrides)  # type: ignore[arg-type]


def test_defaults_when_the_file_says_nothing() -> None:
    options = _options({})
    assert (options.poll_seconds, options.settle_seconds, options.jobs) == (None, 2.0, 4)


@pytest.mark.parametrize(
    ("section", "overrides", "expected"),
    [
        ({"jobs": 1}, {}, 1),
        ({"jobs": MAX_JOBS}, {}, MAX_JOBS),
        ({"jobs": 4}, {"jobs": 1}, 1),  # the command line wins
        ({}, {"jobs": 3}, 3),
    ],
)
def test_jobs_come_from_the_file_or_the_command_line(
    section: dict[str, object], overrides: dict[str, int], expected: int
) -> None:
    assert _options(section, **overrides).jobs == expected


@pytest.mark.parametrize("value", [0, -1, MAX_JOBS + 1, 1.5, "2", True])
def test_a_bad_jobs_value_is_refused_in_plain_words(value: object) -> None:
    with pytest.raises(ConfigError, match=r"\[watch\] jobs must be a whole number from 1 to 8"):
        _options({"jobs": value})


def test_settle_and_poll_from_the_file_and_overrides() -> None:
    options = _options({"settle_seconds": 0.5, "poll_seconds": 5}, settle=1.0)
    assert (options.poll_seconds, options.settle_seconds) == (5.0, 1.0)
    with pytest.raises(ConfigError, match="settle_seconds must be a number of seconds"):
        _options({"settle_seconds": "soon"})
