"""Markdown-safe output for the page templates: every value is escaped unless marked as Markdown.

VM names, bridges and paths come from hypervisor XML, so they are untrusted. The templates'
`finalize` hook escapes every `{{ value }}`: HTML specials become entities, and so do the
characters Markdown or its extensions act on inline (`|` would split a table cell, `{`
would start an attr_list, `*` and `_` emphasis, `[` a link). Newlines and control characters
become spaces, so a value can never start a line of its own (a heading, list or admonition).
Filters that build Markdown on purpose return `Markup`, which `finalize` passes through.
"""

from __future__ import annotations

import functools
import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from hypervisor.model import gib, size_text
from inventory.records import VMRecord

TEMPLATES = Path(__file__).parent / "templates"
EMPTY = "—"

_MARKDOWN_ACTIVE = "\\`*_{}[]()#!|~^"
# One pass over each character: HTML specials and Markdown's alike. (Escaping HTML first and then
# Markdown's `#` turned `&#x27;` into `&&#35;x27;`, which the page showed as "&#x27;".)
_ENTITIES = str.maketrans({**{ch: f"&#{ord(ch)};" for ch in _MARKDOWN_ACTIVE},
                           "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
_SAFE_HREF = re.compile(r"[A-Za-z0-9._/-]+")
# Unicode categories Cc (controls), Zl and Zp (line and paragraph separators), Cs (surrogates),
# and the two non-characters: what could break a line or a table row.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def plain(value: object) -> str:
    """The value as one line of text: control characters and line breaks become spaces."""
    return _UNPRINTABLE.sub(" ", str(value))


def md_escape(value: object) -> Markup:
    """Text that Markdown renders literally, also inside a table cell or a heading."""
    return _escaped(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _escaped(text: str) -> Markup:
    # Cached: host names, bridges and states recur on thousands of pages.
    return Markup(plain(text).translate(_ENTITIES))


def finalize(value: object) -> Markup:
    """Jinja's last step for every `{{ … }}`: escape unless already Markdown; None shows a dash."""
    if isinstance(value, Markup):
        return value
    return Markup(EMPTY) if value is None else md_escape(value)


def link(text: object, href: str) -> Markup:
    """A Markdown link to one of our own pages (href is a path we built, never a value)."""
    if not _SAFE_HREF.fullmatch(href):
        raise ValueError(f"unsafe link target {href!r}")
    return Markup(f"[{md_escape(text)}]({href})")


def anchor(text: object, href: str, css: str = "") -> Markup:
    """An HTML link to one of our pages, for raw-HTML blocks (cards, farm map) Markdown leaves alone."""
    if not _SAFE_HREF.fullmatch(href) or not _SAFE_HREF.fullmatch(css or "x"):
        raise ValueError(f"unsafe link target {href!r} or class {css!r}")
    cls = f' class="{css}"' if css else ""
    return Markup(f'<a href="{href}"{cls}>{md_escape(text)}</a>')


def css_name(value: object) -> str:
    """A value as a CSS class suffix: "shut off" -> "shut-off" (letters, digits and dashes only)."""
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-") or "none"


def front_matter_title(text: object) -> Markup:
    """The page's title for its YAML front matter, HTML-escaped.

    Material prints `page.meta.title` unescaped and passes a heading-derived title through
    `striptags`, which turns `&lt;` back into `<`; an escaped meta title avoids both.
    """
    return Markup(json.dumps(html.escape(plain(text), quote=True), ensure_ascii=False))


def when(at: datetime | None) -> str:
    """A time in UTC to the second, e.g. 2024-05-01 12:00:03 UTC."""
    return EMPTY if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(amount: int | None) -> str:
    """A byte count as the chat writes it (hypervisor.model.size_text): 20 GiB, 1.5 GiB."""
    return EMPTY if amount is None else size_text(amount)


def vm_state(record: VMRecord) -> str:
    """A VM's state as last seen, marked when its host did not answer since: running (stale)."""
    return record.vm.state.value + (" (stale)" if record.stale_since is not None else "")


def yes_no(flag: bool) -> str:
    """A boolean in words."""
    return "yes" if flag else "no"


def shown(value: Any) -> str:
    """An old or new value of a logged change: text as is, anything else as compact JSON."""
    if value is None:
        return EMPTY
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja environment of the page templates, with escaping and the filters above.

    One per process: it keeps the compiled templates (compiling them took a third of a second,
    on every republish), and its loader compiles a template again if its file changed.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # HTML autoescape alone is not enough for Markdown: finalize does it
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        link=link,
        title_meta=front_matter_title,
        when=when,
        mib=gib,  # one memory formatter for chat and site
        css=css_name,
        size=size,
        yes_no=yes_no,
        vm_state=vm_state,
        shown=shown,
    )
    return env
