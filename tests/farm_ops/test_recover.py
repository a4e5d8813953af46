"""`recover HOST`: refused while the host answers; for a down host its VMs start elsewhere."""

from __future__ import annotations

from bot.engine import ChatEvent, Pending
from bot.results import Outcome
from granja.app import open_engine
from hypervisor.domain_build import build_domain
from tests.conftest import Chat
from tests.farm_ops.helpers import live_vms, spread_and_capacity_problems
from tests.inventory.builders import make_vm
from tests.scenarios.test_unreachable import break_hosts


def test_recover_refuses_a_host_that_answers(chat):
    before = live_vms(chat.engine)
    reply = chat.send("recover host02")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript == ("host02 answers: it is not down, so there is nothing to recover. "
                               "To empty a running host, use 'evacuate host02'.")
    assert live_vms(chat.engine) == before


def test_recover_needs_the_admin_role(chat):
    reply = chat.send("recover host02", user="bob")
    assert reply.outcome is Outcome.REFUSED
    assert "'recover' needs the admin role; your role is operator" in chat.transcript


def test_recover_starts_the_running_vms_of_a_down_host_elsewhere(state, pinned_host):
    engine = open_engine(config=None, state=str(state))
    was = {r.name: r.vm for r in engine.inventory.vms_on(pinned_host)}
    running = {name for name, vm in was.items() if vm.state.active}
    break_hosts(state, **{pinned_host: f"test:///nonexistent/{pinned_host}.xml"})
    chat = Chat(open_engine(config=None, state=str(state)))
    reply = chat.send(f"recover {pinned_host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"CONFIRM ONLY IF {pinned_host} IS REALLY OFF" in chat.transcript
    assert f"stays      backup: pinned to {pinned_host} in the fleet config" in chat.transcript
    now = live_vms(chat.engine)
    for name in running - {"backup"}:
        assert now[name].state.value == "running"
        assert now[name].host != pinned_host
        assert f"started    {name} → {now[name].host}" in chat.transcript
        assert now[name].autostart == was[name].autostart
        assert chat.engine.inventory.vm(name).vm.host == now[name].host
    assert "backup" not in now  # it stays on the down host
    assert f"{pinned_host} still holds definitions of" in chat.transcript
    assert spread_and_capacity_problems(chat.engine) == []

    # The host comes back running its old copies (the test driver kept them running, as Xen's
    # autostart would start them): check names each one as running twice, with the repair that settles it.
    break_hosts(state, **{pinned_host: engine.config.hosts[pinned_host].uri})
    back = Chat(open_engine(config=None, state=str(state)))
    back.send("refresh")
    reply = back.send("check")
    strays = {f.subject for f in reply.body.findings if f.kind == "running_twice"}
    assert strays == running - {"backup"}
    for name in strays:  # each with the command that resolves it
        assert f"'repair {name} keep {pinned_host}' or 'repair {name} keep " in back.transcript \
            or f" or 'repair {name} keep {pinned_host}'" in back.transcript, back.transcript
    for name in strays:
        record = back.engine.inventory.vm(name)
        assert pinned_host in (record.vm.host, *record.strays)


def test_recover_lists_vms_whose_disks_only_the_down_host_reaches(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace('shared_pools = ["local"]', "shared_pools = []"))
    break_hosts(state, host02="test:///nonexistent/host02.xml")
    chat = Chat(open_engine(config=None, state=str(state)))
    running = [r.name for r in chat.engine.inventory.vms_on("host02") if r.vm.state.active]
    reply = chat.send("recover host02")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith("No VM of host02 can be started elsewhere:")
    for name in running:
        assert f"stays {name}: its disk xvda (" in chat.transcript
    assert "is in pool local, which is not shared: only host02 reaches it" in chat.transcript
    assert not set(running) & set(live_vms(chat.engine))


def test_a_failed_start_stops_the_recovery_and_says_what_was_not_tried(state):
    break_hosts(state, host02="test:///nonexistent/host02.xml")
    engine = open_engine(config=None, state=str(state))
    pending = engine.prepare(ChatEvent(user="carol", text="recover host02"))
    assert isinstance(pending, Pending), pending
    first = pending.plan.preview.splitlines()[1].split()  # "start NAME (...) → HOST"
    name, target = first[1], first[-1]
    # The target already has a different domain of that name: defining it there fails.
    engine.farm.driver(target).define(build_domain(make_vm(name, target), domain_type="test"))
    reply = engine.confirm(pending, by="carol")
    assert reply.outcome is Outcome.FAILED
    assert reply.body.failed[0] == name, reply.body
    assert reply.body.moved == ()
    assert f"{name} is not running anywhere: host02 is down" in reply.body.failed[1]
    assert len(reply.body.not_tried) == len(pending.plan.preview.splitlines()) - 2 - len(reply.body.stays)
    assert reply.summary.startswith("Recovery of host02 stopped at a failure: 0 started")


def test_recover_of_a_host_that_answers_again_before_the_confirmation_starts_nothing(state, pinned_host):
    engine = open_engine(config=None, state=str(state))
    working = engine.farm.driver(pinned_host)
    uri = engine.config.hosts[pinned_host].uri
    break_hosts(state, **{pinned_host: f"test:///nonexistent/{pinned_host}.xml"})
    broken = open_engine(config=None, state=str(state))
    pending = broken.prepare(ChatEvent(user="carol", text=f"recover {pinned_host}"))
    assert isinstance(pending, Pending), pending
    broken.farm._drivers[pinned_host] = working  # the host boots again while the preview waits
    break_hosts(state, **{pinned_host: uri})
    before = live_vms(broken)
    reply = broken.confirm(pending, by="carol")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"{pinned_host} answers again: nothing was started elsewhere.")
    assert live_vms(broken) == before


