"""A change on a whole host in Slack: a long preview within Slack's limits, a final line naming the host."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.context import Plan
from bot.engine import ChatEvent, Pending
from bot.parser import parse
from bot.results import HostEmptied, Outcome, Reply
from bot.slack.messages import decided, final, preview

AT = datetime(2026, 11, 24, 21, 20, 5, tzinfo=UTC)


def pending(text: str, lines: list[str], *, destructive: bool = False) -> Pending:
    plan = Plan(preview="\n".join(lines), vm="", hosts=("host05",), run=lambda progress: None,  # type: ignore
                destructive=destructive)
    return Pending(id="p1", event=ChatEvent(user="UCAROL", text=text, extra={"who": "<@UCAROL>"}),
                   command=parse(text), plan=plan, role="admin", created=0.0)


def texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] if "text" in b else b["elements"][0]["text"]
            for b in blocks if b["type"] != "actions"]


def test_a_long_evacuation_preview_fits_slacks_limits_and_keeps_every_move_on_a_line():
    moves = [f"  move vm{i:03d} (running, 4 GiB) → host{i % 12:02d} (offline)" for i in range(120)]
    head = "evacuate host05: mark it in maintenance, then move 120 of its 121 VMs one at a time"
    asked = pending("evacuate host05", [head, *moves, "  stays mirror: paused"])
    for _text, blocks in (preview(asked, expires=AT), decided(asked, by="UCAROL", confirmed=True)):
        shown = texts(blocks)
        assert len(blocks) <= 50
        assert all(len(text) <= 3000 for text in shown)
        assert f"*{head}*" in shown[0]  # bold on its own line: mrkdwn bold does not span lines
        lines = [line for text in shown for line in text.splitlines()]
        assert [line.strip() for line in lines if "move vm" in line] == [m.strip() for m in moves]
        assert any("stays mirror: paused" in line for line in lines)


def test_the_are_you_sure_dialog_is_the_first_line_of_the_preview_cut_at_a_word():
    head = ("recover host05, which is not answering (ssh: connection timed out after 10 s, no route to host "
            "host05.example.org). CONFIRM ONLY IF host05 IS REALLY OFF (powered off or fenced): one guest "
            "running on two hosts corrupts its shared disks.")
    asked = pending("recover host05", [head, "  start ldap1 (running, 2 GiB) → host09"], destructive=True)
    dialog = preview(asked, expires=AT)[1][-1]["elements"][0]["confirm"]["text"]["text"]
    assert dialog == head  # not the list of moves glued on
    long_head = head.replace("no route to host", "no route to host " + "via the backup path " * 8)
    asked = pending("recover host05", [long_head, "  start ldap1 → host09"], destructive=True)
    dialog = preview(asked, expires=AT)[1][-1]["elements"][0]["confirm"]["text"]["text"]
    assert len(dialog) <= 300
    assert dialog.endswith(" …")
    assert long_head.startswith(dialog.removesuffix(" …") + " ")


def test_the_final_line_of_an_evacuation_names_the_host_not_an_empty_vm():
    asked = pending("evacuate host05", ["evacuate host05: …"])
    body = HostEmptied(host="host05", title="Evacuation of host05 done: 2 moved, 0 not tried, 0 staying.",
                       verb="moved", moved=(("ldap1", "host09", "live"), ("dns1", "host07", "live")))
    reply = Reply(Outcome.OK, body, body.title, hosts=("host05", "host07", "host09"))
    text, blocks = final(asked, reply, by="UCAROL", begun=AT, seconds=12.0)
    line = texts(blocks)[0]
    assert "VM  ·" not in line
    assert "VM ·" not in line
    assert "· host host05 → host07, host09 ·" in line
