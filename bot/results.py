"""What commands answer, as data: each front end renders these its own way (text, Block Kit).

The Reply itself, its Outcome and the plainest bodies are in bot/reply.py (re-exported here), so
that a quick question does not create the classes of every card and table below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.reply import FindingList, Located, Outcome, Reply, Text, failed, interrupted, ok, refused
from hypervisor.host_model import Host
from hypervisor.model import VM
from hypervisor.template import Template
from hypervisor.uptime import Uptime
from inventory import Change, FieldDiff

__all__ = ["AuditRow", "AuditTable", "Body", "DiffView", "Done", "FindingList", "HelpTable", "HistoryView",
           "HostCard", "HostEmptied", "HostLoad", "HostTable", "Located", "LostHosts", "NicView", "Outcome",
           "PairsTried", "Reply", "ResilienceFigure", "RestartPlan", "RollingRun", "TemplateList", "Text",
           "VMCard", "VMRestart", "VMTable", "failed", "interrupted", "ok", "refused"]


@dataclass(frozen=True)
class NicView:
    """A NIC with the network the fleet config says its bridge belongs to."""

    mac: str
    bridge: str  # what it plugs into: the bridge, or for other types `network default`, `direct eth0`…
    vlan: int | None
    network: str
    bond: str
    trunk: str = ""  # `trunk 42,43` for a NIC tagged with several VLANs in the domain XML itself


@dataclass(frozen=True)
class VMCard:
    """A VM's whole configuration."""

    vm: VM
    nics: tuple[NicView, ...]
    last_seen: datetime | None
    stale_since: datetime | None = None
    uptime: Uptime | None = None  # None: not running


@dataclass(frozen=True)
class VMTable:
    """VMs in rows: name, host, state, cluster, size."""

    title: str
    vms: tuple[VM, ...]
    stale_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HostLoad:
    """A host with what is allocated on it."""

    host: Host
    vms: int
    running: int
    vcpus_used: int
    memory_used_mib: int
    unreachable: str = ""
    maintenance: bool = False  # kept out of new placements
    running_twice: dict[str, tuple[str, ...]] = field(default_factory=dict)  # VM running here and elsewhere
    # too -> every host running it (split brain)


@dataclass(frozen=True)
class HostTable:
    """Hosts in rows with their load."""

    rows: tuple[HostLoad, ...]


@dataclass(frozen=True)
class HostCard:
    """One host in full: load, storage, network and VMs."""

    load: HostLoad
    vms: tuple[VM, ...]
    networks: dict[str, str] = field(default_factory=dict)  # VLAN id (text: JSON keys) -> network name
    shared_pools: tuple[str, ...] = ()  # its pools other hosts reach too (by type or named in the config)
    uptime: Uptime | None = None


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as shown in chat."""

    at: datetime
    user: str
    text: str
    outcome: str
    detail: str
    duration_ms: float


@dataclass(frozen=True)
class AuditTable:
    """Recent audit entries, newest first."""

    title: str
    rows: tuple[AuditRow, ...]
    skipped: tuple[str, ...] = ()  # audit lines or files that could not be read, one sentence each


@dataclass(frozen=True)
class HelpTable:
    """Commands a user may run: usage and what each does."""

    commands: tuple[tuple[str, str, str], ...]  # (usage, help, example)
    detail: bool = False
    groups: tuple[str, ...] = ()  # each command's group ("ask", "change", "admin"), in the same order


@dataclass(frozen=True)
class Done:
    """A change that was carried out."""

    vm: VM
    action: str
    summary: str
    seconds: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostEmptied:
    """What an evacuation or a recovery did: VMs moved, the one that failed, those not tried or staying."""

    host: str
    title: str
    verb: str  # what happened to each VM that left: "moved", "started"
    moved: tuple[tuple[str, str, str], ...]  # (VM, new host, method)
    failed: tuple[str, str] | None = None  # (VM, what went wrong and where it is now)
    not_tried: tuple[str, ...] = ()
    stays: tuple[tuple[str, str], ...] = ()  # (VM, why)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RollingRun:
    """What a rolling run over a cluster did: each member's turn, the one that failed, the rest."""

    cluster: str
    title: str
    done: tuple[tuple[str, str], ...]  # (member, what happened)
    failed: tuple[str, str] | None = None  # (member, what went wrong and where it is now)
    not_tried: tuple[str, ...] = ()
    left: tuple[tuple[str, str], ...] = ()  # (member, its state): not running, so not touched


@dataclass(frozen=True)
class VMRestart:
    """A running VM of a lost host: the host it would restart on, or why it cannot restart anywhere."""

    vm: str
    cluster: str = ""
    to: str = ""  # "" when it cannot restart
    reason: str = ""  # why it cannot ("" when it restarts)


@dataclass(frozen=True)
class LostHosts:
    """One host's loss, or a pair's: the members of clusters it would leave with nowhere to go."""

    hosts: tuple[str, ...]
    stranded: tuple[VMRestart, ...]


@dataclass(frozen=True)
class PairsTried:
    """The pairs of hosts tried for the k = 2 figure: all of them, or the sample the time allowed."""

    total: int
    tried: int
    failing: int  # pairs whose loss would strand members
    worst: LostHosts | None = None  # the pair stranding the most members


@dataclass(frozen=True)
class ResilienceFigure:
    """`resilience`: how many host failures at once the farm survives (0, 1 or 2), and what it rests on."""

    tolerated: int
    failing_hosts: tuple[LostHosts, ...]  # hosts whose loss alone strands members
    pairs: PairsTried | None  # None when a single loss already strands members


@dataclass(frozen=True)
class RestartPlan:
    """`resilience HOST`: what the host's failure would do now, VM by VM (restarts first, in order)."""

    host: str
    vms: tuple[VMRestart, ...]


@dataclass(frozen=True)
class TemplateList:
    """The fleet's templates, with the clusters using each and the VLAN of each network."""

    templates: tuple[Template, ...]
    clusters: dict[str, tuple[str, ...]]  # template -> clusters naming it
    vlans: dict[str, int]  # network -> VLAN id


@dataclass(frozen=True)
class DiffView:
    """A VM's configuration against its baseline, field by field."""

    vm: str
    baseline_at: datetime
    baseline_by: str
    diffs: tuple[FieldDiff, ...]
    live: bool = True  # False: the host did not answer; the inventory's last record was compared


@dataclass(frozen=True)
class HistoryView:
    """A VM's logged changes, newest first."""

    vm: str
    changes: tuple[Change, ...]


Body = (Text | Located | VMCard | VMTable | HostTable | HostCard | AuditTable | HelpTable | Done
        | HostEmptied | RollingRun | FindingList | TemplateList | DiffView | HistoryView | ResilienceFigure
        | RestartPlan)
