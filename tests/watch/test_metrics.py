"""/metrics on the bot's HTTP server: the farm, alerts and commands as Prometheus reads them."""

from __future__ import annotations

import http.client

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/plain")
    text = response.read().decode()
    conn.close()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_show_the_farm_alerts_and_commands(alerting):
    metrics = Metrics()
    metrics.follow(alerting.engine, alerting.watcher)  # as `granja slack` does
    alerting.server.mount("/metrics", metrics.wsgi_app())
    alerting.watcher.poll()
    alerting.watcher.evaluate()  # ftp has one member down: pending for its 30 s
    alerting.clock.advance(31)
    alerting.watcher.evaluate()
    alerting.mention("UOPER", "where is ldap3")
    alerting.reply(lambda c: "ldap3" in c.text and "running" in c.text)
    seen = scrape(alerting.server.port)
    assert seen[("granja_vms", (("cluster", "ftp"), ("host", "host07"), ("state", "shut off")))] == 1
    assert sum(v for (name, _), v in seen.items() if name == "granja_host_reachable") == 15
    assert seen[("granja_cluster_members_running", (("cluster", "ftp"),))] == 1
    assert seen[("granja_cluster_members_wanted", (("cluster", "ftp"),))] == 2
    assert seen[("granja_alerts_firing", (("kind", "cluster_degraded"), ("severity", "critical")))] == 1
    assert seen[("granja_commands_total", (("command", "where"), ("outcome", "ok")))] == 1
    assert seen[("granja_command_seconds_count", (("command", "where"), ("outcome", "ok")))] == 1
    assert seen[("granja_refresh_seconds_count", (("source", "poll"),))] == 1
    assert ("granja_refresh_seconds_count", (("source", "refresh"),)) not in seen
    alerting.mention("UOPER", "refresh")  # the command reads every host too: its own label
    alerting.reply(lambda c: "Refreshed" in c.text or "refresh" in c.text.lower())
    seen = scrape(alerting.server.port)
    assert seen[("granja_refresh_seconds_count", (("source", "refresh"),))] == 1
    assert seen[("granja_refresh_seconds_count", (("source", "poll"),))] == 1
    assert seen[("granja_commands_total", (("command", "refresh"), ("outcome", "ok")))] == 1
