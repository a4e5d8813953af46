"""What the hosts say now, kept up to date by events (at once) and polls (every facts interval).

One `Picture` per watcher, guarded by one lock: the event thread writes a
domain's new state, the poller replaces a host's whole view, the watcher
reads a consistent copy. A state change is kept as a `Change` (from what,
to what, why, when), which is what "crashed" or "stopped outside granja"
conditions are made of.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from hypervisor.host_model import Host
from hypervisor.model import VM, Virt, VMState

MOVE_SECONDS = 120.0  # a VM gone from one host and new on another within this time moved


@dataclass(frozen=True)
class Change:
    """A VM's state changed: on which host, from and to what, libvirt's cause, and when (epoch seconds)."""

    vm: str
    host: str
    before: VMState | None  # None: the VM was not on this host before
    after: VMState | None  # None: the VM left this host
    cause: str  # libvirt's detail in words: crashed, destroyed, booted, migrated; "seen" for a poll
    at: float
    origin: str = ""  # the host a VM that arrived by migration came from, when known


@dataclass
class HostSeen:
    """One host: whether it answers, since when it does not, its description and its VMs.

    `heard` is False until the host is first read: its VMs are not known, not absent; `last_vms`
    are then the VMs it ran as a remembered alert listed them.
    """

    name: str
    up: bool = True
    reason: str = ""
    down_since: float | None = None
    host: Host | None = None
    vms: dict[str, VM] = field(default_factory=dict)
    heard: bool = True
    last_vms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the picture for one evaluation."""

    hosts: dict[str, HostSeen]
    changes: dict[tuple[str, str], Change]  # (VM, host) -> the VM's latest change on that host


