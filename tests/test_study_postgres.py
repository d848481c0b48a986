"""Studies shared through a real PostgreSQL server (a throwaway cluster, see tests/support/pg_cluster.py), by workers
that each have their own run store and host name, as on several machines: a grid shared by three workers, a worker
killed mid-trial whose trial another worker finishes, and database problems said in one line."""

import json
import signal
import subprocess
import sys
from pathlib import Path

from mnist_core import study as studies
from mnist_core.store import RunStore
from mnist_core.study import Studies
from tests.support.commands import ROOT, as_machine, cli_env, wait_until
from tests.support.pages import open_page

PASSWORD = "s3cret-pw"  # the test server trusts every local connection: a password is accepted and ignored


def _worker(host: str, name: str, url: str, runs_dir: Path, env: dict | None = None, **popen):
    command = [sys.executable, "-m", "mnist_core", "study", "run", name, "--storage", url, "--runs-dir", str(runs_dir)]
    command, machine_env = as_machine(host, [*command, "--json"])
    return subprocess.Popen(command, cwd=ROOT, env={**machine_env, **(env or {})}, text=True, **popen)


def _files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


def test_three_workers_with_their_own_run_stores_share_a_grid_without_training_a_cell_twice(
    tmp_path, pg_url, monkeypatch
):
    stores = {host: RunStore(tmp_path / host) for host in ("w1", "w2", "w3")}
    Studies(stores["w1"], pg_url).create(
        "shared",
        studies.grid_study({"filters": [[8, 16], [16, 36]], "dropout": [0.1, 0.2, 0.3]}, epochs=1, train_limit=1000),
    )
    # One worker has the password in its URL, the others take it from the environment, as libpq does.
    with_password = pg_url.replace("@", f":{PASSWORD}@", 1)
    workers = {
        host: _worker(
            host,
            "shared",
            with_password if host == "w1" else pg_url,
            store.root,
            env=None if host == "w1" else {"PGPASSWORD": PASSWORD},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for host, store in stores.items()
    }
    outputs = {host: worker.communicate(timeout=600) for host, worker in workers.items()}
    for host, worker in workers.items():
        assert worker.returncode == 0, outputs[host][1]
    reports = {host: json.loads(out) for host, (out, _) in outputs.items()}

    attempts = Studies(stores["w1"], pg_url).attempts("shared")
    assert len(attempts) == 6, "no trial asked for twice, none made beyond the six planned"
    assert all(a.state == "complete" for a in attempts)
    assert sorted(a.slot for a in attempts) == [1, 2, 3, 4, 5, 6]
    cells = {(a.params["filters"], a.params["dropout"]) for a in attempts}
    assert len(cells) == 6, "each cell trained exactly once"
    assert sum(r["trained_here"] for r in reports.values()) == 6
    assert {a.attrs["host"] for a in attempts} <= {"w1", "w2", "w3"}

    for host, store in stores.items():
        mine = {a.attrs["run_id"] for a in attempts if a.attrs["host"] == host}
        assert {run.id for run in store.runs()} == mine, f"every trial {host} trained is a run in its own store"
        assert all(run.state == "completed" and run.meta.study == "shared" for run in store.runs())
        # Every machine's table shows every trial, wherever it ran; its own link to their runs.
        report = reports[host]
        assert report["state"] == "finished"
        assert [row["trial"] for row in report["trials"]] == [1, 2, 3, 4, 5, 6]
        assert {row["run_id"] for row in report["trials"] if row["here"]} == mine
        assert all(row["state"] == "completed" and row["test_accuracy"] > 0.1 for row in report["trials"])
        assert all(row["val_loss_per_epoch"] == [row["best_val_loss"]] for row in report["trials"]), (
            "each trial's val_loss per epoch, from the database, wherever it ran"
        )
        assert PASSWORD not in _files_text(store.root), "no credential written to the run store"
    for out, err in outputs.values():
        assert PASSWORD not in out + err, "no credential printed"

    # The Experiments page of each machine shows all six, linking to the runs of its own store.
    monkeypatch.setenv("MNIST_LAB_STUDIES", pg_url)
    for host, store in stores.items():
        monkeypatch.setenv("MNIST_LAB_RUNS", str(store.root))
        at = open_page("pages/experiments.py")
        table = next(df.value for df in at.dataframe if "trial" in df.value.columns)
        assert list(table["trial"]) == [1, 2, 3, 4, 5, 6]
        assert set(table["state"]) == {"completed"}
        linked = {link.removeprefix("./runs?run=") for link in table["run"] if link}  # empty: trained elsewhere
        assert linked == {run.id for run in store.runs()}, f"{host}'s page links to its own runs only"

    shown = subprocess.run(
        [sys.executable, "-m", "mnist_core", "study", "show", "shared", "--storage", pg_url],
        cwd=ROOT,
        env=cli_env(MNIST_LAB_RUNS=str(tmp_path / "elsewhere")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "6/6 trials finished" in shown.stdout
    assert shown.stdout.count("completed") == 6, "a machine that trained nothing sees every trial"
    assert "val_loss" in shown.stdout.splitlines()[1]
    assert all(host in shown.stdout for host in {a.attrs["host"] for a in attempts}), "and who trained it"
    for action, words in (("stop", "stops after the current batch"), ("resume", "6/6 trials finished, 0 trained")):
        done = subprocess.run(
            [sys.executable, "-m", "mnist_core", "study", action, "shared", "--storage", pg_url],
            cwd=ROOT,
            env=cli_env(MNIST_LAB_RUNS=str(tmp_path / "elsewhere")),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert words in done.stdout


def test_a_worker_killed_mid_trial_has_its_trial_finished_by_another_worker(tmp_path, pg_url):
    first, second = RunStore(tmp_path / "w1"), RunStore(tmp_path / "w2")
    lab = Studies(first, pg_url)
    # 15 epochs of 4,000 images: long enough to be killed mid-trial. A heartbeat every second, three of grace.
    lab.create("takeover", studies.grid_study({"dropout": [0.1, 0.2]}, epochs=15, train_limit=5000), heartbeat=(1, 3))
    doomed = _worker("w1", "takeover", pg_url, first.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def training_an_epoch_in():
            runs = first.runs()
            return bool(runs and runs[0].history)

        wait_until(training_an_epoch_in, 240, "the first worker to finish an epoch of its trial")
        doomed.send_signal(signal.SIGKILL)  # as a machine switched off: no goodbye, no clean-up
        doomed.wait(timeout=10)
    finally:
        doomed.kill()
    killed_run = first.runs()[0]
    assert first.get(killed_run.id).state == "interrupted"

    survivor = _worker("w2", "takeover", pg_url, second.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err
    assert json.loads(out)["trained_here"] == 2, "the untouched trial and the dead worker's"

    rows = Studies(second, pg_url).rows("takeover")
    assert [(r["trial"], r["state"], r["host"]) for r in rows] == [
        (1, "interrupted", "w1"),
        (1, "completed", "w2"),
        (2, "completed", "w2"),
    ]
    assert "heartbeat" in rows[0]["note"]
    assert rows[0]["run_id"] == killed_run.id
    assert not rows[0]["here"], "the dead worker's run is in its own machine's store"
    assert all(r["here"] for r in rows[1:])
    assert len(second.runs()) == 2
    assert Studies(second, pg_url).progress("takeover")["state"] == "finished"


def test_database_problems_are_one_line_saying_what_to_check_without_the_password(tmp_path, postgres):
    from tests.support.pg_cluster import free_port

    cases = {
        f"postgresql+psycopg://lab:{PASSWORD}@127.0.0.1:{free_port()}/studies": "no database server answers",
        postgres.url("no_such_db").replace("@", f":{PASSWORD}@", 1): "no such database",
        f"postgres://lab:{PASSWORD}@127.0.0.1/studies": "for PostgreSQL write postgresql+psycopg://",
        "not a url": "not a database URL",
    }
    for url, words in cases.items():
        for action in (["show"], ["run", "grid"], ["create", "grid", "--grid", "dropout=0.1,0.2"]):
            result = subprocess.run(
                [sys.executable, "-m", "mnist_core", "study", *action, "--storage", url, "--runs-dir", str(tmp_path)],
                cwd=ROOT,
                env=cli_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 2, result.stderr
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith("error: study database: ")
            assert words in lines[0]
            assert PASSWORD not in result.stderr + result.stdout
