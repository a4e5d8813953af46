"""The fleet config's schema, declared once: every section, key, type, range and default, as msgspec Structs.

msgspec checks a parsed TOML document against these in C: unknown keys are
refused everywhere (`forbid_unknown_fields`), numbers must lie in their range
(a range also keeps out nan and infinity), choices are `Literal`s. It was chosen
over pydantic for start-up time, since every CLI call loads the config (see the
README). What a schema cannot say (a template naming an undeclared network, a
size such as "4G", a regex) is checked where the values are built, granja/config.py.

To add a section, declare its Struct here and a field for it in `Farm` or
`Document`; its checks and error messages come with it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

Name = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Role = Literal["viewer", "operator", "admin"]
Seconds = Annotated[float, Meta(gt=0, le=86_400)]
Ratio = Annotated[float, Meta(gt=0, le=1000)]
Text = Annotated[str, Meta(min_length=1)]  # a non-empty string (VM and pool names: libvirt's rules)
Size = Annotated[str, Meta(min_length=1)]  # "4G", "512M", "2GiB": read by parse_size_mib
OnCrash = Literal["destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"]


class Section(Struct, forbid_unknown_fields=True, kw_only=True):
    """A table of the config: any key not declared in its subclass is an error."""


class Farm(Section):
    """[farm]: the farm's name, host calls, confirmations, placement limits, SSH."""

    name: Annotated[str, Meta(min_length=1)] = "granja farm"
    host_timeout: Annotated[float, Meta(gt=0, le=3600)] = 10.0  # seconds a host may take to answer a call
    workers: Annotated[int, Meta(ge=1, le=4096)] = 32  # concurrent host calls
    confirm_timeout: Seconds = 300.0  # a preview expires after this
    cpu_ratio: Ratio = 4.0  # vCPUs of active VMs per host core
    memory_ratio: Ratio = 1.0  # Xen does not overcommit memory
    shared_pools: list[Text] = field(default_factory=list)
    ssh_key: str = ""
    known_hosts: str = ""


class Host(Section):
    """[hosts.NAME]: how to reach a hypervisor."""

    uri: Annotated[str, Meta(min_length=1)]
    ssh: str = ""
    facts: Literal["ssh", "node", "none", ""] = ""  # "" means ssh when `ssh` is set, else none
    pinned: list[Text] = field(default_factory=list)


class Network(Section):
    """[networks.NAME]: a VLAN and its bridge."""

    vlan: Annotated[int, Meta(ge=1, le=4094)]
    bridge: Annotated[str, Meta(min_length=1)]
    bond: str = ""
    description: str = ""


class Template(Section):
    """[templates.NAME]: the shape of a new VM."""

    vcpus: Annotated[int, Meta(ge=1, le=4096)]
    memory: Size
    disk: Size = "10G"
    networks: list[Name] = field(default_factory=list)
    pool: Text = "local"
    image: str = ""
    data_disk: Size = "0G"
    kernel: str = ""
    bootloader: str = ""
    autostart: bool = True
    on_crash: OnCrash = "restart"
    max_vcpus: Annotated[int, Meta(ge=0, le=4096)] = 0
    max_memory: Size = "0M"


class Cluster(Section):
    """[clusters.NAME]: a server group and the names of its members."""

    pattern: Annotated[str, Meta(min_length=1)] | None = None  # None: NAME followed by digits
    template: str = ""
    description: str = ""
    min_running: Annotated[int, Meta(ge=0, le=100_000)] | None = None  # None: all (bot.fleet.must_run)
    health: Annotated[str, Meta(min_length=1)] | None = None  # "tcp:PORT" or "tcp:ADDRESS:PORT"
    health_timeout: Seconds = 120.0  # how long a rolling run waits for a member's health port


class RoleEntry(Section):
    """[users.ID], [groups.ID], [channels.ID]: a role."""

    role: Role


class Site(Section):
    """[site]: where the site goes and what must never appear in it."""

    title: str = ""
    out: str = ""
    secrets: list[Annotated[str, Meta(min_length=1)]] = field(default_factory=list)


class Watch(Section):
    """[watch]: how often host facts are read again, keepalive, reconnection, when a condition fires."""

    facts_interval: Seconds = 60.0  # seconds between polls of every host's facts, pools and VMs
    pool_full: Annotated[float, Meta(gt=0, le=100)] = 90.0  # percent allocated before "pool nearly full"
    keepalive_interval: Annotated[int, Meta(ge=1, le=3600)] = 5  # libvirt keepalive: a ping every N s ...
    keepalive_count: Annotated[int, Meta(ge=1, le=100)] = 3  # ... dead after this many unanswered
    reconnect_max: Seconds = 30.0  # longest wait between reconnection attempts (backoff from 1 s)
    notice_seconds: Seconds = 600.0  # how long an info notice (started/moved outside granja) stays open
    flap_seconds: Seconds = 600.0  # a condition back within this reopens its alert
    # [watch.for]: condition kind -> seconds it must hold before it fires (kinds, range: granja/config.py)
    hold: dict[str, float] = field(default_factory=dict, name="for")


class Alerts(Section):
    """[alerts]: the Slack channel the watcher's alerts go to, and the least severity posted there."""

    channel: str = ""  # "" means alerts are not posted to Slack
    min_severity: Literal["info", "warning", "critical"] = "warning"


class Document(Section):
    """The whole file: named tables are read entry by entry so errors can name the entry."""

    farm: Farm = field(default_factory=Farm)
    hosts: dict[str, Any] = field(default_factory=dict)
    networks: dict[str, Any] = field(default_factory=dict)
    templates: dict[str, Any] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    site: Site = field(default_factory=Site)
    watch: Watch = field(default_factory=Watch)
    alerts: Alerts = field(default_factory=Alerts)


ENTRIES: dict[str, type[Section]] = {"hosts": Host, "networks": Network, "templates": Template,
                                     "clusters": Cluster, "users": RoleEntry, "groups": RoleEntry,
                                     "channels": RoleEntry}


def keys_of(kind: type[Section]) -> tuple[str, ...]:
    """The keys a table of this kind may hold."""
    return tuple(f.encode_name for f in msgspec.structs.fields(kind))


def field_type(kind: type[Section], key: str) -> Any:
    """The declared type of one key, or None."""
    return next((f.type for f in msgspec.structs.fields(kind) if f.encode_name == key), None)
