"""What an action gets to work with, and what a change returns before it is confirmed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.fleet import FleetConfig
from bot.reply import Reply
from hypervisor.farm import Farm
from inventory import Inventory

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Context:
    """The farm, the inventory and the person asking, for one command."""

    config: FleetConfig
    farm: Farm
    inventory: Inventory
    user: str
    role: str
    now: Callable[[], datetime]
    should_stop: Callable[[], bool] = lambda: False  # asked between the steps of a change (Ctrl-C, SIGTERM)
    channel: str = "console"  # where the person asked (who may see private audit entries)


@dataclass(frozen=True)
class Plan:
    """A checked change: exactly what will happen, and the step that does it once confirmed."""

    preview: str
    vm: str
    hosts: tuple[str, ...]
    run: Callable[[Progress], Reply]
    destructive: bool = False
    holds: tuple[str, ...] = ()  # what no other operation may touch meanwhile, if more than `vm`

    @property
    def held(self) -> tuple[str, ...]:
        """The names the engine holds while the change runs: `holds`, else the VM."""
        return self.holds or ((self.vm,) if self.vm else ())


class UnknownName(LookupError):
    """A VM, host, cluster or command name that does not exist; the message suggests one that does."""
