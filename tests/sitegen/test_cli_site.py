"""`granja site build` as cron runs it, and the fleet config's [site] section."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.request

import pytest

from granja.config import ConfigError, load_config


def granja(state, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), *args],
                          capture_output=True, text=True, check=False, timeout=120)


def test_site_build_on_its_own_writes_the_site_where_the_config_says(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + '\n[site]\nout = "www"\ntitle = "Farm map"\n')
    done = granja(state, "--config", str(config), "site", "build", "--no-refresh")
    assert done.returncode == 0, done.stderr
    index = config.parent / "www" / "index.html"
    assert f"Site built: {index}" in done.stdout
    assert "<title>Farm map</title>" in index.read_text()


def test_site_build_refuses_a_folder_of_other_files(state, tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("keep me")
    done = granja(state, "site", "build", "--no-refresh", "--out", str(tmp_path / "home"))
    assert done.returncode == 2
    assert "site not built" in done.stderr
    assert "holds no earlier site" in done.stderr
    assert (tmp_path / "home" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ('secrets = ["("]', "site.secrets[0]: bad regular expression"),
        ("secrets = [3]", "site.secrets[0]: must be a string, not 3"),
        ('colour = "red"', "site.colour: unknown key (expected one of title, out, secrets)"),
        ("out = 3", "site.out: must be a string, not 3"),
    ],
)
def test_bad_site_config_names_the_key(tmp_path, section: str, problem: str):
    path = tmp_path / "farm.toml"
    path.write_text(f'[hosts.h1]\nuri = "test:///default"\n\n[site]\n{section}\n')
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_config(path)


def test_site_serve_builds_and_serves_on_loopback(state):
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "granja", "--state", str(state), "site", "serve", "--no-refresh",
         "--port", "0", "--out", str(state / "preview")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline(), server.stdout.readline()]
        found = re.search(r"Serving \d+ pages on (http://127\.0\.0\.1:\d+/)", lines[1])
        assert found, lines
        with urllib.request.urlopen(found.group(1) + "vms/imap2.html", timeout=10) as response:
            assert "imap2" in response.read().decode()
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout:
            server.stdout.close()


def test_site_serve_on_a_port_in_use_says_so(state):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = granja(state, "site", "serve", "--no-refresh", "--port", str(port),
                      "--out", str(state / "preview"))
    assert done.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use (try --port" in done.stderr
