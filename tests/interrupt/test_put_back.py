"""An offline move whose start on the target fails is put back where it was, running as before."""

from __future__ import annotations

from typing import Any

import pytest

from hypervisor.errors import MigrationFailed, OperationFailed
from hypervisor.farm import Farm
from hypervisor.migration import migrate, plan_migration
from hypervisor.model import VM


class RefusesStarts:
    """A real simulated host that fails every 'start' (as a host with a missing bridge does)."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    def lifecycle(self, name: str, action: str) -> VM:
        if action == "start":
            raise OperationFailed(self._driver.name, f"start {name}", "network 'br-dmz' is not active")
        return self._driver.lifecycle(name, action)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._driver, attribute)


def test_a_failed_start_on_the_target_puts_the_vm_back_running(engine):
    source, target = engine.inventory.vm("web1").vm.host, "host09"
    drivers = {h: engine.farm.driver(h) for h in engine.farm.host_names}
    farm = Farm({**drivers, target: RefusesStarts(drivers[target])}, timeout=engine.farm.timeout)
    before = farm.driver(source).find_vm("web1")
    lines: list[str] = []
    with pytest.raises(MigrationFailed, match="web1 is still on " + source):
        migrate(farm, plan_migration(farm, before, target), lines.append)
    assert "shutting web1 down on " + source in " ".join(lines)  # it did leave its source
    after = farm.driver(source).find_vm("web1")
    assert after.state.value == "running"
    assert after.autostart == before.autostart
    assert farm.driver(target).find_vm("web1") is None
