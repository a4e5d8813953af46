"""Hostile input through the real Bolt app over signed HTTP: nothing anyone typed or a hypervisor reported
comes back as a mention, a special mention, a link, a control character or a broken code span."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import pytest

from bot.refresh import refresh_inventory
from bot.slack.safe import slack_code, slack_escape, slack_format
from tests.slack.driver import GENERAL, OPS
from tests.slack.standin import Call

# What Slack sends: typed literally (entities), or as Slack's own markup for @channel, links, people.
HOSTILE = [
    "&lt;!channel&gt; ping",
    "<!channel> ping",
    "<!here|here> now",
    "&lt;!everyone&gt;",
    "&lt;@UADMIN&gt; hi",
    "<@UADMIN> hi",
    "&lt;#C123|ops&gt; &lt;!subteam^S1|@ops&gt;",
    "&lt;https://evil.example|click here&gt;",
    "<https://evil.example|click here>",
    "see https://evil.example/x and www.evil.example or mailto:boss@evil.example",
    "a ``` b ` c &lt;!channel&gt; `",
    "bell\x07 esc\x1b[31m rlo\u202e txt\x00",
]
MARKUP = re.compile(r"<([^<>]*)>")
LINKISH = re.compile(r"(?i)\b[a-z]+://|\bwww\.|\bmailto:|@(channel|here|everyone)\b")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202e]")
SENT = ("chat.postMessage", "chat.postEphemeral", "chat.update", "respond")


def assert_inert(text: str, *, people: tuple[str, ...] = ()) -> None:
    """Only granja's own markup: a date, or a mention of one of `people`; no link, ping or control."""
    for token in MARKUP.findall(text):
        assert token.startswith("!date^") or token.lstrip("@") in people, f"live markup <{token}> in {text!r}"
    assert not LINKISH.search(text), f"a link or ping Slack would make in {text!r}"
    assert not CONTROL.search(text), f"a control character in {text!r}"


def everything_sent(bot) -> list[Call]:
    return [c for c in bot.slack.calls if c.method in SENT]


def check_all(bot, people: tuple[str, ...]) -> None:
    calls = everything_sent(bot)
    assert calls
    for call in calls:
        assert_inert(call.text, people=people)
        assert_inert(call.blocks_text, people=people)


def test_the_escaping_function_leaves_nothing_live():
    for raw in [*HOSTILE, "x` <!channel> `y", "```\n<@U1>\n```"]:
        assert_inert(slack_escape(raw))
        span = slack_code(raw)
        assert span.count("`") == 2
        assert span.startswith("`")
        assert span.endswith("`")
    assert slack_escape("<@U1> asked <!here>", keep=("<@U1>",)) == "<@U1> asked &lt;!here&gt;"


@pytest.mark.parametrize("raw", HOSTILE)
def test_an_alert_built_with_the_hook_is_inert(raw):
    alert = slack_format(":rotating_light: *{vm}* crashed on `{host}`: {why}", vm=raw, host=raw, why=raw)
    assert_inert(alert)
    assert alert.count("`") == 2
    assert alert.startswith(":rotating_light: *")


@pytest.mark.parametrize("way", ["mention", "direct", "command"])
def test_hostile_text_from_a_known_user_comes_back_inert(bot, way):
    for raw in HOSTILE:
        if way == "mention":
            bot.mention("UOPER", raw)
        elif way == "direct":
            bot.direct("UOPER", raw, channel="DOPER")
        else:
            bot.command("UOPER", raw)
    bot.slack.wait_for("chat.postMessage", count=len(HOSTILE))
    check_all(bot, people=("UOPER",))
    # What the audit shows of them: every hostile text inside a code span it cannot leave.
    bot.mention("UADMIN", "audit all")
    audit = bot.reply(lambda c: c.blocks_text.startswith("*Commands"))
    check_all(bot, people=("UOPER", "UADMIN"))
    for line in audit.blocks_text.splitlines():
        assert line.count("`") % 2 == 0, f"a code span broken open: {line!r}"


@pytest.mark.parametrize("where", ["unknown user", "unlisted channel"])
def test_strangers_get_one_short_private_refusal_and_no_echo(bot, where):
    users = [f"USTRANGE{i}" for i in range(len(HOSTILE))] if where == "unknown user" else ["UADMIN"]
    channel = OPS if where == "unknown user" else "CRANDOM"
    for i, raw in enumerate(HOSTILE):
        bot.mention(users[i % len(users)], raw + " " + "x" * 200, channel=channel)
    told = bot.slack.wait_for("chat.postEphemeral", count=len(users))
    # A later message from a known user, answered: everything the strangers caused has been sent.
    bot.mention("UVIEWER", "where is ldap3", channel=GENERAL)
    bot.reply(lambda c: c.text.startswith("ldap3 is on"))
    assert len(bot.slack.of("chat.postEphemeral")) == len(users)  # rate-limited: once per user
    assert [c for c in bot.slack.of("chat.postMessage") if c.body["channel"] == channel] == []
    assert {c.body["user"] for c in told} == set(users)
    for call in told:
        assert call.text.startswith(":no_entry: Not allowed here: ")
        assert "ping" not in call.text
        assert "evil" not in call.text
        assert "x" * 20 not in call.text
        assert_inert(call.text)
    # Each refusal is audited after its ephemeral is sent, on the bot's workers: wait for the last one.
    deadline = time.monotonic() + 15
    while len(entries := [e for e in bot.engine.inventory.audit(limit=50) if e.user in users]) < len(HOSTILE):
        assert time.monotonic() < deadline, f"{len(entries)} of {len(HOSTILE)} attempts audited"
        time.sleep(0.05)  # polling the audit file, which has no change notification
    assert len(entries) == len(HOSTILE)
    assert all(e.outcome == "refused" and e.command == "" and len(e.text) <= 80 for e in entries)


