"""The run store as a contract: typed records in and out, damaged runs listed with the reason, liveness by lock."""

import json
import os
import subprocess
import sys

import pytest

from mnist_core.atomic import atomic_write_json
from mnist_core.networks.metrics import EpochMetrics, ProgressPoint
from mnist_core.store import DamagedRun, RunState, RunStore, RunStoreError, Trainer
from mnist_core.store.records import Progress, RunStatus, decode, encode
from tests.support.commands import SMALL
from tests.support.pages import completed_run

# Every way a run's file can be wrong: not JSON, empty, the wrong JSON type, the right type with wrong fields.
DAMAGE = {
    "meta.json": ["{not json", "", "[]", '{"name": 5, "created_at": "x"}', '{"created_at": "x"}'],
    "config.json": ["{", "[]", '{"epochs": "many"}', '{"filters": 16}', '{"frobnicate": 1}'],
    "status.json": ["", "[]", '{"state": "exploded", "updated_at": "x"}', '{"state": 3}', "null"],
    "history.json": ['[{"epoch": 1, "lo', '{"a": 1}', '[{"loss": 0.5}]', '[{"epoch": 0}]', '["x"]'],
    "results.json": ["[1, 2, 3]", "{}", '{"test_accuracy": 2.0}', "garbage", '{"test_accuracy": "high"}'],
}


def all_bytes(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_empty_or_missing_store_lists_nothing(tmp_path):
    assert RunStore(tmp_path / "nowhere").summaries() == []


def test_create_list_rename_delete(store):
    with store.create(SMALL, name="first", preset="post") as first, store.create(SMALL.replace(epochs=5)) as second:
        pass
    assert {r.id for r in store.runs()} == {first.id, second.id}
    run = store.get(first.id)
    assert run.state == RunState.QUEUED
    assert run.config == SMALL
    assert run.meta.preset == "post"
    store.rename(first.id, "renamed")
    assert store.find("renamed").id == first.id
    with pytest.raises(RunStoreError, match="empty"):
        store.rename(first.id, "   ")
    with pytest.raises(RunStoreError, match="queued: stop it first"):
        store.delete(second.id)
    assert store.stop(second.id) == "cancelled"
    assert store.get(second.id).status.error == "cancelled before it started"
    store.delete(second.id)
    assert [r.id for r in store.runs()] == [first.id]
    with pytest.raises(RunStoreError, match="No run"):
        store.get(second.id)


def test_records_round_trip_and_unknown_keys_from_a_newer_version_are_ignored():
    status = RunStatus(state=RunState.RUNNING, updated_at="now", trainer=Trainer.OWNER, queued_at=1.5, pid=7)
    assert decode(encode(status), RunStatus, "status.json") == status
    newer = json.loads(encode(status))
    newer["gpu"] = "H200"
    assert decode(json.dumps(newer).encode(), RunStatus, "status.json") == status
    progress = Progress(epochs=2, steps=3, points=(ProgressPoint(epoch=1, batch=1, steps=3, progress=0.3),))
    assert decode(encode(progress), Progress, "progress.json") == progress


@pytest.mark.parametrize(("file", "content"), [(f, c) for f, contents in DAMAGE.items() for c in contents])
def test_every_damaged_record_makes_the_run_damaged_with_the_reason_and_never_raises(store, file, content):
    good = completed_run(store, "good")
    bad = completed_run(store, "bad")
    before = all_bytes(store.root / good.id)
    (store.root / bad.id / file).write_text(content)

    entry = store.read(bad.id)
    assert isinstance(entry, DamagedRun)
    assert entry.reason.startswith(file), entry.reason
    rows = {row["run_id"]: row for row in store.summaries()}
    assert rows[bad.id]["status"] == "damaged"
    assert rows[bad.id]["error"] == entry.reason
    assert rows[good.id]["status"] == RunState.COMPLETED
    assert [run.id for run in store.runs()] == [good.id]
    with pytest.raises(RunStoreError, match="damaged"):
        store.get(bad.id)
    store.delete(bad.id)  # a damaged run can always be deleted
    assert [entry.id for entry in store.entries()] == [good.id]
    assert all_bytes(store.root / good.id) == before, "another run's damage never touches this one"


def test_a_missing_record_or_a_folder_in_its_place_is_damage_too(store):
    no_meta = completed_run(store, "no meta")
    (store.root / no_meta.id / "meta.json").unlink()
    folder = completed_run(store, "folder")
    (store.root / folder.id / "status.json").unlink()
    (store.root / folder.id / "status.json").mkdir()
    (store.root / "stray-folder").mkdir()
    reasons = {row["run_id"]: row["error"] for row in store.summaries() if row["status"] == "damaged"}
    assert reasons[no_meta.id] == "meta.json: the file is missing"
    assert reasons[folder.id] == "status.json: is not a file"
    assert "stray-folder" in reasons


def test_a_running_run_is_believed_only_while_its_owner_holds_the_lock(store):
    writer = store.create(SMALL, trainer=Trainer.OWNER)
    writer.start()
    assert store.get(writer.id).state == RunState.RUNNING
    writer.close()  # as a kill -9 would: the kernel drops the lock with the process
    run = store.get(writer.id)
    assert run.state == "interrupted"
    assert "ended before it finished" in run.status.error


def test_a_reused_pid_cannot_keep_a_dead_run_running(store):
    # After a reboot the pid in status.json may belong to an unrelated live process (here: this test's own).
    with store.create(SMALL, trainer=Trainer.OWNER) as writer:
        pass
    atomic_write_json(
        store.root / writer.id / "status.json",
        {"state": "running", "updated_at": "x", "trainer": "owner", "pid": os.getpid(), "host": os.uname().nodename},
    )
    assert store.get(writer.id).state == "interrupted"
    store.delete(writer.id)


def test_a_queued_run_for_the_worker_waits_but_a_queued_run_of_a_dead_owner_is_interrupted(store):
    with (
        store.create(SMALL, trainer=Trainer.WORKER) as for_worker,
        store.create(SMALL, trainer=Trainer.OWNER) as for_owner,
    ):
        assert store.get(for_owner.id).state == RunState.QUEUED
    assert store.get(for_worker.id).state == RunState.QUEUED
    assert store.get(for_owner.id).state == "interrupted"
    assert "before it started" in store.get(for_owner.id).status.error


def test_a_lock_held_by_another_process_counts_and_dies_with_it(store):
    with store.create(SMALL, trainer=Trainer.OWNER) as writer:
        writer.start()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, 2); print(1);"
            "sys.stdout.flush(); time.sleep(60)",
            str(store.layout.owner_lock(writer.id)),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        holder.stdout.readline()
        assert store.get(writer.id).state == RunState.RUNNING
        with pytest.raises(RunStoreError, match="stop it first"):
            store.delete(writer.id)
    finally:
        holder.kill()
        holder.wait()
    assert store.get(writer.id).state == "interrupted"


