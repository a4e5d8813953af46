"""Drive the real Bolt app over signed HTTP on loopback, as Slack would, against the Web API stand-in."""

from __future__ import annotations

import http.client
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.engine import Engine
from bot.slack.app import WORKERS, build_app
from bot.slack.http import PATH, ServerLimits, SlackServer
from bot.slack.settings import SlackSettings
from bot.watch.watcher import Watcher
from granja.app import facts_source
from granja.config import load_config
from hypervisor.farm import Farm
from hypervisor.libvirt_host import LibvirtHost
from hypervisor.model import VM
from inventory import Inventory
from tests.slack.standin import BOT_USER, SlackStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
OPS = "COPS"  # the ops channel: every role usable
GENERAL = "CGENERAL"  # read-only
ACCESS = """
[users.UVIEWER]
role = "viewer"
[users.UOPER]
role = "operator"
[users.UOPER2]
role = "operator"
[users.UADMIN]
role = "admin"
[groups.SOPS]
role = "operator"
[channels.COPS]
role = "admin"
[channels.CGENERAL]
role = "viewer"
[channels.direct]
role = "operator"
[channels.CNOTIN]
role = "viewer"
[channels.COPER]
role = "operator"
[channels.CSECRET]
role = "operator"
"""


class TrackedPool(ThreadPoolExecutor):
    """The bot's worker pool, knowing when all the work handed to it so far has ended."""

    def __init__(self) -> None:
        super().__init__(max_workers=WORKERS, thread_name_prefix="slack")
        self._running: set[Future[object]] = set()
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs):
        with self._idle:
            future = super().submit(fn, *args, **kwargs)
            self._running.add(future)
        future.add_done_callback(self._ended)
        return future

    def _ended(self, future: Future[object]) -> None:
        with self._idle:
            self._running.discard(future)
            self._idle.notify_all()

    def settled(self, timeout: float) -> None:
        with self._idle:
            assert self._idle.wait_for(lambda: not self._running, timeout), "the bot's work never ended"


class SlowShutdownHost(LibvirtHost):
    """A libvirt test-driver host whose guests take a while to shut down, as real guests do.

    `delay` seconds, or until `gate` opens: a test that must act while an operation runs holds
    the gate, so the operation cannot finish early on a loaded machine.
    """

    delay = 0.0
    gate = threading.Event()
    gate.set()

    def lifecycle(self, name: str, action: str) -> VM:
        if action == "shutdown":
            time.sleep(self.delay)
            assert self.gate.wait(60), "the test never opened the shutdown gate"
        return super().lifecycle(name, action)


@dataclass
class Response:
    status: int
    seconds: float
    body: str


class Sender:
    """Slack's side of the endpoint: signed requests for mentions, DMs, the slash command and clicks."""

    def __init__(self, port: int, response_base: str = "http://127.0.0.1:9/") -> None:
        self.port = port
        self.response_base = response_base  # where slash commands' response URLs point
        self._ids = itertools.count(1)

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET,
             headers: dict[str, str] | None = None) -> Response:
        ts = int(time.time()) if timestamp is None else timestamp
        signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": signature, **(headers or {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        begun = time.perf_counter()
        conn.request("POST", PATH, body=body.encode(), headers=sent)
        answer = conn.getresponse()
        data = answer.read().decode()
        seconds = time.perf_counter() - begun
        conn.close()
        return Response(answer.status, seconds, data)

    def event_body(self, event: dict, *, event_id: str = "") -> str:
        return json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                           "event_id": event_id or f"Ev{secrets.token_hex(6).upper()}",
                           "event_time": int(time.time()), "event": event,
                           "authorizations": [{"user_id": BOT_USER, "is_bot": True}]})

    def mention(self, user: str, text: str, *, channel: str = OPS, event_id: str = "",
                headers: dict[str, str] | None = None, **post) -> Response:
        ts = f"1700000100.{next(self._ids):06d}"
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "channel": channel,
                 "ts": ts, "event_ts": ts}
        body = self.event_body(event, event_id=event_id)
        return self.post(body, "application/json", headers=headers, **post)

    def direct(self, user: str, text: str, *, channel: str = "DUSER") -> Response:
        ts = f"1700000200.{next(self._ids):06d}"
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "channel": channel,
                 "ts": ts, "event_ts": ts}
        return self.post(self.event_body(event), "application/json")

    def command(self, user: str, text: str, *, channel: str = OPS) -> Response:
        body = urlencode({"token": "legacy", "team_id": "T1", "channel_id": channel, "channel_name": "ops",
                          "user_id": user, "user_name": user.lower(), "command": "/granja", "text": text,
                          "response_url": f"{self.response_base}respond",
                          "trigger_id": "1.2.3"})
        return self.post(body, "application/x-www-form-urlencoded")

    def click(self, user: str, preview_call, action: str, *, channel: str = OPS) -> Response:
        """Click Confirm or Cancel on the message a recorded chat.postMessage call posted."""
        blocks = preview_call.body["blocks"]
        button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == action)
        message = {"ts": f"1700000300.{next(self._ids):06d}", "text": preview_call.text}
        if preview_call.body.get("thread_ts"):
            message["thread_ts"] = preview_call.body["thread_ts"]
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "api_app_id": "A1",
                   "channel": {"id": channel}, "message": message, "trigger_id": "1.2.3",
                   "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
                   "actions": [{"type": "button", "action_id": action, "value": button["value"],
                                "block_id": "b", "action_ts": str(time.time())}]}
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


