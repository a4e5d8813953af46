"""Shared storage for the real hosts: a userspace iSCSI target (`tgtd`) on a loopback address of its own.

The target serves file-backed LUNs (sparse files under its folder). Every real host reaches it
through an `iscsi-direct` storage pool (QEMU opens a LUN through libiscsi), so a guest whose disk
is a LUN can run on any of them. Other runs may serve targets of their own at the same time, so
the portal address and tgtd's control port are chosen free, and the IQN names this run's folder.
tgtd ignores SIGTERM while it serves targets: it is stopped by SIGKILL, by its PID.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.real.daemons import MissingRequirement, port_open, wait_for_port

ISCSI_PORT = 3260
POOL = "san"  # the pool's name on every host, as farm.shared_pools names it
REQUIRED = ("tgtd", "tgtadm", "iscsi-ls", "qemu-io")
CONTROL_FOLDER = Path("/run/tgtd")  # tgtd's control socket and its lock: socket.N, socket.N.lock


@dataclass(frozen=True)
class Lun:
    """One logical unit of the target: its number, backing file and URL for libiscsi and QEMU."""

    number: int
    path: Path
    iqn: str
    address: str

    @property
    def url(self) -> str:
        """The LUN as libiscsi's tools and QEMU name it."""
        return f"iscsi://{self.address}:{ISCSI_PORT}/{self.iqn}/{self.number}"

    def disk_xml(self, target: str = "vda") -> str:
        """A guest disk straight on this LUN; `cache='none'` is what a safe live migration needs."""
        return (f"<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>"
                f"<source protocol='iscsi' name='{self.iqn}/{self.number}'>"
                f"<host name='{self.address}' port='{ISCSI_PORT}'/></source>"
                f"<target dev='{target}' bus='virtio'/></disk>")

    def volume_xml(self, target: str = "vda") -> str:
        """A guest disk naming this LUN as a volume of the pool; libvirt turns it into the same source."""
        return (f"<disk type='volume' device='disk'><driver name='qemu' type='raw' cache='none'/>"
                f"<source pool='{POOL}' volume='unit:0:0:{self.number}'/>"
                f"<target dev='{target}' bus='virtio'/></disk>")


@dataclass
class IscsiTarget:
    """One tgtd with one target; LUNs are added as tests need them (`add_lun`)."""

    root: Path
    address: str
    control_port: int
    iqn: str
    size_mib: int = 64
    pid: int = 0
    luns: list[Lun] = field(default_factory=list)
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start tgtd in the foreground, create the target and let every initiator in."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "tgtd.log").open("a") as log:
            self._process = subprocess.Popen(
                ["tgtd", "-f", "-C", str(self.control_port), "--iscsi",
                 f"portal={self.address}:{ISCSI_PORT}"],
                stdout=log, stderr=log, text=True, start_new_session=True)
        self.pid = self._process.pid
        wait_for_port(self.address, ISCSI_PORT, what=f"tgtd at {self.address}", log=self.root / "tgtd.log")
        self._admin("--op", "new", "--mode", "target", "--tid", "1", "-T", self.iqn)
        self._admin("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL")

    def add_lun(self) -> Lun:
        """A new, empty LUN (a sparse file) served from now on."""
        lun = Lun(len(self.luns) + 1, self.root / f"lun{len(self.luns) + 1}.img", self.iqn, self.address)
        with lun.path.open("wb") as backing:
            backing.truncate(self.size_mib * 2**20)
        self._admin("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", str(lun.number),
                    "-b", str(lun.path))
        self.luns.append(lun)
        return lun

    def pool_xml(self, initiator_host: str) -> str:
        """The `iscsi-direct` pool by which host `initiator_host` reaches this target."""
        return (f"<pool type='iscsi-direct'><name>{POOL}</name><source>"
                f"<host name='{self.address}' port='{ISCSI_PORT}'/><device path='{self.iqn}'/>"
                f"<initiator><iqn name='iqn.2026-11.org.granja.test:{initiator_host}'/></initiator>"
                f"</source></pool>")

    def stop(self) -> None:
        """Stop tgtd by its PID (SIGKILL: it ignores SIGTERM while serving) and remove its socket."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None
        elif self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.pid = 0
        for suffix in ("", ".lock") if self.control_port else ():
            (CONTROL_FOLDER / f"socket.{self.control_port}{suffix}").unlink(missing_ok=True)

    def _admin(self, *args: str) -> None:
        done = subprocess.run(["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *args],
                              capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"tgtadm {' '.join(args)} failed: {done.stderr.strip() or done.stdout}")


def check_iscsi_requirements() -> None:
    """Raise MissingRequirement naming what the shared-storage part lacks."""
    from shutil import which

    missing = [b for b in REQUIRED if which(b) is None]
    if missing:
        raise MissingRequirement(f"missing programs: {', '.join(missing)} (see TEST_APT_PACKAGES in ./dev)")


def start_target(root: Path, taken: set[str]) -> IscsiTarget:
    """Start a target on a free loopback address (not in `taken`) with a free tgtd control port."""
    check_iscsi_requirements()
    address = next((f"127.0.0.{last}" for last in range(250, 11, -1)
                    if f"127.0.0.{last}" not in taken and not port_open(f"127.0.0.{last}", ISCSI_PORT)), None)
    if address is None:
        raise MissingRequirement("no free loopback address for an iSCSI target")
    tag = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    target = IscsiTarget(root, address, free_control_port(), f"iqn.2026-11.org.granja.test:san-{tag}")
    try:
        target.start()
    except BaseException:
        target.stop()
        raise
    return target


def free_control_port() -> int:
    """A tgtd control port whose lock no running tgtd holds (tgtd locks socket.N.lock while it runs)."""
    CONTROL_FOLDER.mkdir(parents=True, exist_ok=True)
    for port in range(4100, 4400):
        with (CONTROL_FOLDER / f"socket.{port}.lock").open("a") as lock:
            try:
                fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            fcntl.lockf(lock, fcntl.LOCK_UN)
            return port
    raise MissingRequirement("no free tgtd control port in 4100-4399")


def write_marker(lun: Lun, pattern: int, offset: int = 0, length: int = 4096) -> None:
    """Fill `length` bytes at `offset` of the LUN with the byte `pattern`, as an initiator of its own."""
    _qemu_io(lun, f"write -P {pattern:#04x} {offset} {length}")


def has_marker(lun: Lun, pattern: int, offset: int = 0, length: int = 4096) -> bool:
    """Whether those bytes of the LUN all hold `pattern`, read over iSCSI (libiscsi, through qemu-io)."""
    out = _qemu_io(lun, f"read -P {pattern:#04x} {offset} {length}")
    return "Pattern verification failed" not in out and f"read {length}/{length} bytes" in out


def _qemu_io(lun: Lun, command: str) -> str:
    done = subprocess.run(["qemu-io", "--image-opts", "-c", command,
                           f"driver=iscsi,transport=tcp,portal={lun.address}:{ISCSI_PORT},"
                           f"target={lun.iqn},lun={lun.number},"
                           "initiator-name=iqn.2026-11.org.granja.test:checker"],
                          capture_output=True, text=True, timeout=30, check=False)
    out = done.stdout + done.stderr
    if done.returncode != 0 and "Pattern verification failed" not in out:
        raise RuntimeError(f"qemu-io {command!r} on {lun.url} failed: {out.strip()}")
    return out
