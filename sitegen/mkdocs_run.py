"""Stage 2 of the site: a real MkDocs build of the generated Markdown, run in this process.

A rebuild is incremental when it can be: MkDocs' dirty mode renders only the pages whose
Markdown is newer than their HTML (sitegen.sync rewrites only the pages that changed). On
its own, a dirty build in a fresh process loses Material's search index: the search plugin
indexes the pages it renders, and keeps the rest only across rebuilds of one `mkdocs serve`.
So the entries of the pages left alone are carried over from the last index (see
`_carry_search_index`), and the HTML of deleted pages is removed. Anything that changes every
page (the config, the base config, MkDocs or Material) makes the next build a full one.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

from sitegen.render import NAV

BASE_CONFIG = Path(__file__).parent / "mkdocs-base.yml"
HOOKS = Path(__file__).parent / "mkdocs_hooks.py"  # raw-HTML blocks around Markdown (see there)
# In the site folder, written after a build finished: what it was built with. A dot file,
# so MkDocs' own cleaning leaves it; removed while a build runs, so an interrupted build
# leaves none and the next build is a full one.
STAMP = ".granja-build"
SEARCH_INDEX = "search/search_index.json"


def config_path(work: Path) -> Path:
    """Where the effective config of a work folder lives: beside it, outside docs_dir and site_dir."""
    return work.parent / f"{work.name}.mkdocs.yml"


def write_config(*, title: str, work: Path, out: Path) -> Path:
    """Write the effective mkdocs config (INHERIT the base, our folders and title) and return it."""
    # Material prints site_name and nav titles into the HTML unescaped; the title is text, not HTML.
    config = {
        "INHERIT": str(BASE_CONFIG),  # absolute: mkdocs resolves INHERIT from the file's folder
        "site_name": html.escape(title),
        "docs_dir": str(work),
        "site_dir": str(out),
        "hooks": [str(HOOKS)],  # absolute, as INHERIT
        # The overview pages only (see mkdocs-base.yml), titled here (see sitegen.render.NAV).
        "nav": [{html.escape(name or title): page} for page, name in NAV.items()],
    }
    path = config_path(work)
    # JSON is YAML, and json.dumps quotes any title or path correctly.
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


# What a folder MkDocs built holds; one of them tells a site folder from a folder of other files.
_SITE_MARKS = ("index.html", "404.html", "sitemap.xml", "assets", "search")


def _holds_other_files(out: Path) -> bool:
    """Whether `out` has files but none of a built site: `out` was mistyped, say as the home folder."""
    if not out.is_dir() or not any(out.iterdir()):
        return False
    return not any((out / mark).exists() for mark in _SITE_MARKS)


def _stamp(config: Path) -> str:
    """What a site was built with: effective and base configs, our hooks, MkDocs' and Material's versions."""
    digest = hashlib.sha256()
    for part in (config.read_bytes(), BASE_CONFIG.read_bytes(), HOOKS.read_bytes(),
                 version("mkdocs").encode(), version("mkdocs-material").encode()):
        digest.update(part + b"\0")
    return digest.hexdigest()


def run_mkdocs(*, title: str, work: Path, out: Path, full: bool = False,
               page_folders: Sequence[str] = ()) -> bool:
    """Build `work` (which must hold index.md) into `out`; True if only changed pages were rebuilt.

    The build is incremental when `out` holds a site built with the same config and versions
    and `full` is not asked for; HTML pages in `page_folders` whose Markdown is gone are removed.
    A full build empties `out` first.
    """
    work, out = work.absolute(), out.absolute()
    if out == work or out.is_relative_to(work) or work.is_relative_to(out):
        # mkdocs cleans site_dir before building: it would delete the Markdown it is about to read.
        raise ValueError(f"the site folder {out} and the Markdown folder {work} must be apart")
    if _holds_other_files(out):
        raise ValueError(f"{out} is not empty and holds no earlier site: MkDocs would empty it")
    # Imported here: MkDocs and Material take a while to import and only this stage needs them.
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    path = write_config(title=title, work=work, out=out)
    stamp, stamp_file = _stamp(path), out / STAMP
    dirty = (not full and (out / SEARCH_INDEX).is_file() and stamp_file.is_file()
             and stamp_file.read_text(encoding="utf-8") == stamp)
    stamp_file.unlink(missing_ok=True)
    config = load_config(config_file=str(path))
    if dirty:
        _remove_deleted_pages(work, out, page_folders)
    # MkDocs keeps plugin objects across builds in one process (for `mkdocs serve`), and with
    # them the search plugin's previous index: always set it, or another site's entries leak in.
    search = config.plugins.get("material/search")
    if search is not None:
        search.search_index_prev = _carried_search_index(work, out) if dirty else None
    # As `mkdocs build` does: plugins may set up state on startup and release it on shutdown.
    config.plugins.on_startup(command="build", dirty=dirty)
    try:
        with _quiet_dirty_warning():
            build(config, dirty=dirty)
    finally:
        config.plugins.on_shutdown()
    stamp_file.write_text(stamp, encoding="utf-8")
    return dirty


def _unchanged(page: str, work: Path, out: Path) -> bool:
    """Whether a built page stays as it is in a dirty build (MkDocs' File.is_modified, negated)."""
    source = work / (page.removesuffix(".html") + ".md")
    try:
        return source.stat().st_mtime <= (out / page).stat().st_mtime
    except FileNotFoundError:  # a page whose Markdown is gone, or one never built
        return False


def _carried_search_index(work: Path, out: Path) -> SimpleNamespace:
    """The last index's entries of the pages this build leaves alone, for Material's search plugin.

    The plugin merges a previous index (`search_index_prev`, meant for `mkdocs serve`) with
    the entries of the pages it renders; we give it the entries of every page that will not
    be rendered, so the index written is whole: rebuilt pages new, the others as they were.
    """
    entries = json.loads((out / SEARCH_INDEX).read_text(encoding="utf-8"))["docs"]
    verdict: dict[str, bool] = {}
    kept = []
    for entry in entries:
        page = entry["location"].split("#", 1)[0] or "index.html"
        if page not in verdict:
            verdict[page] = _unchanged(page, work, out)
        if verdict[page]:
            kept.append(entry)
    return SimpleNamespace(entries=kept)


def _remove_deleted_pages(work: Path, out: Path, folders: Sequence[str]) -> None:
    """Delete the HTML of pages whose Markdown is gone (a full build would not write them)."""
    for folder in folders:
        for page in (out / folder).glob("*.html"):
            if not (work / folder / page.with_suffix(".md").name).exists():
                page.unlink()


class _DropDirtyWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


@contextmanager
def _quiet_dirty_warning() -> Iterator[None]:
    """MkDocs warns that a dirty build may leave the nav inaccurate: ours names its titles (NAV)."""
    logger, drop = logging.getLogger("mkdocs.commands.build"), _DropDirtyWarning()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)
