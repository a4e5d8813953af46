"""`granja slack` runs the watcher: alerts reach the alert channel, /metrics answers, as a real process."""

from __future__ import annotations

from tests.slack.driver import SECRET
from tests.slack.standin import SlackStandIn
from tests.slack.test_cli import free_port, get, granja_slack, stopped_by_ctrl_c


def test_the_bot_posts_alerts_and_serves_metrics(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + '\n[watch.for]\ncluster_degraded = 0\n'
                      '[alerts]\nchannel = "CALERTS"\nmin_severity = "critical"\n')
    slack = SlackStandIn()
    slack.thread.start()
    port = free_port()
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
           "GRANJA_CONFIG": str(config)}
    process = granja_slack(state, env, "--host", "127.0.0.1", "--port", str(port))
    try:
        with stopped_by_ctrl_c(process):
            assert process.stdout is not None
            assert process.stdout.readline().startswith("granja slack: ")
            (alert,) = slack.wait_for("chat.postMessage", lambda c: c.body.get("channel") == "CALERTS",
                                      timeout=60)
            assert alert.text == "critical: cluster ftp: 1 of 2 running; ftp2 is shut off on host07"
            text = get(port, "/metrics")[2]
            assert 'granja_alerts_firing{kind="cluster_degraded",severity="critical"} 1.0' in text
            assert 'granja_cluster_members_running{cluster="ftp"} 1.0' in text
    finally:
        slack.shutdown()
        slack.server_close()
