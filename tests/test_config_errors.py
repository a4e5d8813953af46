"""The config-error table: every key of the fleet config, given nonsense, is refused in one line.

Each line names the file, the key and what would be right. Unknown keys are refused
in every table; numbers must be in range and finite; regular expressions run in
linear time (RE2) or are refused.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from granja import schema
from granja.config import ConfigError, load_config

FULL = """\
[farm]
name = "Test farm"
host_timeout = 2
workers = 8
confirm_timeout = 120
cpu_ratio = 2.0
memory_ratio = 0.9
shared_pools = ["san"]
ssh_key = "/etc/granja/id"
known_hosts = "/etc/granja/known_hosts"

[hosts.host07]
uri = "xen+ssh://root@host07/system"
ssh = "root@host07"
facts = "ssh"
pinned = ["backup"]

[networks.mail]
vlan = 120
bridge = "br120"
bond = "bond0"
description = "mail"

[templates.imap]
vcpus = 2
memory = "4G"
disk = "20G"
networks = ["mail"]
pool = "san"
image = "debian"
data_disk = "100G"
bootloader = "pygrub"
autostart = true
on_crash = "restart"
max_vcpus = 8
max_memory = "16G"

[clusters.imap]
pattern = "imap[0-9]+"
template = "imap"
description = "mail"

[users.alice]
role = "operator"

[groups.S1]
role = "viewer"

[channels.C1]
role = "admin"

[site]
title = "Farm"
out = "/srv/site"
secrets = ["key-[0-9a-f]+"]

[watch]
facts_interval = 30
pool_full = 85
keepalive_interval = 5
keepalive_count = 3
reconnect_max = 20
notice_seconds = 300
flap_seconds = 300

[watch.for]
cluster_degraded = 90

