"""Rolling operations on a cluster: reboot, restart or move its members a few at a time, never more.

A rolling run takes one batch of members (one by default) through the action, waits until
each is running again and, where the cluster declares a health port, until a TCP connection
to it succeeds on the member's address; only then does it take the next batch. A reboot
counts only once the host shows that the guest did reboot (`Farm.reboot`: a rebooting guest
never stops being "running"); its health check starts after that, so an answer comes from
the new instance (the port need not be seen closed in between, which a quick reboot would
make a matter of luck). A guest that ignores the request fails its turn: 'rolling restart'
is the way for it. Before each batch the run checks live that enough of the cluster runs to
take the batch down. Any failure stops the run: the failed member is left as it was (a member
that was up is started again where a step stopped it), later members are not touched, and
the summary says which is which.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from hypervisor.errors import HypervisorError, NotRebooted
from hypervisor.farm import Farm
from hypervisor.interface import Progress, Turn
from hypervisor.migration import migrate, plan_migration
from hypervisor.model import VM, VMState

ACTIONS = ("reboot", "restart", "migrate")


@dataclass(frozen=True)
class Health:
    """A TCP port that answers when a member's service is up, and how long to wait for it.

    `address` is where to connect, `{vm}` standing for the member's name (a DNS name such as
    `{vm}.mail.example.org`); empty, the member's addresses as its host knows them.
    """

    port: int
    timeout: float = 120.0
    address: str = ""

    @classmethod
    def parse(cls, spec: str, timeout: float = 120.0) -> Health:
        """A health check written `tcp:PORT` or `tcp:ADDRESS:PORT`; ValueError when it is neither."""
        kind, _, rest = spec.partition(":")
        address, _, port = rest.rpartition(":")
        if kind != "tcp" or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"'{spec}' is not a health check: write tcp:PORT or tcp:ADDRESS:PORT, "
                             "for example tcp:993 or tcp:{vm}.mail.example.org:993")
        try:
            address.format(vm="x")
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"'{spec}': the address may only use {{vm}}, the member's name") from None
        return cls(port=int(port), timeout=timeout, address=address)

    def where(self, vm: VM, known: Callable[[VM], Sequence[str]]) -> Sequence[str]:
        """The addresses to try for a member: the configured one, else those its host knows."""
        return [self.address.format(vm=vm.name)] if self.address else known(vm)


@dataclass(frozen=True)
class Step:
    """One member's turn: the VM as planned, and for a move the host it goes to."""

    vm: VM
    target: str = ""


@dataclass(frozen=True)
class RollingPlan:
    """What a rolling run will do: the batches in order, how many may be down, what is checked."""

    cluster: str
    action: str  # reboot | restart | migrate
    batches: tuple[tuple[Step, ...], ...]
    min_running: int
    health: Health | None = None
    force_off: bool = False  # restart: power off a member that does not shut down in time


@dataclass
class Rolled:
    """How a rolling run went: members done, the one that failed (with why), those not tried."""

    done: list[tuple[str, str]] = field(default_factory=list)  # (member, what happened)
    failed: tuple[str, str] | None = None  # (member, why, and where it is now)
    not_tried: list[str] = field(default_factory=list)
    stopped: str = ""  # why the run stopped before a batch without a member failing


Addresses = Callable[[VM], Sequence[str]]
MemberDone = Callable[[VM, Literal["ok", "failed"], str], None]  # (VM now, outcome, what) after each member


def roll(farm: Farm, plan: RollingPlan, progress: Progress, *, addresses: Addresses,
         running_count: Callable[[], int], member_done: MemberDone,
         should_stop: Callable[[], bool] = lambda: False) -> Rolled:
    """Carry out the plan batch by batch (a batch's members at once); stop after a batch with a failure.

    A failed member is put back as it was (started again if a step left it off); `member_done`
    hears of each member's turn as it ends.
    """
    rolled = Rolled()
    batches = list(plan.batches)
    for number, batch in enumerate(batches, 1):
        remaining = [step.vm.name for later in batches[number - 1:] for step in later]
        if should_stop():
            rolled.stopped, rolled.not_tried = "interrupted", remaining
            return rolled
        running = running_count()
        if plan.action != "migrate" and running - len(batch) < plan.min_running:
            rolled.stopped = (f"only {running} members of {plan.cluster} run now; taking down "
                              f"{len(batch)} more would leave fewer than {plan.min_running}")
            rolled.not_tried = remaining
            return rolled
        names = tuple(step.vm.name for step in batch)
        progress(Turn(f"{number}/{len(batches)}: {plan.action} {', '.join(names)}", names))
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:  # N down means N at once
            turns = list(pool.map(lambda step: _turn(farm, plan, step, progress, addresses), batch))
        for step, (vm, outcome, what) in zip(batch, turns, strict=True):
            member_done(vm, outcome, what)
            if outcome == "ok":
                rolled.done.append((step.vm.name, what))
            elif rolled.failed is None:
                rolled.failed = (step.vm.name, what)
            else:  # a second failure in the same batch: say it too, as not done
                rolled.not_tried.append(f"{step.vm.name} (also failed: {what})")
        if rolled.failed is not None:
            rolled.not_tried += [s.vm.name for later in batches[number:] for s in later]
            return rolled
    return rolled


