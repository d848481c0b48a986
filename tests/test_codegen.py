"""The code behind the sliders: the exported script is ruff-clean, builds the project's model layer for layer, and
trains in a plain Python process of its own exactly as the project trains the same config; its comments explain each
step in the reader's language (in Chinese, in the seed post's words) while its code stays the same; the `code`
command and the Train and Runs pages hand it out."""

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_core.data.mnist import CACHE_ENV, DATA_ENV, default_cache_path
from mnist_core.i18n import translator
from mnist_core.networks.codegen import DEFAULT_CACHE, preset_title, script_for, width, wrap
from mnist_core.networks.config import RunConfig
from mnist_core.networks.presets import POST, PRESETS
from mnist_core.store import RunStore
from tests.support.commands import ROOT, cli, cli_env
from tests.support.pages import completed_run, open_page

# One epoch on a few images: enough optimizer steps to leave chance behind, few enough for 2 cores.
QUICK_PRESETS = {"post": 2000, "fast": 3000, "best": 1000}
# The options no preset turns on, in two small nets: every one of them must train as the project trains it.
OPTION_CONFIGS = {
    # Batch norm, augmentation, early stopping, the plateau schedule and best weights from an earlier epoch.
    "rmsprop-plateau": POST.replace(
        filters=(8, 8, 8),
        batch_norm=True,
        dropout=0.0,
        optimizer="rmsprop",
        learning_rate=0.003,
        lr_schedule="plateau",
        early_stopping_patience=2,
        augment_rotation=15.0,
        augment_zoom=0.2,
        epochs=4,
        batch_size=16,  # batch norm's moving statistics (momentum 0.99) need a few hundred steps to leave their start
        train_limit=1000,
        seed=7,
    ),
    "sgd-exponential": POST.replace(
        filters=(8, 16),
        kernel_size=5,
        convs_per_block=2,
        dense_units=0,
        optimizer="sgd",
        learning_rate=0.05,
        lr_schedule="exponential",
        validation_split=0.1,
        augment_shift=0.1,
        epochs=2,
        batch_size=32,
        train_limit=1000,
    ),
    # The `fast` recipe's options on another net, in bfloat16 on any CPU (emulated where it has no bf16 units).
    "adamw-bf16-warmup": POST.replace(
        filters=(8, 16),
        kernel_size=(3, 5),
        padding="valid",
        batch_norm=True,
        optimizer="adamw",
        learning_rate=0.003,
        adam_beta_1=0.8,
        adam_beta_2=0.95,
        lr_schedule="warmup_cosine",
        label_smoothing=0.05,
        precision="mixed_bfloat16",
        augment_rotation=10.0,
        validation_split=0.1,
        epochs=2,
        batch_size=32,
        train_limit=1000,
    ),
    # Weight averaging, validated on the average, and slanted training images.
    "adam-ema-slant": POST.replace(
        filters=(8, 16),
        dense_units=32,
        learning_rate=0.003,
        ema_momentum=0.9,
        augment_shear=0.2,
        augment_shift=0.1,
        validation_split=0.1,
        epochs=2,
        batch_size=32,
        train_limit=1000,
    ),
    # The project's own augmentation layers, copied into the script.
    "elastic-stroke": POST.replace(
        filters=(8, 16),
        dense_units=32,
        augment_elastic=34.0,
        augment_stroke=0.5,
        validation_split=0.0,
        epochs=1,
        batch_size=32,
        train_limit=1000,
    ),
}
SUMMARY_ROW = re.compile(r"^│ (\S+) \((\w+)\)\s*│[^│]*│\s*([\d,]+) │$")
EPOCH_LINE = re.compile(r"^\d+/\d+ - .*/step - ")


def mnist_file() -> str:
    """The MNIST the project loaded (the `mnist` fixture writes the cache), for the script to read too."""
    return os.environ.get(DATA_ENV) or str(default_cache_path())


