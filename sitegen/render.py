"""Stage 1 of the site: the inventory snapshot as Markdown pages, by path, with no I/O."""

from __future__ import annotations

import hashlib
import re

from sitegen.markdown import TEMPLATES, environment
from sitegen.snapshot import FarmView

VM_DIR = "vms"
SHIM = "js/iframe-worker-shim.js"  # named in mkdocs-base.yml's extra.polyfills

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
# mkdocs treats these as a folder's index page, and index.md beats README.md.
_RESERVED = {"index", "readme"}


def page_slug(name: str) -> str:
    """A file name for a VM's page: the name itself if it is plain, else a cleaned name and a hash."""
    if _PLAIN_NAME.fullmatch(name) and not name.endswith(".") and name.lower() not in _RESERVED:
        return name
    # The hash keeps names that clean up alike ("a|b", "a<b") on separate pages.
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:60] or "vm"
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def vm_page(name: str) -> str:
    """Path of a VM's page, relative to the docs folder."""
    return f"{VM_DIR}/{page_slug(name)}.md"


def render_pages(view: FarmView, *, title: str) -> dict[str, str]:
    """Every page of the site as Markdown text, keyed by its path in the docs folder."""
    env = environment()
    vm_template = env.get_template("vm.md.j2")
    pages = {
        "index.md": env.get_template("index.md.j2").render(
            title=title,
            view=view,
            vm_pages={record.vm.name: vm_page(record.vm.name) for record in view.vms},
        )
    }
    for record in view.vms:
        pages[vm_page(record.vm.name)] = vm_template.render(
            title=title,
            record=record,
            vm=record.vm,
            changes=view.changes.get(record.vm.name, ()),
            last_refresh=view.last_refresh,
        )
    return pages


def static_files() -> dict[str, bytes]:
    """Files copied into the docs folder as they are: the file:// Web Worker shim for search."""
    return {SHIM: (TEMPLATES / "iframe-worker-shim.js").read_bytes()}
