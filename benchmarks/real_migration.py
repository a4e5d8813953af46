"""Live migration of the tiny guest between two real libvirt daemons: granja versus bare `virsh migrate`."""

from __future__ import annotations

import getpass
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import libvirt

from benchmarks.core import report
from bot.engine import ChatEvent, Pending
from granja.app import open_engine
from tests.real.daemons import RealHost, tiny_guest_xml
from tests.real.hosts import start_farm


def live_migration(rounds: int = 5) -> None:
    """Median time of a live migration through granja's engine and through virsh, alternating, same run."""
    with tempfile.TemporaryDirectory() as tmp:
        farm = start_farm(Path(tmp) / "hosts", count=2)
        try:
            granja, virsh = _measure(farm.hosts, Path(tmp), rounds)
        finally:
            farm.stop()
    overhead = (statistics.median(granja) / statistics.median(virsh) - 1) * 100
    report("live migration, virsh migrate --live",
           f"median {statistics.median(virsh):.2f} s (n={len(virsh)})", "baseline")
    report("live migration, granja 'migrate tiny to H'",
           f"median {statistics.median(granja):.2f} s, {overhead:+.1f}%", "overhead < 10%")


def _measure(hosts: list[RealHost], tmp: Path, rounds: int) -> tuple[list[float], list[float]]:
    first, second = hosts
    conn = libvirt.open(first.tcp_uri)
    conn.defineXML(tiny_guest_xml()).create()
    conn.close()
    config = tmp / "farm.toml"
    config.write_text("".join(f'[hosts.{h.name}]\nuri = "{h.tcp_uri}"\n' for h in hosts)
                      + f'[users.{getpass.getuser()}]\nrole = "admin"\n')
    engine = open_engine(config=str(config), state=str(tmp / "state"))
    granja: list[float] = []
    virsh: list[float] = []
    where = first
    for _ in range(rounds):  # each round: there with virsh, back with granja
        to = second if where is first else first
        begun = time.perf_counter()
        subprocess.run(["virsh", "-c", where.tcp_uri, "migrate", "--live", "--persistent",
                        "--undefinesource", "tiny", to.tcp_uri], check=True, capture_output=True)
        virsh.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        pending = engine.prepare(ChatEvent(user=getpass.getuser(), text=f"migrate tiny to {where.name}"))
        assert isinstance(pending, Pending), pending
        reply = engine.confirm(pending, by=getpass.getuser())
        granja.append(time.perf_counter() - begun)
        assert reply.outcome.value == "ok", reply.summary
    return granja, virsh
