import json
import os
import subprocess

import pytest

from conftest import SMALL
from mnist_core.runs import RunStore, RunStoreError
from mnist_core.storage import atomic_write_json


def test_empty_or_missing_store_lists_nothing(tmp_path):
    assert RunStore(tmp_path / "nowhere").summaries() == []


def test_create_list_rename_delete(store):
    first = store.create(SMALL, name="first", preset="seed")
    second = store.create(SMALL.replace(epochs=5), name="second")
    assert {r.id for r in store.runs()} == {first.id, second.id}
    assert first.state == "queued"
    assert first.config() == SMALL
    store.rename(first.id, "renamed")
    assert store.find("renamed").id == first.id
    with pytest.raises(RunStoreError, match="empty"):
        store.rename(first.id, "   ")
    store.delete(second.id)
    assert [r.id for r in store.runs()] == [first.id]
    with pytest.raises(RunStoreError, match="No run"):
        store.get(second.id)


def test_a_damaged_run_is_listed_as_damaged_and_does_not_break_the_listing(store):
    good = store.create(SMALL, name="good")
    broken = store.create(SMALL, name="broken")
    (broken.path / "config.json").write_text('{"filters": [16, 3')  # truncated JSON
    missing = store.create(SMALL, name="missing")
    (missing.path / "meta.json").unlink()
    (store.root / "stray-folder").mkdir()
    rows = {row["run_id"]: row for row in store.summaries()}
    assert rows[good.id]["status"] == "queued"
    assert rows[broken.id]["status"] == "damaged"
    assert "unreadable" in rows[broken.id]["error"]
    assert rows[missing.id]["status"] == "damaged"
    assert "meta.json" in rows[missing.id]["error"]
    assert [r.id for r in store.runs()] == [good.id]
    store.delete(broken.id)  # damaged runs can still be removed
    assert broken.id not in {row["run_id"] for row in store.summaries()}


def test_a_running_run_whose_process_is_gone_is_interrupted(store):
    run = store.create(SMALL)
    dead = subprocess.Popen(["true"])
    dead.wait()
    run.write_status("running", pid=dead.pid, host=os.uname().nodename)
    assert run.state == "interrupted"
    run.write_status("running", pid=os.getpid(), host=os.uname().nodename)
    assert run.state == "running"
    with pytest.raises(RunStoreError, match="stop it first"):
        store.delete(run.id)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "status.json"
    atomic_write_json(path, {"state": "completed"})
    with pytest.raises(ValueError, match="Out of range float"):
        atomic_write_json(path, {"bad": float("nan")})
    assert json.loads(path.read_text()) == {"state": "completed"}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_run_ids_cannot_escape_the_store(store):
    for bad in ("", "..", "../etc", ".hidden"):
        with pytest.raises(RunStoreError):
            store.get(bad)
        with pytest.raises(RunStoreError):
            store.delete(bad)
