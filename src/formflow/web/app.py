"""The dashboard's Flask application: who is signed in, the pages, the downloads.

Security, in the order a request meets it:

* Nobody sees a page without signing in: a password (Argon2id, ``accounts``) or, where
  ``[web] trusted_user_header`` is set, the user the council's single sign-on proxy names
  (who must still be listed by ``formflow users``).
* Every page is checked against the person's role (``formflow.web.access``, the one
  place that decides): a page of its own by ``GUARDS``, a challenge and its documents by
  ``access.may_see`` on the record. A refusal is a 403 page that says what the person may
  do instead, and an event (``refused``) in the audit trail. With
  ``[web] trusted_role_header`` the proxy may also name the role, read only from one of
  ``trusted_proxies``; otherwise the role is the one ``formflow users`` set.
* The session cookie is Flask's, signed with a key kept in ``var/web-secret.key``, and
  holds a random token the accounts file must still know: it expires after
  ``session_hours`` (the signature's timestamp and the stored expiry), and signing out
  ends it for good. It is ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` over HTTPS (or
  always with ``secure_cookies = true`` behind a proxy that ends TLS).
* Every POST carries the session's CSRF token; failed sign-ins slow further tries for
  that name from that address (``accounts.SignInLimiter``); the address is the direct
  peer's, or from ``X-Forwarded-For`` when the peer is one of ``[web] trusted_proxies``.
* ``next`` after signing in is judged as the redirect will send it; a Host werkzeug cannot
  read, or a malformed value, is a plain 400, never a 500.
* Pages send ``Content-Security-Policy`` without scripts, ``no-store`` caching and
  ``X-Frame-Options: DENY``; templates autoescape, so text typed into a form is text.
* A download is only of a file the register lists for that challenge, inside the outbox.
* Each sign-in, failed or not, each view of a challenge, and each download (a document
  or the tracker) is an event in the register's audit trail with the user as its actor,
  and a line in the log (the reference and the user, never the child). A view or a
  download that another site sent the browser to asks first (``Sec-Fetch-Site``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import logging
import math
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.exceptions import BadHost, HTTPException
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers.response import Response as BaseResponse

from formflow.config import DirectoryEntry, Settings, directory_entries, tracker_live
from formflow.core.policy import STATUTORY_TOTAL_WORKING_DAYS
from formflow.core.record import Challenge
from formflow.core.retention import schedule_from_settings
from formflow.errors import ConfigError
from formflow.outbox.folders import Home
from formflow.pipeline.ahead import DocumentsAhead
from formflow.pipeline.services import Services
from formflow.policy_catalogue import PolicyCatalogue
from formflow.reports import tables
from formflow.reports.tracker import TrackerWriter, refresher_in_child, tracker_payloads
from formflow.store.register import OpenList, Register
from formflow.store.retention import retention_review
from formflow.web import access, audit, charts, views
from formflow.web.access import Person
from formflow.web.accounts import USER_NAME, Accounts, SignInLimiter
from formflow.web.actions import actions

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebSettings:
    """``[web]`` in formflow.toml."""

    host: str = "127.0.0.1"
    port: int = 8080
    trusted_user_header: str | None = None
    trusted_role_header: str | None = None
    """The header in which the single sign-on proxy names the user's role, or their groups
    (comma-separated; the first that is a role counts); read only from a trusted proxy."""
    session_hours: float = 8.0
    secure_cookies: bool = False
    cafcass_folder: str = "outbox/{reference}/CAFCASS"
    """The IRO's folder of CAFCASS documents for a challenge, relative to the home folder
    (or absolute); ``{reference}`` is replaced. Read with the same rule as ``formflow pack``."""
    trusted_proxies: tuple[Network, ...] = ()
    """The reverse proxies (addresses or networks) whose ``X-Forwarded-For`` names the
    client; from anyone else the header is ignored."""
    public_url: str = ""
    """The dashboard's address as staff reach it (``https://formflow.council.example``):
    covering emails then link to the challenge's page."""


