"""The template part of the fleet config: image, data disk, boot, policies and limits, checked on load."""

from __future__ import annotations

import pytest

from granja.config import ConfigError, load_config
from tests.test_config import GOOD, write

FULL = GOOD.replace('networks = ["mail"]\n', '''networks = ["mail"]
disk = "20G"
data_disk = "200G"
pool = "ssd"
image = "debian-12.img"
bootloader = "/usr/bin/pygrub"
autostart = false
on_crash = "preserve"
max_vcpus = 8
max_memory = "16G"
''', 1)


def test_a_template_with_every_key(tmp_path):
    template = load_config(write(tmp_path, FULL)).templates["imap"]
    sizes = (template.vcpus, template.memory_mib, template.disk_gib, template.data_disk_gib)
    assert sizes == (2, 4096, 20, 200)
    assert (template.pool, template.image, template.bootloader) == ("ssd", "debian-12.img", "/usr/bin/pygrub")
    assert (template.autostart, template.on_crash) == (False, "preserve")
    assert (template.vcpu_limit, template.memory_limit_mib) == (8, 16384)


def test_limits_default_to_twice_the_template(tmp_path):
    template = load_config(write(tmp_path, GOOD)).templates["imap"]
    assert (template.vcpu_limit, template.memory_limit_mib, template.image) == (4, 8192, "")


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (("max_vcpus = 8", "max_vcpus = 1"), "templates.imap.max_vcpus", "is below vcpus (2)"),
        (('max_memory = "16G"', 'max_memory = "1G"'), "templates.imap.max_memory", "is below memory"),
        (('on_crash = "preserve"', 'on_crash = "explode"'), "templates.imap.on_crash",
         "must be one of destroy"),
        (('data_disk = "200G"', 'data_disk = "big"'), "templates.imap.data_disk", "'big' is not a size"),
        (('pool = "ssd"', 'pool = "ssd"\nkernel = "/boot/vmlinuz"'), "templates.imap",
         "give a kernel or a bootloader, not both"),
    ],
)
def test_bad_template_names_the_key(tmp_path, change, where, problem):
    path = write(tmp_path, FULL.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: {where}: ")
    assert problem in str(caught.value)
