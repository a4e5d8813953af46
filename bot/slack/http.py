"""The HTTP endpoint for Slack: a threading http.server around `App.dispatch`, like Bolt's own adapters.

Bolt's development server answers one request at a time; this one gives each
request a thread, so fifty requests at once are each acknowledged in
milliseconds. Events, the slash command and the buttons all arrive at one
path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest

log = logging.getLogger("granja.slack")
PATH = "/slack/events"
METRICS_PATH = "/metrics"


class SlackServer(ThreadingHTTPServer):
    """A threading HTTP server that hands POSTs on PATH to a Bolt app."""

    daemon_threads = True
    request_queue_size = 128  # http.server's default backlog of 5 resets connections in a burst

    def __init__(self, app: App, *, host: str = "0.0.0.0", port: int = 3000,
                 metrics: Callable[[], tuple[bytes, str]] | None = None) -> None:
        self.app = app
        self.metrics = metrics  # GET /metrics: Prometheus' text and its content type
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        """The port it listens on (useful when asked for port 0)."""
        return int(self.server_address[1])

    def start_in_thread(self) -> threading.Thread:
        """Serve from a background thread; stop with `shutdown()` then `server_close()`."""
        # A short poll interval: shutdown() waits for the next poll (0.5 s by default).
        thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="slack-http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: SlackServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] != METRICS_PATH or self.server.metrics is None:
            self._send(404, b"not found", {})
            return
        body, content_type = self.server.metrics()
        self._send(200, body, {"Content-Type": content_type})

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] != PATH:
            self._send(404, b"not found", {})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        headers: dict[str, Any] = {k.lower(): [v] for k, v in self.headers.items()}
        try:
            response = self.server.app.dispatch(BoltRequest(body=body, headers=headers))
        except Exception:  # a body Bolt cannot even parse: a short 400, the details in the log only
            log.exception("could not handle a request to %s", PATH)
            self._send(400, b"bad request", {})
            return
        extra = {k: v[0] for k, v in response.headers.items() if v}
        self._send(response.status, response.body.encode("utf-8"), extra)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        log.debug("%s " + format, self.address_string(), *args)
