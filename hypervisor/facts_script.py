"""The one shell command that reads a host's facts, and its output read one section at a time.

Each section (bonds, links, bridges, storage, hypervisor, uptime, domain uptimes) is read on its
own: one that cannot be read is listed as unknown, with the reason, and the others are kept.
Where `ip -j` (iproute2 4.14+) or `bridge -j link` JSON (4.17+) is missing, as on Debian 9,
CentOS/RHEL 7 or Ubuntu 18.04 dom0s, VLANs come from /proc/net/vlan/config and bridges from
/sys/class/net/*/brif/, which every kernel of that age has; the facts then say which sections
were read that way. An output without the uptime sections (a script older than them) leaves the
uptimes unknown without a note.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from hypervisor.facts_parse import (
    Unreadable,
    parse_bonding,
    parse_bridge_ports,
    parse_df,
    parse_ip_links,
    parse_nodeinfo,
    parse_proc_uptime,
    parse_proc_vlans,
    parse_sysfs_bridges,
    parse_xl_info,
    parse_xl_uptime,
)
from hypervisor.host_model import Bond, Bridge, DomainStart, FactsNote, HostFacts, NodeView, VlanIf

STORAGE_PATHS = ("/var/lib/libvirt/images", "/var/lib/xen/images")
# One command, one round trip (each SSH exec costs 0.2-0.3 s): every fact under its own "@@" marker,
# each iproute2 command followed by its exit status, the sysfs/procfs stand-ins always listed (a
# line per interface: cheaper than a second round trip when the JSON turns out missing), and df's
# errors kept so that a df that cannot answer is told from image folders that do not exist.
FACTS_SCRIPT = (
    'for f in /proc/net/bonding/*; do [ -r "$f" ] && echo "@@bond ${f##*/}" && cat "$f"; done; '
    'echo @@ip; ip -j -d link 2>/dev/null; echo "@@exit ip $?"; '
    'echo @@bridge; bridge -j link 2>/dev/null; echo "@@exit bridge $?"; '
    'echo @@sysfs; for d in /sys/class/net/*; do [ -e "$d" ] || continue; '
    'if [ -d "$d/brif" ]; then echo "${d##*/} bridge" $(ls "$d/brif"); else echo "${d##*/}"; fi; done; '
    "echo @@vlan; cat /proc/net/vlan/config 2>/dev/null; "
    f"echo @@df; df -B1 --output=target,size,avail {' '.join(STORAGE_PATHS)} 2>&1; "
    "echo @@uptime; cat /proc/uptime 2>&1; date +%s; "
    # Xen only, where `xl info` answered: each domain's uptime, after the clock it is measured against.
    "echo @@xl; if xl info 2>/dev/null; then echo @@xluptime; date +%s; xl uptime 2>&1; "
    'echo "@@exit xluptime $?"; else echo @@nodeinfo; virsh nodeinfo 2>/dev/null; fi; true'
)
T = TypeVar("T")
# What an output without a section's marker (a script cut short, an older script) lacks.
_MISSING = {"ip": "no `ip -j -d link` output", "bridge": "no `bridge -j link` output",
            "sysfs": "not listed", "vlan": "not listed",
            "df": "no `df` output"}


def parse_facts(output: str) -> HostFacts:
    """All facts from the output of `FACTS_SCRIPT`; a section that cannot be read is reported, not fatal."""
    return _Reader(split_sections(output)).facts()


def split_sections(output: str) -> dict[str, str]:
    """The text after each "@@NAME" marker line, by NAME."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@@"):
            current = sections.setdefault(line[2:].strip(), [])
        elif current is not None:
            current.append(line)
    return {key: "\n".join(lines) for key, lines in sections.items()}


# Unreadable says why; the others are a parser meeting output of a shape it did not expect.
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, Unreadable) else f"unexpected output ({type(exc).__name__}: {exc})"


