"""Settings from ``formflow.toml``: a value object read once and passed in, never a global.

[council]
name = "Northtown Council"           # shown on every document
default_policy = "nelincs"
cafcass_phone = "01632 960123"       # the local Cafcass office, on the CAFCASS checklist

[calendar]
closure_days = ["2025-12-29", "2025-12-30", "2025-12-31"]
extra_bank_holidays = []             # one-off days gov.uk announces before the library has them
confirmed_until = 2027

[policies]
folder = "S:/Safeguarding/formflow-procedures"   # the council's procedures, beside HOME/policies/

[files]
mode = "0640"                        # documents for people on the share (default "0600")

[register]
url = "postgresql://formflow@db.example.org/formflow"   # else SQLite in HOME/var/

[folders]
shared = "/srv/share/formflow"       # inbox, outbox, archive for several servers (else in HOME)
takeover_seconds = 60                # a claim silent this long is a dead server's

The whole file is checked when it is read, so every command refuses a mistake at start,
each problem on a line of its own naming the key and its line in the file: an address
in ``[directory]`` or ``[smtp]`` that a draft could not carry, a number that is not one,
a folder that is not there. tomllib gives no positions, so a key's line is found by
scanning the file's text for its table header and then the key (a key written as a
dotted name or in an inline table is named without a line).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field, replace
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from typing import Any

from formflow.core.calendar import CONFIRMED_UNTIL, WorkingCalendar
from formflow.errors import ConfigError

CONFIG_NAME = "formflow.toml"
SECTIONS = (
    "council",
    "calendar",
    "policies",
    "files",
    "register",
    "folders",
    "directory",
    "smtp",
    "watch",
    "web",
    "tracker",
)
"""The sections formflow reads; one spelled close to these is a mistake."""


@dataclass(frozen=True)
class Settings:
    council_name: str = "Children's Services"
    default_policy: str = "nelincs"
    cafcass_phone: str | None = None
    """[council] cafcass_phone: the local Cafcass office's telephone number, for the
    CAFCASS checklist; None where the council has not set it (never a made-up number)."""
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    policy_folder: Path | None = None
    """[policies] folder: more of the council's procedures (relative to formflow.toml)."""
    file_mode: int = 0o600
    """[files] mode: of the files written for people on the share (the outbox, the
    inbox's notes); their folders are open (x) to whoever may read them."""
    register_url: str | None = None
    """[register] url, or FORMFLOW_REGISTER_URL: the register on PostgreSQL; None for
    SQLite in HOME/var/."""
    shared_folder: Path | None = None
    """[folders] shared: the inbox, outbox and archive on a share several servers use
    (relative to formflow.toml); None: in the home."""
    takeover_seconds: float = 60.0
    """[folders] takeover_seconds: how long a claim's owner may stay silent (no
    heartbeat, renewed every quarter of it) before another server takes its work over."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The whole parsed file, for the sections other parts of formflow read."""
    source: Path | None = None
    """The file the settings were read from; None for the defaults."""
    text: str = field(default="", repr=False)

    def where(self, section: str, key: str | None = None) -> str:
        """``formflow.toml line 12: [directory] "Head of Service"``: a setting, named for
        a message about it."""
        return _where(self.source or Path(CONFIG_NAME), self.text, section, key)


# --- email addresses ----------------------------------------------------------------


class NotAnAddress(ValueError):
    """Text that an email draft cannot carry as an address, and why in plain words."""

    def __init__(self, text: str, why: str) -> None:
        super().__init__(f"{text!r} is not an email address ({why})")
        self.text = text
        self.why = why


def email_address(text: str) -> Address:
    """``text`` parsed as the email drafts parse an address (``email.headerregistry``):
    the one test of an address, at start-up and when a draft is written, so an address
    accepted at start is one every draft can carry. ``NotAnAddress`` says why not."""
    try:
        return Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError):
        raise NotAnAddress(text, _why_not_an_address(text)) from None


def _why_not_an_address(text: str) -> str:
    local, _, domain = text.partition("@")
    if not text.strip():
        why = "it is empty"
    elif any(c.isspace() for c in text):
        why = "it has a space or line break in it"
    elif "@" not in text:
        why = "it has no @"
    elif text.count("@") > 1:
        why = "it has more than one @"
    elif not local or not domain:
        why = "it needs a name before the @ and a domain after it"
    elif not local.isascii():
        why = "the part before the @ may only have plain letters, digits and . _ - +"
    else:
        why = "it has a character or a dot where an address cannot"
    return f"{why}; an address looks like name@northtown.example"


# --- where a key is in the file -------------------------------------------------------

