"""The HTTP endpoint under hostile input: huge and malformed bodies, lying headers, slowloris connections.

Everything goes to the real Bolt app on loopback; the attacker holds no signing secret
unless a test says so. What a user would see: the status code, the absence of
tracebacks in the log, and that Slack's own signed requests are still acknowledged.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.slack.http import HEALTH, PATH, ServerLimits, WebServer
from tests.proc_threads import sleeps_in_poll
from tests.slack.driver import SECRET, SlackBot

MB = 1024 * 1024


def raw_request(port: int, head: str, body: bytes = b"", *, timeout: float = 10.0) -> str:
    """Send bytes as written (headers may lie) and return the status line, or '' if closed silently."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def no_tracebacks(caplog) -> None:
    shown = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not shown, [r.getMessage() for r in shown]


def test_a_10_mb_body_is_refused_before_it_is_read(bot, caplog):
    caplog.set_level(logging.DEBUG)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * MB}\r\n\r\n")
    # Only the first 64 KiB are sent: a server that waits for the rest never answers (socket timeout).
    assert raw_request(bot.port, head, b"{" * 65536) == "HTTP/1.1 413 Request Entity Too Large"
    big = "{" + " " * (10 * MB)  # signed as Slack would: still refused at its announced size
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=big)
    signed_head = head.replace("\r\n\r\n", f"\r\nX-Slack-Request-Timestamp: {ts}\r\n"
                                           f"X-Slack-Signature: {signature}\r\n\r\n")
    assert raw_request(bot.port, signed_head, big[:65536].encode()) == "HTTP/1.1 413 Request Entity Too Large"
    assert bot.mention("UVIEWER", "where is ldap3").status == 200
    no_tracebacks(caplog)


def test_a_negative_content_length_is_a_bad_request(bot, caplog):
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n"
    assert raw_request(bot.port, head, b"{}") == "HTTP/1.1 400 Bad Request"
    assert bot.mention("UVIEWER", "where is ldap3").status == 200
    no_tracebacks(caplog)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"{not json", "application/json"),
    (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"", "application/json"),
    (b"command=%2Fgranja&text=%E0%80", "application/x-www-form-urlencoded"),
])
def test_malformed_unsigned_requests_get_401_and_leave_no_traceback(bot, caplog, body, content_type):
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    assert raw_request(bot.port, head, body) == "HTTP/1.1 401 Unauthorized"
    no_tracebacks(caplog)


@pytest.mark.parametrize("body", ["{not json", "payload=%7Bnot+json", "payload=", "[1, 2]", "null"])
def test_malformed_signed_requests_get_400_and_leave_no_traceback(bot, caplog, body):
    content_type = "application/json" if body[:1] in "{[n" else "application/x-www-form-urlencoded"
    response = bot.post(body, content_type)
    assert response.status == 400, response
    no_tracebacks(caplog)


def test_a_stale_signature_is_refused_at_the_windows_edge(bot):
    body = bot.event_body({"type": "app_mention", "user": "UVIEWER", "text": "where is ldap3",
                           "channel": "COPS", "ts": "1.1", "event_ts": "1.1"})
    assert bot.post(body, "application/json", timestamp=int(time.time()) - 6 * 60).status == 401
    assert bot.post(body, "application/json", timestamp=int(time.time()) + 6 * 60).status == 401
    assert bot.post(body, "application/json", timestamp=int(time.time()) - 4 * 60).status == 200


def test_the_health_endpoint_answers_without_a_signature(bot):
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    conn.request("GET", HEALTH)
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (200, b"ok\n")
    conn.request("GET", "/nowhere")
    assert conn.getresponse().status == 404
    conn.close()


def test_another_path_can_be_mounted(bot):
    def metrics(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"granja_up 1\n"]

    bot.server.mount("/metrics", metrics)
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    conn.request("GET", "/metrics")
    assert conn.getresponse().read() == b"granja_up 1\n"
    conn.close()


@pytest.fixture
def guarded(state):
    """The bot with a 1-second deadline for a request's headers and body."""
    running = SlackBot(state, limits=ServerLimits(request_seconds=1.0))
    yield running
    running.close()


def test_slowloris_connections_hold_no_threads_and_are_cut_at_the_deadline(guarded, caplog):
    threads_before = threading.active_count()
    held = []
    for _ in range(300):
        sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=10)
        sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n".encode())
        held.append(sock)
    try:
        # Accepted after the 300 (one listening socket, taken in order): Slack is still answered.
        assert guarded.mention("UVIEWER", "where is ldap3").status == 200
        assert guarded.server.open_connections() >= 300  # the server has taken them all...
        assert threading.active_count() < threads_before + 20  # ...without a thread for each
        # Each half-sent request is cut at its deadline: the server closes the connection.
        for sock in held:
            sock.settimeout(15)
            assert sock.recv(100) in (b"", b"HTTP/1.1 408 Request Timeout")
    finally:
        for sock in held:
            sock.close()
    no_tracebacks(caplog)


def test_stopping_the_server_runs_its_stop_hooks(state):
    running = SlackBot(state)
    stopped = threading.Event()
    running.server.on_stop(stopped.set)
    running.close()
    assert stopped.is_set()


def test_an_idle_server_sleeps_in_poll_instead_of_spinning():
    # waitress reads asyncore_loop_timeout as whole seconds: 0.2 became 0, and an idle bot spun a core.
    server = WebServer(host="127.0.0.1", port=0)
    thread = server.start_in_thread()
    try:
        sleeping = 0
        for _ in range(40):  # the loop thread, looked at 40 times: where the kernel has it
            sleeping += sleeps_in_poll(os.getpid(), thread.native_id)
            threading.Event().wait(0.01)  # sample spacing (not a synchronization)
        assert sleeping >= 20, f"the HTTP loop was asleep in poll() in {sleeping} of 40 looks"
    finally:
        server.stop()
