import re

import pytest

from bot.grammar import COMMANDS
from bot.parser import Command, ParseError, parse


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("where is ldap3", "where", {"vm": "ldap3"}),
        ("where ldap3", "where", {"vm": "ldap3"}),
        ("locate ldap3", "where", {"vm": "ldap3"}),
        ("  Where   is  imap2 ", "where", {"vm": "imap2"}),
        ("\u201cwhere is ldap3\u201d", "where", {"vm": "ldap3"}),
        ("migrate imap2 to host07", "migrate", {"vm": "imap2", "host": "host07"}),
        ("migrate imap2", "migrate", {"vm": "imap2"}),
        ("migrate imap2 to host07 force", "migrate", {"vm": "imap2", "host": "host07", "force": "force"}),
        ("evacuate host07", "evacuate", {"host": "host07"}),
        ("maintenance host07 off", "maintenance", {"host": "host07", "mode": "off"}),
        ("recover host07", "recover", {"host": "host07"}),
        ("check", "check", {}),
        ("show web1", "show", {"vm": "web1"}),
        ("list", "list", {}),
        ("list on host07", "list", {"host": "host07"}),
        ("list in ldap", "list", {"cluster": "ldap"}),
        ("list shutoff", "list", {"state": "shutoff"}),
        ("list paused", "list", {"state": "paused"}),
        ("hosts", "hosts", {}),
        ("host host03", "host", {"host": "host03"}),
        ("start dns1", "start", {"vm": "dns1"}),
        ("shutdown dns1", "shutdown", {"vm": "dns1"}),
        ("destroy dns1", "destroy", {"vm": "dns1"}),
        ("save dns1", "save", {"vm": "dns1"}),
        ("audit", "audit", {}),
        ("audit imap2", "audit", {"filters": "imap2"}),
        ("audit host07 by bob since 2h failed", "audit", {"filters": "host07 by bob since 2h failed"}),
        ("help", "help", {}),
        ("help migrate", "help", {"command": "migrate"}),
        ("refresh", "refresh", {}),
    ],
)
def test_parses(text, name, args):
    assert parse(text) == Command(name, args)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("migrate imap2 on host07", "Usage: migrate VM [to HOST] [force]"),
        ("migrate imap2 host07", "Usage: migrate VM [to HOST] [force]"),
        ("list on", "Usage: list [running|shutoff|paused] [NAME*] [on HOST | in CLUSTER]"),
        ("mgirate imap2 to host07", "Did you mean 'migrate'?"),
        ("strat web1", "Did you mean 'start'?"),
        ("", "Say a command"),
        ("frobnicate the cluster", "I don't know 'frobnicate'. Try 'help'"),
    ],
)
def test_explains_what_to_type(text, expected):
    with pytest.raises(ParseError, match=re.escape(expected)):
        parse(text)


def test_canonical_form_reads_like_the_command():
    assert parse("MIGRATE imap2   to host07").canonical() == "migrate imap2 to host07"
    assert parse("locate ldap3").canonical() == "where is ldap3"


def test_every_command_has_help_examples_that_parse():
    for spec in COMMANDS:
        assert spec.help.endswith(".")
        for example in spec.examples:
            assert parse(example).name == spec.name


@pytest.mark.parametrize(("text", "name", "args"), [
    ("status ldap3", "show", {"vm": "ldap3"}),
    ("info ldap3", "show", {"vm": "ldap3"}),
    ("ls", "list", {}),
    ("vms on host05", "list", {"host": "host05"}),
    ("list shut off", "list", {"state": "shutoff"}),
    ("list stopped in ldap", "list", {"state": "shutoff", "cluster": "ldap"}),
    ("list running on host05", "list", {"state": "running", "host": "host05"}),
    ("list web*", "list", {"pattern": "web*"}),
    ("list running web* on host05", "list", {"state": "running", "pattern": "web*", "host": "host05"}),
    ("set web2 mem 3G", "set", {"vm": "web2", "size": "3G"}),
    ("set web2 ram 3G", "set", {"vm": "web2", "size": "3G"}),
    ("set web2 cpus 4", "set", {"vm": "web2", "count": "4"}),
    ("maintenance host07 off", "maintenance", {"host": "host07", "mode": "off"}),
])
def test_aliases_and_synonyms_are_the_commands_they_stand_for(text, name, args):
    assert parse(text) == Command(name, args)


@pytest.mark.parametrize("word", ["stat", "state", "stats", "staus"])
def test_a_way_of_asking_is_never_answered_with_a_change(word):
    with pytest.raises(ParseError) as caught:
        parse(f"{word} ldap3")
    assert "start" not in str(caught.value)
    assert "Did you mean 'show'?" in str(caught.value)


def test_help_explains_an_alias_as_its_command(chat):
    chat.send("help status")
    assert chat.transcript.startswith("show VM\n  Show a VM's configuration")