def _networks(value: object) -> tuple[Network, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            'formflow.toml: [web] trusted_proxies must be a list of addresses, e.g. ["127.0.0.1"].'
        )
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in value)
    except ValueError as exc:
        raise ConfigError(
            f"formflow.toml: [web] trusted_proxies: {exc}. Give each proxy's address "
            '(e.g. "10.0.0.5") or network (e.g. "10.0.0.0/24").'
        ) from None


def web_settings(settings: Settings) -> WebSettings:
    section = settings.raw.get("web", {})
    if not isinstance(section, dict):
        raise ConfigError("formflow.toml: [web] must be a section of settings.")
    defaults = WebSettings()
    unknown = set(section) - set(defaults.__dataclass_fields__)
    if unknown:
        raise ConfigError(
            f"formflow.toml: [web] has {', '.join(sorted(unknown))}, which formflow does not "
            f"know; the settings are {', '.join(defaults.__dataclass_fields__)}."
        )
    values = {**defaults.__dict__, **section}
    port, hours = values["port"], values["session_hours"]
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError(
            "formflow.toml: [web] port must be a number from 1 to 65535 (0: any free port)."
        )
    if not isinstance(hours, int | float) or not 0 < hours <= 24:
        raise ConfigError("formflow.toml: [web] session_hours must be above 0 and at most 24.")
    header = values["trusted_user_header"] or None
    role_header = values["trusted_role_header"] or None
    if role_header and not (header and values["trusted_proxies"]):
        raise ConfigError(
            "formflow.toml: [web] trusted_role_header is read only from the single sign-on "
            "proxy: set trusted_user_header and trusted_proxies (the proxy's address) too."
        )
    return WebSettings(
        host=str(values["host"]),
        port=port,
        trusted_user_header=str(header) if header else None,
        trusted_role_header=str(role_header) if role_header else None,
        session_hours=float(hours),
        secure_cookies=bool(values["secure_cookies"]),
        cafcass_folder=str(values["cafcass_folder"]),
        trusted_proxies=_networks(values["trusted_proxies"]),
        public_url=str(values["public_url"]),
    )


def secret_key(path: Path) -> bytes:
    """The key that signs session cookies, made once (owner-only) and kept."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        with path.open("xb") as handle:
            path.chmod(0o600)
            handle.write(key)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes()
    return key


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class RegisterPool:
    """One register per server thread, on either engine (a connection stays in the thread
    that made it), opened on first use and kept: opening costs a schema check, which
    waits for a writer's transaction. ``close`` closes them all once serving has ended."""

    def __init__(self, database: str | Path) -> None:
        self.database = database
        self._local = threading.local()
        self._opened: list[Register] = []
        self._lock = threading.Lock()

    def get(self) -> Register:
        register: Register | None = getattr(self._local, "register", None)
        if register is None:
            register = Register(self.database, timeout=30)
            self._local.register = register
            with self._lock:
                self._opened.append(register)
        return register

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for register in opened:
            register.close()


class LiveTracker:
    """The live tracker after an action taken in the dashboard, rewritten by a
    ``TrackerWriter`` as the watcher's is: made in a process of its own at a lower
    priority, so an action waits for its own record and documents, never for a
    spreadsheet of every child, and gets the CPU before that spreadsheet. The writer starts
    at the first change, so a dashboard that is only read never writes the tracker; with
    ``[tracker] live = false`` nothing is written."""

    def __init__(self, home: Home, settings: Settings, policies: PolicyCatalogue) -> None:
        self._refresh = refresher_in_child(home.register, home.outbox, policies, settings)
        self._live = tracker_live(settings)
        self._writer = TrackerWriter()
        self._started = False
        self._lock = threading.Lock()

    def changed(self) -> None:
        if not self._live:
            return
        with self._lock:
            if self._started:
                self._writer.changed()
            else:
                self._writer.start(self._refresh)  # its first write is the change
                self._started = True

    def stop(self) -> None:
        """Let a rewrite under way finish (briefly), then write no more."""
        self._writer.stop()


