"""`granja ask --json`: every command's reply is one JSON document that follows schema/reply-1.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot import console
from bot.grammar import COMMANDS
from bot.reply_json import SCHEMA, from_json, json_schema, to_json

SCHEMA_FILE = Path(__file__).parents[2] / "schema" / "reply-1.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def test_the_published_schema_file_is_the_one_the_code_writes():
    written = json.loads(json.dumps(json_schema()))
    assert json.loads(SCHEMA_FILE.read_text()) == written, "regenerate it: python -m bot.reply_json"
    jsonschema.Draft202012Validator.check_schema(json_schema())


def _as_json(chat, text: str) -> dict:
    lines: list[str] = []
    reply = console.run(chat.engine, text, user=chat.user, yes=True, ask=None, out=lines.append,
                        show=to_json, note=lambda line: None)
    assert len(lines) == 1, lines
    document = json.loads(lines[0])
    VALIDATOR.validate(document)  # the JSON Schema file
    envelope, body = from_json(lines[0])  # and the dataclasses themselves, field by field
    assert envelope.outcome is reply.outcome
    assert body == reply.body
    return document


# Each command's examples as the help shows them, on the demo farm, plus the replies that are not
# the command's own body (refusal, usage error).
EXAMPLES = [example for spec in COMMANDS for example in spec.examples] + [
    "where is nosuchvm", "fly me to the moon", "start ldap1", "reboot wiki"]


@pytest.mark.parametrize("text", EXAMPLES)
def test_every_command_answers_in_json_that_follows_the_schema(chat, text):
    document = _as_json(chat, text)
    assert document["schema"] == SCHEMA
    assert document["summary"]
    assert "<domain" not in json.dumps(document)  # a VM's full definition stays in the inventory


def test_a_json_body_is_the_data_not_the_rendered_text(chat):
    document = _as_json(chat, "where is ldap3")
    assert document["kind"] == "Located"
    assert document["body"]["vm"]["name"] == "ldap3"
    assert document["body"]["vm"]["state"] == "running"
    assert document["hosts"] == [document["body"]["vm"]["host"]]
    assert "definition" not in document["body"]["vm"]  # the full domain XML stays in the inventory
    listed = _as_json(chat, "list in ldap")
    assert listed["kind"] == "VMTable"
    assert sorted(vm["name"] for vm in listed["body"]["vms"]) == sorted(
        r.vm.name for r in chat.engine.inventory.vms_in("ldap"))


def test_granja_ask_json_prints_only_the_document_on_stdout(state):
    def ask(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), "ask", *words],
                              capture_output=True, text=True, timeout=60)

    for flags in (["--json"], ["-o", "json"]):
        done = ask(*flags, "--yes", "shutdown ci")  # ci is shut off: done, nothing changed
        assert done.returncode == 0, done.stderr
        VALIDATOR.validate(json.loads(done.stdout))
        assert json.loads(done.stdout)["extra"] == {"changed": "no"}
    changed = ask("--json", "--yes", "suspend ldap1")
    assert changed.returncode == 0, changed.stderr
    assert changed.stderr.startswith("About to: suspend ldap1")  # the preview is not in the document
    document = json.loads(changed.stdout)
    VALIDATOR.validate(document)
    assert (document["kind"], document["body"]["vm"]["state"]) == ("Done", "paused")


def test_resilience_in_json_is_the_figure_and_the_restart_plan_as_data(chat):
    figure = _as_json(chat, "resilience")
    assert figure["kind"] == "ResilienceFigure"
    body = figure["body"]
    assert body["tolerated"] == 2
    assert body["failing_hosts"] == []
    assert body["pairs"] == {"total": 105, "tried": 105, "failing": 0, "worst": None}
    chat.send("resilience")
    assert figure["summary"] == chat.transcript.splitlines()[0]  # the chat's words are unchanged
    host = chat.engine.inventory.vm("backup").vm.host  # the demo pins backup to its host
    plan = _as_json(chat, f"resilience {host}")
    assert plan["kind"] == "RestartPlan"
    assert plan["body"]["host"] == host
    chat.send(f"resilience {host}")
    said = chat.transcript.splitlines()[1:]
    # Each VM with where it would go, or why it cannot, as the chat lists them.
    assert [f"  {v['vm']} → {v['to']}" if v["to"] else f"  {v['vm']} stays down: {v['reason']}"
            for v in plan["body"]["vms"]] == said
    assert {"vm": "backup", "cluster": "", "to": "",
            "reason": f"pinned to {host} in the fleet config"} in plan["body"]["vms"]


def test_a_farm_that_fails_in_json_names_the_failing_hosts_and_the_worst_pair(chat):
    db_hosts = {r.vm.host for r in chat.engine.inventory.vms_in("db")}
    for host in chat.engine.farm.host_names:
        if host not in db_hosts:
            chat.engine.inventory.set_maintenance(host, on=True, at=chat.engine.clock(), user="test")
    body = _as_json(chat, "resilience")["body"]
    assert body["tolerated"] == 0
    assert body["pairs"] is None
    failing = {loss["hosts"][0]: loss["stranded"] for loss in body["failing_hosts"]}
    assert set(failing) >= db_hosts
    db_host = sorted(db_hosts)[0]
    assert {"vm": next(r.name for r in chat.engine.inventory.vms_in("db") if r.vm.host == db_host),
            "cluster": "db", "to": "", "reason": "every host with room already runs a member of db"} \
        in failing[db_host]


def test_a_farm_that_survives_one_failure_in_json_names_the_worst_pair(chat):
    for host in chat.engine.farm.host_names:  # the reviewer's farm, host13 closed too
        if host not in ("host07", "host09", "host14", "host15"):
            chat.engine.inventory.set_maintenance(host, on=True, at=chat.engine.clock(), user="test")
    document = _as_json(chat, "resilience")
    body = document["body"]
    assert (body["tolerated"], body["failing_hosts"]) == (1, [])
    pairs = body["pairs"]
    assert (pairs["total"], pairs["tried"]) == (105, 105)
    assert pairs["failing"] > 0
    worst = pairs["worst"]
    assert len(worst["hosts"]) == 2
    assert all(s["cluster"] and s["reason"] and not s["to"] for s in worst["stranded"])
    said = f"{pairs['failing']} would leave VMs with nowhere to go; worst: {' + '.join(worst['hosts'])} "
    assert said in document["summary"]
