"""Studies: definitions checked before anything trains, tiny real grids trained through Optuna, workers sharing a
study on SQLite, a killed worker's trial taken over through Optuna's heartbeat, stop and resume, pruning, and the
table and CSV the page and the command line show: identical trials merged, shortened ones marked, a stopped
study's unrun trials "not run", its time estimated before it is queued, its errors in the reader's language.
(Studies shared through PostgreSQL: test_study_postgres.py.)"""

import json
import re
import signal
import subprocess
import sys

import pytest

from mnist_core import study as studies
from mnist_core.i18n import translator
from mnist_core.networks.presets import PRESETS, STUDY
from mnist_core.presentation.study_charts import accuracy_tick_format
from mnist_core.presentation.study_table import format_table
from mnist_core.presentation.text import format_gap_points, format_percent
from mnist_core.store import RunStore
from mnist_core.study import Studies, StudyError, StudySpec, estimate
from tests.support.commands import ROOT, cli_env, wait_until

TINY = {"epochs": 1, "train_limit": 1000}


def _cli(*args, runs_dir, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "mnist_core", "study", *args, "--runs-dir", str(runs_dir)],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- the engine's shape ---------------------------------------------------------------------------------------


def test_only_the_adapter_speaks_to_optuna_and_through_its_public_api_only():
    package = ROOT / "mnist_core" / "study"
    for path in package.glob("*.py"):
        source = path.read_text()
        if path.name != "adapter.py":
            assert not re.search(r"^\s*(import|from) optuna", source, re.MULTILINE), f"{path.name} imports optuna"
    adapter = (package / "adapter.py").read_text()
    private = re.findall(r"optuna(?:\.\w+)*\._\w+|\._(?:study_id|trial_id|all_grids|param_names|storage)\b", adapter)
    assert not private, f"private Optuna names in the adapter: {private}"
    assert "def after_trial" not in adapter, "no patched sampler"


# --- definitions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field", "words"),
    [
        (lambda: studies.grid_study({}), "grid", "empty"),
        (lambda: studies.grid_study({"dropout": []}), "grid.dropout", "no values"),
        (lambda: studies.grid_study({"filterz": [1]}), "grid.filterz", "not a config field"),
        (lambda: studies.grid_study({"dropout": [0.2, 1.5]}), "grid.dropout", "between 0 and 0.9"),
        (lambda: studies.grid_study({"epochs": [5]}, epochs=1), "epochs", "varied"),
        (
            lambda: studies.grid_study({"dense_units": list(range(1, 30)), "epochs": list(range(1, 10))}),
            "grid",
            "combinations",
        ),
        (lambda: studies.search_study({"epochs": {"low": 1, "high": 100000}}, 5), "search.epochs", "between 1 and 500"),
        (lambda: studies.search_study({"dropout": {"low": 0.5, "high": 0.1}}, 5), "search.dropout", "below high"),
        (
            lambda: studies.search_study({"learning_rate": {"low": 0, "high": 0.1, "log": True}}, 5),
            "search.learning_rate",
            "log range",
        ),
        (lambda: studies.search_study({"dropout": {"low": 0.1, "high": 0.5}}, 0), "n_trials", "between 1"),
        (lambda: studies.search_study({"optimizer": {"low": 0, "high": 1}}, 3), "search.optimizer", "choices"),
        (lambda: studies.preset_study(["seed", "nope"]), "presets", "no preset 'nope'"),
        (lambda: studies.preset_study([]), "presets", "at least one"),
        (lambda: studies.preset_study(train_limit=5), "overrides", "train_limit"),
    ],
)
def test_bad_study_definitions_are_refused_with_the_field_and_the_fix(make, field, words):
    with pytest.raises(StudyError) as caught:
        make()
    assert caught.value.field == field
    assert words in str(caught.value)


