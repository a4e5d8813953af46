"""Replies as a copy editor would have them: said once, in the past tense, plurals right, all names."""

from __future__ import annotations

import pytest

from bot.results import Outcome
from hypervisor.words import listed, plural


@pytest.mark.parametrize(("names", "text"), [
    (["host03"], "host03"),
    (["a", "b"], "a and b"),
    (["host03", "host06", "host09", "host11", "host13"], "host03, host06, host09, host11 and host13"),
    ([f"host{i:02}" for i in range(1, 11)], "host01, host02, host03, host04 and 6 more"),
])
def test_every_name_is_given_when_naming_it_costs_no_more_room(names, text):
    assert listed(names) == text


def test_plurals_agree_with_their_count():
    assert [plural(n, "finding") for n in (0, 1, 2)] == ["0 findings", "1 finding", "2 findings"]


def test_a_start_of_a_running_vm_says_once_that_nothing_changed(chat):
    chat.send("start ldap1")
    host = chat.engine.inventory.vm("ldap1").vm.host
    assert chat.transcript == f"ldap1 is already running on {host}; nothing was changed."


def test_a_cancelled_change_reads_as_a_sentence(chat):
    reply = chat.send("migrate ldap1", confirm=False)
    assert reply.outcome is Outcome.CANCELLED
    last = chat.transcript.splitlines()[-1]
    assert last == "Nothing was done: 'migrate ldap1' was not confirmed (add --yes to confirm)."


def test_a_migration_result_says_what_happened_not_what_will(chat):
    chat.send("migrate ldap1")
    result = chat.transcript.split("ldap1 moved from", 1)[1]
    assert "will be" not in result
    assert "Chosen:" not in result
    assert result.rstrip().endswith("now running on " + chat.engine.inventory.vm("ldap1").vm.host + ".")


def test_check_and_its_count_use_people_words(chat):
    chat.send("set web2 memory 3G")
    reply = chat.send("check")
    assert reply.summary == f"{len(reply.body.findings)} finding" + "s" * (len(reply.body.findings) != 1)
    assert "web2 differs from its baseline in 1 field: memory" in chat.transcript
    assert "memory_mib" not in chat.transcript
    chat.send("diff web2")
    assert "1 difference:\n  memory: 4 GiB → 3 GiB" in chat.transcript


def test_the_site_writes_memory_and_sizes_as_the_chat_does():
    from hypervisor.model import gib, size_text
    from sitegen.markdown import environment, size

    assert environment().filters["mib"](14848) == gib(14848) == "14.5 GiB"
    assert size(20 * 2**30) == size_text(20 * 2**30) == "20 GiB"
    assert size(512 * 2**20) == "512 MiB"
