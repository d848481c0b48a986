"""The Train page in AppTest: presets fill the controls, the model summary follows them, bad combinations are
explained, Start queues (the worker is not started here), and the live panel shows a run in progress."""

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.store import RunState
from tests.support.pages import APP, completed_run, figure, open_page, running_run, texts


@pytest.fixture
def no_worker(monkeypatch):
    """Queue runs without training them: these tests check the page, test_queue checks the worker."""
    from mnist_core.jobs import launch

    monkeypatch.setattr(launch, "spawn_detached", lambda args, log: None)


def parameters(at) -> str:
    return next(m.value for m in at.metric if m.label == "Parameters")


def test_the_posts_model_is_the_start_and_its_summary_is_the_posts(runs):
    at = open_page("pages/train.py")
    assert at.selectbox(key="train.preset").value == "post"
    assert parameters(at) == "232,590"
    layers = at.dataframe[0].value
    assert list(layers["layer"])[:2] == ["image", "conv1"]
    assert list(layers["layer"])[-1] == "digit"
    assert "No runs yet" in at.info[0].value


def test_a_preset_fills_the_controls_and_the_summary_follows_the_sliders(runs):
    at = open_page("pages/train.py")
    at.selectbox(key="train.preset").set_value("wide").run()
    assert (at.number_input(key="train.filters_1").value, at.number_input(key="train.filters_2").value) == (32, 64)
    assert at.slider(key="train.epochs").value == 10
    assert parameters(at) == "421,642"
    at.slider(key="train.blocks").set_value(3).run()
    assert "conv3" in list(at.dataframe[0].value["layer"])
    at.select_slider(key="train.dense_units").set_value(0).run()
    assert "dense" not in list(at.dataframe[0].value["layer"])
    assert not at.exception


def test_an_invalid_combination_is_explained_next_to_its_control_and_blocks_start(runs):
    at = open_page("pages/train.py")
    at.toggle(key="train.early_stopping").set_value(True).run()
    at.slider(key="train.validation_split").set_value(0.0).run()
    assert any("validation_split" not in e.value and "val_loss" in e.value for e in at.error)
    assert at.button(key="train.start").disabled


def test_start_queues_the_run_with_small_data_and_a_second_start_is_told_what_waits(runs, no_worker):
    at = open_page("pages/train.py")
    at.select_slider(key="train.train_limit").set_value(2000).run()
    at.slider(key="train.epochs").set_value(2).run()
    at.text_input(key="train.name").input("quick").run()
    at.button(key="train.start").click().run()
    [run] = runs.runs()
    assert run.meta.name == "quick"
    assert run.meta.preset is None
    assert run.config.train_limit == 2000
    assert run.config.epochs == 2
    assert run.state == RunState.QUEUED
    assert at.session_state["train.run_id"] == run.id
    assert not at.warning, "the tab's own run is not announced as another one holding the trainer"
    at.run()
    assert at.button(key="train.start").label == "Start after the run ahead"
    assert "waits in the queue and starts by itself" in at.button(key="train.start").help
    at.button(key="train.stop").click().run()  # "Cancel" a queued run
    assert runs.get(run.id).state == RunState.STOPPED


def test_an_empty_run_name_follows_the_preset_numbered_when_taken_and_a_typed_name_is_kept(runs, no_worker):
    completed_run(runs, "fast")
    at = open_page("pages/train.py")
    assert at.text_input(key="train.name").placeholder == "post"
    at.selectbox(key="train.preset").set_value("fast").run()
    assert at.text_input(key="train.name").value == ""
    assert at.text_input(key="train.name").placeholder == "fast 2"
    at.select_slider(key="train.train_limit").set_value(2000).run()
    at.button(key="train.start").click().run()
    queued = runs.get(at.session_state["train.run_id"])
    assert (queued.name, queued.meta.preset) == ("fast 2", "fast")
    at.slider(key="train.epochs").set_value(1).run()
    assert at.text_input(key="train.name").placeholder == "fast (epochs 1)"  # the preset, edited
    at.text_input(key="train.name").input("mine").run()
    at.selectbox(key="train.preset").set_value("wide").run()
    assert at.text_input(key="train.name").value == "mine"


