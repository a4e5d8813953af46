"""The libvirt driver against the demo farm's simulated hosts (the real test driver)."""

from __future__ import annotations

import pytest

from hypervisor.errors import HostUnreachable, WrongState


def test_one_vm_reads_the_same_as_the_host_listing(engine):
    for host in ("host01", "host02", "host07"):
        driver = engine.farm.driver(host)
        listed = driver.list_vms()
        assert listed
        assert [driver.find_vm(vm.name) for vm in listed] == listed


def test_disks_get_pool_and_size_from_their_volumes(engine):
    host = engine.inventory.vm("imap1").vm.host
    vm = engine.farm.driver(host).find_vm("imap1")
    assert [(d.target, d.pool, d.size_bytes) for d in vm.disks] == [
        ("xvda", "local", 20 * 2**30), ("xvdb", "local", 200 * 2**30),
    ]


def test_state_is_checked_before_libvirt_is_asked(engine):
    host = engine.inventory.vm("ldap1").vm.host
    with pytest.raises(WrongState, match="Cannot resume ldap1: it is running"):
        engine.farm.driver(host).lifecycle("ldap1", "resume")


def test_a_uri_that_cannot_be_opened_is_unreachable(engine):
    from hypervisor.libvirt_host import LibvirtHost

    with pytest.raises(HostUnreachable, match="Host ghost is unreachable"):
        LibvirtHost("ghost", "test:///nonexistent/ghost.xml").list_vms()


class CountingFacts:
    """A host's facts source that counts how often it is read (each read is an SSH round trip)."""

    def __init__(self, inner) -> None:
        self.inner, self.reads = inner, 0

    def facts(self):
        self.reads += 1
        return self.inner.facts()


def test_planning_a_migration_reads_no_host_facts(engine):
    # A host's facts (bonds, bridges, storage over SSH) cost a round trip each, and moving a VM
    # needs only the hypervisor's view: memory, driver. A refresh still reads them.
    from hypervisor.migration import plan_migration

    counters = {}
    for name in engine.farm.host_names:
        driver = engine.farm.driver(name)
        counters[name] = driver._facts = CountingFacts(driver._facts)
    vm = engine.inventory.vm("ldap1").vm
    target = next(h for h in engine.farm.host_names if h != vm.host)
    plan = plan_migration(engine.farm, vm, target)
    assert plan.target == target
    assert {name: c.reads for name, c in counters.items() if c.reads} == {}
    engine.farm.survey()
    assert all(c.reads == 1 for c in counters.values())