@dataclass
class Dashboard:
    home: Home
    settings: Settings
    web: WebSettings
    accounts: Accounts
    limiter: SignInLimiter
    registers: RegisterPool
    policies: PolicyCatalogue
    """The home's procedures, built in and the council's own."""
    directory: dict[str, DirectoryEntry]
    """``[directory]``: whom each user is tied to, and their team."""
    today: Callable[[], dt.date]
    now: Callable[[], dt.datetime]
    tracker: LiveTracker
    ahead: DocumentsAhead
    """Each open confirmation page's documents, made while the person reads it."""

    @property
    def session_lifetime(self) -> dt.timedelta:
        return dt.timedelta(hours=self.web.session_hours)

    def cafcass_folder(self, reference: str) -> Path:
        return self.home.root / self.web.cafcass_folder.format(reference=reference)


def _dashboard() -> Dashboard:
    dashboard: Dashboard = current_app.extensions["formflow"]
    return dashboard


def create_app(
    home: Home,
    settings: Settings,
    *,
    accounts: Accounts | None = None,
    limiter: SignInLimiter | None = None,
    today: Callable[[], dt.date] = dt.date.today,
    now: Callable[[], dt.datetime] = dt.datetime.now,
) -> Flask:
    web = web_settings(settings)
    accounts = accounts or Accounts.of(home)
    app = Flask(__name__)
    app.secret_key = secret_key(home.root / "var" / "web-secret.key")
    app.session_interface = _SessionInterface()
    app.url_map.merge_slashes = False  # "documents//etc/passwd" is refused, not redirected
    app.config.update(
        SESSION_COOKIE_NAME="formflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=web.session_hours),
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    policies = PolicyCatalogue.for_home(home.root, settings)
    app.extensions["formflow"] = Dashboard(
        home=home,
        settings=settings,
        web=web,
        accounts=accounts,
        limiter=limiter or SignInLimiter(accounts),
        registers=RegisterPool(home.register),
        policies=policies,
        directory=directory_entries(settings),
        today=today,
        now=now,
        tracker=LiveTracker(home, settings, policies),
        ahead=DocumentsAhead(
            settings, home.var / "ahead", Services(home, settings, policies).writer
        ),
    )
    app.before_request(_require_user)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _error_page)
    app.context_processor(
        lambda: {
            "csrf_token": _csrf_token,
            "user": g.get("user"),
            "person": g.get("person"),
            "may_open": _may_open,
        }
    )
    app.jinja_env.globals["council"] = settings.council_name
    app.jinja_env.filters["uk_date_time"] = tables.uk_date_time
    for rule, view, methods in _ROUTES:
        app.add_url_rule(rule, view_func=view, methods=methods)
    app.register_blueprint(actions)
    return app


# --- who is signed in --------------------------------------------------------------


ANYONE = "anyone"
"""A page for everyone, signed in or about to be."""
ONE_CHALLENGE = "one challenge"
"""A page about one challenge: its view checks ``access.may_see`` (or ``may_act``) on the
record itself, and refuses through ``refuse``."""
GUARDS: dict[str, str] = {
    "signin": ANYONE,
    "static": ANYONE,
    "signout": ANYONE,
    "open_challenges": "open list",
    "challenge": ONE_CHALLENGE,
    "document": ONE_CHALLENGE,
    "tracker": "tracker",
    "year": "annual figures",
    "rejected": "rejected files",
    "sign_ins": "sign-ins",
    "retention": "retention",
    "actions": ONE_CHALLENGE,
}
"""Each endpoint (or blueprint) and its check: ``ANYONE``, ``ONE_CHALLENGE`` or a page of
``access.PAGES``. An endpoint not listed is refused to everyone, so a new page cannot go
out without a decision about who may see it."""
OPEN_ENDPOINTS = {endpoint for endpoint, guard in GUARDS.items() if guard == ANYONE} - {"signout"}


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _check_csrf() -> None:
    sent = request.form.get("csrf", "")
    expected = session.get("csrf", "")
    if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(
            400,
            "This form has expired or did not come from this site. Go back, reload "
            "the page and try again.",
        )


