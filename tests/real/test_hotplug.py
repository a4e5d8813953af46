"""Hot-plug and live resizing on a real libvirtd with QEMU, through the granja command line.

The demo farm's test driver cannot hot-plug, so this is where the live path is
seen working: one libvirtd in its own mount and network namespace (a tmpfs on
/run, its own /etc/libvirt and /var/lib/libvirt, a bridge br120 that exists
only there), a 128 MiB QEMU guest without a disk, and `granja ask` run inside
the same namespaces. libvirtd is stopped by its PID when the script ends.
It runs apart from the shared real hosts because it needs a network namespace
of its own (the bridge br120), which those hosts do not have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from granja.app import local_user
from tests.real.daemons import MissingRequirement, check_requirements

GUEST = """<domain type='qemu'><name>g1</name>
<memory unit='MiB'>128</memory><currentMemory unit='MiB'>96</currentMemory>
<vcpu current='1'>2</vcpu><os><type machine='pc'>hvm</type></os><features><acpi/></features>
<devices><memballoon model='virtio'/></devices></domain>"""

FARM = """[farm]
name = "one real host"
host_timeout = 60
[hosts.real1]
uri = "qemu:///system"
[networks.mail]
vlan = 120
bridge = "br120"
[users.ops]
role = "admin"
"""

COMMANDS = ("attach nic g1 vlan 120", "set g1 vcpus 2", "set g1 memory 128M", "set g1 memory 256M",
            "diff g1")

SCRIPT = r"""
set -eu
T="$1"; shift
trap 'kill "$(cat "$T/libvirtd.pid")" 2>/dev/null || true' EXIT
mount -t tmpfs tmpfs /run
for d in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
  mkdir -p "$T/root$d"; mount --bind "$T/root$d" "$d"
done
printf 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n' > /etc/libvirt/libvirtd.conf
cat > /etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
CONF
ip link set lo up
ip link add br120 type bridge
ip link set br120 up
/usr/sbin/libvirtd --pid-file "$T/libvirtd.pid" > "$T/libvirtd.log" 2>&1 &
for _ in $(seq 300); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
virsh -q -c qemu:///system define "$T/g1.xml" >/dev/null
virsh -q -c qemu:///system start g1 >/dev/null
for command in "$@"; do
  echo "### $command"
  "$PYTHON" -m granja --config "$T/farm.toml" --state "$T/state" ask "$command" --yes || true
done
virsh -q -c qemu:///system destroy g1 >/dev/null
"""


def test_live_where_the_hypervisor_can_else_at_next_boot(tmp_path: Path):
    try:
        check_requirements()
        if shutil.which("ip") is None:
            raise MissingRequirement("missing program: ip (Debian's iproute2)")
    except MissingRequirement as exc:
        pytest.fail(f"the hot-plug test cannot run here: {exc}", pytrace=False)
    (tmp_path / "g1.xml").write_text(GUEST)
    # The console user is the OS account (--as is for admins only): make it the farm's admin.
    (tmp_path / "farm.toml").write_text(FARM.replace("[users.ops]", f"[users.{local_user()}]"))
    (tmp_path / "run.sh").write_text(SCRIPT)
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(
        ["unshare", "--mount", "--uts", "--net", "--propagation", "private",
         "bash", str(tmp_path / "run.sh"), str(tmp_path), *COMMANDS],
        capture_output=True, text=True, timeout=180, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr + (tmp_path / "libvirtd.log").read_text()
    replies = dict(part.split("\n", 1) for part in done.stdout.split("### ")[1:])
    assert "added, live now and in its definition." in replies["attach nic g1 vlan 120"]
    assert "NIC 00:16:3e:" in replies["attach nic g1 vlan 120"]
    assert replies["set g1 vcpus 2"].endswith("g1: vCPUs 1 → 2, live now and in its definition.\n")
    assert replies["set g1 memory 128M"].endswith(
        "g1: memory 96 MiB → 128 MiB, live now and in its definition.\n")
    # Beyond the guest's maximum memory QEMU cannot go live: the definition changes for next boot.
    assert "g1: memory 128 MiB → 256 MiB, in its definition, at next boot (real1 did not apply it live)." \
        in replies["set g1 memory 256M"]
    diff = replies["diff g1"]
    assert "vcpus: 1 → 2" in diff
    assert "nics[00:16:3e:" in diff
