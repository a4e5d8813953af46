"""Creating VMs from templates and deleting them, on the demo farm, through the console front end."""

from __future__ import annotations

from dataclasses import replace

from bot.engine import ChatEvent, Pending
from bot.results import Outcome
from hypervisor.domain_build import build_domain
from hypervisor.model import Disk, VMState
from tests.farm.conftest import definition, farm_macs, volumes

GIB = 1024**3


def test_create_from_the_cluster_template_matches_it_and_has_unique_macs(chat):
    before = set(farm_macs(chat))
    template = chat.engine.config.templates["ldap"]
    reply = chat.send("create ldap6")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "About to: create ldap6 on host" in chat.transcript
    assert "of memory free" in chat.transcript
    assert "no other member of cluster ldap is there): template ldap" in chat.transcript
    assert "template ldap, 2 vCPUs, 2 GiB" in chat.transcript
    record = chat.engine.inventory.vm("ldap6")
    assert record is not None
    assert record.vm.state.value == "running"
    host = record.vm.host
    assert f"ldap6 created on {host} from template ldap: now running." in chat.transcript

    root = definition(chat, "ldap6")
    assert root.findtext("vcpu").strip() == str(template.vcpus)
    assert int(root.findtext("currentMemory")) == template.memory_mib * 1024
    assert int(root.findtext("memory")) == template.memory_limit_mib * 1024
    assert root.findtext("on_crash") == template.on_crash
    assert root.findtext("bootloader") == "/usr/lib/xen/bin/pygrub"
    bridges = [i.find("source").get("bridge") for i in root.iterfind("devices/interface")]
    assert bridges == [chat.engine.config.networks[n].bridge for n in template.networks]
    assert root.find("metadata").findtext("{https://granja.dev/xmlns/vm/1}vm/"
                                          "{https://granja.dev/xmlns/vm/1}cluster") == "ldap"

    macs = [i.find("mac").get("address").lower() for i in root.iterfind("devices/interface")]
    assert len(set(macs)) == len(macs) == 2
    assert not set(macs) & before
    everywhere = farm_macs(chat)
    assert len(everywhere) == len(set(everywhere))

    sources = [d.find("source").get("file") for d in root.iterfind("devices/disk")]
    assert sources == ["/var/lib/xen/images/ldap6.img"]
    assert volumes(chat, host)[sources[0]] == template.disk_gib * GIB  # saved in the node file

    others = {r.vm.host for r in chat.engine.inventory.vms_in("ldap") if r.name != "ldap6"}
    assert host not in others, "a new cluster member goes to a host without one"
    assert chat.engine.inventory.drift("ldap6") == []
    assert chat.engine.inventory.baseline("ldap6").taken_by == chat.user
    assert chat.engine.farm.driver(host).find_vm("ldap6").autostart is template.autostart


