"""`granja watch` alone: alerts on standard output, one line each, until interrupted."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.signal_routing import send_off_main


@contextmanager
def granja_watch(state: Path) -> Iterator[subprocess.Popen[str]]:
    """`granja watch` on the demo farm's state; killed by PID if a test leaves it running."""
    config = state / "demo" / "farm.toml"
    granja = str(Path(sys.executable).parent / "granja")
    watch = subprocess.Popen([granja, "--config", str(config), "--state", str(state), "watch"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield watch
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
        for pipe in (watch.stdout, watch.stderr):
            if pipe is not None:
                pipe.close()


def test_granja_watch_prints_one_line_per_alert_and_stops_on_ctrl_c(state):
    config = state / "demo" / "farm.toml"
    watch_keys = "\n[watch]\nfacts_interval = 1\n[watch.for]\ncluster_degraded = 0\n"
    config.write_text(config.read_text() + watch_keys)
    with granja_watch(state) as watch:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        assert watch.stdout is not None
        waiting = selectors.DefaultSelector()  # epoll: select() fails on descriptors past 1023
        waiting.register(watch.stdout, selectors.EVENT_READ)
        while not any("cluster_degraded ftp" in line for line in lines) and time.monotonic() < deadline:
            if waiting.select(max(0.0, deadline - time.monotonic())):
                line = watch.stdout.readline()
                assert line, f"granja watch ended: {watch.stderr.read() if watch.stderr else ''}"
                lines.append(line)
        waiting.close()
        assert lines[0].startswith("granja watch: Demo farm, 15 hosts")
        (alert,) = [line for line in lines if "cluster_degraded ftp" in line]
        said = "cluster ftp: 1 of 2 running; ftp2 is shut off on host07"
        assert f" CRITICAL FIRED cluster_degraded ftp: {said}" in alert
        assert alert.rstrip().endswith("[remedy: start ftp2]")
        where = send_off_main(watch.pid, signal.SIGINT)  # Ctrl-C, as the kernel may route it
        assert watch.wait(timeout=20) == 0, where


def test_ctrl_c_while_the_watcher_starts_still_stops_it(state):
    # The header is printed before the watcher's first poll of every host: the signal lands in start().
    with granja_watch(state) as watch:
        assert watch.stdout is not None
        assert watch.stdout.readline().startswith("granja watch: Demo farm")
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=20) == 0
