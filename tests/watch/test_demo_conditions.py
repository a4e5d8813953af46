"""Every condition kind planted on the demo farm (libvirt's test driver) and seen by the watcher."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.watch.watcher import WatchSettings
from bot.watch.words import console_line
from granja.watching import build_watcher
from tests.conftest import Chat
from tests.watch.conftest import Clock, Seen, Watched


def node(watched: Watched, host: str) -> Path:
    return Path(watched.engine.config.hosts[host].uri.removeprefix("test://"))


def fired(watched: Watched, kind: str, seconds: float) -> list[str]:
    """Messages of the alerts of `kind` fired within `seconds` of the next poll."""
    watched.after(seconds)
    return [t.alert.condition.message for t in watched.seen.of("fired", kind)]


def test_the_demo_farm_starts_with_the_ftp_cluster_degraded(engine):
    clock, seen = Clock(), Seen()
    watcher = build_watcher(engine, sinks=[seen], settings=WatchSettings(events=False), clock=clock)
    watcher.poll(first=True)
    assert watcher.evaluate() == []  # pending: a cluster degraded holds for 30 s before it fires
    clock.advance(29)
    assert watcher.evaluate() == []
    clock.advance(2)
    (alert,) = [t.alert for t in watcher.evaluate() if t.alert.condition.kind == "cluster_degraded"]
    assert alert.condition.message == "cluster ftp: 1 of 2 running; ftp2 is shut off on host07"
    assert alert.condition.remedy == "start ftp2"
    line = console_line(seen.of("fired", "cluster_degraded")[0], clock.now)
    assert "CRITICAL FIRED cluster_degraded ftp: cluster ftp: 1 of 2 running" in line
    assert line.endswith("[remedy: start ftp2]")


def test_a_vm_stopped_outside_granja_then_started_again_resolves(watched):
    watched.engine.farm.driver("host02").lifecycle("db1", "destroy")
    at = datetime.fromtimestamp(watched.clock.now, UTC)
    assert fired(watched, "stopped_outside", 2) == [f"db1 stopped on host02 at {at:%H:%M} UTC, not by granja"]
    watched.engine.farm.driver("host02").lifecycle("db1", "start")
    watched.after(0)
    (resolved,) = watched.seen.of("resolved", "stopped_outside")
    assert console_line(resolved, watched.clock.now).split(": ", 1)[1].startswith(
        "resolved after 2 s: db1 is running again")


def test_a_change_made_through_granja_is_no_alert(watched):
    Chat(watched.engine).send("destroy db1")
    watched.after(60)
    assert watched.seen.of("fired", "stopped_outside") == []
    # ... while the cluster it leaves short is one, once the operation has ended (its `for` counts from then)
    watched.after(31)
    assert [t.alert.condition.message for t in watched.seen.of("fired", "cluster_degraded")] == [
        "cluster db: 1 of 2 running; db1 is shut off on host02"]


def test_an_outside_change_soon_after_granja_touched_the_vm_is_still_an_alert(watched):
    Chat(watched.engine).send("start ftp2")  # granja's own operation on ftp2
    watched.after(90)  # the next poll sees ftp2 running: granja's doing; a minute and a half later…
    watched.engine.farm.driver("host07").lifecycle("ftp2", "destroy")  # …someone stops it by hand
    at = datetime.fromtimestamp(watched.clock.now, UTC)
    said = f"ftp2 stopped on host07 at {at:%H:%M} UTC, not by granja"
    assert fired(watched, "stopped_outside", 2) == [said]


def test_a_change_granja_made_a_poll_interval_ago_is_no_alert(watched):
    Chat(watched.engine).send("start ftp2")
    watched.clock.advance(55)  # the next poll comes most of an interval (60 s) later
    watched.after(60)
    assert watched.seen.of("fired", "started_outside") == []


def test_a_vm_started_outside_granja_is_an_info_notice(watched):
    watched.engine.farm.driver("host07").lifecycle("ftp2", "start")
    assert fired(watched, "started_outside", 2)[0].startswith("ftp2 was started on host07 at")
    assert watched.seen.of("fired", "started_outside")[0].alert.severity.word == "info"


def test_crashed_moved_twice_and_spread(watched):
    farm = watched.engine.farm
    xml = farm.driver("host10").domain_xml("imap1")
    farm.driver("host10").lifecycle("imap1", "destroy")
    farm.driver("host10").undefine("imap1")
    farm.driver("host02").define(xml)
    farm.driver("host02").lifecycle("imap1", "start")  # imap2 runs on host02 too
    watched.after(61)
    assert watched.seen.of("fired", "moved_outside")[0].alert.condition.message.startswith(
        "imap1 moved from host10 to host02 at")
    (spread,) = watched.seen.of("fired", "spread_broken")
    assert spread.alert.condition.message == (
        "imap1, imap2 of cluster imap share host02: one host failure stops 2 of them")  # check's words
    assert spread.alert.condition.remedy == "migrate imap2"
    farm.driver("host03").define(farm.driver("host04").domain_xml("db2"))
    watched.after(31)
    assert [t.alert.condition.message for t in watched.seen.of("fired", "defined_twice")] == [
        "db2 is defined on host03, host04: say 'repair db2' to keep the current definition and undefine "
        "the others (disks are not touched)"]  # check's words
    assert watched.seen.of("fired", "defined_twice")[0].alert.condition.remedy == "repair db2"
    farm.driver("host03").lifecycle("db2", "start")
    watched.after(5)
    (twice,) = watched.seen.of("fired", "running_twice")
    assert twice.alert.severity.word == "critical"
    assert twice.alert.condition.hosts == ("host03", "host04")


def test_a_crashed_vm_is_critical(watched):
    path = node(watched, "host05")
    # libvirt's own word for it: VIR_DOMAIN_CRASHED (6) as the test driver's run state
    path.write_text(path.read_text().replace("<name>dns1</name>",
                                             "<name>dns1</name><test:runstate>6</test:runstate>"))
    assert fired(watched, "crashed", 0)
    assert watched.seen.of("fired", "crashed")[0].alert.condition.subject == "dns1"


def test_an_unreachable_host_is_one_alert_listing_its_vms_and_a_flapping_one_fires_once(watched):
    path = node(watched, "host09")
    hidden = path.with_suffix(".away")
    for _ in range(3):
        path.rename(hidden)
        watched.after(6)
        hidden.rename(path)
        watched.after(1)
    host_alerts = [t for t in watched.seen.transitions if t.alert.condition.kind == "host_unreachable"]
    assert [t.what for t in host_alerts] == ["fired", "resolved", "reopened", "resolved", "reopened",
                                             "resolved"]
    assert len({t.alert.id for t in host_alerts}) == 1
    message = host_alerts[0].alert.condition.message
    assert message.startswith("host09 is not answering since 20")  # check's words, with the date
    assert message.endswith("; it ran 3 VMs: ci, imap3 and samba1")
    assert host_alerts[0].alert.condition.remedy == "recover host09"
    # The VMs of the silent host are in that one alert, not alerts of their own.
    assert not [t for t in watched.seen.transitions if t.alert.condition.subject in ("ci", "imap3", "samba1")]


def test_bond_pool_and_drift(watched):
    path = node(watched, "host01")
    path.write_text(path.read_text().replace('<link speed="10000" state="up" />',
                                             '<link speed="10000" state="down" />', 1))
    watched.watcher.rules = watched.watcher.tracker.rules = replace(watched.watcher.rules, pool_full=0.001)
    Chat(watched.engine).send("baseline set web1")
    watched.engine.farm.driver(watched.engine.inventory.vm("web1").vm.host).set_vcpus("web1", 3)
    watched.after(61)
    assert [t.alert.condition.message for t in watched.seen.of("fired", "bond_degraded")] == [
        "host01: bond0 (802.3ad) carries no traffic on eth0 (down)"]  # check's words
    assert watched.seen.of("fired", "pool_full")
    said = "web1 differs from its baseline in 1 field: vCPUs"
    assert [t.alert.condition.message for t in watched.seen.of("fired", "drift")] == [said]
    checking = Chat(watched.engine)
    checking.send("refresh")  # check reads the inventory
    checking.send("check")
    assert said in checking.transcript  # the same fact in the same words


def test_alerts_are_audited(watched):
    watched.engine.farm.driver("host02").lifecycle("db1", "destroy")
    watched.after(2)
    entries = watched.engine.inventory.audit(vm="db1", limit=5)
    assert entries[0].user == "granja"
    assert entries[0].text.startswith("alert fired: db1 stopped on host02")
