"""Two or three real libvirt hosts sharing one SSH client key and known_hosts; the manual script.

Manual use:  python -m tests.real.hosts up [DIR]   |   python -m tests.real.hosts down [DIR]
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import libvirt

from tests.real.daemons import (
    LIBVIRT_PORT,
    SSH_PORT,
    MissingRequirement,
    RealHost,
    check_requirements,
    port_open,
)
from tests.real.iscsi import POOL, IscsiTarget, Lun, start_target


@dataclass
class RealFarm:
    """Two or three real hosts sharing one SSH client key and known_hosts file."""

    root: Path
    hosts: list[RealHost]
    san: IscsiTarget | None = None  # the shared iSCSI target every host reaches (pool "san")

    @property
    def keys(self) -> Path:
        """The folder with the client key, known_hosts and the ssh wrapper for libvirt."""
        return self.root / "ssh"

    def host(self, name: str) -> RealHost:
        """One host by name."""
        return next(h for h in self.hosts if h.name == name)

    def new_lun(self) -> Lun:
        """A new empty LUN on the shared target, listed in every running host's pool "san"."""
        if self.san is None:
            raise RuntimeError("this farm was started without shared storage (start_farm(..., san=True))")
        lun = self.san.add_lun()
        for host in self.hosts:
            if host.running:
                conn = libvirt.open(host.tcp_uri)
                try:
                    conn.storagePoolLookupByName(POOL).refresh()
                finally:
                    conn.close()
        return lun

    def stop(self) -> None:
        """Stop every host, also those half started."""
        for host in self.hosts:
            host.stop()
        if self.san is not None:
            self.san.stop()
        (self.root / "farm.json").unlink(missing_ok=True)


def start_farm(root: Path, count: int = 3, *, san: bool = False) -> RealFarm:
    """Start `count` real hosts under `root`; the first probes QEMU, the others get its cache.

    With `san`, an iSCSI target on a loopback address of its own, and on every host an
    `iscsi-direct` pool on it (started, and autostarted when the host boots again).
    """
    check_requirements()
    root.mkdir(parents=True, exist_ok=True)
    keys = root / "ssh"
    keys.mkdir(exist_ok=True)
    if not (keys / "id_ed25519").exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id_ed25519")],
                       check=True)
    addresses = free_addresses(count)
    farm = RealFarm(root, [RealHost(f"real{i + 1}", a, root / f"real{i + 1}", keys)
                           for i, a in enumerate(addresses)])
    public = (keys / "id_ed25519.pub").read_text()
    try:
        for host in farm.hosts:
            host.prepare(public)
        (keys / "known_hosts").write_text("".join(h.host_key_line() for h in farm.hosts))
        (keys / "ssh").write_text(
            f"#!/bin/sh\nexec ssh -o UserKnownHostsFile={keys / 'known_hosts'} "
            "-o StrictHostKeyChecking=yes -o BatchMode=yes \"$@\"\n")
        (keys / "ssh").chmod(0o755)
        first, *others = farm.hosts
        first.start()
        warm_capabilities(first)
        for host in others:
            shutil.copytree(first.dir("cache") / "qemu", host.dir("cache") / "qemu", dirs_exist_ok=True)
            host.start()
        if san:
            farm.san = start_target(root / "san", {h.address for h in farm.hosts})
            for host in farm.hosts:
                define_pool(host, farm.san.pool_xml(host.name))
    except BaseException:
        farm.stop()
        raise
    record = {h.name: h.holder for h in farm.hosts}
    if farm.san is not None:
        record.update(san=farm.san.pid, san_control_port=farm.san.control_port)
    (root / "farm.json").write_text(json.dumps(record))
    return farm


def define_pool(host: RealHost, xml: str) -> None:
    """Define a storage pool on a host (replacing one of that name left by an earlier run), start it
    and mark it autostart."""
    conn = libvirt.open(host.tcp_uri)
    try:
        with contextlib.suppress(libvirt.libvirtError):
            old = conn.storagePoolLookupByName(ET.fromstring(xml).findtext("name"))
            if old.isActive():
                old.destroy()
            old.undefine()
        pool = conn.storagePoolDefineXML(xml)
        pool.create()
        pool.setAutostart(1)
    finally:
        conn.close()


def warm_capabilities(host: RealHost) -> None:
    """Make the host probe QEMU once (about 8 s cold); its cache is then copied to the others."""
    subprocess.run(["virsh", "-c", host.tcp_uri, "domcapabilities", "--virttype", "qemu"],
                   capture_output=True, check=True, timeout=120)


def free_addresses(count: int) -> list[str]:
    """Loopback addresses 127.0.0.N whose libvirt and SSH ports are free (other runs may hold some)."""
    found: list[str] = []
    for last in range(11, 250):
        address = f"127.0.0.{last}"
        if not port_open(address, LIBVIRT_PORT) and not port_open(address, SSH_PORT):
            found.append(address)
            if len(found) == count:
                return found
    raise MissingRequirement("no free loopback addresses 127.0.0.11-249 for real hosts")


def _down(root: Path) -> None:
    """Stop hosts recorded in root/farm.json (after `up`, or a crashed test run)."""
    record = root / "farm.json"
    if not record.exists():
        print(f"no real hosts recorded under {root}")
        return
    holders: dict[str, int] = json.loads(record.read_text())
    san, control_port = holders.pop("san", 0), holders.pop("san_control_port", 0)
    for name, holder in holders.items():
        host = RealHost(name, "", root / name, root / "ssh", holder=holder)
        host.stop()
        print(f"{name}: stopped")
    if san:
        IscsiTarget(root / "san", "", control_port, "", pid=san).stop()
        print("san: stopped")
    record.unlink()


def main(argv: list[str]) -> int:
    """`up [DIR]` starts three hosts and prints their URIs; `down [DIR]` stops them."""
    if len(argv) < 1 or argv[0] not in ("up", "down"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root = Path(argv[1] if len(argv) > 1 else "/tmp/granja-realhosts").absolute()
    if argv[0] == "down":
        _down(root)
        return 0
    farm = start_farm(root, san=True)
    for host in farm.hosts:
        print(f"{host.name}  {host.tcp_uri}  {host.ssh_uri}  (holder PID {host.holder})")
    if farm.san is not None:
        print(f"san  iscsi://{farm.san.address}/{farm.san.iqn}  pool '{POOL}' on every host "
              f"(tgtd PID {farm.san.pid})")
    print(f"stop with: python -m tests.real.hosts down {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
