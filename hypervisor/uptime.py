"""How long a host or a running VM has been up, from its host's facts (/proc/uptime, Xen's `xl uptime`).

The facts keep when each started, by the host's clock, so an uptime stays right between
refreshes; libvirt's drivers here report no uptime, so a VM's is known only on a Xen host.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hypervisor.host_model import DomainStart, Host, HostFacts
from hypervisor.model import VM, uptime_text


@dataclass(frozen=True)
class Uptime:
    """Since when a host or VM runs and for how long at the time asked, or why that is not known."""

    since: datetime | None = None
    seconds: int | None = None
    unknown: str = ""  # why it is not known ("" when it is)

    @property
    def words(self) -> str:
        """"up 12 days 3 h", or "unknown: REASON"."""
        return f"up {uptime_text(self.seconds)}" if self.seconds is not None else f"unknown: {self.unknown}"

    @property
    def text(self) -> str:
        """"up 12 days 3 h", or "uptime unknown: REASON"."""
        return self.words if self.seconds is not None else f"uptime {self.words}"


# Seconds two readings of one start time may differ by: the uptime and the host's clock are read
# apart and in whole seconds, so each refresh computes a start 1 s either side of the last.
CLOCK_JITTER = 3


def steady_starts(facts: HostFacts, before: HostFacts | None) -> HostFacts:
    """The facts with the earlier reading of each start time kept when the new one is within CLOCK_JITTER.

    So a host's record (and its pages) change only when something restarted, not at every refresh.
    A domain is matched by name and domain ID: a restarted VM has a new ID, so its new start shows.
    """
    if before is None:
        return facts
    booted = facts.booted_at
    if booted is not None and before.booted_at is not None and abs(booted - before.booted_at) <= CLOCK_JITTER:
        booted = before.booted_at
    earlier = {(d.name, d.domain_id): d.started_at for d in before.domains}

    def kept(domain: DomainStart) -> DomainStart:
        then = earlier.get((domain.name, domain.domain_id))
        near = then is not None and abs(domain.started_at - then) <= CLOCK_JITTER
        return replace(domain, started_at=then) if near and then is not None else domain

    return replace(facts, booted_at=booted, domains=tuple(kept(d) for d in facts.domains))


def host_uptime(host: Host, now: datetime) -> Uptime:
    """The host's uptime at `now`, or why it is not known."""
    facts = host.facts
    if facts is None:
        return Uptime(unknown=f"no facts were read from {host.name} over SSH at the last refresh")
    if facts.booted_at is None:
        return Uptime(unknown=_note(facts, "uptime") or "the facts read from it did not include /proc/uptime")
    return _since(facts.booted_at, now)


def vm_uptime(vm: VM, host: Host | None, now: datetime) -> Uptime | None:
    """A running VM's uptime at `now` (its host's `xl uptime`), or why not known; None if not running."""
    if not vm.state.active:
        return None
    facts = host.facts if host is not None else None
    if host is None or facts is None:
        return Uptime(unknown=f"no facts were read from {vm.host} over SSH at the last refresh")
    started = next((domain.started_at for domain in facts.domains if domain.name == vm.name), None)
    if started is not None:
        return _since(started, now)
    if note := _note(facts, "domain uptimes"):
        return Uptime(unknown=note)
    if not facts.domains:  # Domain-0 is always listed where `xl uptime` answered
        return Uptime(unknown=f"{vm.host} runs {host.driver or 'a hypervisor'}, not Xen: libvirt does not "
                              "report a guest's uptime")
    return Uptime(unknown=f"not listed by `xl uptime` on {vm.host} at the last refresh")


def _note(facts: HostFacts, section: str) -> str:
    return next((note.text for note in facts.unknown if note.section == section), "")


def _since(started_at: int, now: datetime) -> Uptime:
    return Uptime(since=datetime.fromtimestamp(started_at, UTC),
                  seconds=max(0, int(now.timestamp()) - started_at))
