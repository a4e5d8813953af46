"""Writing a generated farm's fleet configuration (farm.toml) with plain string formatting."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from granja.demo_catalogue import NETWORKS, OS_IMAGE, PINNED, TEMPLATES
from granja.demo_plan import POOL, FarmPlan, HostPlan

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
        "# The demo's image pool stands for storage every host mounts (NFS): VMs restart elsewhere.\n"
        f"shared_pools = [{toml_string(POOL)}]\n"
    )


def toml_value(value: str | int | float | bool | list[str]) -> str:
    """A TOML value: strings quoted, booleans lower-case, lists of strings bracketed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_string(item) for item in value) + "]"
    return str(value)


def toml_table(section: str, name: str, values: dict[str, str | int | float | bool | list[str]]) -> str:
    """One `[section.name]` table with its key = value lines."""
    lines = [f"[{section}.{toml_key(name)}]", *(f"{k} = {toml_value(v)}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def _hosts(plan: FarmPlan, out_dir: Path) -> str:
    # facts = "node": a simulated host's network facts are read from its node file.
    return "\n".join(
        toml_table("hosts", host.name, {
            "uri": node_uri(out_dir / f"{host.name}.xml"),
            "ssh": f"root@{host.name}.farm.example",
            "facts": "node",
            **_pinned(host),
        })
        for host in plan.hosts
    )


def _pinned(host: HostPlan) -> dict[str, str | int | float | bool | list[str]]:
    """The `pinned` key for a host that runs a pinned VM (its name after any copy prefix)."""
    pinned = [vm.name for vm in host.vms if vm.name.rsplit("-", 1)[-1] in PINNED]
    return {"pinned": pinned} if pinned else {}


def _networks() -> str:
    return "\n".join(
        toml_table("networks", net.name, {
            "vlan": net.vlan, "bridge": net.bridge, "bond": net.bond, "description": net.description,
        })
        for net in NETWORKS
    )


def _clusters(plan: FarmPlan) -> str:
    return "\n".join(
        toml_table("clusters", cluster, {
            "pattern": _pattern(cluster), "template": template, "description": description,
        })
        for cluster, template, description in plan.clusters
    )


def _pattern(cluster: str) -> str:
    """Members are the cluster's name and a number (names of letters, digits and '-' need no escape)."""
    return (cluster if _BARE_KEY.match(cluster) else re.escape(cluster)) + "[0-9]+"


def _templates() -> str:
    return "\n".join(
        toml_table("templates", shape.name, {
            "vcpus": shape.vcpus,
            "memory": _size(shape.memory_mib),
            "disk": f"{shape.disk_gib}G",
            "networks": list(shape.networks),
            "pool": POOL,
            "image": OS_IMAGE,
            **({"data_disk": f"{shape.data_disk_gib}G"} if shape.data_disk_gib else {}),
            "kernel": shape.kernel,
            "autostart": shape.autostart,
            "on_crash": shape.on_crash,
            # Members may grow to twice the template's size; beyond that, make a new template.
            "max_vcpus": 2 * shape.vcpus,
            "max_memory": _size(2 * shape.memory_mib),
        })
        for shape in TEMPLATES
    )


def _size(mib: int) -> str:
    return f"{mib // 1024}G" if mib % 1024 == 0 else f"{mib}M"


def _users() -> str:
    users = dict(DEMO_USERS)
    from granja.app import local_user

    local = local_user()  # the OS account (the console's user), not what LOGNAME says
    if _CONFIG_NAME.match(local):
        users[local] = "admin"  # the console user is the local user, admin of the demo farm
    # role: viewer | operator | admin
    return "\n".join(toml_table("users", user, {"role": role}) for user, role in users.items())
