"""waitress around the dashboard: on its own (``formflow serve``) or beside the watcher.

waitress is the production WSGI server of the Flask world that runs on threads alone,
so ``formflow watch`` can serve the dashboard from the same process without forking
beside its job threads. Each of its threads keeps its own register connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from formflow.pipeline.ahead import DocumentsAhead
from formflow.web.app import LiveTracker, RegisterPool, WebSettings

THREADS = 4


@dataclass
class Dashboard:
    server: BaseWSGIServer | MultiSocketServer
    url: str
    tracker: LiveTracker
    registers: RegisterPool
    ahead: DocumentsAhead
    thread: threading.Thread | None = None

    def start(self) -> Dashboard:
        """Serve in a background thread (beside the watcher)."""
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.close()
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.tracker.stop()  # after the last request: an action's rewrite is not cut short
        self.ahead.close()
        self.registers.close()


def make_server(
    app: Flask, web: WebSettings, *, host: str | None = None, port: int | None = None
) -> Dashboard:
    """Bind now (so a port already in use is said at once), serve later."""
    server = create_server(
        app,
        host=host or web.host,
        port=web.port if port is None else port,
        threads=THREADS,
        ident="formflow",
        # X-Forwarded-For reaches the app, which reads it only from [web] trusted_proxies
        # (waitress would trust a single address, and clears the header for all others).
        clear_untrusted_proxy_headers=False,
    )
    host, bound = server.effective_host, server.effective_port  # type: ignore[union-attr]
    shown = f"[{host}]" if ":" in str(host) else host
    served = app.extensions["formflow"]
    return Dashboard(
        server, f"http://{shown}:{bound}/", served.tracker, served.registers, served.ahead
    )
