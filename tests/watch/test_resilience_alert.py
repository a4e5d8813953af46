"""The watcher's resilience condition: the farm no longer survives any single host failure."""

from __future__ import annotations

from bot.watch.model import KINDS
from tests.conftest import Chat
from tests.watch.conftest import Watched


def close_all_but(watched: Watched, keep: set[str]) -> None:
    """Every other host in maintenance, through the chat as an operator would."""
    chat = Chat(watched.engine)
    for host in watched.engine.farm.host_names:
        if host not in keep:
            chat.send(f"maintenance {host} on")


def test_a_farm_that_no_longer_survives_one_host_failure_is_one_warning_naming_the_worst_host(watched):
    assert KINDS["resilience"].hold == 120.0
    assert watched.watcher.rules.hold_for("resilience") == 120.0
    db_hosts = {r.vm.host for r in watched.engine.inventory.vms_in("db")}  # host02 and host04
    close_all_but(watched, db_hosts)  # each db member's only way out holds the other
    watched.after(119)
    assert watched.seen.of("fired", "resilience") == []  # pending: it must hold for 2 minutes
    watched.after(2)
    (fired,) = watched.seen.of("fired", "resilience")
    condition = fired.alert.condition
    assert fired.alert.severity.word == "warning"
    assert condition.key == "resilience"
    (worst,) = condition.hosts
    assert condition.remedy == f"resilience {worst}"
    # check names every host whose loss strands members; the alert names the worst, in check's words.
    checking = Chat(watched.engine)
    checking.send("check")
    said = ["The farm no longer" + line.split("The farm no longer", 1)[1]
            for line in checking.transcript.splitlines() if "no longer survives one host failure" in line]
    assert len(said) > 1, checking.transcript
    assert condition.message.startswith(next(s for s in said if f": {worst}'s would leave" in s))
    others = len(said) - 1
    who = "1 other host's failure" if others == 1 else f"{others} other hosts' failures"
    assert condition.message.endswith(f"; {who} would strand members too"), condition.message
    assert set(condition.vms) >= {r.name for r in watched.engine.inventory.vms_in("db")
                                  if r.vm.host == worst}
    # One host back in service gives every member a way out again: the alert resolves.
    Chat(watched.engine).send("maintenance host13 off")
    watched.after(0)
    (resolved,) = watched.seen.of("resolved", "resilience")
    assert resolved.alert.condition.cleared == "the farm survives any single host failure again"


def test_the_resilience_condition_holds_for_what_the_config_says(tmp_path):
    from granja.config import load_config

    path = tmp_path / "farm.toml"
    path.write_text('[hosts.h1]\nuri = "test:///default"\n[watch.for]\nresilience = 600\n')
    assert load_config(path).watch.hold == {"resilience": 600.0}


def test_the_condition_follows_the_vms_the_hosts_report(watched):
    db_hosts = {r.vm.host for r in watched.engine.inventory.vms_in("db")}
    close_all_but(watched, db_hosts)
    watched.after(121)
    (fired,) = watched.seen.of("fired", "resilience")
    stranded = set(fired.alert.condition.vms)
    (host,) = fired.alert.condition.hosts
    for vm in stranded:  # stopped outside granja: a VM that does not run needs nowhere to go
        watched.engine.farm.driver(host).lifecycle(vm, "destroy")
    watched.after(0)
    now = [c for c in watched.watcher.conditions if c.kind == "resilience"]
    assert not now or not stranded & set(now[0].vms), now
