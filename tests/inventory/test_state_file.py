"""Small state files: whole after a kill at any step of a write, readable or moved aside, never fatal."""

from __future__ import annotations

import logging
import os

from inventory.state_file import StateFile, write_atomically


def test_a_writer_killed_before_its_rename_leaves_the_last_document_and_a_leftover_that_is_cleaned(tmp_path):
    path = tmp_path / "kept.json"
    state = StateFile(path, dict[str, int], what="counts")
    assert state.save({"a": 1})
    # What a writer killed between its temporary file and the rename leaves: a half-written file beside.
    leftover = tmp_path / ".kept.json.k1ll3d.tmp"
    leftover.write_bytes(b'{"a": 2, "b"')
    assert StateFile(path, dict[str, int], what="counts").load() == {"a": 1}
    assert not leftover.exists()


def test_a_kill_after_the_rename_leaves_the_new_document(tmp_path):
    path = tmp_path / "kept.json"
    write_atomically(path, b'{"a": 1}')
    write_atomically(path, b'{"a": 2}')  # the directory fsync is what a kill here would skip
    assert StateFile(path, dict[str, int], what="counts").load() == {"a": 2}
    assert sorted(os.listdir(tmp_path)) == ["kept.json"]


def test_a_file_that_cannot_be_written_is_logged_once_and_never_raised(tmp_path, caplog):
    blocker = tmp_path / "watch"
    blocker.write_text("a file where the folder should be")  # fails for root too, unlike permissions
    state = StateFile(blocker / "kept.json", dict[str, int], what="counts")
    with caplog.at_level(logging.WARNING):
        assert not state.save({"a": 1})
        assert not state.save({"a": 2})
    assert len(caplog.records) == 1
    assert "will not survive a restart" in caplog.records[0].getMessage()
    blocker.unlink()
    assert state.save({"a": 3})
    assert state.load() == {"a": 3}
