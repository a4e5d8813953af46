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
        ("migrate imap2 on host07", "Usage: migrate VM to HOST"),
        ("migrate imap2 host07", "Usage: migrate VM to HOST"),
        ("list on", "Usage: list | list on HOST"),
        ("mgirate imap2 to host07", "Did you mean 'migrate'?"),
        ("strat web1", "Did you mean 'start'?"),
        ("", "Say a command"),
        ("frobnicate the cluster", "I don't know 'frobnicate'. Try 'help'"),
    ],
)
def test_explains_what_to_type(text, expected):
    with pytest.raises(ParseError, match=expected.replace("|", r"\|").replace("?", r"\?")):
        parse(text)


def test_canonical_form_reads_like_the_command():
    assert parse("MIGRATE imap2   to host07").canonical() == "migrate imap2 to host07"
    assert parse("locate ldap3").canonical() == "where is ldap3"


def test_every_command_has_help_examples_that_parse():
    for spec in COMMANDS:
        assert spec.help.endswith(".")
        for example in spec.examples:
            assert parse(example).name == spec.name