def test_a_stranger_s_secret_is_not_kept(bot):
    bot.mention("USTRANGER", "token=xoxb-1234-5678-abcdef password=hunter2")
    bot.slack.wait_for("chat.postEphemeral")
    entry = bot.engine.inventory.audit(limit=1)[0]
    assert "hunter2" not in entry.text
    assert "xoxb-1234" not in entry.text
    assert "password=REDACTED" in entry.text


def _click_payload(user: str, value: str, *, channel: str = OPS) -> str:
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "api_app_id": "A1",
               "channel": {"id": channel}, "message": {"ts": "1700000300.000001", "text": "x", "blocks": []},
               "trigger_id": "1.2.3",
               "actions": [{"type": "button", "action_id": "granja_confirm", "value": value,
                            "block_id": "b", "action_ts": str(time.time())}]}
    return urlencode({"payload": json.dumps(payload)})


def test_hostile_button_values_and_user_ids_come_back_inert(bot):
    for i, raw in enumerate(HOSTILE):
        user = "UOPER" if i % 2 else "U1><!channel"
        response = bot.post(_click_payload(user, raw), "application/x-www-form-urlencoded")
        assert response.status == 200
    bot.slack.wait_for("chat.postEphemeral", count=len(HOSTILE))
    check_all(bot, people=("UOPER",))


def _hostile_vm(bot, name: str) -> None:
    """A VM whose name came from hypervisor XML, defined on host01 and refreshed into the inventory."""
    conn = bot.hosts["host01"].connection()
    template = conn.listAllDomains()[0].XMLDesc()
    xml = re.sub(r"<name>[^<]*</name>", f"<name>{name}</name>", template, count=1)
    xml = re.sub(r"<uuid>[^<]*</uuid>", "", xml, count=1)
    xml = re.sub(r"<mac address=[^/]*/>", "", xml)
    conn.defineXML(xml)
    refresh_inventory(bot.engine.farm, bot.engine.inventory, at=bot.engine.clock(), user="test")


def test_vm_names_from_the_hypervisor_come_back_inert_in_lists_previews_and_results(bot):
    name = "evil&lt;!channel&gt;`x`&lt;@UVIEWER&gt;www.evil.example"  # XML: evil<!channel>`x`<@UVIEWER>www.…
    _hostile_vm(bot, name)
    assert any("<!channel>" in r.vm.name for r in bot.engine.inventory.vms())
    bot.mention("UOPER", "list on host01")
    listing = bot.reply(lambda c: "evil" in c.blocks_text)
    assert listing.blocks_text.count("```") % 2 == 0
    bot.mention("UADMIN", "evacuate host01")
    preview = bot.preview("host01")
    bot.click("UADMIN", preview, "granja_confirm")
    bot.reply(lambda c: c.text.startswith(("OK:", "FAILED:", "REFUSED:")), timeout=60)
    check_all(bot, people=("UOPER", "UADMIN"))


@pytest.mark.parametrize(("age", "status"), [(299, 200), (-299, 200), (301, 401), (-301, 401), (360, 401)])
def test_timestamps_at_the_edge_of_the_five_minute_window(bot, age, status):
    response = bot.post(bot.event_body({"type": "app_mention", "user": "UVIEWER", "channel": OPS,
                                        "text": "<@UGRANJA> where is ldap3", "ts": "1.1"}),
                        "application/json", timestamp=int(time.time()) - age)
    assert response.status == status
    if status == 200:
        assert bot.reply().text.startswith("ldap3 is on")



def test_a_refused_click_names_people_without_pinging_them(bot):
    """A bystander's click is refused in words that name the requester, a user the config names; the
    refusal goes to the bystander, so pinging the requester is not its point: no live mention, in the
    ephemeral refusal or in the preview rewritten once the request is over."""
    bot.mention("UOPER", "shutdown web2")
    preview = bot.preview("web2")
    bot.click("UOPER2", preview, "granja_confirm")  # not theirs to decide
    (refusal,) = bot.slack.wait_for("chat.postEphemeral")
    assert refusal.text == ("Only @otto (who asked) or an admin can confirm 'shutdown web2'; "
                            "nothing was done.")
    assert_inert(refusal.text)
    bot.click("UOPER", preview, "granja_confirm")
    bot.reply(lambda c: c.text.startswith("OK:") and "web2" in c.text, timeout=60)
    bot.click("UOPER2", preview, "granja_confirm")  # too late: over, and the preview says so
    late = bot.slack.wait_for("chat.postEphemeral", count=2)[1]
    assert late.text == "That request was already confirmed by @otto; nothing more was done."
    (rewritten,) = bot.slack.wait_for("chat.update", lambda c: "already confirmed" in c.blocks_text)
    note = rewritten.body["blocks"][-1]  # the preview (the requester's, mentioning them) plus this note
    assert note["type"] == "context"
    assert note["elements"][0]["text"] == late.text
