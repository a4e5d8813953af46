"""The fleet configuration: hosts, networks, clusters, templates, users and chat channels, from one TOML file.

This file is the one place each of these facts lives. Errors name the file,
the key (and the line, for syntax errors) and what is wrong, so that a typo in
production config is a one-line fix rather than a stack trace.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.watch.model import KINDS
from granja.access import Access, read_access
from hypervisor.placement import Limits

ON_CRASH = ("destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart")
FACT_SOURCES = ("ssh", "node", "none")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
T = TypeVar("T")


class ConfigError(Exception):
    """The fleet configuration is missing, malformed or inconsistent."""

    def __init__(self, path: Path, where: str, problem: str) -> None:
        self.path = path
        self.where = where
        self.problem = problem
        super().__init__(f"{path}: {where}: {problem}")


@dataclass(frozen=True)
class HostConfig:
    """One hypervisor host: how to reach its libvirt and its OS."""

    name: str
    uri: str
    ssh: str = ""
    facts: str = "ssh"
    pinned: tuple[str, ...] = ()  # VMs that must stay on this host (local disk, licence dongle)


@dataclass(frozen=True)
class Network:
    """A VLAN with the host bridge its guests plug into and the bond it rides on."""

    name: str
    vlan: int
    bridge: str
    bond: str = ""
    description: str = ""


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


@dataclass(frozen=True)
class Cluster:
    """A server group: replicated VMs that provide one service."""

    name: str
    pattern: re.Pattern[str]
    template: str = ""
    description: str = ""
    min_running: int = 0  # the watcher's "cluster degraded" below this many running; 0 means all members


@dataclass(frozen=True)
class Placement:
    """How far hosts may be committed, and which storage pools every host reaches (shared)."""

    cpu_ratio: float = Limits.cpu_ratio  # vCPUs of active VMs per host core
    memory_ratio: float = Limits.memory_ratio  # Xen does not overcommit memory
    shared_pools: tuple[str, ...] = ()  # a pool of this name is the same storage on every host

    @property
    def limits(self) -> Limits:
        """The commitment limits placement works to."""
        return Limits(cpu_ratio=self.cpu_ratio, memory_ratio=self.memory_ratio)


@dataclass(frozen=True)
class SiteConfig:
    """The inventory site: where it is published and what must never appear in it."""

    title: str = ""  # "" means the farm's name
    out: str = ""  # the site folder; set, it also makes the bot republish after each change
    secrets: tuple[re.Pattern[str], ...] = ()  # text matching any of these is masked everywhere


@dataclass(frozen=True)
class FleetConfig:
    """The whole fleet configuration."""

    path: Path
    name: str
    host_timeout: float
    workers: int
    hosts: Mapping[str, HostConfig]
    networks: Mapping[str, Network]
    clusters: Mapping[str, Cluster]
    templates: Mapping[str, Template]
    access: Access  # roles of users and chat user groups, chat channels allowed
    placement: Placement = field(default_factory=Placement)
    site: SiteConfig = field(default_factory=SiteConfig)
    ssh_key: str = ""  # private key for host facts over SSH; "" means ~/.ssh/id_ed25519
    known_hosts: str = ""  # host keys are checked against this file; "" means ~/.ssh/known_hosts
    watch: WatchConfig = field(default_factory=lambda: WatchConfig())
    alerts: AlertsConfig = field(default_factory=lambda: AlertsConfig())
    _by_bridge: dict[str, Network] = field(default_factory=dict, repr=False, compare=False)

    def network_for_bridge(self, bridge: str) -> Network | None:
        """The network whose bridge is `bridge`, if the config declares one."""
        if not self._by_bridge:
            self._by_bridge.update({n.bridge: n for n in self.networks.values()})
        return self._by_bridge.get(bridge)

    def cluster_for_name(self, vm_name: str) -> Cluster | None:
        """The cluster whose member-name pattern matches `vm_name`, if any."""
        for cluster in self.clusters.values():
            if cluster.pattern.fullmatch(vm_name):
                return cluster
        return None

    def pinned_host(self, vm: str) -> str:
        """The host a VM is pinned to (`pinned` in its host's table), or ""."""
        return next((h.name for h in self.hosts.values() if vm in h.pinned), "")

    @property
    def users(self) -> Mapping[str, str]:
        """User name or chat user ID -> role (the [users] table)."""
        return self.access.users

    def role_of(self, user: str) -> str | None:
        """The role the config gives a user, or None: unknown users may do nothing."""
        return self.access.role_of(user)


def parse_size_mib(text: str) -> int:
    """Parse a size such as '4G', '512M' or '2GiB' into MiB."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not a size (try 512M, 4G or 2GiB)")
    number, unit = float(match.group(1)), (match.group(2) or "M")[0].upper()
    factor = {"B": 1 / 2**20, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[unit]
    return int(number * factor)


def load_config(path: Path) -> FleetConfig:
    """Read and check a fleet configuration file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "file", "not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "syntax", str(exc)) from None
    reader = _Reader(path)
    return reader.fleet(raw)


class _Reader:
    """Checks one parsed TOML document section by section, naming the key at fault."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(self.path, where, problem)

    def fleet(self, raw: dict[str, Any]) -> FleetConfig:
        known = {"farm", "hosts", "networks", "clusters", "templates", "users", "groups", "channels", "site",
                 "watch", "alerts"}
        for key in raw:
            if key not in known:
                raise self.fail(key, f"unknown section (expected one of {', '.join(sorted(known))})")
        farm = self.table(raw, "farm", required=False)
        hosts = self.section(raw, "hosts", self.host)
        if not hosts:
            raise self.fail("hosts", "no hosts defined (add a [hosts.NAME] table with a uri)")
        networks = self.section(raw, "networks", self.network)
        templates = self.section(raw, "templates", lambda n, t: self.template(n, t, networks))
        clusters = self.section(raw, "clusters", lambda n, t: self.cluster(n, t, templates))
        access = read_access(raw, fail=self.fail, section=self.section, value=self.value)
        return FleetConfig(
            path=self.path,
            name=self.value(farm, "farm.name", str, "granja farm"),
            host_timeout=float(self.value(farm, "farm.host_timeout", (int, float), 10.0)),
            workers=self.value(farm, "farm.workers", int, 32),
            hosts=hosts,
            networks=networks,
            clusters=clusters,
            templates=templates,
            access=access,
            placement=self.placement(farm),
            site=self.site(self.table(raw, "site", required=False)),
            ssh_key=self.value(farm, "farm.ssh_key", str, ""),
            known_hosts=self.value(farm, "farm.known_hosts", str, ""),
            watch=read_watch(self, self.table(raw, "watch", required=False)),
            alerts=read_alerts(self, self.table(raw, "alerts", required=False)),
        )

    def placement(self, farm: Mapping[str, Any]) -> Placement:
        ratios = {}
        for key in ("cpu_ratio", "memory_ratio"):
            ratio = float(self.value(farm, f"farm.{key}", (int, float), getattr(Placement, key)))
            if ratio <= 0:
                raise self.fail(f"farm.{key}", f"must be more than 0, not {ratio:g}")
            ratios[key] = ratio
        pools = self.value(farm, "farm.shared_pools", list, [])
        if not all(isinstance(pool, str) for pool in pools):
            raise self.fail("farm.shared_pools", "must be a list of pool names")
        return Placement(**ratios, shared_pools=tuple(pools))

    def table(self, raw: Mapping[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
        value = raw.get(key, None if required else {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table" + (" and is missing" if value is None else ""))
        return value

    def section(
        self, raw: Mapping[str, Any], key: str, build: Callable[[str, dict[str, Any]], T]
    ) -> dict[str, T]:
        result: dict[str, T] = {}
        for name, body in self.table(raw, key, required=False).items():
            where = f"{key}.{name}"
            if not _NAME.match(name):
                raise self.fail(where, "names may hold letters, digits, '.', '_' and '-'")
            if not isinstance(body, dict):
                raise self.fail(where, f"must be a table ([{where}])")
            result[name] = build(name, body)
        return result

    def value(self, table: Mapping[str, Any], where: str, kind: Any, default: Any = ...) -> Any:
        key = where.rsplit(".", 1)[-1]
        if key not in table:
            if default is ...:
                raise self.fail(where, "is required")
            return default
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "number"
            raise self.fail(where, f"must be a {names.replace('str', 'string')}, not {value!r}")
        return value

    def host(self, name: str, body: dict[str, Any]) -> HostConfig:
        where = f"hosts.{name}"
        uri = self.value(body, f"{where}.uri", str)
        if "://" not in uri and ":///" not in uri:
            raise self.fail(f"{where}.uri", f"'{uri}' is not a libvirt URI (e.g. xen+ssh://root@{name}/system)")
        ssh = self.value(body, f"{where}.ssh", str, "")
        facts = self.value(body, f"{where}.facts", str, "ssh" if ssh else "none")
        if facts not in FACT_SOURCES:
            raise self.fail(f"{where}.facts", f"must be one of {', '.join(FACT_SOURCES)}, not '{facts}'")
        pinned = self.value(body, f"{where}.pinned", list, [])
        if not all(isinstance(vm, str) for vm in pinned):
            raise self.fail(f"{where}.pinned", "must be a list of VM names")
        return HostConfig(name=name, uri=uri, ssh=ssh, facts=facts, pinned=tuple(pinned))

    def network(self, name: str, body: dict[str, Any]) -> Network:
        where = f"networks.{name}"
        vlan = self.value(body, f"{where}.vlan", int)
        if not 1 <= vlan <= 4094:
            raise self.fail(f"{where}.vlan", f"VLAN ids run from 1 to 4094, not {vlan}")
        return Network(
            name=name,
            vlan=vlan,
            bridge=self.value(body, f"{where}.bridge", str),
            bond=self.value(body, f"{where}.bond", str, ""),
            description=self.value(body, f"{where}.description", str, ""),
        )

    def template(self, name: str, body: dict[str, Any], networks: Mapping[str, Network]) -> Template:
        where = f"templates.{name}"
        nets = tuple(self.value(body, f"{where}.networks", list, []))
        for net in nets:
            if net not in networks:
                raise self.fail(f"{where}.networks", f"unknown network '{net}' (declare [networks.{net}])")
        memory = self.size(body, f"{where}.memory")
        vcpus = self.value(body, f"{where}.vcpus", int)
        template = Template(
            name=name, vcpus=vcpus, memory_mib=memory,
            disk_gib=self.size(body, f"{where}.disk", "10G") // 1024, networks=nets,
            pool=self.value(body, f"{where}.pool", str, "local"),
            image=self.value(body, f"{where}.image", str, ""),
            data_disk_gib=self.size(body, f"{where}.data_disk", "0G") // 1024,
            kernel=self.value(body, f"{where}.kernel", str, ""),
            bootloader=self.value(body, f"{where}.bootloader", str, ""),
            autostart=self.value(body, f"{where}.autostart", bool, True),
            on_crash=self.value(body, f"{where}.on_crash", str, "restart"),
            max_vcpus=self.value(body, f"{where}.max_vcpus", int, 0),
            max_memory_mib=self.size(body, f"{where}.max_memory", "0M"),
        )
        self.check_template(where, template)
        return template

    def size(self, table: Mapping[str, Any], where: str, default: str | None = None) -> int:
        """A size in MiB such as '4G'; the key is named in the error."""
        try:
            return parse_size_mib(self.value(table, where, str, ... if default is None else default))
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def check_template(self, where: str, template: Template) -> None:
        """Limits at least the template's own size, a known on_crash, one way to boot."""
        if template.on_crash not in ON_CRASH:
            raise self.fail(f"{where}.on_crash", f"must be one of {', '.join(ON_CRASH)}")
        if template.kernel and template.bootloader:
            raise self.fail(where, "give a kernel or a bootloader, not both")
        if template.vcpu_limit < template.vcpus:
            raise self.fail(f"{where}.max_vcpus", f"is below vcpus ({template.vcpus})")
        if template.memory_limit_mib < template.memory_mib:
            raise self.fail(f"{where}.max_memory", "is below memory")

    def cluster(self, name: str, body: dict[str, Any], templates: Mapping[str, Template]) -> Cluster:
        where = f"clusters.{name}"
        source = self.value(body, f"{where}.pattern", str, rf"{re.escape(name)}[0-9]+")
        try:
            pattern = re.compile(source)
        except re.error as exc:
            raise self.fail(f"{where}.pattern", f"bad regular expression: {exc}") from None
        template = self.value(body, f"{where}.template", str, "")
        if template and template not in templates:
            problem = f"unknown template '{template}' (declare [templates.{template}])"
            raise self.fail(f"{where}.template", problem)
        return Cluster(
            name=name,
            pattern=pattern,
            template=template,
            description=self.value(body, f"{where}.description", str, ""),
            min_running=read_min_running(self, body, where),
        )

    def site(self, body: dict[str, Any]) -> SiteConfig:
        for key in body:
            if key not in ("title", "out", "secrets"):
                raise self.fail(f"site.{key}", "unknown key (expected title, out or secrets)")
        patterns = []
        for number, source in enumerate(self.value(body, "site.secrets", list, [])):
            if not isinstance(source, str) or not source:
                raise self.fail(f"site.secrets[{number}]", "must be a non-empty regular expression string")
            try:
                patterns.append(re.compile(source))
            except re.error as exc:
                raise self.fail(f"site.secrets[{number}]", f"bad regular expression: {exc}") from None
        return SiteConfig(title=self.value(body, "site.title", str, ""),
                          out=self.value(body, "site.out", str, ""), secrets=tuple(patterns))


# -- the watcher's keys: [watch], [alerts] and clusters.X.min_running (issue 13) ---------------------
# Kept in one block so that they can move to the config schema as one piece.

SEVERITIES = ("info", "warning", "critical")
_WATCH_KEYS = ("facts_interval", "pool_full", "keepalive_interval", "keepalive_count", "reconnect_max",
               "notice_seconds", "flap_seconds", "for")


@dataclass(frozen=True)
class WatchConfig:
    """[watch]: how often host facts are read again, keepalive, when a condition fires, when it is full."""

    facts_interval: float = 60.0  # seconds between polls of every host's facts, pools and VMs
    pool_full: float = 90.0  # percent of a pool's capacity allocated before "pool nearly full"
    keepalive_interval: int = 5  # libvirt keepalive: a ping every N seconds ...
    keepalive_count: int = 3  # ... and the connection is dead after this many unanswered
    reconnect_max: float = 30.0  # longest wait between reconnection attempts (backoff from 1 s)
    notice_seconds: float = 600.0  # how long an info notice (started/moved outside granja) stays open
    flap_seconds: float = 600.0  # a condition back within this reopens its alert instead of a new one
    hold: Mapping[str, float] = field(default_factory=dict)  # [watch.for]: kind -> seconds


@dataclass(frozen=True)
class AlertsConfig:
    """[alerts]: the Slack channel alerts go to and the least severity posted there."""

    channel: str = ""  # "" means alerts are not posted to Slack
    min_severity: str = "warning"


def read_watch(reader: _Reader, body: dict[str, Any]) -> WatchConfig:
    """The [watch] table, every key checked."""
    number = (int, float)
    for key in body:
        if key not in _WATCH_KEYS:
            raise reader.fail(f"watch.{key}", "unknown key (see README, 'Watching the farm')")
    hold = reader.value(body, "watch.for", dict, {})
    for kind, seconds in hold.items():
        if kind not in KINDS:
            raise reader.fail(f"watch.for.{kind}", f"unknown condition kind (one of {', '.join(KINDS)})")
        if not isinstance(seconds, number) or isinstance(seconds, bool) or seconds < 0:
            raise reader.fail(f"watch.for.{kind}", f"must be a number of seconds, not {seconds!r}")
    watch = WatchConfig(
        facts_interval=float(reader.value(body, "watch.facts_interval", number, 60.0)),
        pool_full=float(reader.value(body, "watch.pool_full", number, 90.0)),
        keepalive_interval=reader.value(body, "watch.keepalive_interval", int, 5),
        keepalive_count=reader.value(body, "watch.keepalive_count", int, 3),
        reconnect_max=float(reader.value(body, "watch.reconnect_max", number, 30.0)),
        notice_seconds=float(reader.value(body, "watch.notice_seconds", number, 600.0)),
        flap_seconds=float(reader.value(body, "watch.flap_seconds", number, 600.0)),
        hold={kind: float(seconds) for kind, seconds in hold.items()},
    )
    if watch.facts_interval <= 0 or watch.keepalive_interval <= 0 or watch.keepalive_count <= 0:
        raise reader.fail("watch", "facts_interval, keepalive_interval and keepalive_count must be above 0")
    if not 0 < watch.pool_full <= 100:
        raise reader.fail("watch.pool_full", f"is a percentage, above 0 and at most 100, not "
                                             f"{watch.pool_full:g}")
    return watch


def read_alerts(reader: _Reader, body: dict[str, Any]) -> AlertsConfig:
    """The [alerts] table."""
    for key in body:
        if key not in ("channel", "min_severity"):
            raise reader.fail(f"alerts.{key}", "unknown key (expected channel or min_severity)")
    severity = reader.value(body, "alerts.min_severity", str, "warning")
    if severity not in SEVERITIES:
        raise reader.fail("alerts.min_severity", f"must be one of {', '.join(SEVERITIES)}, not '{severity}'")
    return AlertsConfig(channel=reader.value(body, "alerts.channel", str, ""), min_severity=severity)


def read_min_running(reader: _Reader, body: dict[str, Any], where: str) -> int:
    """clusters.X.min_running: at least 1 when given."""
    value: int = reader.value(body, f"{where}.min_running", int, 0)
    if "min_running" in body and value < 1:
        raise reader.fail(f"{where}.min_running", f"must be at least 1, not {value}")
    return value
