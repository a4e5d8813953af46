"""Build the inventory site (Markdown, then MkDocs) and serve it locally."""

from __future__ import annotations

import functools
import http.server
import time
from dataclasses import dataclass
from pathlib import Path

from sitegen.mkdocs_run import run_mkdocs
from sitegen.render import VM_DIR, render_pages, static_files
from sitegen.snapshot import InventoryReader, gather
from sitegen.sync import sync_files


@dataclass(frozen=True)
class BuildResult:
    """Where the site went, how many pages it has, and how long each stage took."""

    out: Path
    pages: int
    seconds: float  # the whole build
    render_seconds: float  # reading the inventory and writing the Markdown
    markdown_written: int = 0  # pages whose Markdown changed since the last build
    markdown_deleted: int = 0  # pages of VMs that are gone


def build_site(inventory: InventoryReader, *, title: str, out: Path, work: Path) -> BuildResult:
    """Render the inventory into Markdown in `work`, then build the HTML site into `out`."""
    started = time.perf_counter()
    view = gather(inventory)  # everything first: every page sees the same snapshot
    pages = render_pages(view, title=title)
    synced = sync_files({**pages, **static_files()}, root=work, prune={VM_DIR: "*.md"})
    rendered = time.perf_counter()
    run_mkdocs(title=title, work=work, out=out)
    return BuildResult(
        out=out,
        pages=len(pages),
        seconds=time.perf_counter() - started,
        render_seconds=rendered - started,
        markdown_written=synced.written,
        markdown_deleted=synced.deleted,
    )


def serve_site(inventory: InventoryReader, *, title: str, out: Path, work: Path, port: int = 8000) -> int:
    """Build the site, then serve `out` on 127.0.0.1:port until Ctrl-C; returns an exit status."""
    result = build_site(inventory, title=title, out=out, work=work)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(result.out))
    # Loopback only: the inventory names every VM, host and MAC of the farm.
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"Serving {result.pages} pages on http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.")
    return 0