class _Reader:
    """Reads each section of one script output, noting what was unknown or read from a fallback."""

    def __init__(self, sections: dict[str, str]) -> None:
        self.sections = sections
        self.status = {parts[1]: int(parts[2]) for parts in (key.split() for key in sections)
                       if len(parts) == 3 and parts[0] == "exit" and parts[2].isdigit()}
        self.unknown: list[FactsNote] = []
        self.fallback: list[FactsNote] = []

    def facts(self) -> HostFacts:
        bonds = self._read("bonds", self._bonds)
        vlans = self._read("links", lambda: self._ip_links[0],
                           "/proc/net/vlan/config", lambda: parse_proc_vlans(self._listing("vlan")))
        bridges = self._read("bridges", self._bridges,
                             "/sys/class/net/*/brif", lambda: parse_sysfs_bridges(self._listing("sysfs")))
        storage = self._read("storage", lambda: parse_df(self._listing("df")))
        node = self._read("hypervisor", self._node)
        booted_at = self._read("uptime", self._booted) if "uptime" in self.sections else None
        domains = self._read("domain uptimes", self._domains)
        return HostFacts(bonds=bonds or (), vlans=vlans or (), bridges=bridges or (), storage=storage or (),
                         node=node, unknown=tuple(self.unknown), fallback=tuple(self.fallback),
                         booted_at=booted_at, domains=domains or ())

    def _read(self, section: str, primary: Callable[[], T], source: str = "",
              fallback: Callable[[], T] | None = None) -> T | None:
        try:
            return primary()
        except _PARSE_ERRORS as exc:
            reason = _why(exc)
        if fallback is not None:
            try:
                value = fallback()
            except _PARSE_ERRORS as exc:
                reason = f"{reason} ({source}: {_why(exc)})"
            else:
                self.fallback.append(FactsNote(section, f"read from {source}: {reason}"))
                return value
        self.unknown.append(FactsNote(section, reason))
        return None

    def _bonds(self) -> tuple[Bond, ...]:
        return tuple(parse_bonding(key.split(" ", 1)[1], text)
                     for key, text in self.sections.items() if key.startswith("bond "))

    @functools.cached_property
    def _ip_links(self) -> tuple[tuple[VlanIf, ...], tuple[str, ...]]:
        """VLANs and bridge names from `ip -j -d link` (parsed once: a dom0's list can be long)."""
        return parse_ip_links(self._iproute("ip", "ip -j -d link", "4.14", lists_lo=True))

    def _bridges(self) -> tuple[Bridge, ...]:
        return parse_bridge_ports(self._iproute("bridge", "bridge -j link", "4.17"), self._ip_links[1])

    def _node(self) -> NodeView:
        xl, nodeinfo = self.sections.get("xl", ""), self.sections.get("nodeinfo", "")
        if xl.strip():
            return parse_xl_info(xl)
        if nodeinfo.strip():
            return parse_nodeinfo(nodeinfo)
        raise Unreadable("neither `xl info` nor `virsh nodeinfo` answered")

    def _booted(self) -> int:
        """When the host booted, by its own clock."""
        uptime, clock = parse_proc_uptime(self._listing("uptime"))
        return clock - round(uptime)

    def _domains(self) -> tuple[DomainStart, ...]:
        """Each Xen domain's start; none where the host is not Xen (the script then asks nothing)."""
        if "xluptime" not in self.sections:
            return ()
        clock, _, table = self.sections["xluptime"].partition("\n")
        status = self.status.get("xluptime", 0)
        if status != 0:
            said = table.strip().splitlines()[-1][:80] if table.strip() else "nothing"
            raise Unreadable(f"`xl uptime` failed (exit {status}): {said}")
        if not clock.strip().isdigit():
            raise Unreadable(f"the host's clock (`date +%s`) read {clock.strip()[:40]!r}")
        return parse_xl_uptime(table, int(clock))

    def _iproute(self, key: str, command: str, since: str, *, lists_lo: bool = False) -> str:
        """An iproute2 command's output; one that printed nothing and failed says how.

        `lists_lo`: the command always lists the loopback, so printing nothing means it did not run.
        """
        text = self._listing(key)
        status = self.status.get(key, 0)
        if text.strip() or status == 0:
            if lists_lo and not text.strip():
                raise Unreadable(f"`{command}` printed nothing")
            return text
        if status == 127:
            raise Unreadable(f"`{key}` is not installed (exit 127)")
        raise Unreadable(f"`{command}` failed (exit {status}); iproute2 older than {since}?")

    def _listing(self, key: str) -> str:
        if key not in self.sections:
            raise Unreadable(_MISSING[key])
        return self.sections[key]

