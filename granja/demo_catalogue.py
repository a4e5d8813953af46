"""What the demo farm runs: its VLANs, server templates, clusters and standalone servers.

Modelled on a university's Xen farm: replicated services (directory, mail,
web, databases, file shares) as clusters whose members share a template, and
a tail of single infrastructure servers.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypervisor.model import VMState

PV_KERNEL = "/var/lib/xen/kernels/vmlinuz-6.1-xenpv"
# The OS image every host's pool holds; templates clone it for a new VM's system disk.
OS_IMAGE = "debian-12-xen.img"
OS_IMAGE_GIB = 4


@dataclass(frozen=True)
class NetSpec:
    """A guest VLAN, the host bond it is trunked on and its bridge."""

    name: str
    vlan: int
    bond: str
    description: str

    @property
    def bridge(self) -> str:
        """The host bridge guests of this VLAN plug into."""
        return f"br{self.vlan}"


@dataclass(frozen=True)
class Shape:
    """A VM shape: size, networks (service VLAN first), boot and lifecycle policy."""

    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    networks: tuple[str, ...]
    kernel: str = ""
    autostart: bool = True
    on_crash: str = "restart"
    data_disk_gib: int = 0


@dataclass(frozen=True)
class ClusterSpec:
    """A replicated service: `size` members named <name>1..<name>N of one template."""

    name: str
    size: int
    template: str
    description: str


@dataclass(frozen=True)
class ServerSpec:
    """One VM of the catalogue: its name, shape, cluster (or "") and initial state."""

    name: str
    shape: Shape
    cluster: str = ""
    state: VMState = VMState.RUNNING


NETWORKS = (
    NetSpec("mgmt", 10, "bond1", "Management: SSH, monitoring, configuration management"),
    NetSpec("core", 100, "bond0", "Core services: directory, DNS, file shares"),
    NetSpec("mail", 120, "bond0", "Mail services"),
    NetSpec("web", 130, "bond0", "Web services"),
    NetSpec("db", 140, "bond0", "Databases"),
    NetSpec("backup", 160, "bond0", "Backup traffic"),
    NetSpec("dmz", 200, "bond0", "DMZ: services reachable from the Internet"),
)
# Host-only VLAN for the hosts' own storage traffic: no bridge, no guests.
STORAGE_VLAN = 150

TEMPLATES = (
    Shape("ldap", 2, 2048, 10, ("core", "mgmt")),
    Shape("imap", 4, 8192, 20, ("mail", "mgmt", "backup"), data_disk_gib=200),
    Shape("smtp", 2, 4096, 10, ("dmz", "mail", "mgmt"), kernel=PV_KERNEL),
    Shape("lists", 2, 2048, 20, ("mail", "mgmt"), kernel=PV_KERNEL),
    Shape("web", 2, 4096, 20, ("web", "mgmt")),
    Shape("webmail", 2, 4096, 10, ("web", "mgmt")),
    Shape("db", 4, 16384, 20, ("db", "mgmt", "backup"), data_disk_gib=100),
    Shape("samba", 2, 4096, 20, ("core", "mgmt", "backup")),
    Shape("ftp", 1, 1024, 10, ("dmz", "mgmt"), kernel=PV_KERNEL, autostart=False),
)

CLUSTERS = (
    ClusterSpec("imap", 8, "imap", "Dovecot IMAP mailbox servers"),
    ClusterSpec("ldap", 5, "ldap", "OpenLDAP directory"),
    ClusterSpec("webmail", 5, "webmail", "Roundcube webmail"),
    ClusterSpec("smtp", 4, "smtp", "Postfix mail relays"),
    ClusterSpec("web", 4, "web", "Apache web servers"),
    ClusterSpec("db", 2, "db", "PostgreSQL primary and standby"),
    ClusterSpec("lists", 2, "lists", "Mailman mailing lists"),
    ClusterSpec("samba", 2, "samba", "Samba file servers"),
    ClusterSpec("ftp", 2, "ftp", "Public FTP mirror front-ends"),
)


def _single(
    name: str, vcpus: int, memory_mib: int, disk_gib: int, networks: str, *,
    kernel: str = "", autostart: bool = True, data_disk_gib: int = 0,
) -> Shape:
    """A standalone server's own shape: not a published template, and no restart on crash."""
    return Shape(name, vcpus, memory_mib, disk_gib, tuple(networks.split()), kernel=kernel,
                 autostart=autostart, on_crash="destroy", data_disk_gib=data_disk_gib)


_DNS = _single("dns", 1, 1024, 10, "core mgmt", kernel=PV_KERNEL)
_PROXY = _single("proxy", 2, 2048, 10, "dmz web mgmt")
STANDALONES = (
    ServerSpec("dns1", _DNS),
    ServerSpec("dns2", _DNS),
    ServerSpec("ntp", _single("ntp", 1, 512, 10, "core mgmt", kernel=PV_KERNEL)),
    ServerSpec("monitoring", _single("monitoring", 2, 4096, 40, "mgmt core")),
    ServerSpec("backup", _single("backup", 2, 4096, 20, "backup mgmt", data_disk_gib=500)),
    ServerSpec("syslog", _single("syslog", 2, 2048, 20, "mgmt core", data_disk_gib=100)),
    ServerSpec("proxy1", _PROXY),
    ServerSpec("proxy2", _PROXY),
    ServerSpec("radius", _single("radius", 1, 1024, 10, "core mgmt")),
    ServerSpec("dhcp", _single("dhcp", 1, 1024, 10, "core mgmt")),
    ServerSpec("vpn", _single("vpn", 2, 2048, 10, "dmz core mgmt")),
    ServerSpec("wiki", _single("wiki", 2, 2048, 20, "web mgmt"), state=VMState.PAUSED),
    ServerSpec("git", _single("git", 2, 4096, 40, "web mgmt backup")),
    ServerSpec("ci", _single("ci", 4, 8192, 40, "core mgmt", autostart=False), state=VMState.SHUTOFF),
    ServerSpec("mailscan", _single("mailscan", 2, 4096, 10, "mail mgmt")),
    ServerSpec("print", _single("print", 1, 1024, 10, "core mgmt", autostart=False),
               state=VMState.SHUTOFF),
    ServerSpec("mirror", _single("mirror", 1, 2048, 20, "dmz mgmt", data_disk_gib=200),
               state=VMState.PAUSED),
    ServerSpec("license", _single("license", 1, 1024, 10, "core mgmt", autostart=False),
               state=VMState.SHUTOFF),
)
# VMs pinned to the host they start on: backup drives the tape library cabled to that host.
PINNED = frozenset({"backup"})
# Cluster members that do not run when the farm is first generated.
INITIAL_STATES = {"ftp2": VMState.SHUTOFF}


def catalogue() -> list[ServerSpec]:
    """Every VM of one copy of the demo farm: cluster members (largest clusters first), then the rest."""
    shapes = {shape.name: shape for shape in TEMPLATES}
    servers = [
        ServerSpec(name, shapes[spec.template], spec.name, INITIAL_STATES.get(name, VMState.RUNNING))
        for spec in CLUSTERS
        for name in (f"{spec.name}{i}" for i in range(1, spec.size + 1))
    ]
    return servers + list(STANDALONES)
