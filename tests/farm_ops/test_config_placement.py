"""The fleet config's placement part: commitment ratios, shared pools and pinned VMs."""

from __future__ import annotations

import pytest

from granja.config import ConfigError, load_config

FARM = """
[farm]
{farm}

[hosts.host07]
uri = "xen+ssh://root@host07/system"
{host}
"""


def config(tmp_path, *, farm: str = "", host: str = ""):
    path = tmp_path / "farm.toml"
    path.write_text(FARM.format(farm=farm, host=host))
    return load_config(path)


def test_defaults_keep_memory_whole_and_allow_four_vcpus_a_core(tmp_path):
    fleet = config(tmp_path)
    assert (fleet.placement.cpu_ratio, fleet.placement.memory_ratio) == (4.0, 1.0)
    assert fleet.placement.shared_pools == ()
    assert fleet.pinned_host("backup") == ""


def test_ratios_shared_pools_and_pinned_vms_are_read(tmp_path):
    fleet = config(tmp_path, farm='cpu_ratio = 2\nmemory_ratio = 0.9\nshared_pools = ["san"]',
                   host='pinned = ["backup"]')
    assert fleet.placement.limits.cpu_ratio == 2.0
    assert fleet.placement.limits.memory_ratio == 0.9
    assert fleet.placement.shared_pools == ("san",)
    assert fleet.pinned_host("backup") == "host07"


@pytest.mark.parametrize(
    ("farm", "host", "message"),
    [
        ("cpu_ratio = 0", "", "farm.cpu_ratio: must be more than 0 and at most 1000, not 0"),
        ('memory_ratio = "lots"', "", "farm.memory_ratio: must be a number, not 'lots'"),
        ('shared_pools = "san"', "", "farm.shared_pools: must be a list, not 'san'"),
        ("shared_pools = [1]", "", r"farm.shared_pools\[0\]: must be a string, not 1"),
        ("", 'pinned = "backup"', "hosts.host07.pinned: must be a list, not 'backup'"),
    ],
)
def test_bad_placement_settings_name_the_key(tmp_path, farm, host, message):
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, farm=farm, host=host)
