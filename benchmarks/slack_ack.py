"""Ack latency of the Slack HTTP endpoint: rounds of 50 concurrent signed requests to the real Bolt app.

Then again while an attacker holds 300 idle half-open connections (headers
begun, never finished): Slack's signed requests must still be acked within 3 s.

The bot runs here. "Slack" runs in another process, as it would: the Web API
stand-in the bot posts its answers to, and the sender firing 50 requests at
once (half mentions, half slash commands) while the bot is still answering
the previous ones in its worker threads.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from benchmarks.core import report
from bot.slack.http import PATH
from granja.app import open_engine
from tests.slack.driver import Sender, SlackBot
from tests.slack.standin import SlackStandIn

ROUNDS, SIZE = 10, 50
HELD = 300  # the attacker's half-open connections


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
    held = []
    for _ in range(HELD):  # begun, never finished: each waits for the server's request deadline
        sock = socket.create_connection(("127.0.0.1", sender.port), timeout=30)
        sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: slack\r\nContent-Length: 100\r\n".encode())
        held.append(sock)
    under_attack = [t for _ in range(2) for t in _burst(sender, SIZE)]
    for sock in held:
        sock.close()
    slack.wait_for("chat.postMessage", count=SIZE * (ROUNDS + 3), timeout=120)  # every one answered
    print(json.dumps([times, under_attack]), flush=True)
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
            times, held = (sorted(t) for t in json.loads(slack.stdout.readline()))
        finally:
            bot.close()
            slack.stdin.write("done\n")
            slack.stdin.flush()
            slack.wait(timeout=60)
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    report(f"Slack ack, {SIZE} concurrent signed requests",
           f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms",
           "p99 < 100 ms")
    report(f"  with {HELD} half-open connections held",
           f"max {held[-1] * 1000:.0f} ms ({held[-1] / p99:.1f}x the p99 above)", "max < 3 s")


if __name__ == "__main__":
    slack_side()
