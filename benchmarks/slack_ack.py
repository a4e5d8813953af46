"""Ack latency of the Slack HTTP endpoint: rounds of 50 concurrent signed requests to the real Bolt app.

The bot runs here. "Slack" runs in another process, as it would: the Web API
stand-in the bot posts its answers to, and the sender firing 50 requests at
once (half mentions, half slash commands) while the bot is still answering
the previous ones in its worker threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from benchmarks.core import report
from granja.app import open_engine
from tests.slack.driver import Sender, SlackBot
from tests.slack.standin import SlackStandIn

ROUNDS, SIZE = 10, 50


def _burst(sender: Sender, size: int) -> list[float]:
    times: list[float] = []
    gate = threading.Barrier(size)

    def one(i: int) -> None:
        gate.wait()
        response = (sender.mention if i % 2 else sender.command)("UVIEWER", "where is ldap3")
        assert response.status == 200, response
        times.append(response.seconds)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def slack_side() -> None:
    """In the Slack process: serve the Web API, learn the bot's port, fire the bursts, report times."""
    slack = SlackStandIn()
    slack.thread.start()
    print(slack.url, flush=True)
    sender = Sender(int(sys.stdin.readline()))
    _burst(sender, SIZE)  # warm up
    times = [t for _ in range(ROUNDS) for t in _burst(sender, SIZE)]
    slack.wait_for("chat.postMessage", count=SIZE * (ROUNDS + 1), timeout=120)  # every one answered
    print(json.dumps(times), flush=True)
    sys.stdin.readline()  # stay up until the bot has stopped posting


def ack_latency() -> None:
    """p50/p99 of the ack under bursts of 50 concurrent requests, the answers computed meanwhile."""
    slack = subprocess.Popen([sys.executable, "-m", "benchmarks.slack_ack"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert slack.stdin is not None
    assert slack.stdout is not None
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        open_engine(config=None, state=str(state))
        bot = SlackBot(state, api_url=slack.stdout.readline().strip())
        try:
            slack.stdin.write(f"{bot.port}\n")
            slack.stdin.flush()
            times = sorted(json.loads(slack.stdout.readline()))
        finally:
            bot.close()
            slack.stdin.write("done\n")
            slack.stdin.flush()
            slack.wait(timeout=60)
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    report(f"Slack ack, {SIZE} concurrent signed requests",
           f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms",
           "p99 < 100 ms")


if __name__ == "__main__":
    slack_side()
