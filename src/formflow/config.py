"""Settings from ``formflow.toml``: a value object read once and passed in, never a global.

[council]
name = "Northtown Council"           # shown on every document
default_policy = "nelincs"

[calendar]
closure_days = ["2025-12-29", "2025-12-30", "2025-12-31"]
extra_bank_holidays = []             # one-off days gov.uk announces before the library has them
confirmed_until = 2027

[policies]
folder = "S:/Safeguarding/formflow-procedures"   # the council's procedures, beside HOME/policies/
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formflow.core.calendar import CONFIRMED_UNTIL, WorkingCalendar
from formflow.errors import ConfigError

CONFIG_NAME = "formflow.toml"


@dataclass(frozen=True)
class Settings:
    council_name: str = "Children's Services"
    default_policy: str = "nelincs"
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    policy_folder: Path | None = None
    """[policies] folder: more of the council's procedures (relative to formflow.toml)."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The whole parsed file, for the sections other parts of formflow read."""


def _dates(section: dict[str, Any], key: str, source: Path) -> frozenset[dt.date]:
    values = section.get(key, [])
    if not isinstance(values, list):
        raise ConfigError(
            f'{source}: [calendar] {key} must be a list of dates such as "2025-12-29".'
        )
    days = set()
    for value in values:
        try:
            days.add(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(
                f"{source}: [calendar] {key} has {value!r}, which is not a date; "
                'write it as YYYY-MM-DD, for example "2025-12-29".'
            ) from None
    return frozenset(days)


def _policy_folder(section: Any, source: Path) -> Path | None:
    folder = section.get("folder") if isinstance(section, dict) else None
    if folder is None:
        return None
    if not isinstance(folder, str) or not folder.strip():
        raise ConfigError(
            f'{source}: [policies] folder must be the path of a folder, such as "procedures".'
        )
    return source.parent / folder


def settings_from_toml(text: str, source: Path) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}.") from exc
    council = data.get("council", {})
    cal = data.get("calendar", {})
    confirmed = cal.get("confirmed_until", CONFIRMED_UNTIL)
    if not isinstance(confirmed, int):
        raise ConfigError(f"{source}: [calendar] confirmed_until must be a year such as 2027.")
    return Settings(
        policy_folder=_policy_folder(data.get("policies", {}), source),
        council_name=str(council.get("name", Settings.council_name)),
        default_policy=str(council.get("default_policy", Settings.default_policy)),
        calendar=WorkingCalendar(
            closure_days=_dates(cal, "closure_days", source),
            extra_bank_holidays=_dates(cal, "extra_bank_holidays", source),
            confirmed_until=confirmed,
        ),
        raw=data,
    )


def load_settings(config: Path | None = None, home: Path | None = None) -> Settings:
    """Settings from ``config`` if given, else ``HOME/formflow.toml`` if present, else defaults."""
    if config is None:
        candidate = (home or Path.cwd()) / CONFIG_NAME
        if not candidate.is_file():
            return Settings()
        config = candidate
    try:
        text = config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the settings file {config}: {exc.strerror}.") from exc
    return settings_from_toml(text, config)
