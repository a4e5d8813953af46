"""Foundation benchmarks: 'where is' as a whole process and in-process at scale, and refresh time."""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.engine import ChatEvent, Engine
from bot.refresh import refresh_inventory
from granja.app import build_farm
from granja.config import load_config
from granja.demo import generate_farm
from inventory import AuditEntry, Inventory


def report(name: str, figure: str, target: str) -> None:
    print(f"{name:44} {figure:32} target: {target}", flush=True)


# As installed: pip compiles the bytecode, so the benchmark lets Python write it on the warm-up run.
_INSTALLED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _seconds(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of `command`."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=_INSTALLED)
    wall = time.perf_counter() - begun
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)


def granja_command() -> list[str]:
    """The `granja` program as a person runs it: the script pip installed beside this Python."""
    script = Path(sys.executable).with_name("granja")
    return [str(script)] if script.exists() else [sys.executable, "-m", "granja"]


def where_process(runs: int = 21) -> None:
    """`granja ask "where is ldap3"` as a whole process on the demo farm, as a ratio to a bare Python start.

    The state is the demo farm's as granja makes it on first use (as `./dev demo` does): the warm-up
    run generates it, refreshes it, checks and caches the config and writes the bytecode. Then the
    command and `python -c pass` run `runs` times each, interleaved, so a busy machine slows both
    alike; the ratios are of the medians, for CPU time (user + system, which other load barely
    moves) and wall time, and of the fastest wall times (as `timeit` advises: slower runs measure the
    machine's other load). The second line is the same question in a second demo state whose month
    already holds 2,000 audited commands, timed in the same interleaved rounds, with its ratio to the
    first: recording a command appends one line to the month's file, so the figure should not grow
    over a month.
    """
    with tempfile.TemporaryDirectory() as tmp:
        fresh, audited = Path(tmp) / "fresh", Path(tmp) / "audited"
        commands = [[*granja_command(), "--state", str(s), "ask", "where is ldap3"] for s in (fresh, audited)]
        for command in commands:
            _seconds(command)
        _audit_commands(audited, 2000)
        bare, (empty, full) = _interleaved([sys.executable, "-c", "pass"], commands, runs)
        _report_ratio("granja ask 'where is ldap3' (process)", empty, bare, "at most 5x")
        _report_ratio("  the same, 2,000 commands audited this month", full, bare, "at most 5x")
        report("  2,000 audited vs a fresh month (same run)",
               f"{_median_cpu(full) / _median_cpu(empty):.2f}x CPU, "
               f"{min(t for t, _ in full) / min(t for t, _ in empty):.2f}x wall (best)", "1x: no growth")


Times = list[tuple[float, float]]


def _interleaved(baseline: list[str], commands: list[list[str]], runs: int) -> tuple[Times, list[Times]]:
    """Run `baseline` and each command `runs` times, one of each per round; their (wall, CPU) times."""
    bare: Times = []
    times: list[Times] = [[] for _ in commands]
    for _ in range(runs):
        bare.append(_seconds(baseline))
        for command, timed in zip(commands, times, strict=True):
            timed.append(_seconds(command))
    return bare, times


def _median_cpu(times: Times) -> float:
    return statistics.median(c for _, c in times)


def _report_ratio(name: str, times: Times, baseline: Times, target: str) -> None:
    """Report `times` as ratios to `baseline`: CPU and wall of the medians, and of the best walls."""
    wall = statistics.median(t for t, _ in times) / statistics.median(t for t, _ in baseline)
    best = min(t for t, _ in times) / min(t for t, _ in baseline)
    cpu = _median_cpu(times) / _median_cpu(baseline)
    report(name, f"{cpu:.1f}x CPU, {wall:.1f}x wall (median), {best:.1f}x wall (best: "
                 f"{min(t for t, _ in times) * 1000:.0f} vs {min(t for t, _ in baseline) * 1000:.0f} ms)",
           target)


def _audit_commands(state: Path, count: int) -> None:
    """Audit `count` more commands this month in `state`, as people asking questions would."""
    now = datetime.now(UTC)
    inventory = Inventory(state)
    inventory.record_audits([
        AuditEntry(at=now - timedelta(seconds=n), user="alice", text="where is ldap3", outcome="ok",
                   channel="console", command="where is ldap3", vm="ldap3", hosts=("host07",),
                   detail="ldap3 is on host07", duration_ms=3.0, role="operator")
        for n in range(count)])
    inventory.close()


def _farm_engine(root: Path, hosts: int, vms: int) -> tuple[Engine, float]:
    begun = time.perf_counter()
    config = load_config(generate_farm(root / "farm", hosts=hosts, vms=vms))
    generated = time.perf_counter() - begun
    engine = Engine(config=config, farm=build_farm(config), inventory=Inventory(root / "state"))
    return engine, generated


def _refresh(engine: Engine) -> float:
    begun = time.perf_counter()
    summary, unreachable = refresh_inventory(engine.farm, engine.inventory, at=datetime.now(UTC),
                                             user="bench")
    assert not unreachable
    assert summary.vms > 0
    return time.perf_counter() - begun


def refresh_scaling() -> None:
    """`refresh` of generated farms of 250, 500 and 1,000 hosts (20 VMs each)."""
    for hosts in (250, 500, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            engine, _ = _farm_engine(Path(tmp), hosts, hosts * 20)
            first = _refresh(engine)
            again = _refresh(engine)
        report(f"refresh {hosts} hosts / {hosts * 20} VMs",
               f"first {first:.1f} s, again {again:.1f} s", "1,000 hosts < 15 s")


def where_in_process(queries: int = 1000) -> None:
    """In-process 'where is' on a 1,000-host, 20,000-VM farm: p50 and p95 per query."""
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = _farm_engine(Path(tmp), 1000, 20000)
        _refresh(engine)
        names = engine.inventory.vm_names()
        rng = random.Random(7)
        times = []
        for name in rng.choices(names, k=queries):
            begun = time.perf_counter()
            reply = engine.prepare(ChatEvent(user="bench", text=f"where is {name}"))
            times.append(time.perf_counter() - begun)
            assert not isinstance(reply, type(None))
        times.sort()
        p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
    report("'where is' in-process, 20,000 VMs",
           f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms", "p95 < 5 ms")
