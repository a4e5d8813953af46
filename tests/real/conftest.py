"""Fixtures over real libvirt daemons: three hosts started once per session, a fresh guest per test."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from bot.engine import Engine
from granja.app import open_engine
from tests.conftest import Chat
from tests.real.daemons import MissingRequirement, RealHost, tiny_guest_xml
from tests.real.hosts import RealFarm, start_farm
from tests.real.iscsi import POOL, Lun

HOST_TIMEOUT = 3.0


@pytest.fixture(scope="session")
def real_farm(tmp_path_factory) -> Iterator[RealFarm]:
    """Three real hosts and the iSCSI target they share; a machine that cannot run them fails these
    tests and says why."""
    try:
        farm = start_farm(tmp_path_factory.mktemp("realhosts"), count=3, san=True)
    except MissingRequirement as exc:
        pytest.fail(f"real-host tests cannot run here: {exc}", pytrace=False)
    try:
        yield farm
    finally:
        farm.stop()


@pytest.fixture(scope="session")
def payload(tmp_path_factory) -> Path:
    """16 MiB of random bytes for a guest's RAM (a migration then moves real data)."""
    path = tmp_path_factory.mktemp("payload") / "random.bin"
    path.write_bytes(os.urandom(16 * 2**20))
    return path


def clear(host: RealHost) -> None:
    """Remove every guest from a host (destroyed and undefined)."""
    conn = libvirt.open(host.tcp_uri)
    try:
        for dom in conn.listAllDomains():
            if dom.isActive():
                dom.destroy()
            if dom.isPersistent():
                dom.undefine()
    finally:
        conn.close()


@pytest.fixture
def hosts(real_farm) -> RealFarm:
    """Every host up (restarted if a test stopped it) and holding no guests."""
    for host in real_farm.hosts:
        if not host.running:
            host.reboot()
        clear(host)
    return real_farm


@pytest.fixture
def lun(hosts) -> Lun:
    """A new, empty LUN of the shared target, in every host's pool "san" (each test its own)."""
    return hosts.new_lun()


def define_guest(host: RealHost, name: str = "tiny", *, payload: Path | None = None,
                 memory_mib: int = 64, start: bool = True, disk: str = "") -> None:
    """Define a tiny guest on a host, started unless told otherwise; `disk` is a disk's XML."""
    conn = libvirt.open(host.tcp_uri)
    try:
        dom = conn.defineXML(tiny_guest_xml(name, memory_mib, payload, disk=disk))
        if start:
            dom.create()
    finally:
        conn.close()


def fleet_toml(farm: RealFarm) -> str:
    """A fleet config naming the real hosts: TCP for the first two, SSH for the third."""
    uris = [farm.hosts[0].tcp_uri, farm.hosts[1].tcp_uri, farm.hosts[2].ssh_uri]
    lines = [f'[farm]\nname = "real"\nhost_timeout = {HOST_TIMEOUT}\nshared_pools = ["{POOL}"]\n'
             f'ssh_key = "{farm.keys / "id_ed25519"}"\nknown_hosts = "{farm.keys / "known_hosts"}"\n']
    for host, uri in zip(farm.hosts, uris, strict=True):
        lines.append(f'[hosts.{host.name}]\nuri = "{uri}"\nssh = "root@{host.address}:2222"\n')
    lines.append(f'[users.{getpass.getuser()}]\nrole = "admin"\n')
    return "\n".join(lines)


@pytest.fixture
def real_engine(hosts, tmp_path) -> Iterator[Engine]:
    """An engine over the real hosts with a fresh inventory (first refresh done)."""
    config = tmp_path / "farm.toml"
    config.write_text(fleet_toml(hosts))
    engine = open_engine(config=str(config), state=str(tmp_path / "state"))
    yield engine
    for name in engine.farm.host_names:
        driver = engine.farm.driver(name)
        driver.close()  # type: ignore[attr-defined]
        if driver._facts is not None:  # type: ignore[attr-defined]
            driver._facts.close()  # type: ignore[attr-defined]


@pytest.fixture
def real_chat(real_engine) -> Chat:
    return Chat(real_engine)