def _from_trusted_proxy() -> bool:
    peer = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in _dashboard().web.trusted_proxies)


def _role_from_proxy() -> str | None:
    """The role the single sign-on proxy names, when it is a proxy we trust: a role by
    name, or the first of its groups that is one."""
    header = _dashboard().web.trusted_role_header
    if not header or not _from_trusted_proxy():
        return None
    said = [part.strip() for part in request.headers.get(header, "").split(",")]
    return next((part for part in said if part in access.ROLES), None)


def _person(name: str) -> Person:
    """The signed-in user as the access rules see them: role, and the directory person
    and team they are tied to."""
    d = _dashboard()
    user = d.accounts.user(name)
    if user is None:  # removed while the request was on its way
        abort(403, f"{name} is no longer a user of this dashboard: ask its administrator.")
    role = _role_from_proxy() or user.role
    full_name = user.person
    entry = d.directory.get(full_name) if full_name else None
    return Person(name, role, full_name, entry.team if entry else None)


def _may_open(page: str) -> bool:
    """For the navigation: only the links the person may follow."""
    person: Person | None = g.get("person")
    return person is not None and access.may_open(person, page)


def _check_page() -> None:
    if request.routing_exception is not None:  # no such page: its 404 (or 405) follows
        return
    endpoint = request.endpoint or ""
    guard = GUARDS.get(endpoint) or GUARDS.get(request.blueprint or "")
    if guard is None:
        audit.refuse(f"open {request.path}, which no role has been given")
    if guard in access.PAGES and not access.may_open(access.current_person(), guard):
        audit.refuse(f"open the {guard}")


def _signed_in_user() -> str | None:
    d = _dashboard()
    if d.web.trusted_user_header:
        name = request.headers.get(d.web.trusted_user_header, "").strip()
        if not name:
            return None
        if not d.accounts.exists(name):
            abort(
                403,
                f"{name} is signed in but is not a user of this dashboard: ask its "
                "administrator to run `formflow users add`.",
            )
        return name
    token = session.get("token")
    return d.accounts.session_user(str(token)) if token else None


def _host_unreadable() -> bool:
    """A Host header werkzeug cannot read (``a..b``, a label over 63 characters): Flask
    then has no way to build this site's links, so nothing may call ``url_for``."""
    return isinstance(request.routing_exception, BadHost)


def _require_user() -> BaseResponse | None:
    if _host_unreadable():
        abort(400, "This request named no host the dashboard can read. Use its address.")
    if request.method == "POST":
        _check_csrf()
    g.user = _signed_in_user()
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        if _dashboard().web.trusted_user_header:
            abort(401, "Sign in through your council's single sign-on to see this page.")
        return redirect(url_for("signin", next=request.full_path.rstrip("?")))
    if g.user is not None:
        g.person = _person(g.user)
        _check_page()
    return None


