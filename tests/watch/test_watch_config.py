"""The [watch], [alerts] and clusters.X.min_running keys: read, and refused with the key named."""

from __future__ import annotations

import pytest

from granja.config import ConfigError, load_config

BASE = '[hosts.h1]\nuri = "test:///default"\n[clusters.imap]\n'


def config(tmp_path, text: str):
    path = tmp_path / "farm.toml"
    path.write_text(BASE + text)
    return load_config(path)


def test_the_watch_keys_are_read(tmp_path):
    fleet = config(tmp_path, 'min_running = 6\n[watch]\nfacts_interval = 30\npool_full = 85\n'
                             '[watch.for]\ncluster_degraded = 90\n'
                             '[alerts]\nchannel = "C1"\nmin_severity = "critical"\n')
    assert fleet.clusters["imap"].min_running == 6
    assert fleet.watch.facts_interval == 30
    assert fleet.watch.pool_full == 85
    assert fleet.watch.hold == {"cluster_degraded": 90.0}
    assert (fleet.alerts.channel, fleet.alerts.min_severity) == ("C1", "critical")


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("[watch]\npool_full = 120\n", "watch.pool_full", "must be more than 0 and at most 100, not 120"),
    ("[watch.for]\nhost_down = 5\n", "watch.for.host_down", "unknown condition kind (one of crashed,"),
    ("[watch]\nfacts = 5\n", "watch.facts", "unknown key"),
    ("[alerts]\nmin_severity = \"loud\"\n", "alerts.min_severity",
     "must be one of info, warning, critical, not 'loud'"),
    ("min_running = -1\n", "clusters.imap.min_running", "expected `int` >= 0"),
])
def test_bad_watch_keys_are_named(tmp_path, text, where, problem):
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, text)
    assert raised.value.where == where
    assert raised.value.problem.startswith(problem)
