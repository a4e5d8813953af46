"""How long a host or a running VM has been up, from its host's facts (/proc/uptime, Xen's `xl uptime`).

The facts keep when each started, by the host's clock, so an uptime stays right between
refreshes; libvirt's drivers here report no uptime, so a VM's is known only on a Xen host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hypervisor.host_model import Host, HostFacts
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
