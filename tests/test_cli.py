import json
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from mnist_core.networks.backend import preferred_precision
from tests.support.commands import ROOT, cli, cli_env


def test_data_json_shows_the_genuine_counts():
    out = json.loads(cli("data", "--json").stdout)
    assert out["train"]["shape"] == [60000, 28, 28]
    assert out["test"]["shape"] == [10000, 28, 28]
    assert out["train"]["class_counts"]["5"] == 5421
    assert out["test"]["class_counts"]["1"] == 1135
    assert out["source"]


def test_train_runs_evaluate_predict_round_trip(tmp_path, mnist):
    runs = str(tmp_path / "runs")
    trained = json.loads(
        cli("train", "--epochs", "1", "--limit", "3000", "--name", "round trip", "--runs-dir", runs, "--json").stdout
    )
    assert trained["status"] == "completed"
    assert trained["epochs_completed"] == 1
    assert trained["test_accuracy"] > 0.7
    assert trained["model_path"].endswith("model.keras")

    listed = json.loads(cli("runs", "--runs-dir", runs, "--json").stdout)
    assert [row["run_id"] for row in listed] == [trained["run_id"]]
    assert listed[0]["test_accuracy"] == trained["test_accuracy"]
    assert listed[0]["name"] == "round trip"

    evaluated = json.loads(cli("evaluate", trained["run_id"], "--runs-dir", runs, "--json").stdout)
    assert evaluated["test_accuracy"] == trained["test_accuracy"]
    assert np.array(evaluated["confusion_matrix"]).shape == (10, 10)
    assert [row["digit"] for row in evaluated["per_class"]] == list(range(10))

    images = []
    for index in range(5):
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(mnist.x_test[index]).resize((112, 112)).save(path)
        images.append(str(path))
    (tmp_path / "notes.png").write_text("not an image")
    result = cli(
        "predict",
        "--run",
        "round trip",
        *images,
        str(tmp_path / "notes.png"),
        "--runs-dir",
        runs,
        "--json",
        check=False,
    )
    assert result.returncode == 1  # one file failed; the others still got their answer
    rows = json.loads(result.stdout)
    assert [row["file"] for row in rows] == images + [str(tmp_path / "notes.png")]
    answers = [row["digit"] for row in rows[:5]]
    assert sum(a == t for a, t in zip(answers, mnist.y_test[:5], strict=True)) >= 4
    assert all(abs(sum(row["probabilities"]) - 1) < 1e-4 for row in rows[:5])
    assert "not an image" in rows[-1]["error"]


def test_bad_arguments_exit_non_zero_with_one_line(tmp_path):
    for args, expected in [
        (("train", "--epochs", "many"), "invalid int value"),
        (("train", "--dropout", "1.5", "--runs-dir", str(tmp_path)), "dropout"),
        (("train", "--preset", "sead", "--runs-dir", str(tmp_path)), "no preset 'sead'"),
        (("train", "--filters", "8", "8", "8", "8", "8", "--runs-dir", str(tmp_path)), "filters"),
        (("evaluate", "nope", "--runs-dir", str(tmp_path)), "No run 'nope'"),
        (("frobnicate",), "invalid choice"),
    ]:
        result = cli(*args, check=False)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert expected in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_ctrl_c_stops_cleanly_and_keeps_the_run_as_stopped(tmp_path):
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mnist_core",
            "train",
            "--epochs",
            "50",
            "--limit",
            "20000",
            "--batch-size",
            "64",
            "--runs-dir",
            str(runs),
            "--json",
        ],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not list(runs.glob("*/progress.json")):
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    out = json.loads(stdout)
    assert out["status"] == "stopped"
    assert out["epochs_completed"] < 50
    assert out["test_accuracy"] is not None
    assert out["model_path"]


def test_export_writes_an_inference_only_model_that_predicts_the_same(tmp_path, trained_run, mnist):
    import keras

    target = tmp_path / "bundled" / "default.keras"
    out = json.loads(
        cli(
            "export", trained_run.id, str(target), "--runs-dir", str(trained_run.model_path.parents[1]), "--json"
        ).stdout
    )
    assert out["path"] == str(target)
    assert target.exists()
    assert target.stat().st_size < trained_run.model_path.stat().st_size  # no optimizer state
    exported = keras.saving.load_model(target)
    original = keras.saving.load_model(trained_run.model_path)
    images = mnist.x_test[:50, ..., None].astype("float32") / 255
    assert np.allclose(exported.predict(images, verbose=0), original.predict(images, verbose=0), atol=1e-6)
    bad = cli(
        "export",
        trained_run.id,
        str(tmp_path / "model.h5"),
        "--runs-dir",
        str(trained_run.model_path.parents[1]),
        check=False,
    )
    assert bad.returncode == 2
    assert ".keras" in bad.stderr


