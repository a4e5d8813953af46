from pathlib import Path

import pytest

from granja.config import ConfigError, load_config, parse_size_mib

GOOD = """
[farm]
name = "Test farm"
host_timeout = 2

[hosts.host07]
uri = "xen+ssh://root@host07/system"
ssh = "root@host07"

[networks.mail]
vlan = 120
bridge = "br120"
bond = "bond0"

[templates.imap]
vcpus = 2
memory = "4G"
networks = ["mail"]

[clusters.imap]
pattern = "imap[0-9]+"
template = "imap"

[users.alice]
role = "operator"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "farm.toml"
    path.write_text(text)
    return path


def test_reads_a_good_config(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.hosts["host07"].uri == "xen+ssh://root@host07/system"
    assert config.hosts["host07"].facts == "ssh"
    assert config.templates["imap"].memory_mib == 4096
    assert config.network_for_bridge("br120").vlan == 120
    assert config.cluster_for_name("imap7").name == "imap"
    assert config.cluster_for_name("imapx") is None
    assert config.role_of("alice") == "operator"
    assert config.role_of("mallory") is None


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (("vlan = 120", "vlan = 5000"), "networks.mail.vlan", "must be a number from 1 to 4094, not 5000"),
        (('role = "operator"', 'role = "god"'), "users.alice.role", "must be one of viewer, operator, admin"),
        (('template = "imap"', 'template = "pop"'), "clusters.imap.template", "unknown template 'pop'"),
        (('networks = ["mail"]', 'networks = ["dmz"]'), "templates.imap.networks", "unknown network 'dmz'"),
        (('uri = "xen+ssh://root@host07/system"', "uri = 7"), "hosts.host07.uri", "must be a string"),
        (('uri = "xen+ssh://root@host07/system"', 'uri = "host07"'), "hosts.host07.uri", "not a libvirt URI"),
        (('memory = "4G"', 'memory = "lots"'), "templates.imap.memory", "'lots' is not a size"),
        (("[farm]", "[farms]"), "farms", "unknown section"),
        (('pattern = "imap[0-9]+"', 'pattern = "imap[0-9"'), "clusters.imap.pattern",
         "bad regular expression"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path, change, where, problem):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}: ")
    assert problem in message


def test_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, GOOD.replace("vlan = 120", "vlan = = 120"))
    with pytest.raises(ConfigError, match=r"farm.toml: syntax: .*line 11"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_a_farm_needs_hosts(tmp_path):
    with pytest.raises(ConfigError, match="hosts: no hosts defined"):
        load_config(write(tmp_path, '[farm]\nname = "x"\n'))


@pytest.mark.parametrize(("text", "mib"), [("512M", 512), ("4G", 4096), ("2GiB", 2048), ("1T", 1048576)])
def test_sizes(text, mib):
    assert parse_size_mib(text) == mib
