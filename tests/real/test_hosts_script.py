"""The real-host harness itself: what it says when the machine lacks something, and its script."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.real.daemons import MissingRequirement, check_requirements
from tests.real.hosts import main


def test_missing_programs_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: nothing can be found
    with pytest.raises(MissingRequirement, match="missing programs: unshare, nsenter, libvirtd"):
        check_requirements()


def test_script_usage_and_down_without_hosts(tmp_path, capsys):
    assert main([]) == 2
    assert "python -m tests.real.hosts up [DIR]" in capsys.readouterr().err
    assert main(["down", str(tmp_path)]) == 0
    assert f"no real hosts recorded under {tmp_path}" in capsys.readouterr().out


def test_script_up_and_down_leave_no_process_behind(tmp_path):
    def script(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tests.real.hosts", *words, str(tmp_path)],
                              capture_output=True, text=True, check=False, timeout=120)

    up = script("up")
    assert up.returncode == 0, up.stderr
    holders = [int(line.split("holder PID ")[1].rstrip(")")) for line in up.stdout.splitlines()
               if "holder PID" in line]
    assert len(holders) == 3
    assert "qemu+ssh://root@127.0.0." in up.stdout
    tgtd = int(up.stdout.split("(tgtd PID ")[1].split(")")[0])  # the shared iSCSI target
    down = script("down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.splitlines() == ["real1: stopped", "real2: stopped", "real3: stopped", "san: stopped"]
    alive = subprocess.run(["ps", "-o", "stat=", "-p", ",".join(map(str, [*holders, tgtd]))],
                           capture_output=True, text=True, check=False).stdout.split()
    assert all(state.startswith("Z") for state in alive)  # gone, or only waiting to be reaped
