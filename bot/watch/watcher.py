"""The watcher: events and polls into the picture, the picture into conditions, conditions into alerts.

`evaluate` and `poll` are plain calls (tests drive them with an injected
clock); `start` runs them in two threads of its own: one evaluates whenever
the picture changes or a pending condition falls due, one polls every host
every `facts_interval`. Together with the event hub's threads that is a
fixed number of threads for any farm size (README, "Watching the farm").
Given an alert file, the tracker remembers its alerts across restarts, and
the first poll recalls what they knew that a first look cannot see.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.watch.conditions import Busy, Drift, Ours, evaluate, nothing_busy, unknown_while_silent
from bot.watch.model import Condition, Rules
from bot.watch.picture import Change, Picture
from bot.watch.tracker import Alert, AlertStore, Tracker, Transition
from bot.watch.words import first_look
from hypervisor.deadline import call_all
from hypervisor.event_hub import EventHub, Keepalive
from hypervisor.farm import Farm
from hypervisor.host_model import Host
from hypervisor.model import VM, VMState
from hypervisor.threads import start_thread

log = logging.getLogger("granja.watch")
DECIDE_SECONDS = 10.0  # after this, a change no operation of granja's claims is outside granja
REEVALUATE = 30.0  # seconds: with nothing heard, evaluate this often (notices expire, drift appears)


class Sink(Protocol):
    """Where alerts go: the console, the Slack channel, the audit, the metrics."""

    def alert(self, transition: Transition) -> None:
        """Show or record what happened to an alert."""
        ...


@dataclass(frozen=True)
class WatchSettings:
    """How the watcher runs: poll interval, keepalive, reconnect backoff, thread budget."""

    facts_interval: float = 60.0
    keepalive: Keepalive = Keepalive()
    backoff: tuple[float, float] = (1.0, 30.0)
    poll_workers: int = 8
    open_workers: int = 8
    events: bool = True  # keep event connections (off: polls only)


class Watcher:
    """Watches every host of a farm and hands alert transitions to its sinks."""

    def __init__(self, *, farm: Farm, uris: Mapping[str, str], rules: Rules, ours: Ours,
                 drift: Drift | None = None, sinks: Sequence[Sink] = (),
                 settings: WatchSettings = WatchSettings(), clock: Callable[[], float] = time.time,
                 file: AlertStore | None = None, busy: Busy = nothing_busy) -> None:
        self.farm, self.rules, self.settings = farm, rules, settings
        self._busy = busy
        self.clock = clock
        self.picture = Picture(uris)
        self.tracker = Tracker(rules, file)
        self.sinks = list(sinks)
        self._ours = _Decided(ours, clock)
        self._drift = _CachedDrift(drift) if drift is not None else None
        self._hub_down: set[str] = set()
        self._reread: set[str] = set()  # hosts back up, to be read again
        self._rereading = False
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._evaluating = threading.Lock()
        self.hub = EventHub(uris, on_domain=self._domain, on_host=self._host, keepalive=settings.keepalive,
                            timeout=farm.timeout, open_workers=settings.open_workers,
                            backoff=settings.backoff) if settings.events else None
        self.conditions: list[Condition] = []
        # Transitions for the sinks, and calls to make once those before them are delivered; set once started.
        self._outbox: queue.SimpleQueue[Transition | Callable[[], None]] | None = None
        self.on_poll: Callable[[float], None] | None = None
        """Called with each full poll's duration in seconds (the metrics)."""
        self.on_started: Callable[[str], None] | None = None
        """Called, once started, with what the first evaluation found (after its alerts reached the sinks)."""

    # -- what the hosts say ------------------------------------------------------

    def _domain(self, host: str, vm: str, state: VMState | None, cause: str) -> None:
        self.picture.domain_event(host, vm, state, cause, self.clock())
        self._poke()

    def _host(self, host: str, up: bool, reason: str) -> None:
        if up:
            self._hub_down.discard(host)
            if self.picture.host_up(host) and not self._stopping.is_set():
                self._read_again(host)
        else:
            self._hub_down.add(host)
            self.picture.host_down(host, reason, self.clock())
        self._poke()

    def _read_again(self, host: str) -> None:
        """What changed while we could not hear the host: read it again, off the event thread.

        Hosts coming back together are read in one poll by one thread, not a thread each.
        """
        with self._changed:
            self._reread.add(host)
            if self._rereading:
                return
            self._rereading = True
        start_thread(self._reread_loop, name="watch-reread")

    def _reread_loop(self) -> None:
        while True:
            with self._changed:
                hosts, self._reread = sorted(self._reread), set()
                if not hosts:
                    self._rereading = False
                    return
            try:
                self.poll(hosts=hosts)
            except Exception:
                log.exception("reading %s again failed", ", ".join(hosts))

    def poll(self, hosts: Sequence[str] | None = None, *, first: bool = False) -> None:
        """Read every answering host's description and VMs (all hosts on the first poll)."""
        begun = time.monotonic()
        names = list(hosts) if hosts is not None else [h for h in self.farm.host_names
                                                       if first or h not in self._hub_down]
        outcomes = call_all({name: (lambda n=name: self.farm.call(n, _read)) for name in names},
                            seconds=self.farm.timeout + 1, workers=self.settings.poll_workers)
        now = self.clock()
        for name, outcome in outcomes.items():
            if outcome.error is not None or outcome.value is None:
                self.picture.host_down(name, _reason(outcome.error), now)
                continue
            described, vms = outcome.value
            if first:
                self.picture.seed(name, described, vms)
            else:
                self.picture.host_polled(name, described, vms, now)
            if name not in self._hub_down:
                self.picture.host_up(name)
        if first:
            self._recall()
        self._poke()
        if hosts is None and self.on_poll is not None:
            self.on_poll(time.monotonic() - begun)

    def _recall(self) -> None:
        """Tell the picture what remembered alerts knew: changes, silent hosts' since and VMs they ran."""
        firing = [alert.condition for alert in self.tracker.alerts() if alert.firing]
        hosts = [c for c in firing if c.kind == "host_unreachable"]
        self.picture.recall([c.change for c in firing if c.change is not None],
                            down={c.subject: c.since for c in hosts}, ran={c.subject: c.vms for c in hosts})

    # -- conditions into alerts ----------------------------------------------------

    def evaluate(self) -> list[Transition]:
        """Evaluate the picture now and hand every alert transition to the sinks."""
        with self._evaluating:
            now = self.clock()
            snap = self.picture.snapshot()
            self.conditions = evaluate(snap, self.rules, now=now, ours=self._ours, drift=self._drift,
                                       busy=self._busy)
            transitions = self.tracker.step(self.conditions, now, unknown_while_silent(snap))
        for transition in transitions:
            self.tell(transition)
        return transitions

    def acknowledge(self, alert_id: str, *, by: str) -> Alert | None:
        """Record an acknowledgement and tell the sinks; None if the alert is not known."""
        alert = self.tracker.acknowledge(alert_id, by=by, now=self.clock())
        if alert is not None:
            self.tell(Transition("acknowledged", alert))
        return alert

    def tell(self, transition: Transition) -> None:
        """Hand a transition to the sinks: at once, or (once started) through the sending thread."""
        if self._outbox is not None:
            self._outbox.put(transition)
        else:
            self._deliver([transition])

    def _when_delivered(self, call: Callable[[], None]) -> None:
        """Make `call` once every transition handed out so far has reached the sinks."""
        if self._outbox is not None:
            self._outbox.put(call)
        else:
            call()

    def _deliver(self, batch: list[Transition]) -> None:
        """Every transition to every sink (a sink with `alerts` takes the batch); failures are logged."""
        for sink in self.sinks:
            try:
                many = getattr(sink, "alerts", None)
                if many is not None:
                    many(batch)
                else:
                    for transition in batch:
                        sink.alert(transition)
            except Exception:
                log.exception("alert sink %r failed on %s", sink, batch[0].alert.condition.key)

    def _send_loop(self) -> None:
        """Sinks are slow (Slack, the audit file): evaluation never waits for them; a burst goes at once."""
        assert self._outbox is not None
        while not self._stopping.is_set() or not self._outbox.empty():
            try:
                taken = [self._outbox.get(timeout=0.5)]
            except queue.Empty:
                continue
            while len(taken) < 500:
                try:
                    taken.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            batch: list[Transition] = []
            for item in taken:
                if isinstance(item, Transition):
                    batch.append(item)
                    continue
                if batch:
                    self._deliver(batch)
                    batch = []
                item()
            if batch:
                self._deliver(batch)

    # -- running ---------------------------------------------------------------------

    def start(self) -> None:
        """First poll, then events, evaluations and polls in the background."""
        self.poll(first=True)
        if self._stopping.is_set():  # stopped while the first poll ran (start in a thread of its own)
            return
        self._outbox = queue.SimpleQueue()
        if self.hub is not None:
            self.hub.start()
        for target, name in ((self._evaluate_loop, "watch-evaluate"), (self._poll_loop, "watch-poll"),
                             (self._send_loop, "watch-send")):
            self._threads.append(start_thread(target, name=name))

    def stop(self) -> None:
        """Stop watching; connections are closed."""
        self._stopping.set()
        self._poke()
        if self.hub is not None:
            self.hub.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    def _poke(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _evaluate_loop(self) -> None:
        """Evaluate when the picture changed or a pending condition falls due; else every REEVALUATE s."""
        seen = self.picture.version
        first = self._evaluate_safely()
        self._when_delivered(lambda: self._started(first))
        while not self._stopping.is_set():
            with self._changed:
                now = self.clock()
                due = self.tracker.next_due(now)
                wait = REEVALUATE if due is None else max(0.0, min(REEVALUATE, due - now))
                if self.picture.version == seen and wait > 0:
                    self._changed.wait(timeout=wait)
            seen = self.picture.version
            self._evaluate_safely()

    def _evaluate_safely(self) -> list[Transition]:
        try:
            return self.evaluate()
        except Exception:
            log.exception("evaluating the farm's conditions failed")
            return []

    def _started(self, transitions: list[Transition]) -> None:
        """Say what the first evaluation found (`on_started`)."""
        if self.on_started is not None:
            self.on_started(self.first_look(transitions))

    def first_look(self, transitions: list[Transition]) -> str:
        """What the first evaluation (`transitions`) found, in words, with the hosts not heard yet."""
        unheard = sorted(h.name for h in self.picture.snapshot().hosts.values() if not h.heard)
        return first_look(len(self.farm.host_names), self.tracker.alerts(), self.tracker.remembered,
                          transitions, unheard=unheard)

    def _poll_loop(self) -> None:
        while not self._stopping.wait(self.settings.facts_interval):
            try:
                self.poll()
            except Exception:
                log.exception("polling the hosts failed")


def _read(driver: object) -> tuple[Host, list[VM]]:
    return driver.describe(), driver.list_vms()  # type: ignore[attr-defined]


def _reason(error: BaseException | None) -> str:
    reason = getattr(error, "reason", None)
    return str(reason or error or "no answer")


class _Decided:
    """Whose a change was, asked once it is settled: granja's at once, outside once old enough.

    Asking means probing lock files and reading the audit, so it is not repeated at every
    evaluation for a VM that stays stopped. "Not granja's" is final only after DECIDE_SECONDS,
    when an operation that made it has either still its locks or its audit entry written.
    """

    def __init__(self, ours: Ours, clock: Callable[[], float]) -> None:
        self._ours, self._clock = ours, clock
        self._known: dict[Change, bool] = {}

    def __call__(self, change: Change) -> bool:
        known = self._known.get(change)
        if known is not None:
            return known
        mine = self._ours(change)
        if mine or self._clock() - change.at > DECIDE_SECONDS:
            if len(self._known) > 100_000:  # old changes are not asked about again
                self._known.clear()
            self._known[change] = mine
        return mine


class _CachedDrift:
    """Drift per VM, computed again only when the VM's configuration object changed."""

    def __init__(self, drift: Drift) -> None:
        self._drift = drift
        self._cache: dict[str, tuple[VM, list[str]]] = {}

    def __call__(self, vm: VM) -> list[str]:
        cached = self._cache.get(vm.name)
        if cached is not None and (cached[0] is vm or replace(cached[0], state=vm.state) == vm):
            return cached[1]
        fields = self._drift(vm)
        self._cache[vm.name] = (vm, fields)
        return fields
