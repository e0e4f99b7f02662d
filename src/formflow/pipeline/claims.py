"""Who has a claimed file or a staging folder: the register decides, so that two
formflow servers on two machines may share one inbox and outbox.

A file lock cannot be trusted on a network share across machines, so a job claims its
file, and a chase its staging folder, by a row in the register's ``claims`` table (taken
in a writing transaction, one writer at a time, as every write is). While it holds any,
the process renews them all from a heartbeat thread every quarter of the takeover time;
the heartbeat is the database server's time, so the machines' clocks do not matter.

Recovery (``Pipeline.recover``, on any machine) takes a claim over only when its owner
is proved dead: its heartbeat is older than the takeover time (``[folders]
takeover_seconds``), or the owner was a process on this very machine and boot that is no
longer running (the fast road a restart on one machine takes, as flock gave before). The
takeover is one conditional UPDATE, which only one of several racing machines wins. A
live job's claim is never taken over: its heartbeat is fresh. A job that was paused for
longer than the takeover time (a machine suspended) and lost its claim cannot commit:
every commit of a file's outcome checks first that its claim is still this process's
(``ClaimLost``), and the register takes one outcome per claimed file only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from formflow.outbox import files, folders
from formflow.store.register import ClaimOwner, ClaimRecord, Register

log = logging.getLogger(__name__)

MACHINE_ENV = "FORMFLOW_MACHINE"
"""A name for this server in the register's claims, where its host name is not its own
(containers sharing one): two servers must never go by the same name."""

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class ClaimLost(Exception):
    """This process's claim was taken over by another (it was silent for longer than the
    takeover time): what it did is not committed, the new owner does it."""


def _boot() -> str:
    try:
        return BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:  # not Linux: no proof of a local death, the heartbeat alone decides
        return f"unknown-{secrets.token_hex(8)}"


_owner: ClaimOwner | None = None
_owner_lock = threading.Lock()


def this_process() -> ClaimOwner:
    """This process as a claim's owner: made once per process (a forked child is another)."""
    global _owner
    with _owner_lock:
        if _owner is None or _owner.pid != os.getpid():
            host = os.environ.get(MACHINE_ENV, "").strip() or socket.gethostname()
            _owner = ClaimOwner(host, _boot(), os.getpid(), secrets.token_hex(8))
        return _owner


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    try:  # a process killed and not yet waited for by its parent is dead all the same
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return state[:1] != ["Z"]


def proved_dead(holder: ClaimRecord, me: ClaimOwner, takeover_seconds: float) -> bool:
    """Whether ``holder``'s owner is dead: silent too long, or a process of this machine's
    boot that has gone. This process is never dead to itself."""
    owner = holder.owner
    if owner.instance == me.instance:
        return False
    if holder.silent_for > takeover_seconds:
        return True
    return (owner.host, owner.boot) == (me.host, me.boot) and not _running(owner.pid)


@dataclass
class _Heartbeat:
    """One thread per register in a process, renewing its claims while it holds any."""

    opened_as: str | Path
    every: float
    held: set[str] = field(default_factory=set)
    lock: threading.Condition = field(default_factory=threading.Condition)
    thread: threading.Thread | None = None

    def hold(self, name: str) -> None:
        with self.lock:
            self.held.add(name)
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._beat, name="formflow-heartbeat", daemon=True
                )
                self.thread.start()

    def let_go(self, name: str) -> None:
        with self.lock:
            self.held.discard(name)
            if not self.held:
                self.lock.notify_all()

    def _beat(self) -> None:
        register: Register | None = None
        owner = this_process()
        try:
            while True:
                with self.lock:
                    if self.held:
                        self.lock.wait(self.every)
                    if not self.held:
                        self.thread = None
                        return
                try:
                    register = register or Register(self.opened_as)
                    register.renew_claims(owner.instance)
                except Exception:  # never lose the thread: a database away for a while
                    log.exception("could not renew this server's claims; trying again")
        finally:
            if register is not None:
                register.close()


_heartbeats: dict[str, _Heartbeat] = {}
_heartbeats_lock = threading.Lock()