def run_script(script: str, folder: Path) -> str:
    """Run the script as a user would: its own process, outside the project (no PYTHONPATH), offline."""
    path = folder / "mnist_cnn.py"
    path.write_text(script)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", **{CACHE_ENV: mnist_file()})
    result = subprocess.run(
        [sys.executable, str(path)], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def printed_summary(stdout: str) -> tuple[list[tuple[str, str, int]], int]:
    """(layer, type, parameters) per row of the printed `model.summary()`, and its total."""
    rows = [
        (match[1], match[2], int(match[3].replace(",", "")))
        for match in map(SUMMARY_ROW.match, stdout.splitlines())
        if match
    ]
    total = re.search(r"Total params: ([\d,]+)", stdout)[1]
    return rows, int(total.replace(",", ""))


def printed_epochs(stdout: str) -> list[dict]:
    """The metrics of each epoch line `fit(verbose=2)` prints: accuracy, loss, val_accuracy, val_loss..."""
    return [
        {name: float(value) for name, value in re.findall(r"(\w+): ([\d.]+)", line)}
        for line in stdout.splitlines()
        if EPOCH_LINE.match(line)
    ]


def printed_test_accuracy(stdout: str) -> float:
    return float(re.search(r"^test accuracy: ([\d.]+)$", stdout, re.MULTILINE)[1])


def project_training(config: RunConfig, mnist) -> tuple[list[dict], float]:
    """What the project's own training path records for `config`: per-epoch metrics and the test accuracy."""
    from mnist_core.inspection.evaluation import evaluate_model
    from mnist_core.networks.training import to_model_input, train

    result = train(config, mnist)
    return result.history, evaluate_model(result.model, to_model_input(mnist.x_test), mnist.y_test).test_accuracy


def assert_trains_as_the_project_does(config: RunConfig, stdout: str, mnist) -> float:
    from mnist_core.networks.model import describe

    rows, total = describe(config)
    assert printed_summary(stdout) == ([(r["layer"], r["type"], r["parameters"]) for r in rows], total)

    history, project_accuracy = project_training(config, mnist)
    epochs = printed_epochs(stdout)
    assert len(epochs) == len(history)  # early stopping, if on, stops both at the same epoch
    for printed, recorded in zip(epochs, history, strict=True):
        for metric in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if getattr(recorded, metric) is not None:
                # Printed with 4 decimals; the same seed gives the same numbers here, within round-off.
                assert printed[metric] == pytest.approx(getattr(recorded, metric), abs=2e-3), metric
    accuracy = printed_test_accuracy(stdout)
    assert accuracy == pytest.approx(project_accuracy, abs=0.003)
    return accuracy


# One language per run (the other language's script is the same code: see the comments-only test below).
@pytest.mark.parametrize(("preset", "language"), [("post", "en"), ("fast", "zh"), ("best", "en")])
def test_a_presets_script_builds_the_projects_model_and_trains_as_the_project_does(preset, language, tmp_path, mnist):
    config = PRESETS[preset].config.replace(epochs=1, train_limit=QUICK_PRESETS[preset])
    stdout = run_script(script_for(config, title=preset, t=translator(language)), tmp_path)
    accuracy = assert_trains_as_the_project_does(config, stdout, mnist)
    [epoch] = printed_epochs(stdout)
    assert epoch["accuracy"] > 0.2  # it learns: ten digits, so chance is 0.1
    if preset != "best":
        assert accuracy > 0.5
    # `best` after 16 steps: its batch normalisation's moving statistics (momentum 0.99) have barely left their
    # start, so its test accuracy is still at chance, in the project exactly as in the script (checked above).


@pytest.mark.parametrize("name", list(OPTION_CONFIGS))
def test_every_other_option_trains_in_the_script_as_in_the_project(name, tmp_path, mnist):
    config = OPTION_CONFIGS[name]
    stdout = run_script(script_for(config, t=translator("zh")), tmp_path)
    assert printed_test_accuracy(stdout) > 0.5
    assert_trains_as_the_project_does(config, stdout, mnist)


def lint_configs() -> dict[str, RunConfig]:
    """Every preset, the option configs, and the longest lines the controls can make."""
    longest = POST.replace(
        filters=(512, 512, 512, 512),
        kernel_size=7,
        convs_per_block=3,
        dense_units=4096,
        dropout=0.05,
        batch_norm=True,
        epochs=500,
        batch_size=2048,  # 20 steps an epoch, 10,000 in all: enough for the longest average, 0.9995
        validation_split=0.35,
        optimizer="sgd",
        learning_rate=0.000123,
        lr_schedule="exponential",
        early_stopping_patience=500,
        augment_shift=0.15,
        augment_rotation=12.5,
        augment_zoom=0.45,
        augment_shear=0.45,
        augment_elastic=58.5,
        augment_stroke=0.9,
        ema_momentum=0.9995,
        seed=2**31 - 1,
        train_limit=59_999,
    )
    plateau = longest.replace(lr_schedule="plateau", optimizer="adamw", learning_rate=0.001, batch_norm=False)
    return {
        **{name: preset.config for name, preset in PRESETS.items()},
        **OPTION_CONFIGS,
        "longest": longest,
        "plateau": plateau,
        "no-validation": longest.replace(validation_split=0.0, early_stopping_patience=0, lr_schedule="cosine"),
    }


def test_every_script_is_ruff_clean_and_formatted_under_the_projects_settings(tmp_path):
    titles = [
        None,
        'a "quoted" name with a \\ and """',
        "x" * 300,
        "  spaces\tand\nlines  ",
        "nul\x00 and \x1b",
        "中" * 120,
    ]
    for language in ("en", "zh"):  # ruff counts a Chinese character as two columns: the comments wrap to fit
        for index, (name, config) in enumerate(lint_configs().items()):
            script = script_for(config, title=titles[index % len(titles)], t=translator(language))
            compile(script, name, "exec")
            (tmp_path / f"{name.replace('-', '_')}_{language}.py").write_text(script)
    settings = str(ROOT / "pyproject.toml")
    for command in (["check"], ["format", "--check", "--diff"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--config", settings, "--no-cache", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_posts_model_reads_like_the_post_with_only_the_options_that_are_on():
    script = script_for(POST)
    assert 'model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])' in script
    assert "validation_split=VALIDATION_SPLIT" in script
    assert "EPOCHS = 20" in script
    assert "BATCH_SIZE = 256" in script
    assert "RANDOM_SEED = 42" in script  # never a bare SEED, which reads like the post's model
    assert "keras.utils.set_random_seed(RANDOM_SEED)" in script
    assert "SEED =" not in script.replace("RANDOM_SEED =", "")
    for absent in ("LEARNING_RATE", "TRAIN_LIMIT", "augmentation", "BatchNorm", "callbacks.EarlyStopping", "math"):
        assert absent not in script
    no_split = script_for(POST.replace(validation_split=0.0))
    assert "KeepBestWeights" not in no_split
    assert "validation_split" not in no_split


def code_only(script: str) -> tuple[str, list[str]]:
    """What runs of a script: its syntax tree without docstrings, and its lines without comments or docstrings."""
    tree = ast.parse(script)
    docstrings = set()
    for node in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef))]:
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            docstrings.update(range(first.lineno, first.end_lineno + 1))
            first.value.value = ""
    lines = [
        line
        for number, line in enumerate(script.splitlines(), start=1)
        if number not in docstrings and not line.lstrip().startswith("#")
    ]
    return ast.dump(tree), lines