[alerts]
channel = "CALERTS"
min_severity = "critical"
"""

# (the line as in FULL, the line instead, the key named, words of the problem)
TABLE = [
    ("[farm]", "[farms]", "farms", "unknown section (did you mean 'farm'?"),
    ('name = "Test farm"', "name = 3", "farm.name", "must be a string, not 3"),
    ('name = "Test farm"', 'name = ""', "farm.name", "must not be empty"),
    ('name = "Test farm"', 'name = "x"\ncolour = "red"', "farm.colour", "unknown key"),
    ("host_timeout = 2", "host_timeout = 0", "farm.host_timeout",
     "must be more than 0 and at most 3600, not 0"),
    ("host_timeout = 2", "host_timeout = -1", "farm.host_timeout", "must be more than 0"),
    ("host_timeout = 2", "host_timeout = nan", "farm.host_timeout", "must be more than 0"),
    ("host_timeout = 2", "host_timeout = inf", "farm.host_timeout", "at most 3600, not inf"),
    ("host_timeout = 2", 'host_timeout = "2"', "farm.host_timeout", "must be a number, not '2'"),
    ("workers = 8", "workers = 0", "farm.workers", "must be a number from 1 to 4096, not 0"),
    ("workers = 8", "workers = 2.5", "farm.workers", "must be a whole number, not 2.5"),
    ("confirm_timeout = 120", "confirm_timeout = nan", "farm.confirm_timeout", "must be more than 0"),
    ("confirm_timeout = 120", "confirm_timeout = 0", "farm.confirm_timeout", "must be more than 0"),
    ("cpu_ratio = 2.0", "cpu_ratio = 0", "farm.cpu_ratio", "must be more than 0"),
    ("memory_ratio = 0.9", "memory_ratio = -inf", "farm.memory_ratio", "must be more than 0"),
    ('shared_pools = ["san"]', 'shared_pools = "san"', "farm.shared_pools", "must be a list, not 'san'"),
    ('shared_pools = ["san"]', "shared_pools = [1]", "farm.shared_pools[0]", "must be a string, not 1"),
    ('ssh_key = "/etc/granja/id"', "ssh_key = false", "farm.ssh_key", "must be a string"),
    ('known_hosts = "/etc/granja/known_hosts"', "known_hosts = 1", "farm.known_hosts", "must be a string"),
    ("[hosts.host07]", "[hosts.host07]\nport = 22", "hosts.host07.port", "unknown key"),
    ('uri = "xen+ssh://root@host07/system"', "uri = 7", "hosts.host07.uri", "must be a string, not 7"),
    ('uri = "xen+ssh://root@host07/system"', 'uri = "host07"', "hosts.host07.uri", "not a libvirt URI"),
    ('uri = "xen+ssh://root@host07/system"', "", "hosts.host07.uri",
     "is required (add uri = … to [hosts.host07])"),
    ('ssh = "root@host07"', "ssh = 22", "hosts.host07.ssh", "must be a string"),
    ('facts = "ssh"', 'facts = "magic"', "hosts.host07.facts", "must be one of ssh, node, none, not 'magic'"),
    ('pinned = ["backup"]', 'pinned = "backup"', "hosts.host07.pinned", "must be a list, not 'backup'"),
    ("[hosts.host07]", "[hosts.'host 07']", "hosts.host 07", "names may hold letters, digits"),
    ("vlan = 120", "vlan = 5000", "networks.mail.vlan", "must be a number from 1 to 4094, not 5000"),
    ('bridge = "br120"', "", "networks.mail.bridge", "is required"),
    ('bond = "bond0"', "bond = 0", "networks.mail.bond", "must be a string"),
    ('description = "mail"\n\n[templates', 'descr = "mail"\n\n[templates', "networks.mail.descr",
     "unknown key (did you mean 'description'?"),
    ('description = "mail"\n\n[templates', 'description = 1\n\n[templates', "networks.mail.description",
     "must be a string, not 1"),
    ('bootloader = "pygrub"', "bootloader = 1", "templates.imap.bootloader", "must be a string, not 1"),
    ('bootloader = "pygrub"', "kernel = true", "templates.imap.kernel", "must be a string, not true"),
    ('description = "mail"\n\n[users', 'description = ["mail"]\n\n[users', "clusters.imap.description",
     "must be a string"),
    ('role = "admin"', "", "channels.C1.role", "is required"),
    ("vcpus = 2", "vcpus = 0", "templates.imap.vcpus", "must be a number from 1 to 4096, not 0"),
    ('memory = "4G"', 'memory = "lots"', "templates.imap.memory", "'lots' is not a size"),
    ('memory = "4G"', 'memory = "0M"', "templates.imap.memory", "must be at least 1M"),
    ('disk = "20G"', "disk = 20", "templates.imap.disk", "must be a string, not 20"),
    ('networks = ["mail"]', 'networks = ["dmz"]', "templates.imap.networks", "unknown network 'dmz'"),
    ('pool = "san"', 'pool = ""', "templates.imap.pool", "must not be empty"),
    ('image = "debian"', "image = []", "templates.imap.image", "must be a string"),
    ('data_disk = "100G"', 'data_disk = "big"', "templates.imap.data_disk", "'big' is not a size"),
    ('bootloader = "pygrub"', 'bootloader = "pygrub"\nkernel = "/boot/vmlinuz"', "templates.imap",
     "give a kernel or a bootloader, not both"),
    ("autostart = true", 'autostart = "yes"', "templates.imap.autostart", "must be true or false, not 'yes'"),
    ('on_crash = "restart"', 'on_crash = "explode"', "templates.imap.on_crash", "must be one of destroy"),
    ("max_vcpus = 8", "max_vcpus = 1", "templates.imap.max_vcpus", "is below vcpus (2)"),
    ("max_vcpus = 8", "max_vcpus = -1", "templates.imap.max_vcpus", "from 0 to 4096"),
    ('max_memory = "16G"', 'max_memory = "1G"', "templates.imap.max_memory", "is below memory"),
    ('pattern = "imap[0-9]+"', 'pattern = "imap[0-9"', "clusters.imap.pattern", "bad regular expression"),
    ('pattern = "imap[0-9]+"', r'pattern = "(imap)\\1"', "clusters.imap.pattern", "no backreferences"),
    ('template = "imap"', 'template = "pop"', "clusters.imap.template", "unknown template 'pop'"),
    ('description = "mail"\n\n[users', 'size = 3\n\n[users', "clusters.imap.size", "unknown key"),
    ('description = "mail"\n\n[users', 'description = "mail"\nmin_running = -1\n\n[users',
     "clusters.imap.min_running", ">= 0"),
    ('description = "mail"\n\n[users', 'description = "mail"\nhealth = "http:993"\n\n[users',
     "clusters.imap.health", "is not a health check: write tcp:PORT or tcp:ADDRESS:PORT"),
    ('description = "mail"\n\n[users', 'description = "mail"\nhealth = "tcp:{host}:993"\n\n[users',
     "clusters.imap.health", "the address may only use {vm}"),
    ('description = "mail"\n\n[users', 'description = "mail"\nhealth_timeout = nan\n\n[users',
     "clusters.imap.health_timeout", "must be more than 0 and at most 86400, not nan"),
    ('[groups.S1]\nrole = "viewer"', '[groups]\nS1 = "viewer"', "groups.S1", "must be a table ([groups.S1])"),
    ("[farm]", "farm = [1]\n[farmer]", "farm", "must be a table, not [1]"),
    ('role = "operator"', 'role = "god"', "users.alice.role", "must be one of viewer, operator, admin"),
    ('role = "viewer"', "role = 3", "groups.S1.role", "must be a string, not 3"),
    ('role = "admin"', 'role = "admin"\nmuted = true', "channels.C1.muted", "unknown key"),
    ('title = "Farm"', "title = 1", "site.title", "must be a string"),
    ('out = "/srv/site"', "out = 3", "site.out", "must be a string, not 3"),
    ('secrets = ["key-[0-9a-f]+"]', 'secrets = ["("]', "site.secrets[0]", "bad regular expression"),
    ('secrets = ["key-[0-9a-f]+"]', "secrets = [3]", "site.secrets[0]", "must be a string, not 3"),
    ('secrets = ["key-[0-9a-f]+"]', 'secrets = [""]', "site.secrets[0]", "must not be empty"),
    ('secrets = ["key-[0-9a-f]+"]', 'secrets = ["(?<=pw=).*"]', "site.secrets[0]",
     "no backreferences or lookaround"),
    ('out = "/srv/site"', 'colour = "red"', "site.colour", "unknown key"),
    ("facts_interval = 30", "facts_interval = 0", "watch.facts_interval", "must be more than 0"),
    ("pool_full = 85", "pool_full = 120", "watch.pool_full", "must be more than 0 and at most 100, not 120"),
    ("keepalive_interval = 5", "keepalive_interval = 0", "watch.keepalive_interval", "from 1 to 3600"),
    ("keepalive_count = 3", "keepalive_count = 2.5", "watch.keepalive_count", "must be a whole number"),
    ("reconnect_max = 20", 'reconnect_max = "soon"', "watch.reconnect_max", "must be a number, not 'soon'"),
    ("notice_seconds = 300", "notice_seconds = -1", "watch.notice_seconds", "must be more than 0"),
    ("flap_seconds = 300", "flap_seconds = nan", "watch.flap_seconds", "must be more than 0"),
    ("[watch.for]", "[watch.for]\nhost_down = 5", "watch.for.host_down",
     "unknown condition kind (one of crashed,"),
    ("reconnect_max = 20", "reconnect_max = 20\nfacts = 5", "watch.facts", "unknown key"),
    ("[watch.for]\ncluster_degraded = 90", "for = 5", "watch.for", "must be a table"),
    ("cluster_degraded = 90", "cluster_degraded = -1", "watch.for.cluster_degraded", "must be"),
    ('channel = "CALERTS"', "channel = 5", "alerts.channel", "must be a string, not 5"),
    ('min_severity = "critical"', 'min_severity = "loud"', "alerts.min_severity",
     "must be one of info, warning, critical, not 'loud'"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "farm.toml"
    path.write_text(text)
    return path


def test_the_full_config_is_good(tmp_path):
    fleet = load_config(write(tmp_path, FULL))
    assert fleet.host_timeout == 2.0
    assert fleet.access.confirm_seconds == 120.0
    assert fleet.templates["imap"].max_memory_mib == 16384


@pytest.mark.parametrize(("line", "instead", "where", "problem"), TABLE)
def test_every_key_refuses_nonsense_in_one_line(tmp_path, line, instead, where, problem):
    assert line in FULL, line
    path = write(tmp_path, FULL.replace(line, instead, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {where}: "), message
    assert problem in message, message


def test_the_table_covers_every_key_of_the_schema():
    named = {row[2] for row in TABLE}
    tables = {"farm": schema.Farm, "hosts.host07": schema.Host, "networks.mail": schema.Network,
              "templates.imap": schema.Template, "clusters.imap": schema.Cluster,
              "users.alice": schema.RoleEntry, "groups.S1": schema.RoleEntry,
              "channels.C1": schema.RoleEntry, "site": schema.Site, "watch": schema.Watch,
              "alerts": schema.Alerts}
    missing = [f"{prefix}.{key}" for prefix, kind in tables.items() for key in schema.keys_of(kind)
               if not any(n == f"{prefix}.{key}" or n.startswith(f"{prefix}.{key}[") for n in named)]
    assert not missing


def test_a_catastrophic_pattern_is_matched_in_linear_time(tmp_path):
    # With Python's re, '(a+)+b' against 40 a's and no b would backtrack for hours.
    fleet = load_config(write(tmp_path, FULL.replace('"key-[0-9a-f]+"', '"(a+)+b"')))
    done = threading.Event()
    result = []

    def match() -> None:
        result.append(fleet.site.secrets[0].sub("X", "a" * 5000 + "!"))
        done.set()

    threading.Thread(target=match, daemon=True).start()
    assert done.wait(10), "the secret pattern is still running"
    assert result == ["a" * 5000 + "!"]


@pytest.mark.parametrize(("make", "problem"), [
    (lambda p: p.mkdir(), "file: is a directory"),
    (lambda p: None, "file: not found"),
    (lambda p: p.write_bytes(b'[farm]\nname = "caf\xe9"\n'), "line 2: is not UTF-8 text"),
])
def test_a_config_that_is_no_toml_file_is_one_line_and_exit_2(tmp_path, make, problem):
    path = tmp_path / "farm.toml"
    make(path)
    command = ["--config", str(path), "--state", str(tmp_path / "s"), "ask", "list"]
    run = subprocess.run([sys.executable, "-m", "granja", *command], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert run.stderr == f"granja: configuration error: {path}: {problem}" + run.stderr.split(problem, 1)[1]
    assert run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("line", "instead", "number"), [
    ("host_timeout = 2", "host_timeout = 0", 3),
    ('ssh = "root@host07"', 'ssh = "root@host07"\nport = 22', 15),
    ("[farm]", "[farms]", 1),
    ('role = "operator"', 'role = "god"', 44),
])
def test_the_error_gives_the_line_of_the_key(tmp_path, line, instead, number):
    text = FULL.replace(line, instead, 1)
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert str(caught.value).endswith(f" (line {number})")
    where = str(caught.value).split(": ")[1]
    assert where.rsplit(".", 1)[-1] in text.splitlines()[number - 1]
