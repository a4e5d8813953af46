"""The watcher's vocabulary: severities, condition kinds, conditions and the rules that tune them."""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.fleet import Pattern, must_run
from bot.watch.picture import Change
from hypervisor.limits import Limits


class Severity(enum.IntEnum):
    """How urgent a condition is; Nagios' exit codes follow the same order (0 ok, 1 warning, 2 critical)."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def word(self) -> str:
        """The severity as messages write it."""
        return self.name.lower()

    @classmethod
    def named(cls, word: str) -> Severity:
        """A severity from its word (info, warning, critical); ValueError otherwise."""
        try:
            return cls[word.upper()]
        except KeyError:
            raise ValueError(f"'{word}' is not a severity (info, warning or critical)") from None


@dataclass(frozen=True)
class Kind:
    """One kind of condition: its severity and how long it must hold before it fires (seconds)."""

    name: str
    severity: Severity
    hold: float
    title: str


KINDS: Mapping[str, Kind] = {k.name: k for k in (
    Kind("crashed", Severity.CRITICAL, 0.0, "VM crashed"),
    Kind("stopped_outside", Severity.WARNING, 2.0, "VM stopped outside granja"),
    Kind("started_outside", Severity.INFO, 2.0, "VM started outside granja"),
    Kind("moved_outside", Severity.INFO, 2.0, "VM moved outside granja"),
    Kind("running_twice", Severity.CRITICAL, 5.0, "VM running on two hosts"),
    Kind("defined_twice", Severity.CRITICAL, 30.0, "VM defined on two hosts"),
    Kind("host_unreachable", Severity.CRITICAL, 5.0, "host unreachable"),
    Kind("cluster_degraded", Severity.CRITICAL, 30.0, "cluster degraded"),
    Kind("spread_broken", Severity.WARNING, 60.0, "cluster spread broken"),
    Kind("bond_degraded", Severity.WARNING, 30.0, "bond degraded"),
    Kind("pool_full", Severity.WARNING, 60.0, "pool nearly full"),
    # Held long enough for a migration or an evacuation to settle (a VM in flight is on neither host).
    Kind("resilience", Severity.WARNING, 120.0, "farm no longer survives a host failure"),
    Kind("drift", Severity.INFO, 0.0, "drift from baseline"),
)}


@dataclass(frozen=True)
class Condition:
    """Something wrong in the farm now: a stable key, its kind, what it is about, and what would fix it.

    `message` says what, where and what it affects; `cleared` is what its
    resolution will say ("host07 answers again"); `remedy` is the chat
    command that is the obvious fix ("" when there is none); `since` is
    when it began, as far as the watcher knows (seconds since the epoch);
    `change` is the VM's state change it was made of, if any (a restarted
    watcher needs it to tell whether the condition still holds); `unknown`
    says why it is not known whether it still holds (a host of its that is
    not answering: the alert is held, not resolved), "" while it is seen.
    """

    key: str
    kind: str
    subject: str
    message: str
    cleared: str
    since: float
    remedy: str = ""
    hosts: tuple[str, ...] = ()
    vms: tuple[str, ...] = ()
    change: Change | None = None
    unknown: str = ""

    @property
    def severity(self) -> Severity:
        """The kind's severity."""
        return KINDS[self.kind].severity


@dataclass(frozen=True)
class ClusterRule:
    """A cluster as the watcher needs it: which VM names are members, how many must run."""

    name: str
    pattern: Pattern  # the cluster's member names (RE2, from the fleet config)
    min_running: int | None = None  # None: every member must run; 0: none need to

    def wanted(self, members: int) -> int:
        """How many of its `members` must run (fleet.must_run)."""
        return must_run(self.min_running, members)


@dataclass(frozen=True)
class RestartRules:
    """What the host failure simulation reads besides the picture: placement rules and maintenance marks."""

    limits: Limits
    shared_pools: tuple[str, ...]
    pinned: Mapping[str, str]  # VM -> the host it is pinned to
    maintenance: Callable[[], Collection[str]]  # the hosts marked in maintenance now
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """What the last evaluation worked out (bot/watch/host_failures.py), for the next to reuse."""


@dataclass(frozen=True)
class Rules:
    """The watcher's tuning, from the fleet config's [watch] and clusters tables."""

    clusters: tuple[ClusterRule, ...] = ()
    pool_full: float = 90.0  # percent
    hold: Mapping[str, float] = field(default_factory=dict)  # kind -> `for` seconds, over KINDS' defaults
    notice_seconds: float = 600.0  # how long an info notice (started or moved outside granja) stays open
    flap_seconds: float = 600.0  # a condition back within this time reopens its alert, not a new one
    restart: RestartRules | None = None  # None: host failures are not simulated (no `resilience`)
    _members: dict[tuple[str, str], ClusterRule | None] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def hold_for(self, kind: str) -> float:
        """How long a condition of this kind must hold before it fires."""
        return self.hold.get(kind, KINDS[kind].hold)

    def cluster_of(self, vm: str, declared: str = "") -> ClusterRule | None:
        """The cluster a VM belongs to: the one its metadata names, else the one its name matches."""
        key = (vm, declared)
        if key not in self._members:  # remembered: every evaluation asks for every VM of the farm
            named = next((rule for rule in self.clusters if rule.name == declared), None)
            self._members[key] = named or next((r for r in self.clusters if r.pattern.fullmatch(vm)), None)
        return self._members[key]