def client_address(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """Who sent the request: the direct peer, or, when the peer is a trusted proxy, the
    last address in ``X-Forwarded-For`` that is not one. Each proxy appends the address it
    heard from, so anything left of the first untrusted entry may be the client's own
    invention and is never read."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    address = peer
    if is_trusted(peer):
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            address = hop[:64]
            if not is_trusted(hop):
                break
    return address


def _client() -> str:
    return client_address(
        request.remote_addr or "unknown",
        ",".join(request.headers.getlist("X-Forwarded-For")),
        _dashboard().web.trusted_proxies,
    )


def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_page(error: HTTPException) -> tuple[str, int] | Response:
    code = error.code or 500
    if _host_unreadable():  # the template's links cannot be built: the words alone
        return Response(f"{error.name}: {error.description}\n", code, mimetype="text/plain")
    return render_template("error.html", title=error.name, message=error.description), code


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//elsewhere`` or ``https://elsewhere``.

    Judged as the redirect will send it: ``iri_to_uri`` (which werkzeug applies to every
    Location) drops tabs, newlines and leading spaces as browsers do, so ``/<TAB>/evil``
    leaves as ``//evil``; the string checked is the one sent."""
    try:
        location = iri_to_uri(target or "")
        parts = urlsplit(location)
    except ValueError:  # "//[" and the like: not a URL at all
        return url_for("open_challenges")
    # (a backslash, which browsers read as a slash, leaves iri_to_uri as %5C)
    on_this_site = not parts.scheme and not parts.netloc
    if on_this_site and location.startswith("/") and not location.startswith("//"):
        return location
    return url_for("open_challenges")


NOT_A_USER_NAME = "(not a user name)"
"""The actor of a failed sign-in whose name could not be anyone's: people type their
password into the name box, and the audit trail must not keep it."""

SIGN_IN_NOTICES = {"signed-out": "You have signed out."}
"""What the sign-in page may say in its notice box, chosen by a key in ``?notice=``: text
from the address would let any link put the site's voice to someone else's words."""


def _how_long(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def signin() -> BaseResponse | str | tuple[str, int]:
    d = _dashboard()
    if d.web.trusted_user_header:
        if g.user:
            return redirect(url_for("open_challenges"))
        abort(401, "Sign in through your council's single sign-on to see this dashboard.")
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.user:
            return redirect(target)
        return render_template(
            "signin.html",
            title="Sign in",
            next=target,
            name="",
            message=SIGN_IN_NOTICES.get(request.args.get("notice", ""), ""),
        )
    name = request.form.get("name", "").strip()
    address = _client()
    wait = d.limiter.begin(name, address)
    if wait > 0:
        # Logged, not recorded: a refusal costs the sender nothing, and a flood of them
        # belongs in the log rather than in the register kept for 75 years.
        audit.audit_log.warning(
            "dashboard: sign-in as %r from %s refused for %.0f s: too many failures",
            name if USER_NAME.match(name) else NOT_A_USER_NAME,
            address,
            wait,
        )
        return render_template(
            "signin.html",
            title="Sign in",
            next=target,
            name=name,
            error=f"Too many failed attempts from here. Try again in {_how_long(wait)}.",
        ), 429
    if not d.accounts.verify(name, request.form.get("password", "")):
        audit.record(
            None,
            views.SIGN_IN_FAILED,
            f"From {address}.",
            actor=name if USER_NAME.match(name) else NOT_A_USER_NAME,
            reason="The user name or password is not right.",
            level=logging.WARNING,
        )
        return render_template(
            "signin.html",
            title="Sign in",
            next=target,
            name=name,
            error="The user name or password is not right.",
        ), 401
    d.limiter.succeeded(name, address)
    session.clear()  # a fresh session: nothing from before signing in carries over
    session.permanent = True
    session["token"] = d.accounts.start_session(name, d.session_lifetime)
    session["csrf"] = secrets.token_urlsafe(32)
    audit.record(None, views.SIGNED_IN, f"From {address}.", actor=name)
    return redirect(target)


def signout() -> BaseResponse:
    token = session.get("token")
    if token:
        _dashboard().accounts.end_session(str(token))
    session.clear()
    return redirect(url_for("signin", notice="signed-out"))


# --- pages ----------------------------------------------------------------------------


LANDS_ON_MINE = frozenset({"manager", "iro-service"})
"""The roles whose list opens on "my challenges": the ones they raised or must answer."""


def _page_number() -> int:
    asked = request.args.get("page", "1")
    return int(asked) if re.fullmatch("[1-9][0-9]{0,5}", asked) else 1


def _open_list(person: Person, today: dt.date) -> OpenList:
    """What the open list shows this person: a manager only their own, whatever the
    address asks; "my challenges" first for those who raise or answer them."""
    a = request.args
    mine_by_default = person.role in LANDS_ON_MINE and person.full_name is not None
    mine = a.get("mine", "1" if mine_by_default else "0") == "1" and person.full_name
    return OpenList(
        restricted_to=None
        if access.may_see_every_challenge(person)
        else (person.full_name, person.team),
        mine=person.full_name if mine else None,
        search=a.get("q", "")[:100],
        procedure=a.get("procedure", ""),
        level=a.get("level", ""),
        iro=a.get("iro", ""),
        team=a.get("team", ""),
        overdue_on=today if a.get("overdue") == "1" else None,
        sort=a.get("sort", "due") if a.get("sort") in views.SORT_KEYS else "due",
        descending=a.get("order") == "desc",
    )


def open_challenges() -> str:
    d = _dashboard()
    register = d.registers.get()
    person, today = access.current_person(), d.today()
    chosen = register.searched(_open_list(person, today))  # once, for the summary and page
    seen = OpenList(restricted_to=chosen.restricted_to, mine=chosen.mine)
    summary = register.open_summary(seen, chosen, today)
    procedures = views.Procedures(d.policies)
    offered = views.choices(summary.kinds, procedures)
    pages = max(1, math.ceil(summary.picked / views.PAGE_SIZE))
    number = min(_page_number(), pages)
    found = register.open_list(
        chosen, offered.ranks, (number - 1) * views.PAGE_SIZE, views.PAGE_SIZE
    )
    return render_template(
        "open.html",
        title="My challenges" if chosen.mine else "Open challenges",
        rows=views.open_rows(found, procedures, today),
        matching=summary.picked,
        total=summary.open,
        overdue=summary.overdue,
        filters=chosen,
        may_choose_mine=person.full_name is not None,
        choices=offered,
        page=number,
        pages=pages,
        page_size=views.PAGE_SIZE,
        link=_list_link,
        # one url_for, not one per row: building 2,500 links was half the page's time
        challenges_url=url_for("challenge", reference="-")[:-1],
    )


def _list_link(**changes: object) -> str:
    """This list with some of its arguments changed: a sort order, a page, "mine"."""
    args: dict[str, Any] = {**request.args.to_dict(), **changes}
    return url_for("open_challenges", **{k: v for k, v in args.items() if v not in ("", None)})


CHOSEN_HERE = frozenset({"same-origin", "none"})
"""``Sec-Fetch-Site`` of a navigation the person chose: a link on this site, or an
address typed, bookmarked or opened from an email."""


def _asked_from_elsewhere(what: str) -> str | None:
    """A page that asks before a view or a download is recorded, when another site sent
    the browser here: a cross-site link could otherwise put "viewed by" someone who never
    chose to look into the audit trail (the session cookie is ``SameSite=Lax``, sent on
    such links). A browser that sends no ``Sec-Fetch-Site`` (older than 2023) is taken at
    its word."""
    if request.headers.get("Sec-Fetch-Site", "none") in CHOSEN_HERE:
        return None
    return render_template(
        "confirm.html", title=f"Open {what}?", what=what, target=request.full_path.rstrip("?")
    )


def challenge(reference: str) -> str:
    d = _dashboard()
    page = views.challenge_page(
        d.registers.get(), reference, d.policies, d.settings.calendar, d.today(), d.cafcass_folder
    )
    if page is None:
        abort(404, f"There is no challenge {reference} in the register.")
    if not access.may_see(access.current_person(), page.challenge):
        audit.refuse(f"see {reference}", reference)
    if (ask := _asked_from_elsewhere(reference)) is not None:
        return ask
    audit.record(
        reference, views.VIEWED, f"Page viewed on the dashboard by {g.user}.", actor=g.user
    )
    return render_template("challenge.html", title=reference, page=page, today=d.today())


def document(reference: str, name: str) -> Response | str:
    d = _dashboard()
    register = d.registers.get()
    path = views.document_path(register, d.home.outbox, reference, name)
    if path is None:
        abort(404, "There is no such document for this challenge.")
    record = register.challenge(reference)
    if record is None or not access.may_see(access.current_person(), record):
        audit.refuse(f"download the documents of {reference}", reference)
    if (ask := _asked_from_elsewhere(name)) is not None:
        return ask
    audit.record(
        reference,
        views.DOWNLOADED,
        f"{name} downloaded from the dashboard by {g.user}.",
        actor=g.user,
    )
    return send_file(path, as_attachment=True, download_name=name)


def _challenges_seen() -> list[Challenge]:
    """Every challenge the signed-in person may see: for a manager, their own (read by
    the register's list of whom each was addressed to, then judged one by one)."""
    register = _dashboard().registers.get()
    person = access.current_person()
    if not access.may_see_every_challenge(person):
        found = register.challenges_addressed_to(person.full_name, person.team)
        return [c for c in found if access.may_see(person, c)]
    return register.challenges()


def tracker(suffix: str) -> Response | str:
    """The tracking spreadsheet as it is now, the same as ``outbox/tracker.*``."""
    d = _dashboard()
    if (ask := _asked_from_elsewhere(f"tracker.{suffix}")) is not None:
        return ask
    rows = tables.export_table(_challenges_seen(), d.policies, d.settings.calendar, d.today())
    name = f"tracker.{suffix}"
    mimetype = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv",
    }[suffix]
    body = tracker_payloads(rows)[name]
    audit.record(
        None, views.DOWNLOADED, f"{name} downloaded from the dashboard by {g.user}.", actor=g.user
    )
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _year_asked(default: int) -> int:
    """``?year=``: four ASCII digits (``str.isdigit`` also passes "²²²²", which ``int``
    refuses), or this year when not given."""
    chosen = request.args.get("year", "")
    if not chosen:
        return default
    if re.fullmatch("[0-9]{4}", chosen) and int(chosen) >= dt.MINYEAR:
        return int(chosen)
    abort(400, "The year must be four digits, such as 2025.")


def year() -> str:
    d = _dashboard()
    number = _year_asked(default=d.today().year)
    page = views.year_page(d.registers.get(), number, d.settings.calendar)
    months = [dt.date(2000, m, 1).strftime("%b") for m in range(1, 13)]
    f = page.figures
    outcomes = f.where_ended()
    drawn = {
        "per_month": Markup(
            charts.bar_chart(
                f"Challenges raised per month, {number}",
                list(zip(months, page.per_month, strict=True)),
            )
        ),
        "outcomes": Markup(
            charts.bar_chart(f"Where challenges raised in {number} ended", outcomes)
        ),
        "themes": Markup(
            charts.bar_chart(f"Themes of challenges raised in {number}", list(f.themes.items()))
        ),
    }
    return render_template(
        "report.html",
        title=f"Annual figures {number}",
        page=page,
        months=months,
        outcomes=outcomes,
        charts=drawn,
        total_days=STATUTORY_TOTAL_WORKING_DAYS,
    )


def sign_ins() -> str:
    return render_template(
        "signins.html",
        title="Sign-ins and downloads",
        entries=views.site_events(_dashboard().registers.get()),
    )


def rejected() -> str:
    d = _dashboard()
    register = d.registers.get()
    files = views.rejected_files(d.home, register.processed_copy)
    return render_template(
        "rejected.html",
        title="Rejected files",
        files=[f for f in files if f.already_processed_as is None],
        copies=[f for f in files if f.already_processed_as is not None],
    )


def retention() -> str:
    """What the council's schedule says may be disposed of, and what is held: references
    and dates only. For every signed-in user until roles (issue 23) narrow it to the
    records manager's."""
    d = _dashboard()
    register = d.registers.get()
    schedule = schedule_from_settings(d.settings.raw.get("retention"))
    found = retention_review(register, schedule, d.today())
    return render_template("retention.html", title="Retention", review=found)


_ROUTES: list[tuple[str, Callable[..., Any], list[str]]] = [
    ("/signin", signin, ["GET", "POST"]),
    ("/signout", signout, ["POST"]),
    ("/", open_challenges, ["GET"]),
    ("/challenges/<reference>", challenge, ["GET"]),
    ("/challenges/<reference>/documents/<path:name>", document, ["GET"]),
    ("/tracker.<any(xlsx, csv):suffix>", tracker, ["GET"]),
    ("/report", year, ["GET"]),
    ("/rejected", rejected, ["GET"]),
    ("/sign-ins", sign_ins, ["GET"]),
    ("/retention", retention, ["GET"]),
]
