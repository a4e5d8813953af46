"""Waiting confirmations are taken at most once, expire on time, and VMs are held by one operation."""

from __future__ import annotations

from bot.pending import Waiting
from bot.vmlocks import Busy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_item_is_taken_once():
    waiting = Waiting[str](ttl=60, clock=Clock())
    waiting.add("a", "migrate")
    assert waiting.claim("a", may=lambda _: True) == ("migrate", "taken")
    assert waiting.claim("a", may=lambda _: True) == (None, "gone")


def test_a_refused_claim_leaves_it_waiting_with_its_expiry_unchanged():
    clock = Clock()
    waiting = Waiting[str](ttl=60, clock=clock)
    waiting.add("a", "migrate")
    clock.now = 50
    assert waiting.claim("a", may=lambda _: False) == ("migrate", "refused")
    clock.now = 61
    assert waiting.claim("a", may=lambda _: True) == ("migrate", "expired")
    assert waiting.claim("a", may=lambda _: True) == (None, "gone")


def test_expired_items_are_swept_and_settled_ones_remembered():
    clock = Clock()
    waiting = Waiting[str](ttl=60, clock=clock)
    waiting.add("a", "old")
    clock.now = 30
    waiting.add("b", "new")
    clock.now = 70
    assert waiting.expired() == ["old"]
    waiting.settle("b", "confirmed by bob")
    assert waiting.how_settled("b") == "confirmed by bob"
    assert waiting.claim("b", may=lambda _: True) == (None, "gone")


def test_a_vm_is_held_by_one_operation_at_a_time():
    clock = Clock()
    busy = Busy(clock=clock)
    assert busy.hold("imap2", who="bob", what="migrate imap2 to host07") is None
    clock.now = 12
    holder = busy.hold("IMAP2", who="carol", what="destroy imap2")
    assert holder is not None
    assert busy.busy_message("imap2", holder) == (
        "imap2 is busy: bob is running 'migrate imap2 to host07' (for 12 s). "
        "Nothing was done; try again when it has finished.")
    busy.release("imap2")
    assert busy.hold("imap2", who="carol", what="destroy imap2") is None
