"""The checked fleet config is kept between processes, and checked again when its file or granja changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import granja.config
from granja import config_cache
from granja.config_cache import load_checked

CONFIG = """\
[farm]
name = "Cached farm"

[hosts.host01]
uri = "test:///default"
"""


def _granja(state: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), "ask", *words],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_an_edited_config_is_checked_again_by_the_next_command(state):
    assert _granja(state, "where is ldap3").stdout.startswith("ldap3 is on")  # checked, then cached
    config = state / "demo" / "farm.toml"
    good = config.read_text()
    config.write_text(good.replace("workers = 32", "wrkers = 32"))
    broken = _granja(state, "where is ldap3")
    assert broken.returncode == 2
    assert "farm.wrkers: unknown key (did you mean 'workers'?" in broken.stderr
    config.write_text(good)
    assert _granja(state, "where is ldap3").stdout.startswith("ldap3 is on")


@pytest.fixture
def checks(monkeypatch) -> list[Path]:
    """The config files checked (rather than taken from the cache) from now on."""
    checked: list[Path] = []
    check = granja.config.check_config

    def counting(path: Path, data: bytes) -> granja.config.FleetConfig:
        checked.append(path)
        return check(path, data)

    monkeypatch.setattr(granja.config, "check_config", counting)
    return checked


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "farm.toml"
    path.write_text(CONFIG)
    return path


def test_an_unchanged_config_is_checked_once(config, checks, tmp_path):
    first = load_checked(config, tmp_path / "cache")
    again = load_checked(config, tmp_path / "cache")
    assert checks == [config]
    assert (again.name, list(again.hosts), again.path) == ("Cached farm", ["host01"], config)
    assert first.hosts == again.hosts


def test_a_cache_others_may_write_is_not_read(config, checks, tmp_path):
    cache = tmp_path / "cache"
    load_checked(config, cache)
    (file,) = cache.iterdir()
    assert file.stat().st_mode & 0o777 == 0o600
    file.chmod(0o620)  # the group could have put anything in it
    load_checked(config, cache)
    assert len(checks) == 2
    assert file.stat().st_mode & 0o777 == 0o600  # written anew, the user's own
    load_checked(config, cache)
    assert len(checks) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_cache_another_user_owns_is_not_read(config, checks, tmp_path):
    cache = tmp_path / "cache"
    load_checked(config, cache)
    (file,) = cache.iterdir()
    os.chown(file, 4242, -1)
    load_checked(config, cache)
    assert len(checks) == 2


def test_a_cache_cut_short_is_checked_again(config, checks, tmp_path):
    cache = tmp_path / "cache"
    load_checked(config, cache)
    (file,) = cache.iterdir()
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    assert load_checked(config, cache).name == "Cached farm"
    assert len(checks) == 2


def test_the_same_file_named_another_way_is_checked_again(config, checks, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    load_checked(config, cache)
    monkeypatch.chdir(tmp_path)
    relative = load_checked(Path("farm.toml"), cache)  # a config path relative to where granja runs
    assert relative.path == Path("farm.toml")
    assert len(checks) == 2


def test_a_change_to_granjas_code_checks_the_config_again(config, checks, tmp_path, monkeypatch):
    code = tmp_path / "code"
    module = code / "granja" / "config.py"
    module.parent.mkdir(parents=True)
    module.write_text("# the checker\n")
    monkeypatch.setattr(config_cache, "_ROOT", code)
    load_checked(config, tmp_path / "cache")
    load_checked(config, tmp_path / "cache")
    assert len(checks) == 1
    module.write_text("# the checker, upgraded\n")
    load_checked(config, tmp_path / "cache")
    assert len(checks) == 2


def test_a_config_that_cannot_be_read_is_reported_as_before(tmp_path):
    with pytest.raises(granja.config.ConfigError, match="not found"):
        load_checked(tmp_path / "missing.toml", tmp_path / "cache")
