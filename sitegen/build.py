"""Build the inventory site (Markdown, then MkDocs) and serve it locally."""

from __future__ import annotations

import fcntl
import functools
import gc
import http.server
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hypervisor.placement import Limits
from inventory.finding import Finding
from inventory.records import AuditEntry
from sitegen.mkdocs_run import run_mkdocs
from sitegen.render import CLUSTER_DIR, HOST_DIR, VM_DIR, render_pages, static_files
from sitegen.secrets import SecretPattern, redact
from sitegen.snapshot import InventoryReader, gather
from sitegen.sync import sync_files
from sitegen.topology import DEFAULT_LIMITS, NetworkName


@dataclass(frozen=True)
class BuildResult:
    """Where the site went, how many pages it has, and how long each stage took."""

    out: Path
    pages: int
    seconds: float  # the whole build
    render_seconds: float  # reading the inventory and writing the Markdown
    markdown_written: int = 0  # pages whose Markdown changed since the last build
    markdown_deleted: int = 0  # pages of VMs that are gone
    incremental: bool = False  # only the changed pages were rendered to HTML (sitegen.mkdocs_run)


def build_site(
    inventory: InventoryReader,
    *,
    title: str,
    out: Path,
    work: Path,
    secrets: Sequence[SecretPattern] = (),
    findings: Sequence[Finding] | None = None,
    resilience: str | None = None,
    networks: Sequence[NetworkName] = (),
    limits: Limits = DEFAULT_LIMITS,
    full: bool = False,
    shared_pools: Collection[str] = (),
    audit_keep: Callable[[AuditEntry], bool] | None = None,
) -> BuildResult:
    """Render the inventory into Markdown in `work`, then build the HTML site into `out`.

    Text matching `secrets` is masked before anything is rendered; `findings` (the health
    check's) and `resilience` (the host failure figure, in words) go on the overview; `networks`
    names VLANs wherever one appears and `limits` sets what the capacity bars measure;
    `shared_pools` are those the fleet config names shared; `audit_keep` picks the audit entries
    the Audit page lists. Builds sharing a work folder take turns (a lock beside it). A rebuild
    renders again only the VM pages whose facts changed, and builds only the pages whose Markdown
    changed, unless `full` (see sitegen.render and sitegen.mkdocs_run).
    """
    with _build_lock(work):
        started = time.perf_counter()
        # Everything first: every page sees one snapshot.
        view = redact(gather(inventory, audit_keep=audit_keep), secrets)
        pages = render_pages(view, title=redact(title, secrets), findings=findings, resilience=resilience,
                             networks=networks, limits=limits, shared_pools=shared_pools, reuse=not full)
        folders = (VM_DIR, HOST_DIR, CLUSTER_DIR)
        synced = sync_files({**pages, **static_files(view)}, root=work, prune=dict.fromkeys(folders, "*.md"))
        rendered = time.perf_counter()
        incremental = run_mkdocs(title=redact(title, secrets), work=work, out=out, full=full,
                                 page_folders=folders)
    return BuildResult(
        out=out,
        pages=len(pages),
        seconds=time.perf_counter() - started,
        render_seconds=rendered - started,
        markdown_written=synced.written,
        markdown_deleted=synced.deleted,
        incremental=incremental,
    )


@contextmanager
def _build_lock(work: Path) -> Iterator[None]:
    """Hold an exclusive lock for one build, so a cron build and the bot's never interleave."""
    work.parent.mkdir(parents=True, exist_ok=True)
    with open(work.parent / f"{work.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def one_collection() -> Iterator[None]:
    """Hold off the garbage collector's full collections while a build runs, and run one at its end.

    A republish allocates hundreds of thousands of objects (a snapshot of every record, pages,
    MkDocs' page objects), and each full collection that sets off walks every object the process
    holds: at 5,000 VMs, two or three of them took a fifth of a republish. Young collections go
    on, so the cycles a build makes and drops as it goes (a Markdown parser a page) are still
    freed as it goes: with every collection held off, a full build's peak memory was 2.7 times
    as large. Builds at once in one process share the pause; the last to finish ends it.
    """
    global _building
    with _pause:
        if not _building:
            _thresholds[:] = gc.get_threshold()
            gc.set_threshold(_thresholds[0], _thresholds[1], _NEVER)
        _building += 1
    try:
        yield
    finally:
        with _pause:
            _building -= 1
            if not _building:
                gc.set_threshold(*_thresholds)
                gc.collect()


_pause = threading.Lock()
_building = 0  # builds running in this process
_thresholds: list[int] = []  # the collector's thresholds before the first of them
_NEVER = 1 << 30  # young collections before a full one: none while builds run


def serve_site(result: BuildResult, *, port: int = 8000) -> int:
    """Serve a built site on 127.0.0.1:port until Ctrl-C; returns an exit status."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(result.out))
    try:
        # Loopback only: the inventory names every VM, host and MAC of the farm.
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        print(f"granja: cannot serve on 127.0.0.1:{port}: {exc.strerror} (try --port with another number)",
              file=sys.stderr)
        return 1
    with server:
        port = server.server_address[1]  # the one the OS chose, if port was 0
        print(f"Serving {result.pages} pages on http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.")
    return 0
