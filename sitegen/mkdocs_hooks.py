"""MkDocs hooks of granja's site: marked raw-HTML blocks go around Python-Markdown, not through it.

A template marks a large raw-HTML block (the All VMs table, the farm map, the host rows) with a
line `<!-- granja:html -->` before it and `<!-- /granja:html -->` after. Python-Markdown copies
such a block to the page as it is, but first parses every tag of it to find where it ends: at
5,000 VMs that took most of a republish's Markdown time, on every change. These hooks set the
marked blocks aside before Markdown and put them back, as they are, after it: the same page,
made faster (tests/sitegen/test_mkdocs_hooks.py builds a farm with and without them).

MkDocs loads this file by its path (sitegen.mkdocs_run names it in the effective config).
"""

from __future__ import annotations

import re
from typing import Any

OPEN, CLOSE = "<!-- granja:html -->", "<!-- /granja:html -->"
_BLOCK = re.compile(rf"^{re.escape(OPEN)}\n.*?\n{re.escape(CLOSE)}$", re.DOTALL | re.MULTILINE)
# What stands in a block's place while Markdown runs: an HTML comment, which Markdown leaves
# as it is, and which no value on a page can spell (every value has its "<" escaped).
_SLOT = "<!-- granja:html {} -->"
_SLOTS = re.compile(r"<!-- granja:html (\d+) -->")

# The blocks of each page being built, from one hook to the other (by the page object's id:
# MkDocs' Page is not hashable). Each page's entry is set before Markdown and taken after it.
_SET_ASIDE: dict[int, list[str]] = {}


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str:
    """The page's Markdown with each marked block replaced by a numbered slot."""
    blocks: list[str] = []

    def slot(found: re.Match[str]) -> str:
        blocks.append(found.group(0))
        return _SLOT.format(len(blocks) - 1)

    text = _BLOCK.sub(slot, markdown)
    _SET_ASIDE[id(page)] = blocks
    return text


def on_page_content(html: str, *, page: Any, **_: Any) -> str:
    """The page's HTML with each slot replaced by the block set aside for it."""
    blocks = _SET_ASIDE.pop(id(page), [])
    if not blocks:
        return html
    return _SLOTS.sub(lambda found: blocks[int(found.group(1))], html)