def test_create_from_a_named_template_on_a_named_host(chat):
    host = "host03"
    reply = chat.send(f"create relay1 from imap on {host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    root = definition(chat, "relay1")
    disks = {d.find("target").get("dev"): d.find("source").get("file") for d in root.iterfind("devices/disk")}
    assert disks == {"xvda": "/var/lib/xen/images/relay1.img", "xvdb": "/var/lib/xen/images/relay1-data.img"}
    assert volumes(chat, host)[disks["xvdb"]] == 200 * GIB
    assert chat.engine.inventory.vm("relay1").vm.meta.template == "imap"
    chat.send("create mx1 from smtp")
    root = definition(chat, "mx1")
    assert root.findtext("os/kernel") == chat.engine.config.templates["smtp"].kernel
    assert root.find("bootloader") is None


def _nothing_created(chat, name: str) -> None:
    assert chat.engine.inventory.vm(name) is None
    assert definition(chat, name) is None
    for host in chat.engine.farm.host_names:
        assert not any(name in path for path in volumes(chat, host))


def test_a_used_name_is_refused_with_the_next_free_one(chat):
    reply = chat.send("create ldap3")
    assert reply.outcome is Outcome.REFUSED
    host = chat.engine.inventory.vm("ldap3").vm.host
    assert chat.transcript == (f"A VM named ldap3 already exists (on {host}); choose another name. "
                               "The next free name is ldap6.")


def test_a_name_that_cannot_name_a_vm_is_refused(chat):
    reply = chat.send("create web:9 from web")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith("'web:9' cannot name a VM: use letters, digits,")


def test_unknown_template_gets_a_suggestion_and_nothing_is_made(chat):
    reply = chat.send("create foo1 from ldapp")
    assert reply.outcome is Outcome.FAILED
    assert chat.transcript == "No template named 'ldapp'. Did you mean ldap?"
    _nothing_created(chat, "foo1")


def test_a_name_of_no_cluster_needs_a_template(chat):
    reply = chat.send("create scratch")
    assert reply.outcome is Outcome.REFUSED
    assert "Cannot tell which template scratch should use" in chat.transcript
    assert "Say 'create scratch from TEMPLATE' (templates: ldap, imap," in chat.transcript


def test_memory_over_host_capacity_is_refused(extra_templates, chat):
    reply = chat.send("create big1 from huge on host01")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith("Cannot create big1 on host01: it needs 900 GiB and host01 has ")
    reply = chat.send("create big1 from huge")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith("No host can take big1 (900 GiB, 4 vCPUs) now: ruled out 15 hosts "
                                      "short of memory")
    _nothing_created(chat, "big1")


def test_a_failed_create_undoes_what_it_made(extra_templates, chat):
    reply = chat.send("create bare1 from noimage on host02")
    assert reply.outcome is Outcome.FAILED
    assert chat.transcript.startswith("About to: create bare1 on host02")
    assert "create bare1 failed on host02:" in chat.transcript
    assert "no-such-image.img" in chat.transcript
    assert chat.transcript.endswith("Nothing of bare1 is left on host02.")
    _nothing_created(chat, "bare1")


def test_only_an_admin_may_create(chat):
    reply = chat.send("create ldap6", user="bob")
    assert reply.outcome is Outcome.REFUSED
    assert "'create' needs the admin role; your role is operator" in chat.transcript


def test_delete_needs_a_shut_off_vm_and_names_the_disks(chat):
    reply = chat.send("delete ldap1")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript == "Cannot delete ldap1: it is running. Use 'shutdown ldap1' first."
    assert definition(chat, "ldap1") is not None

    host = chat.engine.inventory.vm("ci").vm.host
    reply = chat.send("delete ci", confirm=False)
    assert reply.outcome is Outcome.CANCELLED
    assert ("About to: delete ci on " + host + " (shut off): undefine it, remove disks: "
            "/var/lib/xen/images/ci.img; keep disks: none") in chat.transcript
    assert definition(chat, "ci") is not None

    reply = chat.send("delete ci")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"ci deleted from {host}; removed 1 disk." in chat.transcript
    assert definition(chat, "ci") is None
    assert "/var/lib/xen/images/ci.img" not in volumes(chat, host)
    assert chat.engine.inventory.vm("ci") is None
    chat.send("history ci")
    assert "delete ci" in chat.transcript
    assert f"removed: {host} → -" in chat.transcript


def test_create_then_delete_round_trip_leaves_the_pool_as_it_was(chat):
    chat.send("create web5")
    host = chat.engine.inventory.vm("web5").vm.host
    assert "/var/lib/xen/images/web5.img" in volumes(chat, host)
    chat.send("destroy web5")
    reply = chat.send("delete web5")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "/var/lib/xen/images/web5.img" not in volumes(chat, host)


def test_delete_keeps_disks_that_are_not_its_own_pool_volumes(chat):
    ci = chat.engine.inventory.vm("ci").vm
    shared = Disk("xvdb", ci.disks[0].source, "xen")  # ci's system disk, also attached here
    block = Disk("xvdc", "/dev/vg0/scratch", "xen")
    twin = replace(ci, name="ci-twin", uuid="", state=VMState.SHUTOFF, disks=(shared, block), nics=())
    chat.engine.farm.driver(ci.host).define(build_domain(twin, domain_type="test"))
    chat.send("refresh")
    reply = chat.send("delete ci-twin", confirm=False)
    assert reply.outcome is Outcome.CANCELLED
    assert (f"keep disks: {ci.disks[0].source} (also used by ci); /dev/vg0/scratch "
            "(not a volume of a storage pool)") in chat.transcript
    assert "remove disks: none" in chat.transcript
    reply = chat.send("delete ci-twin")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert ci.disks[0].source in volumes(chat, ci.host)


def test_a_template_name_like_none_lists_the_templates(chat):
    reply = chat.send("create foo1 from nosuch")
    assert reply.outcome is Outcome.FAILED
    names = ", ".join(chat.engine.config.templates)
    listed = f"The templates: {names} ('templates' describes them)."
    assert chat.transcript == f"No template named 'nosuch'. {listed}"
    _nothing_created(chat, "foo1")


def test_two_waiting_creates_of_one_name_make_one_vm(engine):
    first = engine.prepare(ChatEvent(user="carol", text="create ldap6"))
    second = engine.prepare(ChatEvent(user="root", text="create ldap6 from ldap on host02 force"))
    assert isinstance(first, Pending)
    assert isinstance(second, Pending)
    assert engine.confirm(first, by="carol").outcome is Outcome.OK
    host = engine.inventory.vm("ldap6").vm.host
    assert sum(engine.farm.driver(h).find_vm("ldap6") is not None for h in engine.farm.host_names) == 1
    reply = engine.confirm(second, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"A VM named ldap6 already exists (on {host}); choose another name.")
    assert sum(engine.farm.driver(h).find_vm("ldap6") is not None for h in engine.farm.host_names) == 1
    assert engine.farm.driver(host).find_vm("ldap6").state.value == "running"


def test_delete_of_a_vm_started_since_the_preview_is_refused_and_keeps_its_disks(engine):
    record = engine.inventory.vm("ftp1")
    driver = engine.farm.driver(record.vm.host)
    if record.vm.state.active:
        driver.lifecycle("ftp1", "destroy")
    pending = engine.prepare(ChatEvent(user="carol", text="delete ftp1"))
    assert isinstance(pending, Pending), pending
    driver.lifecycle("ftp1", "start")  # someone starts it before the confirmation
    reply = engine.confirm(pending, by="carol")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary == "Cannot delete ftp1: it is running. Use 'shutdown ftp1' first."
    vm = driver.find_vm("ftp1")
    assert vm is not None
    assert vm.state.value == "running"
    assert engine.inventory.vm("ftp1") is not None