def comment_blocks(script: str) -> list[str]:
    """Each run of consecutive comment lines, as one text."""
    blocks, block = [], []
    for line in [*script.splitlines(), ""]:
        if line.lstrip().startswith("#"):
            block.append(line.lstrip()[2:])
        elif block:
            blocks.append(" ".join(block))
            block = []
    return blocks


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def test_a_chinese_script_differs_from_the_english_one_only_in_its_comments_and_docstrings():
    for name, config in lint_configs().items():
        english = script_for(config, title="x")
        chinese = script_for(config, title="x", t=translator("zh"))
        assert code_only(chinese) == code_only(english), name
        assert len(comment_blocks(chinese)) == len(comment_blocks(english)), name
        # Every comment is translated, and the English script has not one Chinese character.
        assert all(map(has_chinese, comment_blocks(chinese))), name
        assert not has_chinese(english), name


def test_a_chinese_script_explains_each_step_in_the_posts_words():
    script = script_for(POST, title=preset_title("post", t=translator("zh")), t=translator("zh"))
    assert script.startswith('"""post 预设\n')
    steps = [  # in the post's order, as the post words them (docs/glossary.zh-CN.md)
        "导入模块",
        "载入手写数字数据集",
        "数据预处理：将 features 以 reshape 转化为 (图像个数, 28, 28, 1) 的 4 维矩阵",
        "标准化：像素值从 0-255 变为 0-1",
        "对标签进行 One-Hot 编码",
        "5 在第六个位置",
        "建立模型",
        "# 建立第 1 个卷积层，filters 卷积核个数 16 个，kernel_size 卷积核大小 3*3\n"
        "# padding 是否零填充，same 表示填充（图像大小不变），activation 激活函数 relu\n"
        "x = layers.Conv2D(16,",
        "# 建立第 1 个池化层，pool_size 池化窗口 2*2",
        "建立第 2 个卷积层，filters 卷积核个数 36 个",
        "建立第 2 个池化层",
        "# 加入 Dropout 避免过拟合：训练时随机把 25% 的输出置为 0\nx = layers.Dropout(0.25",
        "# 建立平坦层，将多维向量转化为一维向量\nx = layers.Flatten(",
        "# 建立隐藏层，隐藏层有 128 个神经元，activation 激活函数用 relu\nx = layers.Dense(128",
        "建立输出层，一共有 10 个神经元，因为 0 到 9 一共有 10 个类别，activation 激活函数用 softmax 这个函数用来分类",
        "# 查看模型摘要：每一层的输出形状和参数个数\nmodel.summary()",
        "# 定义训练方式，loss 损失函数用 categorical_crossentropy，optimizer 优化器用 adam，metrics 度量用 accuracy\n"
        "model.compile(",
        "开始训练模型，x 是训练数据集，y 是训练数据集的标签，validation_split 把训练数据集的最后 20% 分出来作验证集",
        "epochs 是迭代次数 20，batch_size 是批量 256，verbose 为 2 显示训练过程",
        "# 评估模型准确率",
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, [step for step, at in zip(steps, positions, strict=True) if at == -1]
    assert positions == sorted(positions)


def test_comments_wrap_to_the_line_length_as_ruff_measures_it():
    assert width("卷积层 Conv2D") == 13  # a Chinese character takes two columns
    lines = wrap("建立第 1 个卷积层，" * 12, 60)
    assert all(width(line) <= 60 for line in lines)
    assert all(line.endswith("，") for line in lines)  # broken after a pause, never before a closing mark
    assert wrap("one two three four", 9) == ["one two", "three", "four"]
    assert wrap("first line\nsecond", 80) == ["first line", "second"]  # a translator's line break is kept
    assert wrap("一个很长的句子" * 3, 10) == ["一个很长的", "句子一个很", "长的句子一", "个很长的句", "子"]


def test_the_script_looks_for_mnist_where_the_project_caches_it(monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert Path(DEFAULT_CACHE).expanduser() == default_cache_path()
    assert f'os.environ.get("{CACHE_ENV}")' in script_for(POST)


# --- the command line ---------------------------------------------------------------------------------------------


def code(*args, runs: Path, check: bool = True, language: str = "C.UTF-8") -> subprocess.CompletedProcess:
    env = cli_env(LANG=language, LANGUAGE="", LC_ALL="", LC_MESSAGES="")
    return cli("code", *args, "--runs-dir", str(runs), check=check, timeout=120, env=env)


def without_title(script: str) -> str:
    return script.split("\n", 1)[1]


def test_code_for_a_preset_takes_the_same_flags_as_train(tmp_path):
    out = json.loads(
        code(
            *shlex.split("--preset fast --epochs 1 --limit 1000 --filters 8 16 --augment --json"), runs=tmp_path
        ).stdout
    )
    expected = PRESETS["fast"].config.replace(
        epochs=1, train_limit=1000, filters=(8, 16), augment_shift=0.1, augment_rotation=10.0, augment_zoom=0.1
    )
    assert RunConfig.from_dict(out["config"]) == expected
    assert without_title(out["script"]) == without_title(script_for(expected))
    assert out["script"].startswith('"""The fast preset, with ')
    printed = code("--epochs", "3", runs=tmp_path).stdout
    assert printed == script_for(POST.replace(epochs=3), title="The post preset, with epochs changed")


def test_code_takes_the_posts_model_by_its_old_name_too(tmp_path):
    """`seed` was the post's model's name before `post`: it still works, and the script says the name it has now."""
    old = code("--preset", "seed", "--epochs", "3", runs=tmp_path)
    assert old.stdout == code("--preset", "post", "--epochs", "3", runs=tmp_path).stdout
    assert old.stdout.startswith('"""The post preset, with epochs changed')
    assert "preset seed is now called post" in old.stderr
    out = json.loads(code("--preset", "seed-10", "--json", runs=tmp_path).stdout)
    assert RunConfig.from_dict(out["config"]) == PRESETS["post-10"].config


def test_code_for_a_run_writes_the_runs_config_to_a_file(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = POST.replace(filters=(32, 64), epochs=3, train_limit=5000)
    store.create(config, name="my wide run", preset=None).close()
    target = tmp_path / "scripts" / "wide.py"
    result = code("my wide run", "-o", str(target), runs=store.root)
    assert str(target) in result.stdout
    assert target.read_text() == script_for(config, title="my wide run")

    out = json.loads(code("my wide run", "--epochs", "5", "--json", runs=store.root).stdout)
    assert RunConfig.from_dict(out["config"]) == config.replace(epochs=5)
    assert "EPOCHS = 5" in out["script"]

    refused = code("my wide run", "--preset", "post", runs=store.root, check=False)
    assert refused.returncode == 2
    assert "not both" in refused.stderr


def test_code_writes_its_comments_in_the_language_of_lang_or_the_locale_and_json_stays_english(tmp_path):
    zh = translator("zh")
    expected = script_for(POST.replace(epochs=3), title="post 预设，修改了 epochs", t=zh)
    assert code("--epochs", "3", "--lang", "zh", runs=tmp_path).stdout == expected
    assert code("--epochs", "3", runs=tmp_path, language="zh_CN.UTF-8").stdout == expected
    assert code("--lang", "en", runs=tmp_path, language="zh_CN.UTF-8").stdout == script_for(POST, "The post preset")
    out = json.loads(code("--epochs", "3", "--json", runs=tmp_path, language="zh_CN.UTF-8").stdout)
    assert out["script"] == script_for(POST.replace(epochs=3), title="The post preset, with epochs changed")
    target = tmp_path / "mnist_cnn.py"
    said = code("--preset", "fast", "-o", str(target), "--lang", "zh", runs=tmp_path).stdout
    assert said.startswith(f"已写入 {target}")
    assert target.read_text() == script_for(PRESETS["fast"].config, title=preset_title("fast", t=zh), t=zh)


# --- the pages ----------------------------------------------------------------------------------------------------


def test_the_train_page_shows_the_code_behind_its_settings_and_follows_the_sliders(runs):
    at = open_page("pages/train.py")
    assert "The code behind these settings" in [expander.label for expander in at.expander]
    [shown] = at.code
    assert shown.language == "python"
    # st.code drops the final newline; the download keeps it.
    assert shown.value == script_for(PRESETS["post"].config, title="The post preset").rstrip()
    at.slider(key="train.epochs").set_value(7).run()
    assert "EPOCHS = 7" in at.code[0].value
    assert any(button.proto.id.endswith("-train.download_code") for button in at.get("download_button"))
    assert not at.exception


def test_the_runs_page_shows_the_code_of_the_selected_run(runs):
    run = completed_run(runs, "tiny")
    at = open_page("pages/runs.py")
    [shown] = at.code
    assert shown.value == script_for(run.config, title="tiny").rstrip()
    assert not at.exception


def test_the_train_and_runs_pages_show_the_code_with_chinese_comments_to_a_chinese_reader(runs):
    zh = translator("zh")
    run = completed_run(runs, "小模型")
    at = open_page("pages/train.py")
    at.query_params["lang"] = "zh"
    at.run()
    [shown] = at.code
    assert shown.value == script_for(PRESETS["post"].config, title="post 预设", t=zh).rstrip()
    at.switch_page("pages/runs.py").run()
    [shown] = at.code
    assert shown.value == script_for(run.config, title="小模型", t=zh).rstrip()
    assert not at.exception