def test_export_leaves_out_the_training_only_augmentation_so_plain_keras_loads_the_file(tmp_path, mnist):
    runs = tmp_path / "runs"
    flags = ("--filters", "8", "--epochs", "1", "--limit", "300", "--augment", "--augment-shear", "0.2")
    trained = json.loads(cli("train", *flags, "--augment-stroke", "0.5", "--runs-dir", str(runs), "--json").stdout)
    target = tmp_path / "lean.keras"
    cli("export", trained["run_id"], str(target), "--runs-dir", str(runs))
    images = mnist.x_test[:8, ..., None].astype("float32") / 255
    np.save(tmp_path / "images.npy", images)
    # A fresh process that knows nothing of MNIST Lab (its own layers are not registered there).
    check = (
        "import json, keras, numpy as np\n"
        f"model = keras.saving.load_model({str(target)!r})\n"
        "print(json.dumps([[layer.name for layer in model.layers],"
        f" model.predict(np.load({str(tmp_path / 'images.npy')!r}), verbose=0).tolist()]))"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    names, probabilities = json.loads(result.stdout.strip().splitlines()[-1])
    assert "augmentation" not in names
    assert "conv1" in names
    from mnist_core.networks.model_files import load_model_file
    from mnist_core.store import RunStore

    original = load_model_file(RunStore(runs).get(trained["run_id"]).model_path)  # here its own layers are known
    assert np.allclose(probabilities, original.predict(images, verbose=0), atol=1e-5)


def test_the_fast_preset_trains_from_the_command_line_and_its_run_records_the_precision_it_used(tmp_path, mnist):
    runs = tmp_path / "runs"
    flags = ("--preset", "fast", "--limit", "3000", "--epochs", "1", "--runs-dir", str(runs))
    trained = json.loads(cli("train", *flags, "--json").stdout)
    assert trained["status"] == "completed"
    assert trained["test_accuracy"] > 0.8  # 12 steps of the warm-up cosine schedule; 99.4% takes 2 x 235
    config = json.loads((runs / trained["run_id"] / "config.json").read_text())
    assert config["precision"] == preferred_precision()  # what the run used, so `code` exports the same
    assert (config["kernel_size"], config["padding"], config["label_smoothing"]) == ([5, 3], "valid", 0.1)
    script = cli("code", trained["run_id"], "--runs-dir", str(runs)).stdout
    assert "keras.optimizers.Adam(learning_rate, beta_1=0.7, beta_2=0.9)" in script
    assert ('set_global_policy("mixed_bfloat16")' in script) == (config["precision"] == "mixed_bfloat16")


def test_the_recipes_flags_set_their_fields():
    out = json.loads(
        cli(
            "code",
            *("--kernel-size", "5", "3", "--padding", "valid", "--label-smoothing", "0.1", "--precision", "float32"),
            *("--adam-beta-1", "0.7", "--adam-beta-2", "0.9", "--lr-schedule", "warmup_cosine", "--json"),
            *(
                "--augment-shear",
                "0.2",
                "--ema-momentum",
                "0.999",
                "--augment-elastic",
                "34",
                "--augment-stroke",
                "0.5",
            ),
        ).stdout
    )
    config = out["config"]
    assert (config["augment_shear"], config["ema_momentum"]) == (0.2, 0.999)
    assert (config["augment_elastic"], config["augment_stroke"]) == (34.0, 0.5)
    assert 'RandomElasticDistortion(34.0, seed=RANDOM_SEED, name="elastic")' in out["script"]
    assert "class RandomStrokeWidth(RandomAmount):" in out["script"]
    assert 'RandomSlant(0.2, seed=RANDOM_SEED, name="slant")' in out["script"]
    assert "use_ema=True, ema_momentum=0.999" in out["script"]
    assert (config["kernel_size"], config["padding"], config["label_smoothing"]) == ([5, 3], "valid", 0.1)
    assert (config["adam_beta_1"], config["adam_beta_2"], config["lr_schedule"]) == (0.7, 0.9, "warmup_cosine")
    assert json.loads(cli("code", "--kernel-size", "5", "--json").stdout)["config"]["kernel_size"] == 5
