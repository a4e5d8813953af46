"""New VMs from templates: the VM a template describes, MACs unique in the farm, and creating it on a host.

Creating is a sequence (volumes, definition, autostart, start); if any step
fails, or the operator asks granja to stop before the new VM starts, what was
made is undone, so a failed or interrupted `create` leaves nothing behind, and
the error says so (or names what could not be undone).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from hypervisor.domain_build import DEFAULT_CMDLINE, PYGRUB, build_domain, device_xml
from hypervisor.errors import HypervisorError, Interrupted, OperationFailed
from hypervisor.interface import Applied, HostDriver
from hypervisor.migration import ShouldStop, never
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState
from hypervisor.template import Template

GIB = 1024**3
XEN_OUI = "00:16:3e"  # the MAC prefix reserved for Xen guests
@dataclass(frozen=True)
class VolumeSpec:
    """One disk volume a new VM needs: its name in the pool, size, what it is cloned from, guest device."""

    name: str
    size_bytes: int
    clone_of: str
    target: str


def new_mac(taken: Collection[str]) -> str:
    """A random MAC in Xen's prefix that is not in `taken` (MACs in lower case, as the inventory's)."""
    while True:
        mac = XEN_OUI + "".join(f":{byte:02x}" for byte in secrets.token_bytes(3))
        if mac not in taken:
            return mac


def next_target(taken: Collection[str], bus: str = "xen") -> str:
    """The first free guest disk name on a bus: xvda, xvdb… for Xen, vda… for virtio, sda… else."""
    prefix = {"xen": "xvd", "virtio": "vd"}.get(bus, "sd")
    for letter in "abcdefghijklmnopqrstuvwxyz":
        if prefix + letter not in taken:
            return prefix + letter
    raise OperationFailed("", "add a disk", f"all 26 {prefix}* device names are in use")


def volumes_for(name: str, template: Template) -> tuple[VolumeSpec, ...]:
    """The system disk (cloned from the template's image, if it has one) and the optional data disk."""
    system = VolumeSpec(f"{name}.img", template.disk_gib * GIB, template.image, "xvda")
    if not template.data_disk_gib:
        return (system,)
    return system, VolumeSpec(f"{name}-data.img", template.data_disk_gib * GIB, "", "xvdb")


def vm_from_template(
    name: str, template: Template, *, host: str, cluster: str, bridges: Sequence[str],
    macs: Sequence[str], disk_paths: Sequence[str],
) -> VM:
    """The VM a template describes, with the given volumes and MACs, shut off, ready to define."""
    specs = volumes_for(name, template)
    disks = tuple(Disk(target=spec.target, source=path, bus="xen", pool=template.pool,
                       size_bytes=spec.size_bytes, kind="file", driver="qemu", format="raw")
                  for spec, path in zip(specs, disk_paths, strict=True))
    nics = tuple(NIC(mac=mac, bridge=bridge) for mac, bridge in zip(macs, bridges, strict=True))
    return VM(
        name=name, uuid="", host=host, state=VMState.SHUTOFF, vcpus=template.vcpus,
        memory_mib=template.memory_mib, max_memory_mib=template.memory_limit_mib, virt=Virt.PV,
        os_type="xen", kernel=template.kernel, cmdline=DEFAULT_CMDLINE if template.kernel else "",
        bootloader="" if template.kernel else (template.bootloader or PYGRUB),
        disks=disks, nics=nics, autostart=template.autostart, on_crash=template.on_crash,
        meta=GranjaMeta(cluster=cluster, template=template.name),
    )


def create_vm(
    driver: HostDriver, name: str, template: Template, *, cluster: str, bridges: Sequence[str],
    macs: Sequence[str], kind: str, should_stop: ShouldStop = never,
) -> VM:
    """Make a template's volumes on the host, define the VM, set autostart and start it.

    On failure, or when `should_stop` says so before the start, what was made is undone (Interrupted
    is raised for a stop); once the VM is started, the creation is finished.
    """
    made: list[str] = []
    defined = False

    def stop_here() -> None:
        if should_stop():
            raise Interrupted(f"Creation of {name} interrupted before it started. "
                              + _undo(driver, name, made, defined))

    try:
        for spec in volumes_for(name, template):
            stop_here()
            made.append(driver.create_volume(template.pool, spec.name, spec.size_bytes,
                                             clone_of=spec.clone_of))
        vm = vm_from_template(name, template, host=driver.name, cluster=cluster, bridges=bridges,
                              macs=macs, disk_paths=made)
        stop_here()
        driver.define(build_domain(vm, domain_type=kind))
        defined = True
        driver.set_autostart(name, template.autostart)
        stop_here()
        return driver.lifecycle(name, "start")
    except Interrupted:
        raise
    except HypervisorError as exc:
        raise OperationFailed(driver.name, f"create {name}", f"{exc} {_undo(driver, name, made, defined)}")\
            from exc


def _undo(driver: HostDriver, name: str, volumes: list[str], defined: bool) -> str:
    """Remove what a failed create made; one sentence on what is left."""
    left: list[str] = []
    if defined:
        try:
            with contextlib.suppress(HypervisorError):
                driver.lifecycle(name, "destroy")
            driver.undefine(name)
        except HypervisorError:
            left.append(f"the definition of {name}")
    for path in volumes:
        try:
            driver.delete_volume(path)
        except HypervisorError:
            left.append(path)
    if left:
        return f"Could not remove {', '.join(left)} from {driver.name}: remove by hand."
    return f"Nothing of {name} is left on {driver.name}."


def add_disk(
    driver: HostDriver, name: str, *, pool: str, volume: str, size_bytes: int, target: str, bus: str
) -> Applied:
    """Create an empty volume and attach it to a VM; the volume is removed again if attaching fails."""
    path = driver.create_volume(pool, volume, size_bytes)
    disk = Disk(target=target, source=path, bus=bus, pool=pool, size_bytes=size_bytes,
                kind="file", driver="qemu", format="raw")  # create_volume makes raw files
    try:
        return driver.attach_device(name, device_xml(disk))
    except HypervisorError:
        with contextlib.suppress(HypervisorError):
            driver.delete_volume(path)
        raise
