"""The fleet as the bot sees it: hosts, networks, clusters, templates, access, placement and site settings.

These are values: granja/config.py reads the fleet config file, checks it and
builds them; the bot and the layers below never read the file themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.access import Access
from hypervisor.limits import Limits
from hypervisor.template import Template

if TYPE_CHECKING:  # the rolling module imports migration code a read-only question never needs
    from hypervisor.rolling import Health


class Pattern(Protocol):
    """A compiled regular expression (RE2's): what granja asks of one."""

    def fullmatch(self, text: str) -> object:
        """A match if the whole text matches, else None."""

    def search(self, text: str) -> object:
        """A match anywhere in the text, else None."""

    def sub(self, replacement: str, text: str) -> str:
        """The text with every match replaced."""


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
class Cluster:
    """A server group: replicated VMs that provide one service."""

    name: str
    pattern: Pattern
    template: str = ""
    description: str = ""
    min_running: int | None = None  # members that must run; None: all (see must_run, rolling_floor)
    health: Health | None = None  # a member is up when this TCP port accepts a connection


def must_run(min_running: int | None, members: int) -> int:
    """How many of a cluster's members must run (`clusters.X.min_running`; unset: all of them).

    The one reading of the setting: fewer running is "cluster degraded" for the watcher, `check`
    and the metrics, except members down for granja's own operation while it runs.
    """
    return members if min_running is None else min_running


def rolling_floor(min_running: int | None, members: int) -> int:
    """How many members a rolling run keeps running: `must_run`, but it may always take one down.

    A rolling run exists to take members down, one at a time at least; the watcher does not count
    a member down for it as missing. More at once (`max N down`) only as far as min_running allows.
    """
    return min(must_run(min_running, members), max(members - 1, 0))


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
    secrets: tuple[Pattern, ...] = ()  # text matching any of these is masked everywhere


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
    watch: WatchConfig = field(default_factory=WatchConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
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
    def pinned(self) -> dict[str, str]:
        """Every pinned VM, with the host it is pinned to."""
        return {vm: h.name for h in self.hosts.values() for vm in h.pinned}

    @property
    def users(self) -> Mapping[str, str]:
        """User name or chat user ID -> role (the [users] table)."""
        return self.access.users

    def role_of(self, user: str) -> str | None:
        """The role the config gives a user, or None: unknown users may do nothing."""
        return self.access.role_of(user)