_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _name(written: str) -> str | None:
    """A key or table name as TOML reads it (quotes and escapes undone)."""
    try:
        return next(iter(tomllib.loads(f"{written} = 0")))
    except (tomllib.TOMLDecodeError, StopIteration):
        return None


def line_of(text: str, section: str, key: str | None = None) -> int | None:
    """The line of ``[section]``, or of ``key`` in it; None when it is not written so."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        table = _TABLE.match(line)
        if table:
            current = _name(table.group(1))
            if key is None and current == section:
                return number
        elif key is not None and current == section:
            written = _KEY.match(line)
            if written and _name(written.group(1)) == key:
                return number
    return None


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _where(source: Path, text: str, section: str, key: str | None) -> str:
    line = line_of(text, section, key) if text else None
    place = f"{source} line {line}" if line else str(source)
    return f"{place}: [{section}]" + (f" {_key(key)}" if key is not None else "")


# --- checking the file ----------------------------------------------------------------


@dataclass
class _Check:
    """Every problem found in one settings file, each named by its key and line."""

    source: Path
    text: str
    problems: list[str] = field(default_factory=list)

    def __call__(self, section: str, key: str | None, problem: str) -> None:
        stop = "" if problem.endswith("?") else "."
        self.problems.append(f"{_where(self.source, self.text, section, key)}: {problem}{stop}")

    def table(self, data: dict[str, Any], section: str) -> dict[str, Any]:
        value = data.get(section, {})
        if isinstance(value, dict):
            return value
        self(section, None, "must be a section of settings, written [" + section + "]")
        return {}

    def text_value(self, section: dict[str, Any], name: str, key: str, example: str) -> None:
        value = section.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self(name, key, f"must be text in quotes, such as {example}, not {value!r}")

    def address(self, section: str, key: str, value: object) -> None:
        if not isinstance(value, str):
            self(section, key, f"must be an email address in quotes, not {value!r}")
            return
        try:
            email_address(value)
        except NotAnAddress as exc:
            self(section, key, str(exc))

    def whole_number(
        self, section: dict[str, Any], name: str, key: str, low: int, high: int
    ) -> None:
        value = section.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
        ):
            self(name, key, f"must be a whole number from {low} to {high}, not {value!r}")


def _dates(check: _Check, section: dict[str, Any], key: str) -> frozenset[dt.date]:
    values = section.get(key, [])
    if not isinstance(values, list):
        check("calendar", key, 'must be a list of dates such as ["2025-12-29"]')
        return frozenset()
    days = set()
    for value in values:
        try:
            days.add(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            check(
                "calendar",
                key,
                f"has {value!r}, which is not a date; write it as YYYY-MM-DD, "
                'for example "2025-12-29"',
            )
    return frozenset(days)


def _folder_setting(
    check: _Check,
    table: dict[str, Any],
    section: str,
    key: str,
    example: str,
    what_to_do: str,
) -> Path | None:
    """``[section] key``: a folder's path, read from the folder formflow.toml is in, that
    must be there now (a share not mounted is found at start, not when first used).
    ``what_to_do`` ends the message for one that is not: "can reach (...); mount ..."."""
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        check(section, key, f'must be the path of a folder, such as "{example}"')
        return None
    path = check.source.parent / value
    if not path.is_dir():
        check(section, key, f"{str(path)!r} is not a folder formflow {what_to_do}")
    return path


_FROM_THE_FILE = "(a path is read from the folder formflow.toml is in)"


def _policy_folder(check: _Check, section: dict[str, Any]) -> Path | None:
    return _folder_setting(
        check,
        section,
        "policies",
        "folder",
        "procedures",
        f"can read {_FROM_THE_FILE}; make it, mount the share, or correct the path",
    )


_MODE = re.compile(r"0?[0-7]{3}")


def _file_mode(check: _Check, section: dict[str, Any]) -> int:
    """[files] mode: "0640" and the like; the service account keeps reading and writing
    its files, and nobody else may change them or run them."""
    value = section.get("mode")
    if value is None:
        return Settings.file_mode
    if not isinstance(value, str) or not _MODE.fullmatch(value):
        check("files", "mode", f'must be a file mode in quotes, such as "0640", not {value!r}')
        return Settings.file_mode
    mode = int(value, 8)
    if mode & 0o600 != 0o600:
        check(
            "files",
            "mode",
            f'"{value}" would stop formflow reading or rewriting its own files: start it with 06',
        )
    elif mode & 0o111:
        check(
            "files",
            "mode",
            f'"{value}" makes documents runnable as programs: use 6 or 4 for each digit, such as "0640"',
        )
    elif mode & 0o002:
        check(
            "files",
            "mode",
            f'"{value}" lets anyone on the machine change the records: the last digit must be 0 or 4',
        )
    else:
        return mode
    return Settings.file_mode


_PHONE = re.compile(r"\+?[0-9][0-9 ()-]*")


def _phone(check: _Check, council: dict[str, Any]) -> str | None:
    """``cafcass_phone``: a telephone number as people write one, or not set."""
    value = council.get("cafcass_phone")
    if value is None:
        return None
    digits = sum(c.isdigit() for c in str(value))
    if not isinstance(value, str) or not _PHONE.fullmatch(value.strip()) or not 7 <= digits <= 15:
        check(
            "council",
            "cafcass_phone",
            'must be a telephone number in quotes, such as "01632 960123", not ' + repr(value),
        )
        return None
    return " ".join(value.split())


REGISTER_URL_ENV = "FORMFLOW_REGISTER_URL"
"""Where a register URL with its password goes, kept out of formflow.toml."""


def register_url_problem(url: str, *, in_file: bool) -> str | None:
    """Why ``url`` cannot name the register, or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgresql+psycopg"):
        return f'must be a PostgreSQL address such as "postgresql://formflow@db.example.org/formflow", not {url!r}'
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        return "must name the database after the server, as in postgresql://formflow@db.example.org/formflow"
    if in_file and parts.password:
        return (
            f"must not hold the password: anyone who can read formflow.toml could read it. "
            f"Put the whole address in the {REGISTER_URL_ENV} environment variable, or the "
            "password in the service account's ~/.pgpass"
        )
    return None