def test_ids_and_keys_that_could_match_anything_match_nothing(store):
    with store.create(SMALL, name="only") as only:
        pass
    for key in ("", "   "):
        with pytest.raises(RunStoreError, match="empty"):
            store.find(key)
    for bad in ("", "..", "../etc", ".hidden", "a/b"):
        with pytest.raises(RunStoreError):
            store.get(bad)
        with pytest.raises(RunStoreError):
            store.delete(bad)
    assert [r.id for r in store.runs()] == [only.id]


def test_an_ambiguous_prefix_or_name_is_refused(store):
    with store.create(SMALL, name="twin") as a, store.create(SMALL, name="twin") as b:
        pass
    with pytest.raises(RunStoreError, match="matches 2 runs"):
        store.find("twin")
    common = os.path.commonprefix([a.id, b.id])
    with pytest.raises(RunStoreError, match="matches 2 runs"):
        store.find(common)
    assert store.find(a.id).id == a.id


def test_hostile_names_are_kept_as_typed_and_control_characters_refused(store):
    hostile = "![t](http://127.0.0.1:9/x.png) **bold** <b>x</b> $x$ :red[r]"
    with store.create(SMALL, name=hostile) as writer:
        pass
    assert store.get(writer.id).name == hostile
    assert "/" not in writer.id
    assert ".." not in writer.id
    for bad in ("line\nbreak", "tab\tname", "x" * 81):
        with pytest.raises(RunStoreError):
            store.rename(writer.id, bad)


def test_a_store_that_is_a_file_or_unwritable_says_so(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(RunStoreError, match="is a file"):
        RunStore(afile).create(SMALL)
    with pytest.raises(RunStoreError, match="is a file"):
        RunStore(afile).check_readable()
    with pytest.raises(RunStoreError, match="cannot create"):
        RunStore(afile / "inside").create(SMALL)


def test_sweep_removes_what_killed_processes_left_and_records_dead_owners(store):
    alive = store.create(SMALL, trainer=Trainer.OWNER)
    alive.start()
    (store.root / alive.id / ".model.tmp.keras").write_bytes(b"a save in progress")
    dead = store.create(SMALL, trainer=Trainer.OWNER)
    dead.start()
    dead.close()
    (store.root / dead.id / ".model.tmp.keras").write_bytes(b"x" * 1000)
    (store.root / dead.id / ".status.json.abc.tmp").write_bytes(b"{")
    (store.root / ".new-20990101-000000-x-0000").mkdir()
    (store.root / ".deleted-old-1").mkdir()

    done = store.sweep()

    assert not (store.root / dead.id / ".model.tmp.keras").exists()
    assert not (store.root / dead.id / ".status.json.abc.tmp").exists()
    assert (store.root / alive.id / ".model.tmp.keras").exists(), "a live owner's save is left alone"
    assert not (store.root / ".new-20990101-000000-x-0000").exists()
    assert not (store.root / ".deleted-old-1").exists()
    recorded = json.loads((store.root / dead.id / "status.json").read_text())
    assert recorded["state"] == "interrupted"
    assert store.get(alive.id).state == RunState.RUNNING
    assert any("interrupted" in line for line in done)
    alive.close()


def test_history_written_by_the_owner_is_read_back_typed(store):
    with store.create(SMALL, trainer=Trainer.OWNER) as writer:
        writer.write_history([EpochMetrics(epoch=1, loss=0.5, val_loss=0.6), EpochMetrics(epoch=2, loss=0.4)])
        writer.write_status(RunState.COMPLETED)
    run = store.get(writer.id)
    assert [h.epoch for h in run.history] == [1, 2]
    assert run.best_epoch().epoch == 1
    assert run.summary()["epochs_completed"] == 2
