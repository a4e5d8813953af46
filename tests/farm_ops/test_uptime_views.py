"""`host HOST` and `show VM` say how long a host and a Xen guest have been up, or why that is not known."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.results import Outcome
from hypervisor.facts_script import parse_facts
from tests.conftest import Chat

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CLOCK = int(NOW.timestamp()) - 600  # the host's clock when the facts were read, ten minutes ago
DAY = 86400


def xen_facts(*, xl_uptime: str, xl_status: int = 0, uptime: str = f"{12 * DAY + 3 * 3600 - 600}.25 7.0"):
    """What FACTS_SCRIPT reads on a Xen host: its uptime and `xl uptime` (the network sections left out)."""
    return parse_facts(f"@@uptime\n{uptime}\n{CLOCK}\n@@xl\nnr_cpus : 32\ntotal_memory : 98304\n"
                       f"free_memory : 4096\nxen_version : 4.17.3\n@@xluptime\n{CLOCK}\n{xl_uptime}\n"
                       f"@@exit xluptime {xl_status}\n")


def with_facts(engine, host: str, facts) -> Chat:
    """The inventory as after a refresh that read these facts from `host`; the chat's clock at NOW."""
    inventory = engine.inventory
    hosts = [replace(r.host, facts=facts) if r.name == host else r.host for r in inventory.hosts()]
    inventory.record_refresh(hosts=hosts, vms=[r.vm for r in inventory.vms()], unreachable={},
                             at=NOW, duration_s=0.1)
    engine.clock = lambda: NOW
    return Chat(engine)


def test_host_and_show_say_how_long_each_has_been_up(engine):
    host = engine.inventory.vm("ldap1").vm.host
    xl = ("Name                                ID Uptime\n"
          "Domain-0                             0 12 days,  2:50:00\n"
          "ldap1                               14 1 day,  2:59:30\n")
    chat = with_facts(engine, host, xen_facts(xl_uptime=xl))
    assert chat.send(f"host {host}").outcome is Outcome.OK
    assert "\n  up 12 days 3 h\n" in chat.transcript
    assert "uptime unknown" not in chat.transcript
    assert chat.send("show ldap1").outcome is Outcome.OK
    assert "\n  uptime     up 1 day 3 h\n" in chat.transcript  # 1 day 2:59:30 ten minutes ago


def test_a_guest_missing_from_xl_uptime_or_a_failed_xl_uptime_is_unknown_with_the_reason(engine):
    host = engine.inventory.vm("ldap1").vm.host
    chat = with_facts(engine, host, xen_facts(xl_uptime="Name  ID Uptime\nDomain-0  0  3:00:00\n"))
    chat.send("show ldap1")
    missing = f"\n  uptime     unknown: not listed by `xl uptime` on {host} at the last refresh\n"
    assert missing in chat.transcript
    failed = "xc: error: Could not obtain handle on privileged command interface: Permission denied"
    chat = with_facts(engine, host, xen_facts(xl_uptime=failed, xl_status=1, uptime="garbled"))
    chat.send("show ldap1")
    assert f"\n  uptime     unknown: `xl uptime` failed (exit 1): {failed[:80]}\n" in chat.transcript
    chat.send(f"host {host}")
    assert "\n  uptime unknown: /proc/uptime read 'garbled'\n" in chat.transcript
    assert chat.transcript.count("uptime unknown") == 1
    assert f"  domain uptimes unknown: `xl uptime` failed (exit 1): {failed[:80]}" in chat.transcript


def test_a_shut_off_vm_has_no_uptime_and_a_host_that_is_not_xen_says_so(chat):
    chat.send("show ci")
    assert "uptime" not in chat.transcript
    chat.send("show ldap1")
    host = chat.engine.inventory.vm("ldap1").vm.host
    assert (f"\n  uptime     unknown: {host} runs TEST, not Xen: libvirt does not report a guest's uptime\n"
            in chat.transcript)
