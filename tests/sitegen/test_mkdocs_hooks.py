"""The hooks that take marked raw-HTML blocks around Python-Markdown: faster, and the same site."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from sitegen.mkdocs_hooks import on_page_content, on_page_markdown
from sitegen.mkdocs_run import HOOKS, config_path
from tests.sitegen.test_site import new_site

BLOCK = "<!-- granja:html -->\n<table>\n<tr><td>a *b* [c](d.md)</td></tr>\n\n</table>\n<!-- /granja:html -->"


def test_a_marked_block_is_set_aside_before_markdown_and_put_back_after_it() -> None:
    page, other = SimpleNamespace(), SimpleNamespace()
    text = on_page_markdown(f"# Title\n\n{BLOCK}\n\nAfter *this*.\n\n{BLOCK}\n", page=page)
    assert "<table>" not in text  # Markdown does not see the blocks ...
    assert on_page_markdown("No block *here*.\n", page=other) == "No block *here*.\n"
    # ... and gets them back as they were, wherever Markdown left their slots.
    html = text.replace("# Title", "<h1>Title</h1>").replace("After *this*.", "<p>After <em>this</em>.</p>")
    after = "<p>After <em>this</em>.</p>"
    assert on_page_content(html, page=page) == f"<h1>Title</h1>\n\n{BLOCK}\n\n{after}\n\n{BLOCK}\n"
    assert on_page_content("<p>No block <em>here</em>.</p>", page=other) == "<p>No block <em>here</em>.</p>"


def test_the_site_built_with_the_hooks_is_the_site_markdown_makes_without_them(tmp_path: Path) -> None:
    site = new_site(tmp_path)  # with the hooks, as granja builds it
    config = json.loads(config_path(site.work).read_text())
    assert config["hooks"] == [str(HOOKS)]
    assert "<!-- granja:html -->" in (site.work / "vms.md").read_text()  # the pages do mark blocks
    plain = tmp_path / "plain"
    path = tmp_path / "plain.mkdocs.yml"
    without = {key: value for key, value in config.items() if key != "hooks"}
    path.write_text(json.dumps({**without, "site_dir": str(plain)}))
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(path)], check=True,
                   capture_output=True, timeout=120)

    def pages(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.html")}

    ours, markdowns = pages(site.out), pages(plain)
    assert sorted(ours) == sorted(markdowns)
    assert [page for page in ours if ours[page] != markdowns[page]] == []
    index = "search/search_index.json"
    assert (site.out / index).read_text() == (plain / index).read_text()
