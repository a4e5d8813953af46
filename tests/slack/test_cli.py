"""`granja slack` as a process: clear errors for bad settings, and a real HTTP endpoint on the chosen port."""

from __future__ import annotations

import getpass
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.slack.settings import SettingsError, read_settings
from tests.signal_routing import send_off_main
from tests.slack.driver import SECRET
from tests.slack.socket_standin import SocketStandIn
from tests.slack.standin import SlackStandIn


@pytest.mark.parametrize(("env", "message"), [
    ({}, "SLACK_BOT_TOKEN is not set"),
    ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
     "SLACK_APP_TOKEN must be an app-level token"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "slack.com"},
     "SLACK_API_URL must be an http(s) URL"),
])
def test_bad_settings_are_named(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_settings(env)


def test_socket_mode_is_chosen_by_the_app_token():
    assert read_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).socket_mode
    http = read_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert not http.socket_mode
    assert http.api_url == "https://slack.com/api/"


def granja_slack(state, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.Popen([sys.executable, "-m", "granja", "--state", str(state), "slack", *args],
                            env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def stopped_by_ctrl_c(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The block runs with the process; then Ctrl-C (as the kernel may route it) must end it with 0.

    If the block fails, the process is killed by PID.
    """
    try:
        yield process
        where = send_off_main(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, (where, out, err)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_a_missing_setting_stops_the_start_with_one_line(state):
    process = granja_slack(state, {})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.startswith("granja slack: SLACK_BOT_TOKEN is not set")
    assert "Traceback" not in err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_bot_serves_slack_events_over_http(state):
    slack = SlackStandIn()
    slack.thread.start()
    port = free_port()
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
    process = granja_slack(state, env, "--host", "127.0.0.1", "--port", str(port))
    try:
        line = process.stdout.readline()
        assert line.startswith("granja slack: ")
        assert f"http://127.0.0.1:{port}/slack/events" in line
        assert slack.of("auth.test")  # the token was checked at start
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            assert conn.recv(100).startswith(b"HTTP/1.1 401")  # unsigned: refused
        # Ctrl-C as the kernel may route it: to a worker thread, while the main thread waits.
        where = send_off_main(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert "SIGINT: stopping" in out, (where, out, err)
        assert process.returncode == 0, (where, out, err)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        slack.shutdown()
        slack.server_close()


def test_a_token_slack_refuses_is_one_line(state):
    slack = SlackStandIn()
    slack.answer = lambda method, body: {"ok": False, "error": "invalid_auth"}
    slack.thread.start()
    env = {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
    begun = time.monotonic()
    process = granja_slack(state, env, "--port", str(free_port()))
    out, err = process.communicate(timeout=60)
    slack.shutdown()
    slack.server_close()
    assert process.returncode == 2
    assert err.startswith("granja slack: Slack did not accept SLACK_BOT_TOKEN"), err
    assert "invalid_auth" in err
    assert "Traceback" not in err
    assert time.monotonic() - begun < 30


def get(port: int, path: str) -> tuple[int, str, str]:
    """GET a path of the bot's HTTP port: status, content type, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read().decode()
    finally:
        conn.close()


def test_socket_mode_takes_events_over_a_websocket_and_serves_metrics_on_its_port(state):
    slack, socket_mode = SlackStandIn(), SocketStandIn()
    original = slack.answer
    slack.answer = lambda method, body: ({"ok": True, "url": socket_mode.url}
                                         if method == "apps.connections.open" else original(method, body))
    slack.thread.start()
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + '\n[channels.C1]\nrole = "admin"\n')
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": slack.url}
    port = free_port()
    process = granja_slack(state, env, "--host", "127.0.0.1", "--port", str(port))
    try:
        with stopped_by_ctrl_c(process):
            line = process.stdout.readline()
            assert ", Socket Mode; " in line
            assert f"http://127.0.0.1:{port}/metrics" in line
            assert socket_mode.connected.wait(30)
            assert get(port, "/healthz")[::2] == (200, "ok\n")
            event = {"type": "event_callback", "team_id": "T1", "event_id": "EvSOCKET", "event": {
                "type": "app_mention", "user": getpass.getuser(), "channel": "C1", "ts": "1.000001",
                "text": "<@UGRANJA> where is ldap3"}}
            socket_mode.send({"envelope_id": "env-1", "type": "events_api", "payload": event,
                              "accepts_response_payload": False, "retry_attempt": 0})
            socket_mode.wait_ack("env-1")
            reply = slack.wait_for("chat.postMessage", timeout=30)[0]
            assert reply.body["thread_ts"] == "1.000001"
            assert reply.text.startswith("ldap3 is on host")
            command = {"command": "/granja", "text": "where is ldap3", "user_id": getpass.getuser(),
                       "channel_id": "DSELF", "channel_name": "directmessage", "team_id": "T1"}
            socket_mode.send({"envelope_id": "env-2", "type": "slash_commands", "payload": command,
                              "accepts_response_payload": True})
            socket_mode.wait_ack("env-2")
            second = slack.wait_for("chat.postEphemeral", timeout=30)[0]
            assert "not enabled in direct messages" in second.text  # not listed: deny by default
            # No HTTP endpoint for Slack, but the metrics and the health check for the monitoring
            status, kind, text = get(port, "/metrics")
            assert (status, kind.split(";")[0]) == (200, "text/plain")
            assert 'granja_commands_total{command="where",outcome="ok"} 1.0' in text
            assert "# TYPE granja_host_reachable gauge" in text
            assert get(port, "/slack/events")[0] == 404  # events come over the WebSocket, not here
    finally:
        socket_mode.close()
        slack.shutdown()
        slack.server_close()
