"""A host that cannot be reached: reported, never a hang, and nothing is half-done."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bot.results import Outcome
from granja.app import open_engine
from tests.conftest import Chat


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port on loopback that accepts connections and never answers (a hung host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


def break_hosts(state, **uris: str) -> None:
    config = state / "demo" / "farm.toml"
    text = config.read_text().replace("host_timeout = 5.0", "host_timeout = 1.0")
    for host, uri in uris.items():
        start = text.index(f"[hosts.{host}]")
        line_start = text.index("uri = ", start)
        line_end = text.index("\n", line_start)
        text = text[:line_start] + f'uri = "{uri}"' + text[line_end:]
    config.write_text(text)


@pytest.fixture
def broken_chat(state, silent_port) -> Chat:
    break_hosts(state, host05=f"qemu+tcp://127.0.0.1:{silent_port}/system",
                host06="test:///nonexistent/host06.xml")
    return Chat(open_engine(config=None, state=str(state)))


def on_host(chat: Chat, host: str) -> str:
    return next(r.vm.name for r in chat.engine.inventory.vms_on(host) if r.vm.state.value == "running"
                and r.name not in chat.engine.config.pinned)  # a pinned VM would not even try to move


def test_refresh_reports_unreachable_hosts_while_others_answer(broken_chat):
    reply = broken_chat.send("refresh")
    assert reply.outcome is Outcome.OK
    assert "Refreshed 13 hosts" in broken_chat.transcript
    assert "host05 (no answer within 1 s)" in broken_chat.transcript
    assert "host06 (" in broken_chat.transcript
    inventory = broken_chat.engine.inventory
    assert inventory.host("host05").unreachable_since is not None
    assert all(r.stale_since is not None for r in inventory.vms_on("host05"))
    assert all(r.stale_since is None for r in inventory.vms_on("host01"))
    broken_chat.send("hosts")
    assert "UNREACHABLE" in broken_chat.transcript


def test_where_answers_from_the_inventory_with_last_seen(broken_chat):
    vm = on_host(broken_chat, "host05")
    reply = broken_chat.send(f"where is {vm}")
    assert reply.outcome is Outcome.OK
    assert broken_chat.transcript.startswith(f"{vm} was last seen on host05 (running) at ")
    assert broken_chat.transcript.endswith("host05 is not answering now: no answer within 1 s")


def test_command_against_unreachable_host_fails_cleanly_and_changes_nothing(broken_chat):
    vm = on_host(broken_chat, "host06")
    before = broken_chat.engine.inventory.vm(vm)
    reply = broken_chat.send(f"shutdown {vm}")
    assert reply.outcome is Outcome.FAILED
    assert broken_chat.transcript.startswith("Host host06 is unreachable")
    assert broken_chat.transcript.endswith("Nothing was changed.")
    assert broken_chat.engine.inventory.vm(vm) == before
    entry = broken_chat.engine.inventory.audit(limit=1)[0]
    assert (entry.text, entry.outcome) == (f"shutdown {vm}", "failed")


def test_migration_to_an_unreachable_host_is_refused_before_anything_starts(broken_chat):
    vm = on_host(broken_chat, "host01")
    reply = broken_chat.send(f"migrate {vm} to host05")
    assert reply.outcome is Outcome.FAILED
    assert "host05 is unreachable" in broken_chat.transcript
    assert broken_chat.engine.farm.driver("host01").find_vm(vm).state.value == "running"
