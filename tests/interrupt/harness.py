"""Run granja as a separate process that is killed or signalled at its Nth mutating step, then look.

The steps are counted by hypervisor/crashpoint.py (each change to a simulated
host, before and after, and each journal write); see that module for the
environment variables. After the process is gone, `copies` asks every simulated
host directly what it holds, so nothing granja believes is taken on trust.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from granja.app import build_farm
from granja.config import load_config
from hypervisor.errors import HostUnreachable


def granja(state: Path, *words: str, env: dict[str, str] | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python -m granja --state STATE WORDS...` and wait for it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRANJA_")}
    return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), *words],
                          capture_output=True, text=True, check=False, timeout=timeout,
                          env={**clean, **(env or {})})


def copy_state(state: Path, to: Path) -> Path:
    """A private copy of a demo state folder (the config names node files by absolute path)."""
    shutil.copytree(state, to)
    config = to / "demo" / "farm.toml"
    config.write_text(config.read_text().replace(str(state), str(to)))
    return to


def step_count(state: Path, scratch: Path, *words: str) -> list[str]:
    """The mutating steps a command takes when nothing stops it (run on a copy), in order."""
    copy = copy_state(state, scratch / "count")
    log = scratch / "steps.log"
    done = granja(copy, *words, env={"GRANJA_CRASH_LOG": str(log)})
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()]


def copies(state: Path) -> dict[str, list[tuple[str, str]]]:
    """Every VM name -> [(host, state)] for each host that holds a definition of it, asked live."""
    farm = build_farm(load_config(state / "demo" / "farm.toml"))
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for host in farm.host_names:
        try:
            held = farm.driver(host).list_vms()
        except HostUnreachable:
            continue  # a host the test took down
        for vm in held:
            found[vm.name].append((host, vm.state.value))
    return dict(found)


def invariant_problems(state: Path) -> list[str]:
    """What breaks 'at most one running copy of each VM'."""
    return [f"{name} runs on {', '.join(h for h, s in where if s == 'running')}"
            for name, where in copies(state).items()
            if sum(1 for _h, s in where if s == "running") > 1]


def defined_twice(state: Path) -> dict[str, list[tuple[str, str]]]:
    """VMs defined on more than one host."""
    return {name: where for name, where in copies(state).items() if len(where) > 1}


def volumes(state: Path) -> set[tuple[str, str]]:
    """Every (host, volume path) in the simulated hosts' active pools, asked live."""
    farm = build_farm(load_config(state / "demo" / "farm.toml"))
    found: set[tuple[str, str]] = set()
    for host in farm.host_names:
        try:
            connection = farm.driver(host).connection()  # type: ignore[attr-defined]
        except HostUnreachable:
            continue
        for pool in connection.listAllStoragePools():
            if pool.isActive():
                pool.refresh()
                found.update((host, volume.path()) for volume in pool.listAllVolumes())
    return found
