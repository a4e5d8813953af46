"""Farm-change benchmarks: planning and carrying out create, set and attach on a 1,000-host farm."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.core import _farm_engine, _refresh, report
from bot.engine import ChatEvent, Engine, Pending
from granja.app import local_user


def _timed(engine: Engine, text: str) -> tuple[float, float, float]:
    """Seconds to plan a change just after the last one was written (the inventory is read again),
    to plan it once more (warm), and to carry it out."""
    user = local_user()
    begun = time.perf_counter()
    first = engine.prepare(ChatEvent(user=user, text=text))
    cold = time.perf_counter() - begun
    assert isinstance(first, Pending), getattr(first, "summary", first)
    engine.cancel(first, by=user)
    begun = time.perf_counter()
    pending = engine.prepare(ChatEvent(user=user, text=text))
    warm = time.perf_counter() - begun
    assert isinstance(pending, Pending)
    begun = time.perf_counter()
    reply = engine.confirm(pending, by=user)
    assert reply.ok, reply.summary
    return cold, warm, time.perf_counter() - begun


def farm_changes(runs: int = 5) -> None:
    """create (cluster inferred), set memory and attach nic on a 1,000-host, 20,000-VM generated farm."""
    with tempfile.TemporaryDirectory() as tmp:
        engine, _ = _farm_engine(Path(tmp), 1000, 20000)
        _refresh(engine)
        names = [f"t{copy:03d}-ldap9" for copy in range(1, runs + 1)]
        for label, texts in (
            ("create t0NN-ldap9", [f"create {name}" for name in names]),
            ("set VM memory", [f"set {name} memory 3G" for name in names]),
            ("attach nic VM vlan 120", [f"attach nic {name} vlan 120" for name in names]),
        ):
            cold, warm, done = (statistics.median(t) * 1000 for t in
                                zip(*(_timed(engine, text) for text in texts), strict=True))
            report(f"{label}, 20,000 VMs", f"plan {cold:.0f} ms ({warm:.0f} warm), do {done:.0f} ms",
                   "plan < 1 s")
