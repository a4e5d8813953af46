"""The whole farm: every host call with a deadline, many hosts at once, VMs found wherever they run."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from hypervisor.deadline import call_all, call_with_deadline
from hypervisor.errors import HostNotFound, HostUnreachable, HypervisorError
from hypervisor.interface import HostDriver
from hypervisor.model import VM, VMState

if TYPE_CHECKING:
    from hypervisor.host_model import Host

T = TypeVar("T")


@dataclass(frozen=True)
class Survey:
    """What every host said at one moment: the farm's hosts and VMs, and who did not answer."""

    hosts: dict[str, Host]
    vms: list[VM]
    unreachable: dict[str, str]  # host -> reason
    strays: dict[str, tuple[str, ...]]  # VM -> hosts holding a second definition
    seconds: float
    copies: list[VM] = field(default_factory=list)  # every definition seen, strays included


@dataclass(frozen=True)
class Location:
    """Where a VM is as the hosts say now (vm is None if no answering host has it)."""

    vm: VM | None
    strays: tuple[str, ...] = ()  # other hosts holding a definition of it (empty if only `hint` was asked)
    unreachable: dict[str, str] = field(default_factory=dict)
    running: tuple[str, ...] = ()  # of the strays, those where another copy runs too (split brain)
    searched: bool = False  # whether every host was asked: only then are `strays` and `running` complete


def locate(name: str, copies: list[VM], unreachable: dict[str, str], *,
           prefer: str | None = None) -> Location:
    """A VM's Location from every definition of it the answering hosts hold (see `_settle`)."""
    vms, strays = _settle([vm for vm in copies if vm.name == name], prefer=prefer)
    chosen = vms[0] if vms else None
    running = tuple(vm.host for vm in copies if chosen is not None and chosen.state.active
                    and vm.state.active and vm.host != chosen.host)
    return Location(vm=chosen, strays=strays.get(name, ()), unreachable=unreachable, running=running,
                    searched=True)


class Farm:
    """All hosts of the farm, each call bounded by the per-host timeout."""

    def __init__(
        self,
        drivers: Mapping[str, HostDriver],
        *,
        timeout: float,
        workers: int = 32,
        shutdown_timeout: float = 120.0,
    ) -> None:
        self._drivers = dict(drivers)
        self.timeout = timeout
        self.workers = workers
        self.shutdown_timeout = shutdown_timeout

    @property
    def host_names(self) -> list[str]:
        """Every host's name, as the configuration lists them."""
        return list(self._drivers)

    def driver(self, host: str) -> HostDriver:
        """The driver of one host."""
        try:
            return self._drivers[host]
        except KeyError:
            raise HostNotFound(host) from None

    def call(self, host: str, call: Callable[[HostDriver], T], *, seconds: float | None = None) -> T:
        """Run one call against one host, within the per-host timeout (or `seconds`)."""
        driver = self.driver(host)
        return call_with_deadline(host, lambda: call(driver), seconds or self.timeout)

    def survey(self) -> Survey:
        """Ask every host, concurrently, for its description and its VMs."""
        begun = time.monotonic()
        outcomes = call_all(
            {name: (lambda d=d: (d.describe(), d.list_vms())) for name, d in self._drivers.items()},
            seconds=self.timeout, workers=self.workers,
        )
        hosts: dict[str, Host] = {}
        unreachable: dict[str, str] = {}
        seen: list[VM] = []
        for name, outcome in outcomes.items():
            if outcome.error is not None or outcome.value is None:
                unreachable[name] = _reason(name, outcome.error)
                continue
            hosts[name], vms = outcome.value
            seen.extend(vms)
        vms, strays = _settle(seen)
        return Survey(hosts=hosts, vms=vms, unreachable=unreachable, strays=strays,
                      seconds=time.monotonic() - begun, copies=seen)

    def find(self, name: str, *, hint: str | None = None, prefer: str | None = None) -> Location:
        """Find a VM: on `hint` first (where the inventory last saw it), else on every host.

        Of copies none of which runs, the one on `prefer` (else on `hint`) is chosen.
        """
        if hint in self._drivers:
            try:
                vm = self.call(hint, lambda d: d.find_vm(name))
            except HypervisorError:
                vm = None
            if vm is not None and vm.state.active:
                return Location(vm=vm)
        found, unreachable = self.definitions(name)
        return locate(name, found, unreachable, prefer=prefer or hint)

    def definitions(self, name: str) -> tuple[list[VM], dict[str, str]]:
        """Every definition of a VM on every answering host (concurrently), and who did not answer."""
        outcomes = call_all(
            {host: (lambda d=d: d.find_vm(name)) for host, d in self._drivers.items()},
            seconds=self.timeout, workers=self.workers,
        )
        found = [o.value for o in outcomes.values() if o.error is None and o.value is not None]
        unreachable = {h: _reason(h, o.error) for h, o in outcomes.items() if o.error is not None}
        return found, unreachable

    def lifecycle(self, host: str, name: str, action: str) -> VM:
        """Run a lifecycle action; `shutdown` waits for the guest to power off."""
        vm = self.call(host, lambda d: d.lifecycle(name, action))
        if action == "shutdown":
            vm = self._wait_for_off(host, vm)
        return vm

    def reboot(self, host: str, name: str) -> VM:
        """Reboot a VM and wait, within the shutdown timeout, until it has (NotRebooted otherwise)."""
        seconds = self.shutdown_timeout
        return self.call(host, lambda d: d.reboot(name, seconds), seconds=seconds + self.timeout)

    def _wait_for_off(self, host: str, vm: VM) -> VM:
        """Wait for the host's "stopped" event: the call's deadline is the shutdown timeout."""
        if vm.state is VMState.SHUTOFF:
            return vm
        name, seconds = vm.name, self.shutdown_timeout
        vm = self.call(host, lambda d: d.wait_for_off(name, seconds), seconds=seconds + self.timeout)
        if vm.state is not VMState.SHUTOFF:
            raise HypervisorError(
                f"{vm.name} was asked to shut down but is still {vm.state.value} after "
                f"{seconds:g} s. Use 'destroy {vm.name}' to force it off."
            )
        return vm


def _settle(seen: list[VM], *, prefer: str | None = None) -> tuple[list[VM], dict[str, tuple[str, ...]]]:
    """Keep one record per VM name: the active one, else the one on `prefer`, else the first; others: strays.

    `prefer` is where the inventory has the VM: a look at a VM defined on two hosts, none running,
    does not move it in the inventory (which copy is current is `repair`'s question).
    """
    by_name: dict[str, list[VM]] = {}
    for vm in seen:
        by_name.setdefault(vm.name, []).append(vm)
    chosen: list[VM] = []
    strays: dict[str, tuple[str, ...]] = {}
    for name, copies in by_name.items():
        copies.sort(key=lambda v: (not v.state.active, v.host != prefer, v.host))
        chosen.append(copies[0])
        if len(copies) > 1:
            strays[name] = tuple(v.host for v in copies[1:])
    return chosen, strays


def _reason(host: str, error: BaseException | None) -> str:
    if isinstance(error, HostUnreachable):
        return error.reason
    return str(error) if error is not None else "no answer"
