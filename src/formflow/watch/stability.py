"""When a file may be read: its size and modification time unchanged for a settle time.

A plain class with an injectable clock, tested without a watcher (after paperless-ngx's
``FileStabilityTracker``). The caller stats the file and passes the signature in; the
tracker only remembers and decides. Polling observers give no close event and SMB
clients write in chunks, so "unchanged for N seconds" is the general test. Where the
observer does see the writer finish (a native close-after-write, or a rename into the
folder, which is whole at once), ``closed`` shortens the wait for that signature to
``closed_settle_seconds``: a form saved on the server is read in a fraction of a second,
and a file that changes again after its close waits the full settle time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> Signature:
        return cls(stat.st_size, stat.st_mtime_ns)


CLOSED_SETTLE_SECONDS = 0.2


@dataclass
class _Seen:
    signature: Signature
    since: float
    settle: float


class StabilityTracker:
    """Remembers each file's last signature and since when it has been unchanged."""

    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        closed_settle_seconds: float = CLOSED_SETTLE_SECONDS,
    ) -> None:
        if settle_seconds < 0 or closed_settle_seconds < 0:
            raise ValueError("settle times must not be negative")
        self.settle_seconds = settle_seconds
        self.closed_settle_seconds = min(closed_settle_seconds, settle_seconds)
        self._clock = clock
        self._seen: dict[Hashable, _Seen] = {}

    def update(self, key: Hashable, signature: Signature | None) -> bool:
        """Record the current signature (None: the file is gone); True when it has been
        the same for the settle time. A changed signature starts the wait again."""
        now = self._clock()
        if signature is None:
            self._seen.pop(key, None)
            return False
        seen = self._seen.get(key)
        if seen is None or seen.signature != signature:
            self._seen[key] = _Seen(signature, now, self.settle_seconds)
            return False
        return now - seen.since >= seen.settle

    def closed(self, key: Hashable, signature: Signature) -> None:
        """The writer has finished with the file, which now has ``signature``: only the
        short settle time is needed while it keeps it."""
        seen = self._seen.get(key)
        if seen is None or seen.signature != signature:
            seen = self._seen[key] = _Seen(signature, self._clock(), self.settle_seconds)
        seen.settle = self.closed_settle_seconds

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)

    def waiting(self) -> list[Hashable]:
        """The files being watched, oldest first."""
        return sorted(self._seen, key=lambda k: self._seen[k].since)

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._seen
