"""Live migration and crash recovery on real libvirt daemons: granja against bare virsh, same run.

Two real hosts (QEMU, software emulation) share an iSCSI target. Each direction is measured for a
diskless guest and for a guest whose disk is a LUN, through granja's engine (as the Slack bot runs
it: prepare and confirm), through the command line (`granja ask --yes "migrate VM to HOST"`, a
whole process: start-up, connections, the refresh of its view) and through `virsh migrate --live
--persistent --undefinesource` (also a whole process), in rotating order so that none always gets
the warmer machine. The fleet config gives both hosts SSH facts,
as in production. Recovery: a host is killed (libvirtd and QEMU, SIGKILL), and `recover HOST` is
timed from the command to the guest running on the other host, against `virsh define` + `start`
of the same definition there.
"""

from __future__ import annotations

import getpass
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import libvirt

from benchmarks.core import granja_command, report
from bot.engine import ChatEvent, Engine, Pending
from granja.app import open_engine
from tests.real.daemons import SSH_PORT, RealHost, tiny_guest_xml
from tests.real.hosts import RealFarm, start_farm
from tests.real.iscsi import POOL

VIRSH_MIGRATE = ("migrate", "--live", "--persistent", "--undefinesource")


def live_migration(rounds: int = 5) -> None:
    """Median migration time per guest and direction, granja against virsh; then one recovery."""
    with tempfile.TemporaryDirectory() as tmp:
        farm = start_farm(Path(tmp) / "hosts", count=2, san=True)
        try:
            engine, config = _engine(farm, Path(tmp))
            lun = farm.new_lun()
            guests = {"diskless": _guest(farm.hosts[0], "tiny", ""),
                      "iSCSI disk": _guest(farm.hosts[0], "lunny", lun.volume_xml())}
            engine_do(engine, "refresh")
            for label, name in guests.items():
                _migrations(engine, config, farm, name, label, rounds)
            _recovery(engine, farm, guests["iSCSI disk"])
        finally:
            farm.stop()


TOOLS = ("virsh", "granja", "granja ask")


def _migrations(engine: Engine, config: Path, farm: RealFarm, name: str, label: str, rounds: int) -> None:
    first, second = farm.hosts
    times: dict[tuple[str, str], list[float]] = {}

    def move(tool: str, source: RealHost, target: RealHost) -> None:
        begun = time.perf_counter()
        if tool == "virsh":
            virsh(source, *VIRSH_MIGRATE, name, target.tcp_uri)
        elif tool == "granja":
            engine_do(engine, f"migrate {name} to {target.name}")
        else:
            granja_ask(config, engine.inventory.directory, f"migrate {name} to {target.name}")
        times.setdefault((tool, f"{source.name}→{target.name}"), []).append(time.perf_counter() - begun)

    for number in range(rounds):  # each tool goes there and back; the order rotates every round
        for tool in TOOLS[number % 3:] + TOOLS[:number % 3]:
            move(tool, first, second)
            move(tool, second, first)
    for direction in (f"{first.name}→{second.name}", f"{second.name}→{first.name}"):
        bare = statistics.median(times[("virsh", direction)])
        ours = statistics.median(times[("granja", direction)])
        asked = statistics.median(times[("granja ask", direction)])
        report(f"live migration {direction}, {label}",
               f"virsh {bare:.2f} s, granja (bot) {ours:.2f} s: {ours / bare:.2f}×, granja ask (process) "
               f"{asked:.2f} s: {asked / bare:.2f}×", "granja/virsh < 1.10")


def _recovery(engine: Engine, farm: RealFarm, name: str) -> None:
    """Kill the host the guest runs on; time `recover` against virsh defining and starting it."""
    down, other = farm.hosts
    xml = virsh(down, "dumpxml", "--inactive", name)
    begun = time.perf_counter()
    virsh(other, "define", "/dev/stdin", stdin=xml)
    virsh(other, "start", name)
    bare = time.perf_counter() - begun
    virsh(other, "destroy", name)
    virsh(other, "undefine", name)
    down.crash()
    begun = time.perf_counter()
    engine_do(engine, f"recover {down.name}")
    ours = time.perf_counter() - begun
    state = virsh(other, "domstate", name).strip()
    assert state == "running", f"{name} is {state} on {other.name} after the recovery"
    report("recover a killed host's VM (iSCSI disk)",
           f"virsh {bare:.2f} s, granja {ours:.2f} s: {ours / bare:.2f}×", "command to guest running")


def engine_do(engine: Engine, text: str) -> None:
    """Run one command through the engine, confirming it if it is a change; it must succeed."""
    user = getpass.getuser()
    reply = engine.prepare(ChatEvent(user=user, text=text))
    if isinstance(reply, Pending):
        reply = engine.confirm(reply, by=user)
    assert reply.outcome.value == "ok", reply.summary


def granja_ask(config: Path, state: Path, text: str) -> None:
    """Run `granja ask --yes TEXT` as a person would, a process of its own; it must succeed."""
    subprocess.run([*granja_command(), "--config", str(config), "--state", str(state), "ask", "--yes", text],
                   capture_output=True, text=True, check=True)


def virsh(host: RealHost, *args: str, stdin: str | None = None) -> str:
    """Run virsh against a host; it must succeed."""
    done = subprocess.run(["virsh", "-c", host.tcp_uri, *args], input=stdin, capture_output=True,
                          text=True, check=True)
    return done.stdout


def _engine(farm: RealFarm, tmp: Path) -> tuple[Engine, Path]:
    config = tmp / "farm.toml"
    keys = farm.keys
    config.write_text(
        f'[farm]\nshared_pools = ["{POOL}"]\nssh_key = "{keys / "id_ed25519"}"\n'
        f'known_hosts = "{keys / "known_hosts"}"\n'
        + "".join(f'[hosts.{h.name}]\nuri = "{h.tcp_uri}"\nssh = "root@{h.address}:{SSH_PORT}"\n'
                  for h in farm.hosts)
        + f'[users.{getpass.getuser()}]\nrole = "admin"\n')
    return open_engine(config=str(config), state=str(tmp / "state")), config


def _guest(host: RealHost, name: str, disk: str) -> str:
    _on(host, lambda conn: conn.defineXML(tiny_guest_xml(name, disk=disk)).create())
    return name


def _on(host: RealHost, call: Callable[[libvirt.virConnect], object]) -> None:
    conn = libvirt.open(host.tcp_uri)
    try:
        call(conn)
    finally:
        conn.close()
