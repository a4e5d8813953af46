"""One real libvirt host on this machine: libvirtd + sshd in a mount and UTS namespace of its own.

The host gets its own hostname, `host_uuid`, config/state/cache/log/run
folders (bind-mounted over the system paths inside its namespace) and its
own loopback address 127.0.0.N, where libvirtd listens on TCP and sshd on
port 2222. Every process the host runs (libvirtd, sshd, QEMU guests) is
found by its mount namespace and stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

LIBVIRT_PORT = 16509
SSH_PORT = 2222
REQUIRED = ("unshare", "nsenter", "libvirtd", "virsh", "qemu-system-x86_64", "ssh", "ssh-keygen")
MOUNTS = {"etc": "/etc/libvirt", "lib": "/var/lib/libvirt", "cache": "/var/cache/libvirt",
          "log": "/var/log/libvirt", "run": "/run"}
TINY_GUEST = """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>{disk}
    <memballoon model='none'/>
  </devices>{payload}
</domain>
"""
# QEMU's generic loader puts a file into guest RAM: random bytes do not compress away, so a
# migration of this guest moves real data and a bandwidth limit makes it last long enough to watch.
PAYLOAD = """
  <qemu:commandline>
    <qemu:arg value='-device'/>
    <qemu:arg value='loader,file={path},addr=0x1000000,force-raw=on'/>
  </qemu:commandline>"""


class MissingRequirement(RuntimeError):
    """The machine lacks what real hosts need (root, namespaces, a binary)."""


def check_requirements() -> None:
    """Raise MissingRequirement naming what is missing; the real-host tests fail with it."""
    if os.geteuid() != 0:
        raise MissingRequirement("real libvirt hosts need root (CAP_SYS_ADMIN for namespaces)")
    missing = [b for b in REQUIRED if shutil.which(b) is None]
    missing += [p for p in ("/usr/sbin/sshd",) if not os.path.exists(p)]
    if missing:
        raise MissingRequirement(f"missing programs: {', '.join(missing)} (see TEST_APT_PACKAGES in ./dev)")
    probe = subprocess.run(["unshare", "--mount", "--uts", "--propagation", "private", "true"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise MissingRequirement(f"cannot create mount+UTS namespaces: {probe.stderr.strip()}")


def tiny_guest_xml(name: str = "tiny", memory_mib: int = 64, payload: Path | None = None, *,
                   disk: str = "") -> str:
    """A QEMU guest under software emulation, diskless unless `disk` (its XML): idles in the BIOS.

    With `payload` (a file of at most 32 MiB) that file's bytes are loaded into its RAM.
    """
    extra = PAYLOAD.format(path=payload) if payload is not None else ""
    return TINY_GUEST.format(name=name, memory=memory_mib, payload=extra, disk=disk)


@dataclass
class RealHost:
    """One libvirt host in its own namespaces; `start`, `stop`, `reboot`."""

    name: str
    address: str
    root: Path
    keys: Path  # the farm's ssh folder: client key, known_hosts, ssh wrapper
    host_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    holder: int = 0  # PID of the process that keeps the namespaces alive
    _started: list[subprocess.Popen[str]] = field(default_factory=list, repr=False)

    @property
    def tcp_uri(self) -> str:
        """The libvirt URI over plain TCP (auth none, loopback only)."""
        return f"qemu+tcp://{self.address}/system"

    @property
    def ssh_uri(self) -> str:
        """The libvirt URI over this host's sshd, checked against the farm's known_hosts."""
        return (f"qemu+ssh://root@{self.address}:{SSH_PORT}/system?keyfile={self.keys / 'id_ed25519'}"
                f"&command={self.keys / 'ssh'}&no_tty=1")

    def dir(self, key: str) -> Path:
        """This host's private folder mounted over MOUNTS[key]."""
        return self.root / key

    def prepare(self, client_public_key: str) -> None:
        """Write the host's folders, libvirt and sshd config, and its SSH host key."""
        for key in MOUNTS:
            self.dir(key).mkdir(parents=True, exist_ok=True)
        for sub in ("etc/qemu", "run/sshd", "run/libvirt", "lib/qemu", "lib/images", "cache/qemu",
                    "log/qemu"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.dir("etc") / "libvirtd.conf").write_text(
            'listen_tls = 0\nlisten_tcp = 1\nauth_tcp = "none"\nauth_unix_rw = "none"\n'
            f'listen_addr = "{self.address}"\nhost_uuid = "{self.host_uuid}"\n'
            'log_outputs = "3:stderr"\n')
        (self.dir("etc") / "qemu.conf").write_text(
            'user = "root"\ngroup = "root"\nsecurity_driver = "none"\ncgroup_controllers = [ ]\n'
            'namespaces = [ ]\nstdio_handler = "file"\n'
            f'migration_address = "{self.address}"\nmigration_host = "{self.address}"\n')
        key = self.root / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (self.root / "authorized_keys").write_text(client_public_key)
        (self.root / "sshd_config").write_text(
            f"Port {SSH_PORT}\nListenAddress {self.address}\nHostKey {key}\n"
            f"PidFile /run/sshd.pid\nAuthorizedKeysFile {self.root / 'authorized_keys'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nPermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n")

    def host_key_line(self) -> str:
        """This host's line for a known_hosts file."""
        public = (self.root / "ssh_host_ed25519_key.pub").read_text().split()
        return f"[{self.address}]:{SSH_PORT} {public[0]} {public[1]}\n"

    def start(self) -> None:
        """Create the namespaces, then start libvirtd and sshd inside them; wait until both answer."""
        binds = "".join(f"mount --bind {self.dir(k)} {target}; " for k, target in MOUNTS.items())
        holder = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c",
             f"set -e; {binds}hostname {self.name}; echo ready; exec sleep infinity"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if holder.stdout is None or holder.stdout.readline().strip() != "ready":
            holder.kill()
            error = holder.stderr.read() if holder.stderr else ""
            raise RuntimeError(f"{self.name}: namespace setup failed: {error}")
        self.holder = holder.pid
        self._started.append(holder)
        self._inside(["libvirtd", "--listen", "--pid-file", "/run/libvirtd.pid"], LIBVIRT_PORT)
        self._inside(["/usr/sbin/sshd", "-D", "-e", "-f", str(self.root / "sshd_config")], SSH_PORT)

    def _inside(self, command: list[str], port: int) -> None:
        """Start a daemon in the host's namespaces and wait until it listens on `port`."""
        with (self.root / "daemons.log").open("a") as log:
            self._started.append(subprocess.Popen(
                ["nsenter", "-t", str(self.holder), "-m", "-u", "--", *command],
                stdout=log, stderr=log, text=True, start_new_session=True))
        wait_for_port(self.address, port, what=f"{self.name} port {port}", log=self.root / "daemons.log")

    def restart_libvirtd(self) -> None:
        """Stop libvirtd alone (its guests keep running, as on a package upgrade) and start it again."""
        pid = self.libvirtd_pid()
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._inside(["libvirtd", "--listen", "--pid-file", "/run/libvirtd.pid"], LIBVIRT_PORT)
        self.wait_until_answering()

    def wait_until_answering(self, seconds: float = 30.0) -> None:
        """Wait until libvirtd answers calls, not just connections (it first reattaches to its guests)."""
        subprocess.run(["virsh", "-c", self.tcp_uri, "list", "--all"], capture_output=True, check=True,
                       timeout=seconds)

    def pids(self) -> list[int]:
        """Every process in this host's mount namespace except the holder (libvirtd, sshd, QEMU)."""
        if not self.holder:
            return []
        try:
            namespace = os.readlink(f"/proc/{self.holder}/ns/mnt")
        except OSError:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != self.holder:
                try:
                    if os.readlink(f"/proc/{entry}/ns/mnt") == namespace:
                        found.append(int(entry))
                except OSError:
                    continue
        return found

    def libvirtd_pid(self) -> int:
        """The PID of this host's libvirtd (from its own pid file)."""
        return int((self.dir("run") / "libvirtd.pid").read_text())

    def guest_pids(self) -> dict[str, int]:
        """Each running guest's QEMU PID, from the pid files libvirt writes under /run/libvirt/qemu.

        This host's /run is a folder of ours bind-mounted inside its namespace, so they are readable here.
        """
        folder = self.dir("run") / "libvirt" / "qemu"
        return {path.stem: int(path.read_text()) for path in folder.glob("*.pid")
                if path.stem != "driver" and path.read_text().strip()}

    def crash(self) -> list[int]:
        """Kill the host as a power cut would: libvirtd, then every guest's QEMU, by PID with SIGKILL.

        Returns the QEMU PIDs killed. The host's other processes (sshd, the namespace holder) are
        left to `stop`, which the `hosts` fixture calls through `reboot` before the next test.
        """
        guests = list(self.guest_pids().values())
        for pid in (self.libvirtd_pid(), *guests):
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in (self.libvirtd_pid(), *guests)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return guests

    def stop(self) -> None:
        """Stop every process of the host, as a power cut would: TERM, then KILL, by PID."""
        pids = self.pids()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                _signal(pid, sig)
            deadline = time.monotonic() + 3.0
            while pids and time.monotonic() < deadline:
                pids = [p for p in pids if alive(p)]
                time.sleep(0.05)
        if self.holder:
            _signal(self.holder, signal.SIGKILL)
        for proc in self._started:  # our own children: reap them and close their pipes
            proc.wait(timeout=5)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        if self.holder and not self._started:
            _reap(self.holder)
        self._started.clear()
        self.holder = 0
        for stale in self.dir("run").glob("**/*"):  # /run is a tmpfs on a real host: a boot empties it
            if stale.is_file() or stale.is_socket():
                stale.unlink()

    def reboot(self) -> None:
        """Stop everything and start the daemons again with an empty /run, like a host reboot."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """Whether the host's libvirtd answers on its address."""
        return bool(self.holder) and port_open(self.address, LIBVIRT_PORT)


def listen(port: int = 0, address: str = "127.0.0.1") -> socket.socket:
    """A TCP listener at address:port (0: any free port; reused at once after a close)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(8)
    return listener


def port_open(address: str, port: int) -> bool:
    """Whether something accepts TCP connections at address:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


def wait_for_port(address: str, port: int, *, what: str, log: Path, seconds: float = 30.0) -> None:
    """Wait until a daemon listens, or fail with the end of its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(address, port):
            return
        time.sleep(0.05)
    tail = log.read_text()[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start listening within {seconds:.0f} s:\n{tail}")


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


