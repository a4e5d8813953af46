"""A build holds off full garbage collections and runs one at its end, leaving the collector as it was."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import pytest

from sitegen.build import one_collection


@contextmanager
def collections() -> Iterator[list[int]]:
    """The generation of every collection the garbage collector starts meanwhile."""
    seen: list[int] = []

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(heard)
    try:
        yield seen
    finally:
        gc.callbacks.remove(heard)


def busy() -> list[list[int]]:
    """What a build does to the collector: many objects that live on, and cycles dropped as it goes.

    More new objects than half of those the process holds already: a full collection would set off.
    """
    kept = [[n] for n in range(max(400_000, len(gc.get_objects()) // 2))]
    for _ in range(20_000):
        cycle: list[object] = []
        cycle.append(cycle)
    return kept


def run(pause: Callable[[], AbstractContextManager[None]]) -> tuple[list[int], list[int]]:
    with collections() as during:
        with pause():
            busy()
            inside = list(during)
    return inside, during[len(inside):]


def test_a_build_runs_young_collections_only_and_one_full_collection_at_its_end() -> None:
    # The collector is the whole process's: in the suite's process a thread left by another test
    # (a subprocess being forked, a site build) can change what it does meanwhile. A fresh one.
    checked = subprocess.run([sys.executable, "-c", f"import {__name__} as t; t.young_only_then_one_full()"],
                             capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert checked.returncode == 0, checked.stderr


def young_only_then_one_full() -> None:
    """The check itself, run in a fresh interpreter by the test above."""
    thresholds = gc.get_threshold()
    inside, after = run(nullcontext)
    assert 2 in inside  # without the pause, such a build sets off full collections
    inside, after = run(one_collection)
    assert inside
    assert 2 not in inside  # young ones only: the cycles are freed as the build goes
    assert after == [2]
    assert gc.get_threshold() == thresholds


def test_a_failed_build_ends_the_pause() -> None:
    thresholds = gc.get_threshold()
    with pytest.raises(RuntimeError), one_collection():
        raise RuntimeError("mkdocs failed")
    assert gc.get_threshold() == thresholds


def test_builds_at_once_share_the_pause_and_the_last_to_finish_ends_it() -> None:
    thresholds = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with one_collection():
            first_in.set()
            assert second_in.wait(30)
        first_out.set()

    worker = threading.Thread(target=first)
    worker.start()
    assert first_in.wait(30)
    with one_collection():
        second_in.set()
        assert first_out.wait(30)
        with collections() as during:
            busy()
        assert 2 not in during  # the first build's end did not end the second's pause
    worker.join(30)
    assert gc.get_threshold() == thresholds
