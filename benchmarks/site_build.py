"""Site build time for generated farms of 50, 500 and 5,000 VMs: the whole process, and granja's share."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.core import _farm_engine, _refresh, report

SIZES = (50, 500, 5000)
VMS_PER_HOST = 20


def _timed(command: list[str]) -> tuple[float, str]:
    begun = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - begun, done.stdout


def _one(vms: int) -> tuple[float, float, float, int]:
    """Whole `granja site build` process, its Markdown stage, and `mkdocs build` alone, in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine, _ = _farm_engine(root, max(vms // VMS_PER_HOST, 1), vms)
        _refresh(engine)
        config, state = engine.config.path, root / "state"
        whole, out = _timed([sys.executable, "-m", "granja", "--config", str(config), "--state", str(state),
                             "site", "build", "--no-refresh", "--out", str(root / "site")])
        found = re.search(r"\((\d+) pages, .*Markdown ([\d.]+) s", out)
        assert found, out
        mkdocs, _ = _timed([sys.executable, "-m", "mkdocs", "build", "-q", "-f",
                            str(state / "site-src.mkdocs.yml")])
        return whole, float(found.group(2)), mkdocs, int(found.group(1))


def site_build() -> None:
    """Print build time, granja's Markdown share and `mkdocs build` alone for each farm size."""
    previous: tuple[int, float] | None = None
    for vms in SIZES:
        whole, markdown, mkdocs, pages = _one(vms)
        growth = ""
        if previous:
            growth = f", x{whole / previous[1]:.1f} for x{vms / previous[0]:.0f} VMs"
        report(f"site build {vms} VMs ({pages} pages), process",
               f"{whole:.1f} s{growth}", "5,000 VMs < 60 s")
        report("  granja's share (inventory -> Markdown)", f"{markdown:.2f} s = {markdown / whole:.0%}",
               "< 10%")
        report("  mkdocs build of the same Markdown alone", f"{mkdocs:.1f} s", "")
        previous = (vms, whole)


def _all_pages_nav(work: Path) -> list[str]:
    return [p.relative_to(work).as_posix() for p in sorted(work.rglob("*.md"))]


def site_nav(vms: int = 500) -> None:
    """`mkdocs build` of one farm's Markdown with our short nav, every page in the nav, and that pruned."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine, _ = _farm_engine(root, max(vms // VMS_PER_HOST, 1), vms)
        _refresh(engine)
        state = root / "state"
        subprocess.run([sys.executable, "-m", "granja", "--config", str(engine.config.path), "--state",
                        str(state), "site", "build", "--no-refresh", "--out", str(root / "site")],
                       check=True, capture_output=True)
        ours = state / "site-src.mkdocs.yml"
        config = json.loads(ours.read_text())
        every = {**config, "nav": _all_pages_nav(state / "site-src")}
        pruned = {**every, "theme": {"name": "material", "font": False,
                                      "features": ["search.highlight", "navigation.prune"]}}
        for label, variant in (("overview pages only (ours)", config), ("every page", every),
                               ("every page, navigation.prune", pruned)):
            path = root / "variant.mkdocs.yml"
            path.write_text(json.dumps(variant))
            seconds, _ = _timed([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(path)])
            report(f"mkdocs build {vms} VMs, nav: {label}", f"{seconds:.1f} s", "")


def site_republish(vms: int = 5000) -> None:
    """The bot's republish after one change on a farm of `vms` VMs, as a ratio to a full build of it.

    All in this process, as the bot's publisher runs them (granja.app.build_inventory_site): the
    full build renders and builds every page; a republish renders the pages whose Markdown changed
    and carries the rest of the search index over. After `suspend` of one VM placement is as it was,
    so the host failure figure is the one worked out before; after `shutdown` of another it is not, and
    the figure's pair sampling runs its whole budget (bot.resilience.SITE_PAIR_SECONDS) again. Last, a
    refresh with no change but what the VMs use (the figures a VM page shows as of the last refresh).
    """
    from bot import console
    from granja.app import build_inventory_site, local_user

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine, _ = _farm_engine(root, max(vms // VMS_PER_HOST, 1), vms)
        _refresh(engine)
        _refresh(engine)  # a second reading: what the VMs use is known (CPU use is between two)
        out = str(root / "site")
        build_inventory_site(engine.config, engine.inventory, out=out)  # the first build: writes the Markdown
        begun = time.perf_counter()
        full = build_inventory_site(engine.config, engine.inventory, out=out, full=True)
        full_seconds = time.perf_counter() - begun
        assert not full.incremental
        report(f"site full build {vms} VMs ({full.pages} pages)", f"{full_seconds:.1f} s", "baseline")
        running = [r.vm.name for r in engine.inventory.vms() if r.vm.state.value == "running"]
        for command, target in ((f"suspend {running[0]}", "< 10% of a full build"),
                                (f"shutdown {running[1]}", "")):
            lines: list[str] = []
            reply = console.run(engine, command, user=local_user(), yes=True, ask=None, out=lines.append)
            assert reply.ok, lines
            begun = time.perf_counter()
            again = build_inventory_site(engine.config, engine.inventory, out=out)
            republish = time.perf_counter() - begun
            assert again.incremental
            share = f"{republish:.2f} s = {republish / full_seconds:.1%} of full"
            report(f"  republish after '{command}'", f"{share} ({again.markdown_written} files)", target)
            # The rest is granja's figures for the overview: the health check and the host failure
            # figure (worked out again only when placement changed).
            report("    of which the site (snapshot, Markdown, MkDocs)",
                   f"{again.seconds:.2f} s = {again.seconds / full_seconds:.1%} of full", "")
        # A refresh reads every VM's use again (CPU, memory, addresses): the pages that show it must
        # not all be rebuilt for a reading's jitter.
        _refresh(engine)
        begun = time.perf_counter()
        again = build_inventory_site(engine.config, engine.inventory, out=out)
        republish = time.perf_counter() - begun
        report("  republish after a refresh", f"{republish:.2f} s = {republish / full_seconds:.1%} of full "
               f"({again.markdown_written} files)", "< 10% of a full build")
