"""A read-only question imports only what answering it needs (how fast it starts: benchmark where_process).

Checked on the real process: the command line runs as `python -m granja` does, and as the process
ends it lists every module it imported (sys.modules), at the top of a module or inside a function.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Modules `granja ask "where is ldap3"` must not import: code for other commands and front ends,
# and what the checked fleet config, once cached, no longer needs.
NOT_FOR_WHERE = {
    "paramiko", "mkdocs", "jinja2", "slack_bolt", "rapidfuzz",  # SSH facts, the site, Slack, suggestions
    "msgspec", "tomllib", "granja.schema",  # checking the fleet config: done when the file changed
    "re2",  # the config's patterns: the demo farm's clusters are not matched, and it masks no secrets
    "secrets", "tempfile",  # random IDs and temporary files: os.urandom and a named file do
    "shutil",  # (and bz2, lzma, zlib): the terminal's width is read without it
    "bot.results", "bot.render_bodies", "bot.queries",  # the cards and tables of other commands
    "bot.completion", "bot.watch.model", "bot.farm_ops", "bot.changes", "sitegen.build",
    "hypervisor.placement", "hypervisor.rolling", "hypervisor.migration", "inventory.health",
    "hypervisor.host_model", "inventory.refresh", "inventory.maintenance", "inventory.usage",  # hosts, load
}


# `python -m granja ARGS`, printing the names in sys.modules to stderr as the process exits.
_LISTING = """
import atexit, json, runpy, sys
atexit.register(lambda: print("modules:", json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv[0] = "granja"
runpy.run_module("granja", run_name="__main__", alter_sys=True)
"""


def _ask(state: Path, *words: str) -> tuple[str, set[str]]:
    """Run `granja ask` as a process: what it printed and every module it imported."""
    done = subprocess.run([sys.executable, "-c", _LISTING, "--state", str(state), "ask", *words],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    listing = done.stderr.rpartition("modules: ")[2]
    return done.stdout, set(json.loads(listing))


def test_where_is_imports_only_what_it_needs(state):
    _ask(state, "where is ldap3")  # the first run after the config changed checks and caches it
    said, modules = _ask(state, "where is ldap3")
    assert said.startswith("ldap3 is on host")
    assert {"libvirt", "bot.locate", "inventory.store"} <= modules  # it asked the host; the check sees that
    assert sorted(modules & NOT_FOR_WHERE) == []


def test_the_check_sees_modules_imported_inside_functions(state):
    said, modules = _ask(state, "where is ldap")  # an unknown name: suggestions come from rapidfuzz
    assert "Did you mean" in said
    assert "rapidfuzz" in modules
