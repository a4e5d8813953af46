"""`granja slack` restarted as a real process: an alert is posted once, its old message kept current."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from bot.slack.alerts import ACK
from granja.app import open_engine
from tests.slack.driver import SECRET, Sender
from tests.slack.standin import Call, SlackStandIn
from tests.slack.test_cli import free_port, granja_slack, stopped_by_ctrl_c
from tests.watch.conftest import ALERTS

FTP = "cluster ftp: 1 of 2 running; ftp2 is shut off on host07"


class Lines:
    """A process's standard output, line by line, read by a thread of its own."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        try:
            for line in stdout:
                self._lines.put(line)
        except (OSError, ValueError):  # closed by communicate() at the end
            pass

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no such line in {timeout} s; seen: {self.seen}") from None
            self.seen.append(line)
            if predicate(line):
                return line


@contextmanager
def bot(state: Path, slack: SlackStandIn, port: int) -> Iterator[Lines]:
    """`granja slack` in HTTP mode until the block ends; then Ctrl-C, and a clean exit is asserted."""
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
           "GRANJA_CONFIG": str(state / "demo" / "farm.toml")}
    with stopped_by_ctrl_c(granja_slack(state, env, "--host", "127.0.0.1", "--port", str(port))) as process:
        yield Lines(process)


def posts(slack: SlackStandIn) -> list[Call]:
    return [c for c in slack.of("chat.postMessage") if c.body.get("channel") == ALERTS]


def test_a_restarted_bot_posts_no_alert_twice_and_keeps_the_old_message_current(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + '\n[watch.for]\ncluster_degraded = 0\n'
                      f'[alerts]\nchannel = "{ALERTS}"\nmin_severity = "critical"\n'
                      f'[channels.{ALERTS}]\nrole = "admin"\n')
    slack = SlackStandIn()
    slack.thread.start()
    try:
        port = free_port()
        with bot(state, slack, port):
            (first,) = slack.wait_for("chat.postMessage", lambda c: c.body.get("channel") == ALERTS,
                                      timeout=60)
            assert first.text == f"critical: {FTP}"
        ts = first.answer["ts"]

        # Restarted while the condition still holds: the first evaluation is over when the bot says
        # what it found; by then a second post would have been made.
        with bot(state, slack, port) as lines:
            said = lines.wait_for(lambda line: line.startswith("granja slack: watching"))
            assert "from before the restart" in said
            assert [c.text for c in posts(slack)] == [f"critical: {FTP}"]
            # Acknowledge on the message the last run posted still works, and updates that message.
            Sender(port).click("UOPER", first, ACK, channel=ALERTS)
            (acked,) = slack.wait_for("chat.update", lambda c: "acknowledged by" in c.blocks_text)
            assert acked.body["ts"] == ts
            assert "acknowledged by @otto at" in acked.blocks_text  # named, not pinged

        engine = open_engine(config=str(config), state=str(state))
        engine.farm.driver("host07").lifecycle("ftp2", "start")  # fixed while granja was stopped
        engine.close()

        with bot(state, slack, port) as lines:
            (resolved,) = slack.wait_for("chat.update", lambda c: "resolved" in c.text, timeout=60)
            assert resolved.body["ts"] == ts
            assert resolved.text.startswith("resolved after ")
            assert resolved.text.endswith(": cluster ftp: enough members running")
            assert [b for b in resolved.body["blocks"] if b["type"] == "actions"] == []
            said = lines.wait_for(lambda line: line.startswith("granja slack: watching"))
            assert "1 resolved while granja was stopped" in said
        assert len(posts(slack)) == 1
    finally:
        slack.shutdown()
        slack.server_close()