def _heartbeat(opened_as: str | Path, every: float) -> _Heartbeat:
    with _heartbeats_lock:
        key = str(opened_as)
        if key not in _heartbeats:
            _heartbeats[key] = _Heartbeat(opened_as, every)
        return _heartbeats[key]


@dataclass(frozen=True)
class Claims:
    """Claims in one register, for this process."""

    register: Register
    takeover_seconds: float

    @property
    def me(self) -> ClaimOwner:
        return this_process()

    def take(self, name: str) -> bool:
        """Claim ``name`` for this process: free, or its owner proved dead (taken over).
        False when another live process holds it."""
        me = self.me
        for _ in range(3):  # the holder may change between the look and the take
            with self.register.transaction():
                holder = self.register.claim_holder(name)
                if holder is None:
                    if self.register.take_claim(name, me):
                        return True
                    continue
                if not proved_dead(holder, me, self.takeover_seconds):
                    return False
                silent = holder.silent_for > self.takeover_seconds
                if self.register.take_over_claim(
                    name, me, holder.owner, self.takeover_seconds if silent else None
                ):
                    # Another machine's work taken over is worth an operator's look.
                    log.log(
                        logging.WARNING if holder.owner.host != me.host else logging.INFO,
                        "%s: taken over from %s (process %d), silent for %.0f s",
                        name,
                        holder.owner.host,
                        holder.owner.pid,
                        holder.silent_for,
                    )
                    return True
        return False

    @contextlib.contextmanager
    def held(self, name: str) -> Iterator[bool]:
        """``take(name)`` for the block, renewed by the heartbeat and released after it:
        True when this process has it."""
        if not self.take(name):
            yield False
            return
        beat = self._heartbeat()
        if beat is not None:
            beat.hold(name)
        try:
            yield True
        finally:
            if beat is not None:
                beat.let_go(name)
            self.register.release_claim(name, self.me.instance)

    def forget_dead(self, present: set[str]) -> None:
        """Remove the claims of dead owners whose file or folder is not among ``present``
        (a process killed after its job ended, before it let the claim go)."""
        for holder in self.register.claims():
            if holder.name not in present and proved_dead(holder, self.me, self.takeover_seconds):
                with self.held(holder.name):
                    pass

    def still_mine(self, name: str) -> None:
        """Inside a commit's transaction: raise ``ClaimLost`` unless ``name`` is still this
        process's."""
        if not self.register.holds_claim(name, self.me.instance):
            raise ClaimLost(f"{name}: taken over by another server while this one worked on it")

    def _heartbeat(self) -> _Heartbeat | None:
        opened_as = self.register.opened_as
        if opened_as is None:  # a register in memory: no other process can see it
            return None
        return _heartbeat(opened_as, self.takeover_seconds / 4)


@dataclass(frozen=True)
class BeingProcessed:
    """A claim as ``formflow status`` shows it: what is worked on now, by whom, and how
    long since its owner's last heartbeat."""

    what: str
    """The file's name as it was dropped, or the staging folder's name."""
    kind: str
    """"file" (a dropped form) or "staging folder" (a chase's documents)."""
    reference: str | None
    """The challenge, where the register knows it already."""
    host: str
    pid: int
    heartbeat_seconds_ago: float
    stale: bool
    """Silent for longer than the takeover time: its owner may be dead, and the next
    server to look for work takes it over."""


def being_processed(register: Register, takeover_seconds: float) -> list[BeingProcessed]:
    """Every claim in the register, oldest heartbeat first."""
    shown: list[BeingProcessed] = []
    for claim in register.claims():
        dropped_as = folders.original_name(claim.name)
        noted = register.file(claim.name)
        shown.append(
            BeingProcessed(
                what=files.printable(dropped_as),
                kind="file" if dropped_as != claim.name else "staging folder",
                reference=noted.reference if noted else None,
                host=files.printable(claim.owner.host),
                pid=claim.owner.pid,
                heartbeat_seconds_ago=round(max(claim.silent_for, 0.0), 1),
                stale=claim.silent_for > takeover_seconds,
            )
        )
    return shown