class SlackBot(Sender):
    """The real Bolt app on loopback over a demo farm with Slack users, and a Web API stand-in."""

    def __init__(self, state: Path, *, confirm_timeout: float = 300, status_interval: float = 0.3,
                 api_url: str = "", limits: ServerLimits | None = None,
                 watcher: Callable[[Engine], Watcher] | None = None) -> None:
        config = state / "demo" / "farm.toml"
        text = config.read_text().replace("[farm]\n", f"[farm]\nconfirm_timeout = {confirm_timeout}\n", 1)
        config.write_text(text + ACCESS)
        fleet = load_config(config)
        self.hosts = {h.name: SlowShutdownHost(h.name, h.uri, facts=facts_source(h, fleet))
                      for h in fleet.hosts.values()}
        farm = Farm(dict(self.hosts), timeout=fleet.host_timeout, workers=fleet.workers)
        self.engine = Engine(config=fleet, farm=farm, inventory=Inventory(state))
        self.slack = SlackStandIn()
        if not api_url:
            self.slack.thread.start()
        api_url = api_url or self.slack.url  # another process's stand-in (the benchmark), or our own
        settings = SlackSettings(bot_token="xoxb-test", signing_secret=SECRET, api_url=api_url)
        self.watcher = watcher(self.engine) if watcher is not None else None
        self.pool = TrackedPool()
        self.app = build_app(self.engine, settings, status_interval=status_interval, watcher=self.watcher,
                             workers=self.pool)
        self.server = SlackServer(self.app, signing_secret=SECRET, host="127.0.0.1", port=0,
                                  limits=limits)
        self.server.start_in_thread()
        super().__init__(self.server.port, response_base=api_url)

    def settled(self, timeout: float = 30.0) -> None:
        """Wait until every request answered so far has finished its work (each is handed to the
        pool before its HTTP answer), so a check that nothing (more) happened can be made."""
        self.pool.settled(timeout)

    def slow_shutdowns(self, seconds: float) -> None:
        for host in self.hosts.values():
            host.delay = seconds

    def hold_shutdowns(self) -> threading.Event:
        """Shutdowns wait until the returned event is set.

        A real guest's shutdown call returns at once and the guest goes off later; here the call
        itself waits, so the per-host deadline is lifted to the gate's own (60 s): a loaded machine
        must not turn a held shutdown into an unreachable host.
        """
        self.engine.farm.timeout = 90.0
        gate = threading.Event()
        for host in self.hosts.values():
            host.gate = gate
        return gate

    def close(self) -> None:
        self.app.front_end.sweeper.close()
        self.app.listener_runner.listener_executor.shutdown(wait=True)
        self.server.stop()
        if self.slack.thread.is_alive():
            self.slack.shutdown()
        self.slack.server_close()
        self.engine.inventory.close()

    # -- reading what the bot said --------------------------------------------------

    def reply(self, predicate=lambda call: True, *, count: int = 1, timeout: float = 15.0):
        return self.slack.wait_for("chat.postMessage", predicate, count=count, timeout=timeout)[-1]

    def preview(self, vm: str):
        return self.reply(lambda c: "asked to" in c.text and vm in c.text and c.body.get("blocks"))
