"""Evacuation, check, history and audit answers in Block Kit: an icon on failure, names, whole lines."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.results import AuditRow, AuditTable, FindingList, HistoryView, HostEmptied, Outcome, Reply
from bot.slack.blocks import MAX_BLOCKS, named, reply_message
from bot.slack.people import People
from inventory import Change
from inventory.finding import Finding

AT = datetime(2026, 11, 24, 21, 20, 5, tzinfo=UTC)
CAROL = People({"U0CAROL": "carol"})  # what users.info said of U0CAROL


def texts(blocks: list[dict]) -> list[str]:
    """Each block's mrkdwn text (a context block's first element)."""
    return [b["text"]["text"] if "text" in b else b["elements"][0]["text"] for b in blocks]


def test_a_failed_evacuation_is_marked_as_failed_and_lists_each_vm_as_text():
    title = "Evacuation of host05 stopped at a failure: 1 moved, 1 not tried, 1 staying."
    body = HostEmptied(host="host05", title=title, verb="moved", moved=(("ldap1", "host09", "live"),),
                       failed=("dns1", "host07 has 1 GiB of memory free. dns1 is running on host05."),
                       not_tried=("ftp1",), stays=(("mirror", "paused, and host05 cannot migrate live"),))
    _text, blocks = reply_message(Reply(Outcome.FAILED, body, body.title, hosts=("host05",)))
    shown = texts(blocks)
    assert shown[0].startswith(":x: ")
    assert "Evacuation of host05 stopped at a failure" in shown[0]
    whole = "\n".join(shown)
    assert "```" not in whole  # a list to read, not a table in a code block
    for part in ("ldap1", "host09", "dns1", "host07 has 1 GiB of memory free", "ftp1", "still on host05",
                 "mirror", "paused, and host05 cannot migrate live"):
        assert part in whole


def test_history_names_people_by_name_and_keeps_whole_lines_within_slacks_limits():
    changes = tuple(Change(vm="web2", at=AT, kind="config", path="memory_mib", old=4096, new=3072 + i,
                           command="set web2 memory 3G", user="U0CAROL") for i in range(400))
    reply = Reply(Outcome.OK, HistoryView(vm="web2", changes=changes), "400 changes")
    assert named(reply) == {"U0CAROL"}
    _text, blocks = reply_message(reply, people=CAROL.pinging("U0CAROL"))  # a list pings nobody
    shown = texts(blocks)
    assert len(blocks) <= MAX_BLOCKS + 1
    assert all(len(text) <= 3000 for text in shown)
    assert "UTC @carol `set web2 memory 3G`" in shown[0]
    assert "<@" not in "".join(shown)
    assert "```" not in shown[0]
    lines = [line for text in shown for line in text.splitlines()]
    assert all(line.startswith(("*", "• ")) for line in lines), lines[:3]
    assert all(line.endswith(" GiB") for line in lines[1:]), lines[-1]  # no line cut


def test_check_lists_each_finding_on_a_line_of_its_own():
    mark = "host05 is in maintenance since 2026-11-24 21:38 UTC (by U0CAROL)"
    found = (Finding("maintenance", "host05", mark, "info"),
             Finding("drift", "web2", "web2 differs from its baseline in 1 field: memory", "info"))
    reply = Reply(Outcome.OK, FindingList(found), "2 findings")
    assert named(reply) == {"U0CAROL"}
    _text, blocks = reply_message(reply, people=CAROL)
    shown = "\n".join(texts(blocks))
    assert "```" not in shown
    assert "• info *maintenance* host05 is in maintenance since 2026-11-24 21:38 UTC (by @carol)" in shown
    _text, blocks = reply_message(reply)  # Slack could not name her: the raw ID, inert
    assert "(by @U0CAROL)" in "\n".join(texts(blocks))
    assert "• info *drift* web2 differs from its baseline" in shown


def test_a_vm_card_shows_its_addresses_and_what_it_uses():
    from bot.results import VMCard
    from hypervisor.model import VM, Usage, Virt, VMState

    vm = VM(name="web2", uuid="u", host="host06", state=VMState.RUNNING, vcpus=2, memory_mib=4096,
            virt=Virt.PV, usage=Usage(cpu_percent=12.5, memory_used_mib=1536, addresses=("10.0.130.12",)))
    _text, blocks = reply_message(Reply(Outcome.OK, VMCard(vm=vm, nics=(), last_seen=AT), "web2"))
    fields = [f["text"] for b in blocks for f in b.get("fields", ())]
    assert "*Addresses*\n10.0.130.12" in fields
    assert "*In use*\nCPU 12.5%, memory 1.5 GiB of 4 GiB" in fields


def test_an_audit_with_lines_it_could_not_read_says_so_under_the_rows_within_slacks_limits():
    rows = tuple(AuditRow(at=AT, user="U0CAROL", text=f"where is web{i}", outcome="ok", detail="",
                          duration_ms=1) for i in range(400))
    skipped = ("/srv/granja/audit/2026-11.jsonl: its last line (line 401) was cut short, as a writer killed "
               "mid-write leaves it; skipped (the lines before it are whole)", "<!channel> " + "x" * 5000)
    for shown_rows in (rows, ()):
        body = AuditTable(title="Commands", rows=shown_rows, skipped=skipped)
        _text, blocks = reply_message(Reply(Outcome.OK, body, "audit"))
        shown = texts(blocks)
        assert len(blocks) <= 50
        assert shown[-2] == f"Not shown: {skipped[0]}."
        assert shown[-1].startswith("Not shown: &lt;!channel&gt; xxx")  # escaped, cut to fit a block
        assert len(shown[-1]) <= 3000
