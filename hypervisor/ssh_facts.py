"""Host facts over SSH (paramiko): one connection per host, reused, with host keys checked.

libvirt's host-interface API is deprecated, so bonds, VLANs, bridges, storage
space and the hypervisor's own view are read from the host's OS. Host keys
must already be in the known_hosts file (`RejectPolicy`: nothing is added
silently); a changed key is an error naming the host.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import paramiko

from hypervisor.errors import HostKeyMismatch, HostUnreachable, OperationFailed
from hypervisor.facts_script import FACTS_SCRIPT, parse_facts
from hypervisor.host_model import HostFacts


def split_target(target: str) -> tuple[str, str, int]:
    """`user@address:port` (user and port optional) as (user, address, port)."""
    user, _, rest = target.rpartition("@")
    address, _, port = rest.partition(":")
    return user or "root", address, int(port) if port else 22


def _read_all(receive: Callable[[int], bytes]) -> bytes:
    """Everything a channel stream gives until its end (each call waits at most the channel's timeout)."""
    chunks: list[bytes] = []
    while chunk := receive(65536):
        chunks.append(chunk)
    return b"".join(chunks)


class SSHFacts:
    """The facts source of one host reached over SSH (see FactsSource)."""

    def __init__(self, host: str, target: str, *, key_file: str = "", known_hosts: str = "",
                 timeout: float = 10.0) -> None:
        self.host = host
        self.user, self.address, self.port = split_target(target)
        self.key_file = key_file or os.path.expanduser("~/.ssh/id_ed25519")
        self.known_hosts = known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def facts(self) -> HostFacts:
        """Bonds, VLANs, bridges, storage space and the hypervisor's view, in one round trip.

        A section the host cannot give is listed in the facts as unknown, with the reason; the
        others are kept.
        """
        return parse_facts(self.run(FACTS_SCRIPT))

    def run(self, command: str) -> str:
        """Run a command on the host and return its standard output; a non-zero exit is an error."""
        with self._lock:
            client = self._connected()
            try:
                output, errors, status = self._exec(client.get_transport(), command)
            except (paramiko.SSHException, OSError) as exc:
                self._drop()
                raise HostUnreachable(self.host, f"SSH to {self.address} failed: {exc}") from exc
        if status != 0:
            raise OperationFailed(self.host, f"run '{command[:40]}'", errors or f"exit status {status}")
        return output

    def _exec(self, transport: Any, command: str) -> tuple[str, str, int]:
        """Standard output, standard error and exit status of one command, on a channel of its own.

        The channel is used directly, not through `SSHClient.exec_command`'s file objects: the
        stdin file's finalizer takes the channel's lock, and when an exception cycle kept it alive
        the cyclic collector ran that finalizer inside paramiko's transport thread while it held
        the same lock (CI hung on it). A channel has no such finalizer hazard, and is closed here.
        """
        channel = transport.open_session(timeout=self.timeout)
        try:
            channel.settimeout(self.timeout)
            channel.exec_command(command)
            channel.shutdown_write()
            output = _read_all(channel.recv).decode("utf-8", "replace")
            errors = _read_all(channel.recv_stderr).decode("utf-8", "replace").strip()
            return output, errors, channel.recv_exit_status()
        finally:
            channel.close()

    def close(self) -> None:
        """Close the SSH connection; the next call opens a new one."""
        with self._lock:
            self._drop()

    def _connected(self) -> Any:
        transport = self._client.get_transport() if self._client is not None else None
        if transport is not None and transport.is_active():
            return self._client
        self._drop()
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(self.known_hosts)
        except OSError as exc:
            raise HostKeyMismatch(self.host, f"cannot read known_hosts {self.known_hosts}: {exc}") from exc
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(self.address, port=self.port, username=self.user, key_filename=self.key_file,
                           timeout=self.timeout, banner_timeout=self.timeout, auth_timeout=self.timeout,
                           allow_agent=False, look_for_keys=False)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyMismatch(self.host, (
                f"its SSH host key has CHANGED ({exc.key.get_name()} {exc.key.get_fingerprint().hex()} "
                f"is not the key known_hosts lists for {self.address}): if {self.host} was reinstalled, "
                f"update {self.known_hosts}; otherwise suspect an impostor")) from exc
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise HostKeyMismatch(self.host, (
                    f"its SSH host key is not in {self.known_hosts}; add it after checking it "
                    f"(ssh-keyscan -p {self.port} {self.address})")) from exc
            raise HostUnreachable(self.host, f"SSH to {self.address}:{self.port} failed: {exc}") from exc
        except OSError as exc:
            client.close()
            raise HostUnreachable(self.host, f"SSH to {self.address}:{self.port} failed: {exc}") from exc
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
