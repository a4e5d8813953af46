"""A build holds the cyclic garbage collector off and collects once at its end, leaving it as it found it."""

from __future__ import annotations

import gc
import weakref

import pytest

from sitegen.build import one_collection


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the garbage collector frees it


def test_cycles_made_during_a_build_are_freed_when_it_ends() -> None:
    assert gc.isenabled()
    with one_collection():
        assert not gc.isenabled()
        cycle = weakref.ref(Node())
        assert cycle() is not None
    assert gc.isenabled()
    assert cycle() is None


def test_a_failed_build_turns_the_collector_back_on() -> None:
    with pytest.raises(RuntimeError), one_collection():
        raise RuntimeError("mkdocs failed")
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    try:
        with one_collection():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