def _turn(farm: Farm, plan: RollingPlan, step: Step, progress: Progress,
          addresses: Addresses) -> tuple[VM, Literal["ok", "failed"], str]:
    """One member's turn: the action, then running again and healthy; on failure, put back."""
    try:
        vm, what = _act(farm, plan, step, progress)
        _wait_healthy(vm, plan.health, addresses, progress)
    except HypervisorError as exc:
        said = str(exc).rstrip(".")
        return step.vm, "failed", f"{said}. {_put_back(farm, step.vm, plan.action)}"
    return vm, "ok", what


def _act(farm: Farm, plan: RollingPlan, step: Step, progress: Progress) -> tuple[VM, str]:
    """One member through the action; the VM as it is afterwards and what happened, in words."""
    vm, host = step.vm, step.vm.host
    begun = time.monotonic()
    if plan.action == "migrate":
        moved = migrate(farm, plan_migration(farm, _now(farm, vm), step.target), progress)
        return moved.vm, f"moved from {host} to {step.target} ({moved.method}, {moved.seconds:.1f} s)"
    if plan.action == "reboot":
        try:
            farm.reboot(host, vm.name)  # back only once the host shows the guest did reboot
        except NotRebooted as exc:
            raise HypervisorError(f"{exc}; use 'rolling restart'") from exc
    else:
        try:
            farm.lifecycle(host, vm.name, "shutdown")
        except HypervisorError:
            if not plan.force_off:
                raise
            progress(f"{vm.name} did not shut down in time: powering it off")
            farm.lifecycle(host, vm.name, "destroy")
        progress(f"{vm.name} is off; starting it")
        farm.lifecycle(host, vm.name, "start")
    now = _wait_running(farm, vm)
    verb = "rebooted" if plan.action == "reboot" else "shut down and started"
    return now, f"{verb} on {host} ({time.monotonic() - begun:.1f} s)"


def _now(farm: Farm, vm: VM) -> VM:
    """The member as its host reports it now."""
    found = farm.call(vm.host, lambda d: d.find_vm(vm.name))
    if found is None:
        raise HypervisorError(f"{vm.name} is no longer defined on {vm.host}.")
    return found


def _wait_running(farm: Farm, vm: VM) -> VM:
    """Wait, within the shutdown timeout, until the member's host reports it running."""
    deadline = time.monotonic() + farm.shutdown_timeout
    while True:
        now = _now(farm, vm)
        if now.state is VMState.RUNNING:
            return now
        if time.monotonic() > deadline:
            raise HypervisorError(f"{vm.name} is {now.state.value}, not running, {farm.shutdown_timeout:g} s "
                                  f"after it was started.")
        time.sleep(0.2)  # a start or a reboot's new instance may take a moment to show: ask again


def _wait_healthy(vm: VM, health: Health | None, addresses: Addresses, progress: Progress) -> None:
    """Wait until the member's health port accepts a TCP connection, or raise after the timeout."""
    if health is None:
        return
    deadline = time.monotonic() + health.timeout
    tried: Sequence[str] = ()
    while time.monotonic() < deadline:
        tried = health.where(vm, addresses)
        for address in tried:
            try:
                with socket.create_connection((address, health.port), timeout=min(2.0, health.timeout)):
                    progress(f"{vm.name} answers on {address}:{health.port}")
                    return
            except OSError:
                continue
        time.sleep(0.5)  # the service is still coming up: try again until the deadline
    where = f"on {', '.join(tried)}" if tried else "(no address known for it)"
    raise HypervisorError(f"{vm.name} is running but port {health.port} did not answer {where} within "
                          f"{health.timeout:g} s.")


def _put_back(farm: Farm, vm: VM, action: str) -> str:
    """After a failed step: start the member again if a step left it off; say where it is now."""
    try:
        located = farm.find(vm.name, hint=vm.host)
    except HypervisorError as exc:
        return f"Where {vm.name} is now is not known ({exc}); 'where is {vm.name}' once hosts answer."
    now = located.vm
    if now is None:
        return f"{vm.name} is not defined on any host that answers."
    if now.state is not VMState.RUNNING and vm.state is VMState.RUNNING and action != "migrate":
        try:
            farm.lifecycle(now.host, now.name, "start")
        except HypervisorError:
            return f"{now.name} is {now.state.value} on {now.host}: starting it again failed too."
        return f"{now.name} was started again on {now.host}."
    return f"{now.name} is {now.state.value} on {now.host}."
