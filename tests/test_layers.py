"""Lower layers never import upper ones: the import graph, read from the source of every module.

hypervisor (drivers) <- inventory <- bot, sitegen <- granja (command line, config, wiring).
The fleet config is read at the top and hands values down, so nothing below granja imports it.
Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "hypervisor": {"hypervisor"},
    "inventory": {"inventory", "hypervisor"},
    "sitegen": {"sitegen", "inventory", "hypervisor"},
    "bot": {"bot", "inventory", "hypervisor"},
}
OURS = {"hypervisor", "inventory", "sitegen", "bot", "granja"}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(our top-level package, line) for every import in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {(name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in OURS}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_module_imports_a_layer_above_its_own(package):
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {top}"
             for path in sorted((ROOT / package).rglob("*.py"))
             for top, line in sorted(imported_packages(path)) if top not in ALLOWED[package]]
    assert not wrong


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from granja.config import load_config\n    import bot.engine\n")
    assert imported_packages(module) == {("granja", 2), ("bot", 3)}