def test_a_run_in_progress_shows_progress_eta_live_curves_and_stop(runs):
    run = running_run(runs)
    at = open_page("pages/train.py")
    assert "**live · running**" in texts(at.markdown)
    [progress] = at.get("progress")
    assert "Epoch 2/3, batch 4/8" in progress.proto.text
    assert any("left" in c for c in texts(at.caption))
    loss = figure(at, "train.live.loss")
    assert [trace["name"] for trace in loss["data"]] == ["loss (within epoch)", "loss", "val_loss"]
    assert "running now" in at.warning[0].value.replace("*", "")
    assert "is running" in at.warning[0].value
    at.button(key="train.stop").click().run()
    assert runs.get(run.id).stop_requested


def test_a_finished_run_shows_its_test_accuracy_and_leads_to_the_runs_page(runs):
    completed_run(runs, "done", wrong=100)
    at = open_page("pages/train.py")
    assert next(m.value for m in at.metric if m.label == "Test accuracy") == "99.00%"
    [link] = at.get("page_link")
    assert "runs" in link.proto.page
    assert "run=" in link.proto.query_string


def test_the_controls_are_kept_when_the_user_visits_another_page_and_comes_back(runs):
    at = open_page("pages/train.py")
    at.selectbox(key="train.preset").set_value("wider").run()
    at.slider(key="train.epochs").set_value(7).run()
    at.switch_page("pages/data.py").run()
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="train.preset").value == "wider"
    assert at.slider(key="train.epochs").value == 7
    assert at.number_input(key="train.filters_2").value == 128


def test_a_damaged_latest_run_is_reported_not_raised(runs):
    run = completed_run(runs, "damaged")
    (runs.layout.run_file(run.id, "progress.json")).write_text("{half")
    at = open_page("pages/train.py")
    assert "cannot be read" in at.warning[0].value
    assert not at.exception


def test_a_preset_moved_by_a_slider_reads_as_changed_and_names_its_run_so(runs, no_worker):
    at = open_page("pages/train.py")
    at.selectbox(key="train.preset").set_value("fast").run()
    assert "warm-up cosine schedule" in texts(at.caption)[0]
    at.slider(key="train.epochs").set_value(1).run()
    at.slider(key="train.dropout").set_value(0.2).run()
    preset = at.selectbox(key="train.preset")
    assert (preset.value, preset.label, preset.format_func(preset.value)) == ("fast", "Preset (changed)", "fast")
    assert "Changed from fast: Dropout 0 → 0.2, Epochs 2 → 1" in texts(at.caption)
    assert at.text_input(key="train.name").placeholder == "fast (dropout 0.2, epochs 1)"
    at.select_slider(key="train.train_limit").set_value(1000).run()
    at.button(key="train.start").click().run()
    queued = runs.get(at.session_state["train.run_id"])
    assert (queued.name, queued.meta.preset, queued.config.epochs) == ("fast (dropout 0.2, epochs 1)", None, 1)
    at.run()
    assert at.text_input(key="train.name").placeholder == "fast (dropout 0.2, epochs 1) 2"  # numbered as before
    at.button(key="train.reset").click().run()  # undo: the preset's own settings again
    assert at.slider(key="train.epochs").value == 2
    assert at.selectbox(key="train.preset").label == "Preset"
    assert not at.exception