def _register(check: _Check, table: dict[str, Any]) -> str | None:
    url = table.get("url")
    if url is None:
        return None
    if not isinstance(url, str):
        check("register", "url", f"must be a PostgreSQL address in quotes, not {url!r}")
        return None
    problem = register_url_problem(url, in_file=True)
    if problem:
        check("register", "url", problem)
    return url


MAX_TAKEOVER_SECONDS = 3600


def _folders(check: _Check, table: dict[str, Any]) -> tuple[Path | None, float]:
    """[folders]: the shared folder and the takeover time."""
    takeover = table.get("takeover_seconds", Settings.takeover_seconds)
    if (
        isinstance(takeover, bool)
        or not isinstance(takeover, int | float)
        or not 1 <= takeover <= MAX_TAKEOVER_SECONDS
    ):
        check(
            "folders",
            "takeover_seconds",
            f"must be a number of seconds from 1 to {MAX_TAKEOVER_SECONDS}, such as 60, "
            f"not {takeover!r}",
        )
        takeover = Settings.takeover_seconds
    shared = _folder_setting(
        check,
        table,
        "folders",
        "shared",
        "/srv/share/formflow",
        f"can reach {_FROM_THE_FILE}; mount the share, make the folder, or correct the path",
    )
    return shared, float(takeover)


def _sections(check: _Check, data: dict[str, Any]) -> None:
    for name in data:
        if name in SECTIONS:
            continue
        close = difflib.get_close_matches(name, SECTIONS, n=1, cutoff=0.75)
        if close:
            check(name, None, f"is not a section formflow reads: did you mean [{close[0]}]?")


@dataclass(frozen=True)
class DirectoryEntry:
    """A ``[directory]`` entry: a person or a role, with an email address, and for a
    person their job title and team where the council gives them::

        "Head of Service" = "hos@example.gov.uk"
        "Priya Raman" = { email = "priya.raman@example.gov.uk", role = "Team Manager",
                          team = "Children in Care Team 2" }
    """

    email: str
    role: str | None = None
    team: str | None = None


_ENTRY_KEYS = ("email", "role", "team")


def _directory(check: _Check, table: dict[str, Any]) -> None:
    for key, value in table.items():
        if not key.strip():
            check("directory", key, "an entry needs the name of a person or a role")
        if not isinstance(value, dict):
            check.address("directory", key, value)
            continue
        unknown = sorted(set(value) - set(_ENTRY_KEYS))
        if unknown or "email" not in value:
            check(
                "directory",
                key,
                f"a person's entry has {', '.join(_ENTRY_KEYS)} (email needed), not "
                f"{', '.join(unknown) or 'no email'}: for example "
                '{ email = "priya.raman@example.gov.uk", team = "Children in Care Team 2" }',
            )
            continue
        check.address("directory", key, value["email"])
        for name in ("role", "team"):
            given = value.get(name)
            if given is not None and (not isinstance(given, str) or not given.strip()):
                check("directory", key, f"{name} must be text in quotes, not {given!r}")


