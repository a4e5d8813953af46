"""Slack markup in, plain commands out; long answers out in pieces that Slack accepts, whole lines only."""

from __future__ import annotations

import pytest

from bot.parser import parse
from bot.slack.adapter import plain_text
from bot.slack.blocks import MAX_BLOCKS, SECTION_CHARS, chunks, fallback, text_blocks


@pytest.mark.parametrize(("typed", "command"), [
    ("<@UGRANJA> where is ldap3", "where is ldap3"),
    ("<@UGRANJA|granja>: where is <http://ldap3.example.org|ldap3.example.org>",
     "where is ldap3.example.org"),
    ("show <mailto:imap2@example.org|imap2@example.org>", "show imap2@example.org"),
    ("where is <http://web2>", "where is http://web2"),
    ("list on host07 &amp; more", "list on host07 & more"),
])
def test_slack_markup_is_undone(typed, command):
    assert plain_text(typed, bot_user="UGRANJA") == command


def test_people_channels_and_groups_read_as_slack_shows_them():
    text = plain_text("<#C123|ops> <@U42> <!subteam^S9|@oncall> <!here>")
    assert text == "#ops @U42 @oncall @here"


@pytest.mark.parametrize("typed", ["<@UGRANJA> migrate <http://imap2|imap2> to host07",
                                   "\u201cmigrate imap2 to host07\u201d", "migrate\u00a0imap2 to host07"])
def test_what_slack_sends_parses_as_typed(typed):
    assert parse(plain_text(typed, bot_user="UGRANJA")).canonical() == "migrate imap2 to host07"


def test_chunks_keep_whole_lines_within_the_limit():
    lines = [f"vm{i:05d}  host{i % 40:02d}  running  " + "x" * (i % 70) for i in range(3000)]
    pieces = chunks("\n".join(lines))
    assert all(len(piece) <= SECTION_CHARS for piece in pieces)
    assert [line for piece in pieces for line in piece.splitlines()] == lines


def test_past_the_block_limit_the_rest_is_counted_not_cut():
    lines = [f"vm{i:05d} " + "y" * 60 for i in range(5000)]
    blocks = text_blocks("\n".join(lines), code=True)
    assert len(blocks) == MAX_BLOCKS + 1
    shown = sum(len(b["text"]["text"].strip("`").splitlines()) for b in blocks[:-1])
    assert blocks[-1]["elements"][0]["text"].startswith(f"… and {5000 - shown} more lines")


def test_the_fallback_ends_on_a_whole_line_and_says_what_is_left():
    text = "\n".join(f"line {i}" for i in range(2000))
    short = fallback(text)
    assert len(short) <= 3000
    body, summary = short.rsplit("\n", 1)
    assert body.splitlines()[-1] == f"line {len(body.splitlines()) - 1}"
    assert summary == f"… and {2000 - len(body.splitlines())} more lines"
