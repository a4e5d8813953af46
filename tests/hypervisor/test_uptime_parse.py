"""Uptimes from a host's facts: /proc/uptime against the host's clock, and each Xen domain's `xl uptime` line.

The `xl uptime` samples are the formats xl (and xm before it) print, as found in public
transcripts: a header "Name  ID Uptime", then per domain its name, ID and either H:MM:SS or
"D day(s), H:MM:SS" with the hours padded to two places; Domain-0 is always listed.
"""

from __future__ import annotations

import pytest

from hypervisor.facts_parse import Unreadable, parse_proc_uptime, parse_xl_uptime
from hypervisor.facts_script import parse_facts
from hypervisor.host_model import DomainStart, FactsNote
from hypervisor.model import uptime_text

CLOCK = 1_764_480_000  # the host's `date +%s`
HEADER = "Name                                ID Uptime \n"
DAY = 86400



def up(days: int, hours: int, minutes: int, seconds: int) -> int:
    return days * DAY + hours * 3600 + minutes * 60 + seconds


XL_UPTIME = [
    ("xm-dom0-alone", HEADER + "Domain-0                             0  0:42:13\n",
     [("Domain-0", 0, up(0, 0, 42, 13))]),
    ("xl-guest-under-a-day", HEADER + "busybox-001                         11  0:03:48\n",
     [("busybox-001", 11, up(0, 0, 3, 48))]),
    ("xl-one-day", HEADER + "Domain-0                             0 1 day,  3:02:01\n"
     "web1                                 3 1 day, 23:59:59\n",
     [("Domain-0", 0, up(1, 3, 2, 1)), ("web1", 3, up(1, 23, 59, 59))]),
    ("xl-zero-days", HEADER + "pvh-web01                            7 0 days,  3:27:41\n",
     [("pvh-web01", 7, up(0, 3, 27, 41))]),
    ("xl-days-dom0-and-a-name-past-its-column", HEADER
     + "Domain-0                             0 136 days,  0:38:43\n"
       "scas22dv0507m.us.oracle.com        171 30 days,  0:31:37\n"
       "scas22dv0508m.us.oracle.com        259 6 days, 14:54:59\n",
     [("Domain-0", 0, up(136, 0, 38, 43)), ("scas22dv0507m.us.oracle.com", 171, up(30, 0, 31, 37)),
      ("scas22dv0508m.us.oracle.com", 259, up(6, 14, 54, 59))]),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in XL_UPTIME],
                         ids=[case[0] for case in XL_UPTIME])
def test_each_xl_uptime_format_gives_each_domains_start(text, expected):
    assert parse_xl_uptime(text, CLOCK) == tuple(
        DomainStart(name, domain_id, CLOCK - seconds) for name, domain_id, seconds in expected)


@pytest.mark.parametrize(("text", "why"), [
    ("", "`xl uptime` printed 'nothing', not its 'Name ID Uptime' table"),
    ("xc: error: Could not obtain handle on privileged command interface: Permission denied\n",
     "`xl uptime` printed 'xc: error: Could not obtain handle on privileged command interface: "
     "Permission d', not its 'Name ID Uptime' table"),
    (HEADER + "Domain-0   0   up for ages\n",
     "`xl uptime` line not understood: 'Domain-0   0   up for ages'"),
])
def test_xl_uptime_that_cannot_be_read_says_why(text, why):
    with pytest.raises(Unreadable) as caught:
        parse_xl_uptime(text, CLOCK)
    assert str(caught.value) == why


def test_proc_uptime_gives_seconds_up_and_the_hosts_clock():
    assert parse_proc_uptime(f"350735.47 234388.90\n{CLOCK}\n") == (350735.47, CLOCK)
    with pytest.raises(Unreadable, match="missing"):
        parse_proc_uptime("350735.47 234388.90\n")


def script_output(*, uptime: str, xl_uptime: str, xl_status: int = 0) -> str:
    """An output of FACTS_SCRIPT on a Xen host, past the network sections."""
    return (f"@@uptime\n{uptime}\n@@xl\nhost : xen1\nnr_cpus : 8\ntotal_memory : 16384\nfree_memory : 1024\n"
            f"xen_version : 4.17.3\n@@xluptime\n{CLOCK}\n{xl_uptime}\n@@exit xluptime {xl_status}\n")


def test_the_facts_keep_when_the_host_booted_and_each_domain_started():
    facts = parse_facts(script_output(uptime=f"1000.6 900.1\n{CLOCK}", xl_uptime=XL_UPTIME[2][1]))
    assert facts.booted_at == CLOCK - 1001
    assert [(d.name, d.started_at) for d in facts.domains] == [
        ("Domain-0", CLOCK - up(1, 3, 2, 1)), ("web1", CLOCK - up(1, 23, 59, 59))]
    assert facts.node is not None
    assert facts.node.version == "Xen 4.17.3"
    assert [n.section for n in facts.unknown] == ["links", "bridges", "storage"]  # not in this output


def test_a_failed_xl_uptime_loses_only_the_domain_uptimes():
    failed = "libxl: error: cannot open libxc handle: Permission denied"
    facts = parse_facts(script_output(uptime=f"1000.6 900.1\n{CLOCK}", xl_uptime=failed, xl_status=1))
    assert FactsNote("domain uptimes", f"`xl uptime` failed (exit 1): {failed}") in facts.unknown
    assert facts.domains == ()
    assert facts.booted_at == CLOCK - 1001
    assert facts.node is not None


def test_an_unreadable_proc_uptime_loses_only_the_hosts_uptime():
    facts = parse_facts(script_output(uptime="cat: /proc/uptime: No such file or directory\n" + str(CLOCK),
                                      xl_uptime=XL_UPTIME[0][1]))
    assert facts.booted_at is None
    assert [n for n in facts.unknown if n.section == "uptime"] == [FactsNote(
        "uptime", "/proc/uptime read 'cat: /proc/uptime: No such file or directory'")]
    assert facts.domains == (DomainStart("Domain-0", 0, CLOCK - up(0, 0, 42, 13)),)


def test_a_host_that_is_not_xen_has_no_domain_uptimes_and_no_note():
    output = f"@@uptime\n5.5 1.0\n{CLOCK}\n@@xl\n@@nodeinfo\nCPU(s): 4\nMemory size: 8388608 KiB\n"
    facts = parse_facts(output)
    assert facts.domains == ()
    assert facts.booted_at == CLOCK - 6
    assert "domain uptimes" not in {n.section for n in facts.unknown}


@pytest.mark.parametrize(("seconds", "words"), [
    (up(12, 3, 0, 59), "12 days 3 h"), (DAY, "1 day 0 h"), (up(0, 5, 12, 0), "5 h 12 min"),
    (up(0, 0, 7, 5), "7 min"), (40, "40 s")])
def test_uptime_in_words(seconds, words):
    assert uptime_text(seconds) == words
