"""Ack latency of the Slack HTTP endpoint: rounds of 50 concurrent signed requests to the real Bolt app.

The bot and the Web API stand-in run here; the requests come from another
process (as Slack's do), 50 at once, half mentions and half slash commands,
while the bot answers the earlier ones in its worker threads.
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
from tests.slack.driver import SlackBot

ROUNDS, SIZE = 10, 50


def load(port: int, rounds: int, size: int) -> list[float]:
    """In the load process: fire `rounds` bursts of `size` requests at once; each one's time to its ack."""
    bot = SlackBot.__new__(SlackBot)  # only the signing and sending half of the driver
    bot.server = type("Port", (), {"port": port})()
    bot._ids = iter(range(1, 10**9))
    times: list[float] = []

    def one(i: int, gate: threading.Barrier) -> None:
        gate.wait()
        send = bot.mention if i % 2 else bot.command
        response = send("UVIEWER", "where is ldap3")
        assert response.status == 200, response
        times.append(response.seconds)

    for _ in range(rounds):
        gate = threading.Barrier(size)
        threads = [threading.Thread(target=one, args=(i, gate)) for i in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return times


def ack_latency() -> None:
    """p50/p99 of the ack under bursts of 50 concurrent requests, the answers computed meanwhile."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        open_engine(config=None, state=str(state))
        bot = SlackBot(state)
        try:
            command = [sys.executable, "-m", "benchmarks.slack_ack", str(bot.server.port)]
            subprocess.run([*command, "1"], check=True, capture_output=True)  # warm up
            bot.slack.wait_for("chat.postMessage", count=SIZE, timeout=120)
            out = subprocess.run([*command, str(ROUNDS)], check=True, capture_output=True, text=True).stdout
            times = sorted(json.loads(out))
            bot.slack.wait_for("chat.postMessage", count=SIZE * (ROUNDS + 1), timeout=120)
        finally:
            bot.close()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    report(f"Slack ack, {SIZE} concurrent signed requests",
           f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms",
           "p99 < 100 ms")


if __name__ == "__main__":
    print(json.dumps(load(int(sys.argv[1]), int(sys.argv[2]), SIZE)))
