"""Stage 2 of the site: a real MkDocs build of the generated Markdown, run in this process."""

from __future__ import annotations

import html
import json
from pathlib import Path

from sitegen.render import NAV

BASE_CONFIG = Path(__file__).parent / "mkdocs-base.yml"


def config_path(work: Path) -> Path:
    """Where the effective config of a work folder lives: beside it, outside docs_dir and site_dir."""
    return work.parent / f"{work.name}.mkdocs.yml"


def write_config(*, title: str, work: Path, out: Path) -> Path:
    """Write the effective mkdocs config (INHERIT the base, our folders and title) and return it."""
    config = {
        "INHERIT": str(BASE_CONFIG),  # absolute: mkdocs resolves INHERIT from the file's folder
        # Material prints site_name into the HTML unescaped; the title is text, not HTML.
        "site_name": html.escape(title),
        "docs_dir": str(work),
        "site_dir": str(out),
        "nav": NAV,  # the overview pages only: see mkdocs-base.yml
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


def run_mkdocs(*, title: str, work: Path, out: Path) -> None:
    """Build `work` (which must hold index.md) into `out`, which MkDocs empties first."""
    work, out = work.absolute(), out.absolute()
    if out == work or out.is_relative_to(work) or work.is_relative_to(out):
        # mkdocs cleans site_dir before building: it would delete the Markdown it is about to read.
        raise ValueError(f"the site folder {out} and the Markdown folder {work} must be apart")
    if _holds_other_files(out):
        raise ValueError(f"{out} is not empty and holds no earlier site: MkDocs would empty it")
    # Imported here: MkDocs and Material take a while to import and only this stage needs them.
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(config_file=str(write_config(title=title, work=work, out=out)))
    # As `mkdocs build` does: plugins may set up state on startup and release it on shutdown.
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config, dirty=False)
    finally:
        config.plugins.on_shutdown()
