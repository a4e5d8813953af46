"""Xen readiness: the domain XML granja writes for Xen PV and HVM guests passes libvirt's own schema."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hypervisor.domain_build import build_domain
from hypervisor.domain_xml import parse_domain
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState

DISKS = (Disk("xvda", "/dev/vg0/imap2-root"), Disk("xvdb", "imap2-data.img", pool="local"),
         Disk("xvdc", "/srv/iso/install.iso", device="cdrom", readonly=True))
NICS = (NIC("00:16:3e:12:34:56", "br120"), NIC("00:16:3e:12:34:57", "ovsbr0", vlan=130, model="e1000"))


def guest(**changes) -> VM:
    base = VM(name="imap2", uuid="6f1c1f3a-6c1e-4a53-9d6a-0b9e8b6f1c10", host="host07",
              state=VMState.RUNNING, vcpus=4, memory_mib=8192, max_memory_mib=16384, virt=Virt.PV,
              disks=DISKS, nics=NICS, autostart=True, on_crash="restart",
              meta=GranjaMeta(cluster="imap", template="imap", baseline_id="b-1"))
    return VM(**{**base.__dict__, **changes})


def validate(xml: str, tmp_path) -> subprocess.CompletedProcess[str]:
    validator = shutil.which("virt-xml-validate")
    if validator is None:
        pytest.fail("virt-xml-validate is missing: install libvirt-clients (TEST_APT_PACKAGES in ./dev)")
    path = tmp_path / "domain.xml"
    path.write_text(xml)
    return subprocess.run([validator, str(path), "domain"], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("vm", [
    guest(),  # PV booted through pygrub
    guest(kernel="/boot/vmlinuz-6.1.0-18-amd64"),  # PV with a kernel from dom0
    guest(virt=Virt.HVM, disks=(Disk("hda", "/dev/vg0/win-root", bus="ide"),)),
], ids=["pv-pygrub", "pv-kernel", "hvm"])
def test_xen_domain_xml_is_valid_and_reads_back_the_same(vm, tmp_path):
    xml = build_domain(vm, domain_type="xen")
    result = validate(xml, tmp_path)
    assert result.returncode == 0, result.stderr + xml
    back = parse_domain(xml, host=vm.host, state=vm.state, autostart=vm.autostart, persistent=True)
    assert (back.virt, back.vcpus, back.memory_mib, back.on_crash) == (vm.virt, 4, 8192, "restart")
    assert [d.target for d in back.disks] == [d.target for d in vm.disks]


def test_the_validator_does_reject_broken_xml(tmp_path):
    xml = build_domain(guest(), domain_type="xen").replace("<vcpu>4</vcpu>", "<vcpu>four</vcpu>")
    result = validate(xml, tmp_path)
    assert result.returncode != 0
    assert "fails to validate" in result.stderr
