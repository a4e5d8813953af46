"""A local stand-in for Slack's Web API: records every call with its body and answers like Slack would.

Modelled on bolt-python's tests/mock_web_api_server: a ThreadingHTTPServer on
127.0.0.1, `{"ok": true, ...}` answers with plausible fields (ts, channel,
permalink, bot user), and failures injected per method (a 429 with Retry-After).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = "UGRANJA"
# Display names users.info gives for the tests' people (drivers' ACCESS); anyone else is user_not_found.
USERS = {"UVIEWER": "vera", "UOPER": "otto", "UOPER2": "olga", "UADMIN": "ada"}


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def blocks_text(self) -> str:
        """Every text in the blocks, joined: what a person sees in the message."""
        blocks = self.body.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        return "\n".join(_texts(blocks))


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for key, value in node.items() if key != "text" or not isinstance(value, str)
                        for t in _texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


class SlackStandIn(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[Call] = []
        self.failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.usergroups: list[dict[str, Any]] = []
        self.private_channels: set[str] = set()  # what conversations.info says is private (besides G…)
        self.users: dict[str, str] = dict(USERS)  # user ID -> display name, for users.info
        self.changed = threading.Condition()
        self._ts = itertools.count(1)
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"

    def fail_once(self, method: str, status: int, headers: dict[str, str]) -> None:
        self.failures.setdefault(method, []).append((status, headers))

    def record(self, call: Call) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def of(self, method: str) -> list[Call]:
        with self.changed:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, predicate=lambda call: True, *, count: int = 1,
                 timeout: float = 15.0) -> list[Call]:
        """Wait until `count` calls of `method` match; returns them (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [c for c in self.calls if c.method == method and predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {c.method}: {c.text[:200]}" for c in self.calls)
                    raise AssertionError(f"no {count} matching {method} call(s) in {timeout} s:\n{seen}")
                self.changed.wait(left)

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", "C0"))
        if channel.startswith("CNOTIN"):  # a channel the bot was never invited to
            return {"ok": False, "error": "not_in_channel"}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BGRANJA", "team_id": "T1", "user": "granja",
                    "url": "https://example.slack.com/"}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts, "text": body.get("text")}}
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": body.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "chat.getPermalink":
            ts = str(body.get("message_ts", "")).replace(".", "")
            return {"ok": True, "channel": channel,
                    "permalink": f"https://example.slack.com/archives/{channel}/p{ts}"}
        if method == "conversations.info":
            private = channel in self.private_channels or channel.startswith("G")
            return {"ok": True, "channel": {"id": channel, "is_channel": not private, "is_private": private,
                                            "is_im": channel.startswith("D"), "is_mpim": False}}
        if method == "users.info":
            return self._user(str(body.get("user", "")))
        if method == "usergroups.list":
            return {"ok": True, "usergroups": self.usergroups}
        return {"ok": True}


    def _user(self, user: str) -> dict[str, Any]:
        """users.info as Slack answers it: the user with a profile, or user_not_found."""
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        name = self.users[user]
        return {"ok": True, "user": {
            "id": user, "team_id": "T1", "name": name.lower().replace(" ", "."), "deleted": False,
            "real_name": name.title(), "is_bot": False,
            "profile": {"real_name": name.title(), "display_name": name, "real_name_normalized": name.title(),
                        "display_name_normalized": name}}}


class _Handler(BaseHTTPRequestHandler):
    server: SlackStandIn
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw or "{}")
        else:
            body = dict(parse_qsl(raw))
        method, _, query = self.path.split("/api/", 1)[-1].partition("?")
        body = {**dict(parse_qsl(query)), **body}  # the client sends some arguments in the URL
        call = Call(method, body)
        failures = self.server.failures.get(method)
        if failures:
            status, headers = failures.pop(0)
            call.answer = {"ok": False, "error": "ratelimited"}
            self.server.record(call)
            self._send(status, call.answer, headers)
            return
        call.answer = self.server.answer(method, body)
        self.server.record(call)
        self._send(200, call.answer, {})

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass
