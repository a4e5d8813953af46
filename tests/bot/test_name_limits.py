"""Names too long for libvirt's files and granja's lock files are refused clearly, and audited."""

from __future__ import annotations

import pytest

from bot.parser import MAX_NAME
from bot.results import Outcome


@pytest.mark.parametrize("text", ["shutdown {}", "destroy {}", "migrate {} to host03", "create {} from web",
                                  "evacuate {}"])
def test_an_over_long_name_is_a_clear_refusal_with_an_audit_entry(chat, text):
    name = "a" * 260
    reply = chat.send(text.format(name))
    assert reply.outcome is Outcome.USAGE
    assert chat.transcript == (f"That name is 260 characters long; names can be at most {MAX_NAME} "
                               "(libvirt's files and granja's locks are named after them).")
    entry = chat.engine.inventory.audit(limit=1)[0]
    assert entry.outcome == "usage"


def test_a_name_at_the_limit_is_looked_up_as_usual(chat):
    reply = chat.send(f"shutdown {'b' * MAX_NAME}")
    assert reply.outcome is Outcome.FAILED
    assert "No VM" in chat.transcript or "no VM" in chat.transcript