class Picture:
    """The farm as the watcher sees it now; every method is safe from any thread."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self._hosts = {name: HostSeen(name, heard=False) for name in hosts}
        self._changes: dict[tuple[str, str], Change] = {}
        self._recalled: dict[str, list[Change]] = {}  # host not heard yet -> remembered changes on it
        self._lock = threading.Lock()
        self.version = 0  # bumped on every write: the watcher evaluates again when it moves

    def snapshot(self) -> Snapshot:
        """A copy to evaluate without holding the lock."""
        with self._lock:
            return Snapshot(hosts={n: replace(h, vms=dict(h.vms)) for n, h in self._hosts.items()},
                            changes=dict(self._changes))

    def host_down(self, host: str, reason: str, at: float) -> bool:
        """The host stopped answering; False if it was already known to be down."""
        with self._lock:
            seen = self._hosts[host]
            if not seen.up:
                return False
            seen.up, seen.reason, seen.down_since = False, reason, at
            self.version += 1
            return True

    def host_up(self, host: str) -> bool:
        """The host answers (again); False if it was already up."""
        with self._lock:
            seen = self._hosts[host]
            if seen.up:
                return False
            seen.up, seen.reason, seen.down_since = True, "", None
            self.version += 1
            return True

    def is_up(self, host: str) -> bool:
        """Whether the host answered last."""
        with self._lock:
            return self._hosts[host].up

    def domain_event(self, host: str, vm: str, state: VMState | None, cause: str, at: float) -> None:
        """A lifecycle event: the VM is now in `state` on `host` (None: it left or was undefined)."""
        with self._lock:
            seen = self._hosts[host]
            old = seen.vms.get(vm)
            before = old.state if old is not None else None
            if state is None:
                seen.vms.pop(vm, None)
            elif old is not None:
                seen.vms[vm] = old.with_state(state)
            else:
                seen.vms[vm] = self._known_elsewhere(vm, host, state)
            if before != state:
                origin = self._left_from(vm, host, at) if cause == "migrated" and state is not None else ""
                self._note(Change(vm, host, before, state, cause, at, origin))

    def host_polled(self, host: str, described: Host, vms: Iterable[VM], at: float) -> None:
        """A fresh read of the host: its description and every VM on it; differences become changes.

        The first read of a host not heard since the start is its first look (as `seed`), and what
        remembered alerts knew of it is recalled then.
        """
        with self._lock:
            seen = self._hosts[host]
            if not seen.heard:
                self._first_look(seen, described, vms)
                for change in self._recalled.pop(host, ()):
                    self._recall(change)
                return
            seen.host = described
            fresh = {vm.name: vm for vm in vms}
            for name, vm in fresh.items():
                old = seen.vms.get(name)
                if old is not None and old.state is VMState.CRASHED and vm.state is VMState.SHUTOFF:
                    fresh[name] = vm.with_state(VMState.CRASHED)  # libvirt's reason is only in the event
                elif old is None or old.state is not vm.state:
                    origin = self._left_from(name, host, at) if old is None else ""
                    self._note(Change(name, host, old.state if old else None, vm.state, "seen", at, origin))
            for name, old in seen.vms.items():
                if name not in fresh:
                    self._note(Change(name, host, old.state, None, "seen", at))
            seen.vms = fresh
            self.version += 1

    def seed(self, host: str, described: Host | None, vms: Iterable[VM]) -> None:
        """The first view of a host (from the inventory or a first poll): no changes are noted."""
        with self._lock:
            self._first_look(self._hosts[host], described, vms)

    def _first_look(self, seen: HostSeen, described: Host | None, vms: Iterable[VM]) -> None:
        seen.host, seen.heard, seen.last_vms = described, True, ()
        seen.vms = {vm.name: vm for vm in vms}
        self.version += 1

    def recall(self, changes: Iterable[Change], down: dict[str, float],
               ran: Mapping[str, Sequence[str]] | None = None) -> None:
        """What a first look cannot see, from alerts remembered across a restart.

        A state change is kept if its VM still stands as the change left it (a first look sees
        a stopped VM, not that it was stopped outside granja; a crashed one reads as shut off).
        A host still down keeps the time it stopped answering (`down`: host -> since) and, until
        it is heard, the VMs it ran (`ran`: host -> VM names). The changes of a host not heard
        yet are recalled at its first read.
        """
        with self._lock:
            for change in changes:
                seen = self._hosts.get(change.host)
                if seen is not None and not seen.heard:
                    self._recalled.setdefault(change.host, []).append(change)
                else:
                    self._recall(change)
            for host, since in down.items():
                seen = self._hosts.get(host)
                if seen is not None and not seen.up and since < (seen.down_since or since):
                    seen.down_since = since
                    self.version += 1
            for host, vms in (ran or {}).items():
                seen = self._hosts.get(host)
                if seen is not None and not seen.heard:
                    seen.last_vms = tuple(vms)
                    self.version += 1

    def _recall(self, change: Change) -> None:
        """Note a remembered change if its VM still stands as the change left it."""
        seen = self._hosts.get(change.host)
        vm = seen.vms.get(change.vm) if seen is not None else None
        known = (change.vm, change.host) in self._changes  # a newer change, seen since
        if seen is None or vm is None or change.after is None or known:
            return
        if vm.state is not change.after:
            if change.after is not VMState.CRASHED or vm.state is not VMState.SHUTOFF:
                return  # it changed again while nobody watched: the condition is over
            seen.vms[change.vm] = vm.with_state(VMState.CRASHED)
        self._note(change)

    def _note(self, change: Change) -> None:
        # Kept per host: a live migration's events interleave (the target starts, the source pauses,
        # then stops), and the arrival must not be hidden by the departure.
        self._changes[(change.vm, change.host)] = change
        self.version += 1

    def _known_elsewhere(self, vm: str, host: str, state: VMState) -> VM:
        for other in self._hosts.values():
            if vm in other.vms:
                return replace(other.vms[vm], host=host, state=state)
        return VM(name=vm, uuid="", host=host, state=state, vcpus=0, memory_mib=0, virt=Virt.HVM)

    def _left_from(self, vm: str, host: str, at: float) -> str:
        """The host a VM arriving on `host` came from: one it left lately, or one it is still active on."""
        for (name, other), change in self._changes.items():
            if name == vm and other != host and change.after is None and abs(at - change.at) < MOVE_SECONDS:
                return other
        return next((h.name for h in self._hosts.values()
                     if h.name != host and vm in h.vms and h.vms[vm].state.active), "")