def directory_entries(settings: Settings) -> dict[str, DirectoryEntry]:
    """``[directory]`` (checked when the settings were read), each entry as a table."""
    return {
        str(key): DirectoryEntry(value["email"], value.get("role"), value.get("team"))
        if isinstance(value, dict)
        else DirectoryEntry(str(value))
        for key, value in settings.raw.get("directory", {}).items()
    }


def tracker_live(settings: Settings) -> bool:
    """``[tracker] live``: whether ``outbox/tracker.xlsx`` and ``tracker.csv`` are kept
    up to date on the share (checked when the settings were read; true by default). The
    tracker holds every child: a council that cannot limit who reads that folder turns
    it off and gives the dashboard's tracker download, by role, instead."""
    return bool(settings.raw.get("tracker", {}).get("live", True))


def _tracker(check: _Check, table: dict[str, Any]) -> None:
    for key in table:
        if key != "live":
            check("tracker", key, "is not a setting of [tracker]: the one setting is live")
    if not isinstance(table.get("live", True), bool):
        check("tracker", "live", f"must be true or false, not {table['live']!r}")


def _smtp(check: _Check, table: dict[str, Any]) -> None:
    if not table:
        return
    if not isinstance(table.get("host"), str) or not table["host"].strip():
        check("smtp", "host" if "host" in table else None, 'needs host = "smtp.example.org"')
    check.whole_number(table, "smtp", "port", 1, 65535)
    if "from" in table:
        check.address("smtp", "from", table["from"])
    if not isinstance(table.get("starttls", True), bool):
        check("smtp", "starttls", "must be true or false")
    check.text_value(table, "smtp", "username", '"formflow"')
    check.text_value(table, "smtp", "password_env", '"FORMFLOW_SMTP_PASSWORD"')
    timeout = table.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        check("smtp", "timeout", f"must be a number of seconds above 0, not {timeout!r}")


def settings_to_correct(source: Path | None, problems: list[str]) -> ConfigError:
    """One error for every problem found in a settings file, each on a line of its own."""
    if len(problems) == 1:
        return ConfigError(problems[0])
    return ConfigError(
        f"{source or CONFIG_NAME} has {len(problems)} settings to correct:\n"
        + "\n".join(f"  {problem}" for problem in problems)
    )


def settings_from_toml(text: str, source: Path) -> Settings:
    """The settings in ``text``, every section formflow reads checked; a ``ConfigError``
    lists each problem found, each on a line of its own."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}.") from exc
    check = _Check(source, text)
    _sections(check, data)
    council = check.table(data, "council")
    check.text_value(council, "council", "name", '"Northtown Council"')
    check.text_value(council, "council", "default_policy", '"nelincs"')
    cafcass_phone = _phone(check, council)
    cal = check.table(data, "calendar")
    check.whole_number(cal, "calendar", "confirmed_until", 2000, 2200)
    calendar = WorkingCalendar(
        closure_days=_dates(check, cal, "closure_days"),
        extra_bank_holidays=_dates(check, cal, "extra_bank_holidays"),
        confirmed_until=cal.get("confirmed_until", CONFIRMED_UNTIL),
    )
    folder = _policy_folder(check, check.table(data, "policies"))
    file_mode = _file_mode(check, check.table(data, "files"))
    _directory(check, check.table(data, "directory"))
    _smtp(check, check.table(data, "smtp"))
    _tracker(check, check.table(data, "tracker"))
    register_url = _register(check, check.table(data, "register"))
    shared_folder, takeover_seconds = _folders(check, check.table(data, "folders"))
    if check.problems:
        raise settings_to_correct(source, check.problems)
    return Settings(
        policy_folder=folder,
        file_mode=file_mode,
        register_url=register_url,
        shared_folder=shared_folder,
        takeover_seconds=takeover_seconds,
        council_name=str(council.get("name", Settings.council_name)),
        default_policy=str(council.get("default_policy", Settings.default_policy)),
        cafcass_phone=cafcass_phone,
        calendar=calendar,
        raw=data,
        source=source,
        text=text,
    )


def load_settings(config: Path | None = None, home: Path | None = None) -> Settings:
    """Settings from ``config`` if given, else ``HOME/formflow.toml`` if present, else
    defaults; ``FORMFLOW_REGISTER_URL``, when set, names the register."""
    settings = _settings_file(config, home)
    url = os.environ.get(REGISTER_URL_ENV, "").strip()
    if not url:
        return settings
    problem = register_url_problem(url, in_file=False)
    if problem:
        raise ConfigError(f"The environment variable {REGISTER_URL_ENV} {problem}.")
    return replace(settings, register_url=url)


def _settings_file(config: Path | None, home: Path | None) -> Settings:
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