def open_link(query: dict, runs=None) -> AppTest:
    """The Train page opened from a link: a new session, the URL's query as given."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_keeps_its_settings_in_the_url_and_a_link_opens_them(runs):
    at = open_page("pages/train.py")
    at.selectbox(key="train.preset").set_value("fast").run()
    at.slider(key="train.epochs").set_value(1).run()
    at.select_slider(key="train.train_limit").set_value(5000).run()
    link = {key: value for key, value in at.query_params.items() if key != "lang"}
    assert link == {"preset": "fast", "epochs": "1", "train_limit": "5000"}

    opened = open_link({**link, "dropout": "0.2", "lang": "en"})
    assert opened.selectbox(key="train.preset").value == "fast"
    assert opened.slider(key="train.epochs").value == 1
    assert opened.slider(key="train.dropout").value == 0.2
    assert opened.select_slider(key="train.train_limit").value == 5000
    assert opened.number_input(key="train.filters_3").value == 64  # the rest is the preset's
    assert not opened.warning


def test_a_link_in_chinese_opens_the_settings_in_chinese(runs):
    at = open_link({"preset": "wide", "batch_norm": "on", "lang": "zh"})
    assert at.toggle(key="train.batch_norm").value is True
    assert at.slider(key="train.epochs").label == "迭代次数"
    assert at.button(key="train.start").label == "开始训练"
    assert at.selectbox(key="train.preset").label == "预设（已修改）"


def test_a_bad_or_stale_value_in_a_link_falls_back_with_a_one_line_notice(runs):
    at = open_link({"preset": "no-such-preset", "epochs": "1000", "dropout": "abc", "colour": "red"})
    assert at.selectbox(key="train.preset").value == "post"
    assert at.slider(key="train.epochs").value == 20
    [notice] = at.warning
    assert "\n" not in notice.value
    for word in ("preset=no-such-preset", "epochs=1000", "dropout=abc", "colour=red"):
        assert word in texts([notice])[0]
    assert dict(at.query_params) == {"preset": "post"}  # the address now says what the page shows
    at.slider(key="train.epochs").set_value(2).run()
    assert not at.warning  # said once

    chinese = open_link({"preset": "fast", "kernel_size": "4", "lang": "zh"})
    # fast has a kernel size per block (5x5, then 3x3): the page shows one slider per block, set so
    assert chinese.toggle(key="train.per_block_kernels").value
    assert [chinese.select_slider(key=f"train.kernel_size_{i}").value for i in (1, 2)] == [5, 3]
    assert "kernel_size=4" in texts(chinese.warning)[0]
    assert "预设" in texts(chinese.warning)[0]


def test_a_block_added_with_a_kernel_size_per_block_starts_at_the_size_of_the_block_before_it(runs):
    at = open_page("pages/train.py")
    at.selectbox(key="train.preset").set_value("fast").run()
    assert at.toggle(key="train.per_block_kernels").value
    assert at.slider(key="train.blocks").value == 2
    at.slider(key="train.blocks").set_value(3).run()
    assert not at.exception
    assert [at.select_slider(key=f"train.kernel_size_{i}").value for i in (1, 2, 3)] == [5, 3, 3]  # not 1x1


def test_slant_and_weight_averaging_reach_the_queued_run_and_its_link(runs, no_worker):
    at = open_page("pages/train.py")
    at.toggle(key="train.augmentation").set_value(True).run()
    at.slider(key="train.augment_shear").set_value(0.2).run()
    at.select_slider(key="train.ema_momentum").set_value(0.999).run()
    assert at.select_slider(key="train.ema_momentum").format_func(0.0) == "off"
    assert "Changed from post:" in " ".join(texts(at.caption))
    assert {"augment_shear": "0.2", "ema_momentum": "0.999"}.items() <= dict(at.query_params).items()
    # On 1,000 images the post's 20 epochs are 80 steps: too few to average over 1,000. Said, and nothing starts.
    at.select_slider(key="train.train_limit").set_value(1000).run()
    [error] = at.error
    assert error.value.startswith("Weight averaging (EMA momentum): averages about the last 1,000 steps")
    assert "takes only 80" in error.value
    assert at.button(key="train.start").disabled
    at.select_slider(key="train.train_limit").set_value(60_000).run()
    at.button(key="train.start").click().run()
    queued = runs.get(at.session_state["train.run_id"])
    assert (queued.config.augment_shear, queued.config.ema_momentum) == (0.2, 0.999)
    assert queued.config.augment_shift == 0.1  # the toggle's usual shifts, rotations and zoom came with it
    assert not at.exception

    opened = open_link({"augment_shear": "0.3", "ema_momentum": "0.99", "lang": "en"})
    assert opened.slider(key="train.augment_shear").value == 0.3
    assert opened.toggle(key="train.augmentation").value
    assert opened.select_slider(key="train.ema_momentum").value == 0.99