def test_the_posts_study_is_its_seven_presets_with_the_posts_figures():
    spec = studies.preset_study(**TINY)
    assert spec.size == 7
    assert spec.presets == STUDY
    configs = {name: spec.config_for({"preset": name}) for name in STUDY}
    assert configs["wide"].filters == (32, 64)
    assert configs["one-conv"].filters == (16,)
    assert all(c.epochs == 1 and c.train_limit == 1000 for c in configs.values())
    assert spec.describe({"preset": "wide"}) == PRESETS["wide"].description
    assert StudySpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_a_new_study_names_the_posts_model_post_even_when_asked_by_its_old_name(tmp_path):
    spec = studies.preset_study(["seed", "seed-10", "wide"], **TINY)
    assert spec.presets == ("post", "post-10", "wide")
    assert spec.to_dict()["presets"] == ["post", "post-10", "wide"], "a new study records the new names"
    assert spec.space() == {"preset": ("categorical", ["post", "post-10", "wide"])}
    assert spec.config_for({"preset": "post-10"}) == PRESETS["post-10"].config.replace(**TINY)
    assert studies.grid_study({"dropout": [0.1]}, base="seed").base == "post"
    assert studies.search_study({"dropout": {"low": 0.1, "high": 0.5}}, 3, base="seed-10").base == "post-10"
    with pytest.raises(StudyError, match="listed twice"):
        studies.preset_study(["seed", "post"])

    made = _cli("create", "old-names", "--preset-study", "seed", "wide", "--json", runs_dir=tmp_path / "runs")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["spec"]["presets"] == ["post", "wide"]
    made = _cli(
        "create", "old-base", "--grid", "dropout=0.1,0.2", "--base", "seed", "--json", runs_dir=tmp_path / "runs"
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["spec"]["base"] == "post"


def _study_as_5d940cd_made_it(lab: Studies, name: str, presets: list[str], overrides: dict) -> None:
    """A preset study as the code before the rename wrote it: its definition and its queued trials naming `seed`."""
    from mnist_core.study import adapter

    recorded = {**studies.preset_study(**overrides).to_dict(), "presets": presets, "base": "seed"}
    planned = [{"preset": preset} for preset in presets]
    lab.store.root.mkdir(parents=True, exist_ok=True)
    adapter.create_study(lab.url, name, planned, {"spec": recorded}, search=False, prune=False)


def test_a_study_recorded_under_the_old_names_trains_and_shows_them_under_the_new_ones(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    lab = Studies(store)
    _study_as_5d940cd_made_it(lab, "before-rename", ["seed-10", "one-conv"], {"epochs": 1, "train_limit": 600})
    _, spec = lab.open("before-rename")
    assert spec.presets == ("post-10", "one-conv")
    assert spec.base == "post"
    assert spec.space() == {"preset": ("categorical", ["seed-10", "one-conv"])}, "Optuna's choices as recorded"

    assert lab.run_worker("before-rename", data=mnist, max_trials=1) == 1  # its queued `seed-10` trial, trained
    lab.request_stop("before-rename")
    assert lab.prepare_resume("before-rename") == []
    assert lab.run_worker("before-rename", data=mnist) == 1  # and the next, after a stop and a resume
    rows = lab.rows("before-rename")
    assert [row["preset"] for row in rows] == ["post-10", "one-conv"]
    assert [row["state"] for row in rows] == ["completed", "completed"]
    assert rows[0]["post_accuracy"] == PRESETS["post-10"].reported_accuracy
    assert rows[0]["changed"] == PRESETS["post-10"].description
    assert rows[0]["epochs"] == 1
    first = store.get(rows[0]["run_id"])
    assert (first.meta.preset, first.name) == ("post-10", "before-rename #1 post-10")
    assert first.config == PRESETS["post-10"].config.replace(epochs=1, train_limit=600)
    assert list(lab.curves("before-rename")) == ["#1 post-10", "#2 one-conv"]

    shown = _cli("show", "before-rename", "--json", runs_dir=store.root)
    assert [trial["preset"] for trial in json.loads(shown.stdout)["trials"]] == ["post-10", "one-conv"]
    table = _cli("show", "before-rename", runs_dir=store.root).stdout
    assert "seed" not in table


def test_typed_values_and_ranges_parse_into_config_values():
    grid = studies.parse_assignments(
        ["filters=16/36, 32/64", "batch-norm=true,false", "epochs=5,10"], studies.parse_values, "grid"
    )
    assert grid == {"filters": [[16, 36], [32, 64]], "batch_norm": [True, False], "epochs": [5, 10]}
    spec = studies.grid_study(grid)
    assert spec.size == 8
    assert spec.config_for({"filters": "32/64", "batch_norm": True, "epochs": 5}).filters == (32, 64)
    assert studies.parse_range("learning_rate", "1e-4:1e-2:log") == {"low": 1e-4, "high": 1e-2, "log": True}
    assert studies.parse_range("optimizer", "adam,sgd") == {"choices": ["adam", "sgd"]}
    with pytest.raises(StudyError, match="whole number"):
        studies.parse_values("epochs", "2.5")
    with pytest.raises(StudyError, match="FIELD=VALUES"):
        studies.parse_assignments(["dropout"], studies.parse_values, "grid")


def test_kernel_sizes_vary_as_one_size_or_one_per_block():
    grid = studies.parse_assignments(["kernel-size=3, 5/3"], studies.parse_values, "grid")
    assert grid == {"kernel_size": [3, [5, 3]]}
    spec = studies.grid_study(grid, base="fast")
    assert sorted(str(spec.config_for(cell).kernel_size) for cell in spec.cells()) == ["(5, 3)", "3"]
    assert studies.parse_range("kernel_size", "3:7") == {"low": 3, "high": 7, "log": False}


def test_a_bad_definition_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    result = _cli("create", "x", "--grid", "dropout=", runs_dir=tmp_path / "runs")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: dropout: has no values: give one or more, separated by commas"
    ]
    result = _cli("create", "x", "--search", "epochs=1:100000", "--trials", "3", runs_dir=tmp_path / "runs")
    assert result.returncode == 2
    assert "search.epochs" in result.stderr
    assert "500" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- training studies ------------------------------------------------------------------------------------------


def test_a_tiny_grid_runs_from_the_command_line_and_every_trial_is_a_run(tmp_path):
    runs_dir = tmp_path / "runs"
    result = _cli(
        "create",
        "tiny",
        "--grid",
        "filters=8/16,16/36",
        "--epochs",
        "1",
        "--limit",
        "1000",
        "--run",
        "--json",
        runs_dir=runs_dir,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["state"] == "finished"
    assert output["finished"] == output["planned"] == 2
    rows = output["trials"]
    assert sorted(row["filters"] for row in rows) == ["16/36", "8/16"]
    assert all(row["state"] == "completed" and row["test_accuracy"] > 0.2 for row in rows)
    assert len({row["parameters"] for row in rows}) == 2, "narrower filters, fewer parameters"
    assert all(row["epochs_run"] == 1 and row["best_epoch"] == 1 and row["seconds"] > 0 for row in rows)

    store = RunStore(runs_dir)
    runs = {run.id: run for run in store.runs()}
    assert set(runs) == {row["run_id"] for row in rows}, "every trial is an ordinary run"
    assert [row["trial"] for row in rows] == [1, 2], "numbered from 1, in the order given"
    assert [row["filters"] for row in rows] == ["8/16", "16/36"]
    for row in rows:
        meta = runs[row["run_id"]].meta
        assert meta.study == "tiny"
        assert meta.trial == row["trial"]
        assert row["here"]
        assert runs[row["run_id"]].summary()["test_accuracy"] == row["test_accuracy"]

    shown = _cli("show", "tiny", "--csv", runs_dir=runs_dir)
    lines = shown.stdout.strip().splitlines()
    assert lines[0].startswith("trial,state,changed,filters,parameters")
    assert len(lines) == 3
    listing = _cli("show", runs_dir=runs_dir)
    assert "tiny" in listing.stdout
    assert "finished" in listing.stdout
    assert "2/2" in listing.stdout
    again = _cli("create", "tiny", "--preset-study", runs_dir=runs_dir)
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_two_workers_share_one_sqlite_study_without_training_a_cell_twice(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = RunStore(tmp_path / "machine-a"), RunStore(tmp_path / "machine-b")
    Studies(first, storage).create("shared", studies.grid_study({"dropout": [0.1, 0.2, 0.3]}, **TINY))
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mnist_core",
                "study",
                "run",
                "shared",
                "--storage",
                storage,
                "--runs-dir",
                str(store.root),
                "--json",
            ],
            cwd=ROOT,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for store in (first, second)
    ]
    outputs = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    attempts = Studies(first, storage).attempts("shared")
    completed = [a for a in attempts if a.state == "complete"]
    assert sorted(a.params["dropout"] for a in completed) == [0.1, 0.2, 0.3], "each cell trained exactly once"
    assert sum(o["trained_here"] for o in outputs) == len(attempts) == 3
    assert len(first.runs()) + len(second.runs()) == 3


def test_a_worker_killed_mid_trial_leaves_its_trial_to_the_next_worker_and_finished_trials_alone(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    lab = Studies(store)
    # 40 epochs: on a quiet machine the second trial must still be training when the test kills the worker.
    # A heartbeat every second and a grace of three: Optuna notices the dead worker within seconds.
    spec = studies.grid_study({"dropout": [0.1, 0.2, 0.3]}, epochs=40, train_limit=1000)
    lab.create("killed", spec, heartbeat=(1, 3))
    worker = subprocess.Popen(
        [sys.executable, "-m", "mnist_core", "study", "run", "killed", "--runs-dir", str(store.root), "--json"],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def second_trial_training():
            rows = lab.rows("killed")
            return rows[0]["state"] == "completed" and rows[1]["state"] == "running" and rows[1]["epochs_run"]

        wait_until(second_trial_training, 240, "the second trial to finish an epoch")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()

    finished = {r["run_id"]: r for r in lab.rows("killed") if r["state"] == "completed"}
    assert len(finished) == 1
    done_run = store.get(next(iter(finished)))
    before = {p.name: p.read_bytes() for p in done_run.model_path.parent.iterdir()}
    # Optuna's heartbeat check (any reader runs it) fails the silent trial and queues it again.
    wait_until(lambda: lab.progress("killed")["state"] == "queued", 60, "the dead worker's trial to be queued again")
    rows = lab.rows("killed")
    assert [r["state"] for r in rows] == ["completed", "interrupted", "queued"]
    assert "heartbeat" in rows[1]["note"]
    assert "queued again" in rows[1]["note"]
    assert lab.prepare_resume("killed") == [], "nothing left for a resume: Optuna queued it"

    trained = lab.run_worker("killed", data=mnist)
    assert trained == 2, "the killed trial and the untouched one; never the finished one"
    rows = lab.rows("killed")
    assert [(r["trial"], r["state"]) for r in rows] == [
        (1, "completed"),
        (2, "interrupted"),
        (2, "completed"),
        (3, "completed"),
    ]
    assert sorted(r["dropout"] for r in rows if r["state"] == "completed") == [0.1, 0.2, 0.3]
    assert {p.name: p.read_bytes() for p in done_run.model_path.parent.iterdir()} == before, (
        "the finished trial's run untouched"
    )
    assert store.get(rows[1]["run_id"]).state == "interrupted", "the killed trial stays in the store as a run"
    assert lab.progress("killed")["state"] == "finished"
    assert lab.run_worker("killed", data=mnist) == 0, "a finished study trains nothing more"


def test_stop_ends_the_study_cleanly_and_keeps_the_stopped_trials_run(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    lab = Studies(store)
    lab.create("stopped", studies.preset_study(["one-conv", "post-10"], epochs=300, train_limit=1000))
    import threading

    worker = threading.Thread(target=lab.run_worker, args=("stopped",), kwargs={"data": mnist})
    worker.start()
    wait_until(lambda: lab.progress("stopped")["running"] and lab.rows("stopped")[0]["epochs_run"], 120, "training")
    stopping = lab.request_stop("stopped")
    assert len(stopping) == 1
    worker.join(timeout=60)
    assert not worker.is_alive()
    progress = lab.progress("stopped")
    assert progress["state"] == "stopped"
    assert progress["finished"] == 0
    assert progress["interrupted"] == 1
    run = store.get(stopping[0])
    assert run.state == "stopped", "the stopped trial keeps its run"
    assert run.has_model, "the stopped trial keeps its model"
    with pytest.raises(StudyError, match="resume"):
        lab.run_worker("stopped", data=mnist)
    assert lab.prepare_resume("stopped") == [1], "resume queues the stopped trial again"
    assert lab.progress("stopped")["state"] == "queued"


def test_pruning_stops_a_hopeless_trial_from_its_validation_loss(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    lab = Studies(store)
    # Trials train in the order given: two good ones to compare with, then the hopeless 1e-6.
    spec = studies.grid_study(
        {"learning_rate": [0.003, 0.001, 1e-6]}, prune=True, epochs=6, batch_size=32, train_limit=1000
    )
    lab.create("pruned", spec)
    assert lab.run_worker("pruned", data=mnist) == 3
    rows = {r["learning_rate"]: r for r in lab.rows("pruned")}
    assert rows[1e-6]["state"] == "pruned"
    assert rows[1e-6]["epochs_run"] < 6
    assert rows[0.001]["state"] == rows[0.003]["state"] == "completed"
    run = store.get(rows[1e-6]["run_id"])
    assert run.state == "stopped"
    assert "pruned" in run.status.error
    assert run.meta.pruned is True
    assert lab.progress("pruned")["state"] == "finished"
    curves = lab.curves("pruned")
    assert len(curves) == 3
    assert all(h[0].val_loss for h in curves.values())
    assert "completed" in format_table(lab.rows("pruned"))


def test_a_study_lets_the_train_pages_queue_go_first_and_never_trains_beside_it(store, mnist):
    from mnist_core.jobs.launch import submit
    from tests.support.commands import SMALL

    queued = submit(store, SMALL.replace(epochs=2, train_limit=1000), name="from the Train page")
    lab = Studies(store)
    lab.create("together", studies.grid_study({"dropout": [0.1, 0.2]}, **TINY))
    assert lab.run_worker("together", data=mnist) == 2
    assert store.get(queued).state == "completed"
    spans = sorted((r.status.started_at, r.status.finished_at, r.id) for r in store.runs())
    assert spans[0][2] == queued, "the run queued first trained first"
    assert all(a[1] <= b[0] for a, b in zip(spans[:-1], spans[1:], strict=True)), f"two trainings overlapped: {spans}"


# --- the worker's display ---------------------------------------------------------------------------------------


def _progress(finished: int, planned: int = 4) -> dict:
    return {"finished": finished, "planned": planned, "state": "running"}


def test_a_worker_in_a_terminal_shows_a_bar_for_the_study_with_the_trials_epoch_bars_under_it():
    import io

    from mnist_core.networks.metrics import EpochMetrics
    from mnist_core.presentation.terminal import StudyProgress

    screen = io.StringIO()
    display = StudyProgress("grid", stream=screen, force_terminal=True)
    display.study(_progress(1))
    sink = display.trial_sink("trial 2")
    sink.on_train_begin(2, 10)
    assert sink._bars is display._bars, "the trial's bars join the study's, one live display"
    sink.on_epoch(EpochMetrics(epoch=1, loss=0.5, val_loss=0.4))
    sink.on_epoch(EpochMetrics(epoch=2, loss=0.3, val_loss=0.2))
    display.log("trial 2: val_loss 0.2000")
    display.study(_progress(2))
    display.close()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # colours and cursor moves out
    assert "study" in shown
    assert "2/4" in shown
    assert "trials/min" in shown
    assert "epoch 2/2: loss 0.3000 val_loss 0.2000" in shown
    assert "trial 2: val_loss 0.2000" in shown


def test_a_worker_without_a_terminal_or_with_json_writes_plain_lines():
    import io

    from mnist_core.networks.metrics import EpochMetrics
    from mnist_core.presentation.terminal import StudyProgress

    for display in (
        StudyProgress("grid", stream=io.StringIO()),
        StudyProgress("grid", stream=io.StringIO(), force_terminal=True, lines=True),
    ):
        display.study(_progress(1))
        sink = display.trial_sink("trial 2")
        sink.on_train_begin(1, 10)
        sink.on_epoch(EpochMetrics(epoch=1, loss=0.5, val_loss=0.4))
        display.study(_progress(2))
        lines = display.stream.getvalue().splitlines()
        assert lines[0] == "study grid: 1/4 trials finished (running)"
        assert lines[1] == "epoch 1/1: loss 0.5000 val_loss 0.4000"
        assert lines[2].startswith("study grid: 2/4 trials finished (running), ")
        assert "trials/min" in lines[2]
        assert "left" in lines[2]
        assert "\x1b" not in display.stream.getvalue(), "no terminal codes in a log"


# --- what a study will cost, and what it shows -------------------------------------------------------------------


def test_an_epoch_override_makes_post_and_post_10_one_trial_which_is_named_and_trained_once():
    spec = studies.preset_study(epochs=1)
    assert spec.identical_trials() == [("post", ("post-10",))]
    assert spec.merged().presets == tuple(p for p in STUDY if p != "post-10")
    assert studies.preset_study().identical_trials() == [], "as the post defined them, all seven differ"
    assert studies.grid_study({"dropout": [0.1, 0.2]}, epochs=1).identical_trials() == []


def test_a_trial_with_fewer_epochs_or_images_than_its_preset_is_shortened():
    assert studies.preset_study(epochs=1).is_shortened({"preset": "post"})
    assert studies.preset_study(train_limit=1000).is_shortened({"preset": "wide"})
    assert not studies.preset_study().is_shortened({"preset": "post"})
    assert not studies.preset_study(epochs=30).is_shortened({"preset": "post"}), "longer is not shortened"


def test_the_estimate_counts_each_networks_arithmetic_and_the_reference_pace_gives_the_posts_35_minutes():
    from mnist_core.networks.config import RunConfig

    # The post's model: conv 3x3 16 on 28x28, conv 3x3 16->36 on 14x14, dense 7*7*36 -> 128 -> 10.
    assert estimate.multiply_adds(RunConfig()) == 28 * 28 * 9 * 16 + 14 * 14 * 9 * 16 * 36 + 1764 * 128 + 1280
    found = estimate.estimate(studies.preset_study())
    assert found.from_reference
    assert 30 * 60 < found.seconds < 40 * 60, "the issue measured about 35 minutes for the post's study"
    assert max(found.per_trial) == found.per_trial[STUDY.index("widest")], "the widest network costs the most"
    quick = estimate.estimate(studies.preset_study(epochs=1, train_limit=1000))
    assert quick.seconds < 60


def test_the_estimate_takes_the_pace_of_the_most_similar_finished_runs_here():
    from mnist_core.networks.config import RunConfig

    seed = RunConfig(epochs=1, train_limit=5000)
    wide = seed.replace(filters=(32, 64))
    summaries = [
        (seed, {"status": "completed", "epochs_completed": 1, "wall_seconds": 5.3}),
        (wide, {"status": "completed", "epochs_completed": 1, "wall_seconds": 8.2}),
        (wide, {"status": "stopped", "epochs_completed": 1, "wall_seconds": 1.0}),  # a stopped run says nothing
        (seed, {"status": "completed", "kind": "imported", "epochs_completed": 1, "wall_seconds": 1.0}),
    ]
    observed = estimate.observations(summaries)
    assert len(observed) == 2
    spec = studies.grid_study({"filters": [[16, 36]]}, epochs=1, train_limit=5000)
    found = estimate.estimate(spec, observed[:1])
    assert found.runs == 1
    assert found.seconds == pytest.approx(5.3, rel=0.01), "the same training as the one run here: its time"
    twice = estimate.estimate(studies.grid_study({"filters": [[16, 36]]}, epochs=2, train_limit=5000), observed[:1])
    # 4,000 training images (x3), 1,000 validation ones per epoch, then the 10,000 test images once.
    assert twice.seconds == pytest.approx(3.0 + (5.3 - 3.0) * 36_000 / 23_000, rel=0.01), "the epochs' share doubles"


def test_a_stopped_studys_trials_that_never_started_read_not_run(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    lab = Studies(store)
    lab.create("cut", studies.grid_study({"dropout": [0.1, 0.2]}, **TINY))
    assert lab.run_worker("cut", data=mnist, max_trials=1) == 1
    assert [r["state"] for r in lab.rows("cut")] == ["completed", "queued"]
    lab.request_stop("cut")
    rows = lab.rows("cut")
    assert [r["state"] for r in rows] == ["completed", "not run"]
    assert rows[1]["test_accuracy"] is None
    assert rows[0]["shortened"], "1 epoch on 1,000 images"
    assert lab.prepare_resume("cut") == []
    assert [r["state"] for r in lab.rows("cut")] == ["completed", "queued"], "a resume queues it again"


def test_a_study_error_is_english_as_text_and_the_readers_language_on_a_page():
    with pytest.raises(StudyError) as caught:
        studies.grid_study({"dropout": [0.1, 0.1]})
    assert str(caught.value) == "grid.dropout: lists a value twice"
    assert translator("zh").message(caught.value) == "grid.dropout：同一个值列出了两次"
    with pytest.raises(StudyError) as caught:
        studies.parse_range("dropout", "0.5:0.1:lin")
    assert "a range is LOW:HIGH" in str(caught.value)
    assert "范围的写法" in translator("zh").message(caught.value)


def test_accuracies_and_gaps_are_written_one_way_everywhere():
    assert format_percent(0.99214) == "99.21%"
    assert format_gap_points(-0.19642) == "-19.64 pp"
    assert format_gap_points(0.0031) == "+0.31 pp"
    row = {
        "trial": 1,
        "state": "completed",
        "changed": "dropout 0.1",
        "parameters": 232590,
        "epochs_run": 1,
        "epochs": 1,
        "best_epoch": 1,
        "train_accuracy": 0.9,
        "val_accuracy": 0.8812,
        "test_accuracy": 0.8743,
        "train_val_gap": 0.0188,
        "best_val_loss": 0.4,
        "seconds": 4.2,
        "host": "here",
    }
    english = format_table([row, {**row, "trial": 2, "state": "not run", "test_accuracy": None}], translator("en"))
    assert "88.12%" in english
    assert "+1.88 pp" in english
    assert "not run" in english
    chinese = format_table([row], translator("zh")).splitlines()
    assert chinese[0].startswith(" 试验 状态")
    assert "已完成" in chinese[1]


@pytest.mark.parametrize(("low", "high"), [(0.7826, 0.7838), (0.97, 0.995), (0.2, 0.9)])
def test_accuracy_ticks_have_enough_decimals_to_differ(low, high):
    """Plotly's ticks on such an axis, written with the chosen format, never repeat (78.3% three times did)."""
    spec = accuracy_tick_format(low, high)
    decimals = int(spec[1:-1])
    step = (high - low) / 6
    ticks = [low + i * step for i in range(7)]
    written = [f"{100 * tick:.{decimals}f}" for tick in ticks]
    assert len(set(written)) == len(written), written
