"""The shape of a new VM of a server group: what provisioning builds and `set` limits (from the config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """The shape of a new VM of a server group."""

    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int = 10
    networks: tuple[str, ...] = ()
    pool: str = "local"
    image: str = ""  # volume in `pool` cloned for the system disk; "" creates an empty one
    data_disk_gib: int = 0  # a second, empty disk; 0 for none
    kernel: str = ""  # a PV kernel on the host; "" boots through `bootloader`
    bootloader: str = ""  # "" means pygrub for PV guests
    autostart: bool = True
    on_crash: str = "restart"
    max_vcpus: int = 0  # the most `set VM vcpus` may give a member; 0 means twice `vcpus`
    max_memory_mib: int = 0  # likewise for memory; also the guest's maximum (balloon) memory

    @property
    def vcpu_limit(self) -> int:
        """The most vCPUs a VM of this template may have."""
        return self.max_vcpus or 2 * self.vcpus

    @property
    def memory_limit_mib(self) -> int:
        """The most memory a VM of this template may have."""
        return self.max_memory_mib or 2 * self.memory_mib
