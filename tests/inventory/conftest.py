from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.store import Inventory


@pytest.fixture
def inv(tmp_path: Path) -> Iterator[Inventory]:
    inventory = Inventory(tmp_path / "state")
    yield inventory
    inventory.close()
