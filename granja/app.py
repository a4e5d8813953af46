"""Putting granja together: which config and state directory, the farm's drivers, the engine."""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.engine import Engine
from bot.fleet import FleetConfig, HostConfig
from bot.refresh import refresh_inventory
from granja.config_cache import load_checked
from hypervisor.facts import NodeFileFacts
from hypervisor.farm import Farm
from hypervisor.interface import FactsSource
from hypervisor.libvirt_host import LibvirtHost
from hypervisor.testnode import node_path
from inventory import Inventory

if TYPE_CHECKING:
    from sitegen.build import BuildResult


def state_dir(arg: str | None) -> Path:
    """The state directory: --state, else $GRANJA_STATE, else .granja in the current directory."""
    return Path(arg or os.environ.get("GRANJA_STATE") or ".granja").absolute()


def config_path(arg: str | None, state: Path) -> Path:
    """The fleet config: --config, else $GRANJA_CONFIG, else the demo farm (made on first use)."""
    chosen = arg or os.environ.get("GRANJA_CONFIG")
    if chosen:
        return Path(chosen)
    from granja.demo import ensure_demo_farm

    return ensure_demo_farm(state)


def facts_source(host: HostConfig, config: FleetConfig) -> FactsSource | None:
    """Where a host's facts come from: its OS over SSH, a simulated host's node file, or nowhere."""
    path = node_path(host.uri)
    if host.facts == "node" and path is not None:
        return NodeFileFacts(path)
    if host.facts == "ssh" and host.ssh:
        from hypervisor.ssh_facts import SSHFacts  # paramiko costs ~0.1 s to import: only when used

        return SSHFacts(host.name, host.ssh, key_file=config.ssh_key, known_hosts=config.known_hosts,
                        timeout=config.host_timeout)
    return None


def build_farm(config: FleetConfig) -> Farm:
    """A Farm with one libvirt driver per configured host."""
    drivers = {h.name: LibvirtHost(h.name, h.uri, facts=facts_source(h, config))
               for h in config.hosts.values()}
    return Farm(drivers, timeout=config.host_timeout, workers=config.workers)


def local_user() -> str:
    """The console user: the OS account the process runs as (its uid), never LOGNAME or USER.

    The environment is the caller's to set: `LOGNAME=carol granja ask …` must not act as carol.
    """
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no account (a bare container): named by its number
        return f"uid{os.getuid()}"


def acting_user(config: FleetConfig, claimed: str | None) -> str:
    """Who a console command acts as: the OS account, or with `--as USER` that user if the account is admin.

    Raises PermissionError with the sentence to show when the account may not act as another user.
    """
    account = local_user()
    if not claimed or claimed == account:
        return account
    role = config.access.role_of(account)
    if role != "admin":
        raise PermissionError(f"--as needs the admin role; {account}'s role is {role or 'none'}. "
                              "Run the command as yourself.")
    return claimed


def open_engine(*, config: str | None, state: str | None,
                site_built: Callable[[float], None] | None = None) -> Engine:
    """An engine over the chosen farm; the inventory is filled on first use.

    `site_built` hears how long each republication of the site took (the metrics).
    """
    directory = state_dir(state)
    fleet = load_checked(config_path(config, directory), directory / "cache")
    engine = Engine(config=fleet, farm=build_farm(fleet), inventory=Inventory(directory))
    if engine.inventory.last_refresh() is None:
        refresh_inventory(engine.farm, engine.inventory, at=datetime.now(UTC), user=local_user(),
                          command="first refresh")
    if fleet.site.out:  # a published site: republish it after every confirmed change
        from sitegen.publisher import Publisher

        # The publisher reads through an Inventory of its own: it runs in its own thread.
        def publish() -> BuildResult:
            result = build_inventory_site(fleet, Inventory(directory))
            if site_built is not None:
                site_built(result.seconds)
            return result

        engine.on_change = Publisher(publish).request
    return engine


def site_folder(config: FleetConfig, out: str | None = None) -> Path:
    """Where the site goes: `out`, else the config's site.out (relative to the config), else site/."""
    if out:
        return Path(out).absolute()
    if config.site.out:
        return (config.path.parent / config.site.out).resolve()
    return Path("site").absolute()


def build_inventory_site(config: FleetConfig, inventory: Inventory, *, out: str | None = None,
                         full: bool = False) -> BuildResult:
    """Build the inventory site as the config says: its folder, title and secrets.

    A rebuild renders only the pages that changed, unless `full`.
    """
    from bot.audit_query import is_change
    from bot.farm_check import farm_findings
    from bot.resilience import SITE_PAIR_SECONDS, farm_figure
    from hypervisor.resilience import assess_again
    from inventory.load import restart_simulator
    from sitegen.build import build_site, one_collection
    from sitegen.topology import NetworkName

    placement, pinned = config.placement, config.pinned
    networks = [NetworkName(n.vlan, n.name, n.description) for n in config.networks.values()]
    with one_collection():
        sim = restart_simulator(inventory, limits=placement.limits, shared_pools=placement.shared_pools,
                                pinned_host=lambda vm: pinned.get(vm, ""))
        figure = assess_again(sim, pair_seconds=SITE_PAIR_SECONDS)  # the last, if nothing it reads changed
        return build_site(inventory, title=config.site.title or config.name, out=site_folder(config, out),
                          work=inventory.directory / "site-src", secrets=config.site.secrets,
                          shared_pools=placement.shared_pools,
                          findings=farm_findings(inventory, config, now=datetime.now(UTC),
                                                 losses=figure.singles),
                          resilience=farm_figure(figure), networks=networks,
                          limits=placement.limits, full=full, audit_keep=is_change)