def as_network_pool(state, host: str) -> None:
    """Turn the host's pool "local" into an NFS pool (netfs) in its node file: shared by its type."""
    node = next((state / "demo").glob(f"**/{host}.xml"))
    text = node.read_text()
    start = text.index("<pool type=\"dir\">")
    end = text.index("</uuid>", start) + len("</uuid>")
    text = (text[:start] + text[start:end].replace("<pool type=\"dir\">", "<pool type=\"netfs\">")
            + "<source><host name=\"nfs.example.org\"/><dir path=\"/export/images\"/>"
            + "<format type=\"nfs\"/></source>" + text[end:])
    node.write_text(text)


def test_recover_knows_a_pool_is_shared_from_its_type(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace('shared_pools = ["local"]', "shared_pools = []"))
    as_network_pool(state, "host02")
    chat = Chat(open_engine(config=None, state=str(state)))
    chat.send("refresh")  # the inventory learns each pool's type
    assert [p.kind for p in chat.engine.inventory.host("host02").host.pools] == ["netfs"]
    running = [r.name for r in chat.engine.inventory.vms_on("host02") if r.vm.state.active]
    break_hosts(state, host02="test:///nonexistent/host02.xml")
    chat = Chat(open_engine(config=None, state=str(state)))
    reply = chat.send("recover host02")
    assert reply.outcome is Outcome.OK, chat.transcript
    for name in running:
        assert f"started    {name} → " in chat.transcript
    assert "which is not shared" not in chat.transcript


def test_a_recovery_whose_target_was_put_in_maintenance_since_the_preview_starts_nothing(state, pinned_host):
    break_hosts(state, **{pinned_host: f"test:///nonexistent/{pinned_host}.xml"})
    engine = open_engine(config=None, state=str(state))
    pending = engine.prepare(ChatEvent(user="root", text=f"recover {pinned_host}"))
    assert isinstance(pending, Pending), pending
    target = next(line.rsplit("→ ", 1)[1].split()[0]
                  for line in pending.plan.preview.splitlines() if line.startswith("  start "))
    mark = engine.prepare(ChatEvent(user="root", text=f"maintenance {target} on"))
    assert isinstance(mark, Pending), mark
    assert engine.confirm(mark, by="root").outcome is Outcome.OK
    before = live_vms(engine)
    reply = engine.confirm(pending, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"Nothing was done: since the preview, {target} is in maintenance (for ")
    assert reply.summary.endswith(f"Say 'recover {pinned_host}' again for a new plan.")
    assert live_vms(engine) == before
