"""`check` says what the watcher says: the same conditions, words and severities, with Nagios exit codes."""

from __future__ import annotations

from bot import console
from bot.farm_check import SAME_FACT
from tests.conftest import Chat
from tests.watch.conftest import Watched


def test_check_and_the_watcher_report_the_same_conditions_in_the_same_words(watched: Watched):
    farm = watched.engine.farm
    farm.driver("host02").lifecycle("db1", "destroy")  # cluster db degraded
    farm.driver("host03").define(farm.driver("host04").domain_xml("db2"))  # defined twice
    watched.after(31)
    # check names the facts inventory.health also sees by health's kind (SAME_FACT), in the same words
    same = {"cluster_degraded": "cluster_degraded", **SAME_FACT}
    watcher_says = {(same[c.kind], c.subject, c.message, c.severity.word) for c in watched.watcher.conditions
                    if c.kind in ("cluster_degraded", "defined_twice", "bond_degraded", "spread_broken")}
    assert {kind for kind, *_ in watcher_says} >= {"cluster_degraded", "stray", "bond"}
    chat = Chat(watched.engine)
    chat.send("refresh")
    reply = chat.send("check")
    body = reply.body
    check_says = {(f.kind, f.subject, f.message, f.severity) for f in body.findings
                  if f.kind in ("cluster_degraded", "stray", "bond", "spread")}
    assert check_says == watcher_says
    assert ("cluster_degraded", "db", "cluster db: 1 of 2 running; db1 is shut off on host02",
            "critical") in check_says


def test_check_exits_as_a_nagios_plugin(engine):
    chat = Chat(engine)
    assert console.exit_code(chat.send("check")) == 2  # the demo's ftp cluster runs 1 of 2
    assert "critical  cluster_degraded  ftp" in chat.transcript
    chat.send("start ftp2")
    assert console.exit_code(chat.send("check")) == 1  # host07's bond1 still lacks eth3: a warning
    node = engine.config.hosts["host07"].uri.removeprefix("test://")
    with open(node) as text:
        fixed = text.read().replace('<link speed="1000" state="down" />', '<link speed="1000" state="up" />')
    with open(node, "w") as text:
        text.write(fixed)
    chat.send("refresh")
    chat.send("autostart ftp1 on")
    reply = chat.send("check")
    assert console.exit_code(reply) == 0, chat.transcript


def test_min_running_zero_means_no_member_must_run(state):
    from granja.app import open_engine

    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace("[clusters.ftp]\n", "[clusters.ftp]\nmin_running = 0\n", 1))
    chat = Chat(open_engine(config=None, state=str(state)))
    chat.send("check")
    assert "cluster_degraded  ftp" not in chat.transcript  # the demo's ftp runs 1 of 2: allowed now
