"""Writing a generated farm's fleet configuration (farm.toml) with plain string formatting."""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from urllib.parse import quote

from granja.demo_catalogue import NETWORKS, TEMPLATES
from granja.demo_plan import POOL, FarmPlan

DEMO_USERS = {"alice": "viewer", "bob": "operator", "carol": "admin"}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Names granja's config accepts; a local user name outside it is left out rather than break the file.
_CONFIG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def toml_string(text: str) -> str:
    """Quote `text` as a TOML basic string."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(text: str) -> str:
    """A TOML key: bare when it may be, else quoted."""
    return text if _BARE_KEY.match(text) else toml_string(text)


def node_uri(path: Path) -> str:
    """The test-driver URI of a node file (libvirt rejects spaces, so the path is percent-encoded)."""
    return "test://" + quote(str(path.resolve()))


def farm_toml(plan: FarmPlan, out_dir: Path, *, name: str) -> str:
    """Return the fleet configuration of a planned farm whose node files live in `out_dir`."""
    parts = [_farm(name), _hosts(plan, out_dir), _networks(), _clusters(plan), _templates(),
             _users()]
    return "\n".join(parts)


def _farm(name: str) -> str:
    return (
        "[farm]\n"
        f"name = {toml_string(name)}\n"
        "host_timeout = 5.0   # seconds a host may take to answer one call\n"
        "workers = 32         # concurrent host calls\n"
    )


def _hosts(plan: FarmPlan, out_dir: Path) -> str:
    lines = []
    for host in plan.hosts:
        lines += [
            f"[hosts.{toml_key(host.name)}]",
            f"uri = {toml_string(node_uri(out_dir / f'{host.name}.xml'))}",
            f"ssh = {toml_string(f'root@{host.name}.farm.example')}",
            'facts = "node"    # simulated host: its network facts are read from its node file',
            "",
        ]
    return "\n".join(lines)


def _networks() -> str:
    lines = []
    for net in NETWORKS:
        lines += [
            f"[networks.{toml_key(net.name)}]",
            f"vlan = {net.vlan}",
            f"bridge = {toml_string(net.bridge)}",
            f"bond = {toml_string(net.bond)}",
            f"description = {toml_string(net.description)}",
            "",
        ]
    return "\n".join(lines)


def _clusters(plan: FarmPlan) -> str:
    lines = []
    for cluster, template, description in plan.clusters:
        lines += [
            f"[clusters.{toml_key(cluster)}]",
            f"pattern = {toml_string(_pattern(cluster))}",
            f"template = {toml_string(template)}",
            f"description = {toml_string(description)}",
            "",
        ]
    return "\n".join(lines)


def _pattern(cluster: str) -> str:
    """Members are the cluster's name and a number (names of letters, digits and '-' need no escape)."""
    return (cluster if _BARE_KEY.match(cluster) else re.escape(cluster)) + "[0-9]+"


def _templates() -> str:
    lines = []
    for shape in TEMPLATES:
        networks = ", ".join(toml_string(net) for net in shape.networks)
        lines += [
            f"[templates.{toml_key(shape.name)}]",
            f"vcpus = {shape.vcpus}",
            f"memory = {toml_string(_size(shape.memory_mib))}",
            f"disk = {toml_string(f'{shape.disk_gib}G')}",
            f"networks = [{networks}]",
            f"pool = {toml_string(POOL)}",
            f"kernel = {toml_string(shape.kernel)}",
            f"autostart = {'true' if shape.autostart else 'false'}",
            f"on_crash = {toml_string(shape.on_crash)}",
            "",
        ]
    return "\n".join(lines)


def _size(mib: int) -> str:
    return f"{mib // 1024}G" if mib % 1024 == 0 else f"{mib}M"


def _users() -> str:
    users = dict(DEMO_USERS)
    try:
        local = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor the password database
        local = ""
    if _CONFIG_NAME.match(local):
        users[local] = "admin"  # the console user is the local user, admin of the demo farm
    lines = []
    for user, role in users.items():
        lines += [f"[users.{toml_key(user)}]", f"role = {toml_string(role)}  # viewer | operator | admin"]
    return "\n".join(lines) + "\n"
