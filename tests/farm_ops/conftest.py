"""Fixtures for the farm-operations scenarios."""

from __future__ import annotations

import pytest


@pytest.fixture
def pinned_host(state) -> str:
    """The demo host whose config pins `backup` to it."""
    config = (state / "demo" / "farm.toml").read_text()
    return config[:config.index('pinned = ["backup"]')].rsplit("[hosts.", 1)[1].split("]")[0]
