"""The narrow interface every host driver offers: our dataclasses in, our dataclasses out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hypervisor.model import VM

if TYPE_CHECKING:
    from hypervisor.host_model import Host, HostFacts

Progress = Callable[[str], None]


class Turn(str):
    """A progress line that starts work on some VMs of a longer operation (a rolling run's batch).

    Said as any progress line; the engine also records in the operation journal that these VMs
    are now in the operation's hands, so that members not reached yet are not taken for its own.
    """

    vms: tuple[str, ...]

    def __new__(cls, text: str, vms: tuple[str, ...]) -> Turn:
        """The line `text`, taking `vms` in hand."""
        line = super().__new__(cls, text)
        line.vms = vms
        return line
"""Receives one-line progress reports from long operations (migration)."""

LIFECYCLE_ACTIONS = ("start", "shutdown", "destroy", "reboot", "suspend", "resume", "save")


class HostDriver(Protocol):
    """One hypervisor host. Calls block; the Farm adds deadlines and concurrency."""

    name: str
    uri: str

    def describe(self, *, facts: bool = True) -> Host:
        """The host's hardware, pools, driver abilities and (unless `facts` is False) network facts."""
        ...

    def list_vms(self) -> list[VM]:
        """Every VM defined or running on the host."""
        ...

    def find_vm(self, name: str) -> VM | None:
        """One VM on this host, or None if the host does not have it."""
        ...

    def lifecycle(self, name: str, action: str) -> VM:
        """Ask the host to start, shutdown, destroy, reboot, suspend, resume or save a VM."""
        ...

    def set_autostart(self, name: str, on: bool) -> VM:
        """Make the host start the VM when the host boots, or not."""
        ...

    def addresses(self, name: str) -> list[str]:
        """The guest's IP addresses as the host knows them (DHCP lease, guest agent, ARP), or []."""
        ...

    def domain_xml(self, name: str) -> str:
        """The VM's persistent definition, secrets included, for moving it elsewhere."""
        ...

    def define(self, xml: str) -> VM:
        """Define (or redefine) a VM from its XML; does not start it."""
        ...

    def undefine(self, name: str) -> None:
        """Remove a shut-off VM's definition (its disks stay)."""
        ...

    def wait_for_off(self, name: str, seconds: float) -> VM:
        """Wait until the VM has stopped (at most `seconds`); the VM as it is then."""
        ...

    def reboot(self, name: str, seconds: float) -> VM:
        """Ask the VM to reboot and wait for evidence it did (at most `seconds`; NotRebooted if none)."""
        ...

    def migrate_live(self, name: str, target: HostDriver, progress: Progress) -> VM:
        """Move a running VM to `target` without stopping it; returns it as seen there."""
        ...

    # -- provisioning and resources: volumes, vCPUs, memory, devices ------------

    def create_volume(self, pool: str, name: str, size_bytes: int, *, clone_of: str = "") -> str:
        """Create a volume in `pool`, empty or cloned from the pool's volume `clone_of`; its path."""
        ...

    def delete_volume(self, path: str) -> None:
        """Delete the storage volume at `path`."""
        ...

    def set_vcpus(self, name: str, count: int) -> Applied:
        """Give a VM `count` vCPUs: live and in its definition where possible, else from next boot."""
        ...

    def set_memory(self, name: str, mib: int) -> Applied:
        """Give a VM `mib` MiB of memory: live where possible, else from next boot."""
        ...

    def attach_device(self, name: str, xml: str) -> Applied:
        """Add a device (disk or NIC XML) to a VM: hot-plugged where possible, else at next boot."""
        ...

    def detach_device(self, name: str, xml: str) -> Applied:
        """Remove a device (matched by MAC or target) from a VM: live where possible, else at next boot."""
        ...


class FactsSource(Protocol):
    """Where a host's OS-level network facts come from (SSH in production)."""

    def facts(self) -> HostFacts:
        """Read the host's bonds, VLAN sub-interfaces and bridges."""
        ...


@dataclass(frozen=True)
class Applied:
    """A configuration change as carried out: the VM's definition after it, and whether it is live now."""

    vm: VM
    live: bool
