"""The console's `audit` and the stored audit: site.secrets and obvious secrets masked, old entries too."""

from __future__ import annotations

from granja.app import open_engine
from tests.conftest import Chat


def test_secrets_are_masked_in_storage_and_when_shown(state):
    config = state / "demo" / "farm.toml"
    before = Chat(open_engine(config=str(config), state=str(state)))
    before.send("where is sekrit-42", user="carol")  # stored before the pattern existed
    before.engine.inventory.close()
    config.write_text(config.read_text() + '\n[site]\nsecrets = ["sekrit-[0-9]+"]\n')
    chat = Chat(open_engine(config=str(config), state=str(state)))
    chat.send("where is sekrit-43 passwd=swordfish", user="carol")
    stored = "\n".join(p.read_text() for p in (state / "audit").glob("*.jsonl"))
    assert "where is REDACTED" in stored
    assert "sekrit-43" not in stored
    assert "swordfish" not in stored
    chat.send("audit all", user="carol")
    assert "sekrit-4" not in chat.transcript
    assert "swordfish" not in chat.transcript
    assert "where is REDACTED passwd=REDACTED" in chat.transcript
    assert "where is REDACTED" in chat.transcript.replace("where is REDACTED passwd=REDACTED", "")
