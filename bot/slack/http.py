"""The HTTP endpoint for Slack: Bolt's WSGI adapter under waitress, with limits fit for the internet.

Waitress reads every request (headers and body) in its event loop and hands
only complete requests to a fixed pool of worker threads, so a client that
sends half a request holds a socket, never a thread. On top of waitress's own
limits (connections, header and body size, idle time) each request has a
deadline for its headers and body. The signature is checked on the raw bytes
before anything parses them: unsigned or stale requests get a 401, signed but
malformed ones a 400, oversized ones a 413, none of them a traceback. `/healthz`
answers the load balancer; `mount()` adds other paths (metrics).

`WebServer` is that server without Slack's path: in Socket Mode, where events
come over a WebSocket, it serves only `/healthz` and `/metrics`.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer

from hypervisor.threads import signals_left_to_main, start_thread

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("granja.slack")
PATH = "/slack/events"
HEALTH = "/healthz"
METRICS = "/metrics"  # where `granja slack` mounts its Prometheus metrics, in either mode


@dataclass(frozen=True)
class ServerLimits:
    """How much of the server one client may hold, and for how long."""

    threads: int = 16  # workers running Bolt; each ack takes milliseconds
    connections: int = 1000  # open sockets at once, idle ones included
    request_seconds: float = 10.0  # to send a request's headers and body, whatever the pace
    idle_seconds: int = 30  # a keep-alive connection with nothing to say is closed after this
    # Slack's payloads are a few KiB; the largest, a button click, carries the whole message it was
    # on (at most 50 blocks of 3,000 characters), URL-encoded: under 1 MiB.
    max_body: int = 1024 * 1024
    max_header: int = 16 * 1024


class _TimedParser(HTTPRequestParser):  # type: ignore[misc]
    """Waitress's request parser, remembering when the request's first byte came."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.time()


class _Channel(HTTPChannel):  # type: ignore[misc]
    parser_class = _TimedParser


class _Server(TcpWSGIServer):  # type: ignore[misc]
    """Waitress's TCP server that also cuts requests not fully received within their deadline."""

    channel_class = _Channel
    request_seconds = 10.0

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = now - self.request_seconds
        for channel in list(self.active_channels.values()):
            request = channel.request
            if request is not None and not channel.requests and request.started < cutoff:
                channel.will_close = True


class WebServer:
    """Serves a health check at HEALTH and any mounted WSGI apps, each at its exact path; 404 elsewhere."""

    def __init__(self, *, host: str = "0.0.0.0", port: int = 3000,
                 limits: ServerLimits | None = None) -> None:
        limits = limits or ServerLimits()
        self._routes: dict[str, WSGIApplication] = {HEALTH: _health}
        self._stop_hooks: list[Callable[[], None]] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        adj = Adjustments(
            host=host, port=port, threads=limits.threads, connection_limit=limits.connections,
            channel_timeout=limits.idle_seconds, cleanup_interval=1, max_request_body_size=limits.max_body,
            max_request_header_size=limits.max_header, asyncore_use_poll=True,
            # Whole seconds (waitress reads it with int(): 0.2 was 0, a busy loop): how long an idle
            # loop sleeps, so also how late stop() and the request deadlines are seen, at most.
            asyncore_loop_timeout=1,
            ident="granja", expose_tracebacks=False, backlog=1024)
        with signals_left_to_main():  # waitress starts its worker threads here
            self._server = _Server(self._route, map={}, adj=adj)
        self._server.request_seconds = limits.request_seconds

    @property
    def port(self) -> int:
        """The port it listens on (useful when asked for port 0)."""
        return int(self._server.effective_port)

    def mount(self, path: str, wsgi_app: WSGIApplication) -> None:
        """Serve another WSGI app at exactly `path` (e.g. `/metrics`)."""
        self._routes[path] = wsgi_app

    def on_stop(self, hook: Callable[[], None]) -> None:
        """Call `hook` once when the server stops (after it has stopped taking requests)."""
        self._stop_hooks.append(hook)

    def open_connections(self) -> int:
        """How many client connections are open now."""
        return len(self._server.active_channels)

    def serve_forever(self) -> None:
        """Serve until `stop()` (from another thread) or Ctrl-C; then run the stop hooks."""
        try:
            self._server.run()
        finally:
            self.stop()

    def start_in_thread(self) -> threading.Thread:
        """Serve from a background thread; stop with `stop()`."""
        self._thread = start_thread(self._server.run, name="slack-http")
        return self._thread

    def stop(self) -> None:
        """Stop taking requests, finish the ones being answered, then run the stop hooks (once)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._server.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        for hook in self._stop_hooks:
            try:
                hook()
            except Exception:
                log.exception("a stop hook failed")

    # -- WSGI -----------------------------------------------------------------------

    def _route(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        handler = self._routes.get(environ.get("PATH_INFO", ""))
        if handler is None:
            return _plain(start_response, "404 Not Found", "not found")
        return handler(environ, start_response)


class SlackServer(WebServer):
    """Serves the Bolt app at PATH, besides the health check and any mounted WSGI apps."""

    def __init__(self, app: App, *, signing_secret: str, host: str = "0.0.0.0", port: int = 3000,
                 limits: ServerLimits | None = None) -> None:
        super().__init__(host=host, port=port, limits=limits)
        self._verifier = SignatureVerifier(signing_secret)
        self._bolt = SlackRequestHandler(app, PATH)
        self.mount(PATH, self._slack)

    def _slack(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _plain(start_response, "405 Method Not Allowed", "POST only")
        # waitress has read the whole body already (within max_body) and checked Content-Length.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 12
                and self._verifier.is_valid(body, timestamp, signature)):
            log.info("refused an unsigned or stale request from %s", environ.get("REMOTE_ADDR", "?"))
            return _plain(start_response, "401 Unauthorized", "invalid signature")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return _bad_request(start_response, "the body is not UTF-8")
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return self._bolt(environ, start_response)
        except Exception as exc:  # signed, yet Bolt cannot read it: one line in the log, a short 400
            return _bad_request(start_response, f"{type(exc).__name__}: {exc}")


def _bad_request(start_response: StartResponse, why: str) -> Iterable[bytes]:
    log.warning("refused a signed request Bolt cannot read (%s)", why[:200])
    return _plain(start_response, "400 Bad Request", "bad request")


def _health(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    return _plain(start_response, "200 OK", "ok")


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = (text + "\n").encode()
    headers: list[tuple[str, str]] = [("Content-Type", "text/plain; charset=utf-8"),
                                      ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]

