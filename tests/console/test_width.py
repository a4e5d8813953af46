"""Tables and help are as wide as the terminal, read as `shutil.get_terminal_size` would."""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import termios

import pytest

from bot.terminal import terminal_width


@pytest.mark.parametrize("columns", ["", "123", "0", "wide"])
def test_terminal_width_is_what_shutil_says(monkeypatch, columns):
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    else:
        monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal_width() == shutil.get_terminal_size((80, 24)).columns


def test_on_a_real_terminal_it_is_the_terminals_width(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 97, 0, 0))
        with os.fdopen(os.dup(follower), "w") as terminal:
            monkeypatch.setattr("sys.__stdout__", terminal)
            assert terminal_width() == 97
    finally:
        os.close(leader)
        os.close(follower)
