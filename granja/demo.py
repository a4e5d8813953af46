"""The built-in demo farm: 15 simulated Xen hosts as libvirt test-driver node files, and its farm.toml.

Generated once into the state directory and then left alone: the node files
carry the simulated hosts' state from one process to the next, so no file
that exists is ever overwritten. farm.toml is written last; its presence
marks a complete farm.
"""

from __future__ import annotations

import os
from pathlib import Path

DEMO_HOSTS = 15
DEMO_SEED = 0
DEMO_NAME = "Demo farm"
CONFIG_NAME = "farm.toml"


# Where the demo farm publishes its site, relative to its farm.toml: beside the state (`.granja/site`).
# $GRANJA_DEMO_SITE overrides it when the farm is first made; empty, the demo publishes no site (tests).
DEMO_SITE = "../site"
SITE_ENV = "GRANJA_DEMO_SITE"


def ensure_demo_farm(state_dir: Path) -> Path:
    """Return the demo farm's farm.toml under `state_dir/demo`, generating the farm on first use."""
    out_dir = state_dir / "demo"
    config = out_dir / CONFIG_NAME
    if config.exists():
        return config
    from granja.demo_catalogue import catalogue  # generating the farm is a first run's work only

    vms = len(catalogue())
    site_out = os.environ.get(SITE_ENV, DEMO_SITE)
    return generate_farm(out_dir, hosts=DEMO_HOSTS, vms=vms, seed=DEMO_SEED, name=DEMO_NAME,
                         site_out=site_out)


def generate_farm(out_dir: Path, *, hosts: int, vms: int, seed: int = 0, name: str = "",
                  site_out: str = "") -> Path:
    """Write a farm of `hosts` simulated hosts running `vms` VMs into `out_dir`; return its farm.toml.

    Raises FileExistsError if `out_dir` already holds a farm.toml. Node files
    already there (left by an interrupted run) are kept, never overwritten.
    """
    config = out_dir / CONFIG_NAME
    if config.exists():
        raise FileExistsError(f"{config} exists: a farm is already there")
    from granja.demo_nodefile import node_xml
    from granja.demo_plan import plan_farm
    from granja.demo_toml import farm_toml

    plan = plan_farm(hosts=hosts, vms=vms, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for host in plan.hosts:
        _write_new(out_dir / f"{host.name}.xml", node_xml(host))
    title = name or f"Generated farm ({hosts} hosts, {vms} VMs)"
    _write_new(config, farm_toml(plan, out_dir, name=title, site_out=site_out))
    return config


def _write_new(path: Path, text: str) -> None:
    """Create `path` with `text` atomically, unless it exists already."""
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    # link() fails if another process created the file meanwhile: theirs stays, ours is dropped.
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
