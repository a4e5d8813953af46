"""A VM running on two hosts (split brain): every view says so loudly, and `repair VM keep HOST` settles it.

Made as it happens: host05 stops answering, `recover host05` starts its VMs elsewhere, and host05
comes back running its old copies (as Xen's autostart would start them).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from bot import console
from bot.engine import ChatEvent
from bot.results import Outcome
from granja.app import build_inventory_site, open_engine
from tests.conftest import Chat
from tests.interrupt.harness import volumes
from tests.interrupt.test_strays import hosts_of
from tests.scenarios.test_unreachable import break_hosts

LOUD = "ldap1 RUNS ON TWO HOSTS, host05 AND host11, at once"


def split_brain(state: Path) -> Chat:
    """host05 recovered while away, then back with its old copies running; a fresh chat, nothing refreshed."""
    config = state / "demo" / "farm.toml"
    kept = config.read_text()
    break_hosts(state, host05="test:///nonexistent/host05.xml")
    away = Chat(open_engine(config=None, state=str(state)))
    assert away.send("recover host05").outcome is Outcome.OK, away.transcript
    assert "started    ldap1 → host11" in away.transcript, away.transcript
    away.engine.close()
    config.write_text(kept)
    chat = Chat(open_engine(config=None, state=str(state)))
    if not chat.engine.farm.driver("host05").find_vm("ldap1").state.active:
        chat.engine.farm.lifecycle("host05", "ldap1", "start")
    assert hosts_of(chat.engine, "ldap1") == [("host05", "running"), ("host11", "running")]
    return chat


def test_refresh_where_check_hosts_and_host_say_a_vm_runs_twice(state):
    chat = split_brain(state)
    chat.send("refresh")
    assert LOUD in chat.transcript, chat.transcript
    chat.send("where is ldap1")
    assert chat.transcript.startswith(f"{LOUD}:"), chat.transcript
    reply = chat.send("check")
    line = next(line for line in chat.transcript.splitlines() if LOUD in line)
    assert line.startswith("critical  running_twice"), chat.transcript
    assert "say 'repair ldap1 keep host05' or 'repair ldap1 keep host11'" in line, line
    assert console.exit_code(reply) == 2  # Nagios CRITICAL
    chat.send("hosts")
    row = next(line for line in chat.transcript.splitlines() if line.startswith("host05"))
    assert "RUNS TWICE: dns1, ftp1, ldap1," in row, chat.transcript  # all of host05's old VMs run twice
    assert not row.split()[1].startswith("0/"), row  # the copy running there counts
    chat.send("host host05")
    assert LOUD in chat.transcript, chat.transcript
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(state / "site"))
    overview = shown(state / "site" / "index.html")
    assert f"running_twice ldap1 {LOUD}" in overview, overview
    page = shown(state / "site" / "vms" / "ldap1.html")
    assert "RUNNING ALSO ON host05 (split brain: two copies run at once)" in page, page
    # Acting on either copy as if it were the only one is refused.
    assert chat.send("shutdown ldap1").outcome is Outcome.REFUSED
    assert LOUD in chat.transcript, chat.transcript
    assert hosts_of(chat.engine, "ldap1") == [("host05", "running"), ("host11", "running")]


def test_repair_keep_powers_off_and_undefines_the_other_copy_rechecked_and_audited(state):
    chat = split_brain(state)
    reply = chat.send("repair ldap1")
    assert reply.outcome is Outcome.REFUSED
    assert "say 'repair ldap1 keep host05' or 'repair ldap1 keep host11'" in chat.transcript, chat.transcript
    assert chat.send("repair ldap1 keep host07").outcome is Outcome.REFUSED
    assert "ldap1 is not defined on host07" in chat.transcript, chat.transcript
    # What the preview promised is checked again when confirmed: a copy stopped meanwhile refuses.
    pending = chat.engine.prepare(ChatEvent(user=chat.user, text="repair ldap1 keep host11"))
    assert "power off and undefine the running copy on host05 (disks are not touched)" in pending.plan.preview
    chat.engine.farm.lifecycle("host05", "ldap1", "destroy")
    done = chat.engine.confirm(pending, by=chat.user)
    assert done.outcome is Outcome.REFUSED, done.summary
    assert "changed since the preview" in done.summary
    chat.engine.farm.lifecycle("host05", "ldap1", "start")
    disks = volumes(state)
    reply = chat.send("repair ldap1 keep host11")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert ("ldap1 repaired: kept its running definition on host11; powered off and undefined the copy "
            "on host05 (disks kept)") in chat.transcript, chat.transcript
    assert hosts_of(chat.engine, "ldap1") == [("host11", "running")]
    assert volumes(state) == disks  # no disk was deleted
    entry = chat.engine.inventory.audit(vm="ldap1", limit=1)[0]
    assert (entry.command, entry.outcome) == ("repair ldap1 keep host11", "ok")
    chat.send("check")
    assert "ldap1" not in chat.transcript, chat.transcript
    chat.send("where is ldap1")
    assert chat.transcript == "ldap1 is on host11 (running).", chat.transcript


def shown(page: Path) -> str:
    """A site page's text as a browser shows it: tags dropped, entities read, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())
