"""The Train page: pick a preset or set the controls, see the model before training, start it in the background
and watch it live.

Training never runs in this script (a rerun would kill it): Start queues the run with `launch.submit`, a worker
process trains it and writes progress to the run store, and a fragment reads the store once a second. So the
training goes on while the user moves sliders, changes page or closes the tab, and any tab shows it live.
"""

import json

import streamlit as st

from mnist_core.jobs import queue
from mnist_core.jobs.launch import ensure_worker, submit
from mnist_core.networks.codegen import preset_title, script_for
from mnist_core.networks.config import LR_SCHEDULES, OPTIMIZERS, RunConfig
from mnist_core.networks.presets import DEFAULT_PRESET, PRESETS
from mnist_core.presentation import charts
from mnist_core.presentation.text import format_duration
from mnist_core.presentation.text import markdown_text as md
from mnist_core.presentation.train_page import (
    ALL_TRAINING_IMAGES,
    check_controls,
    controls_from_config,
    default_run_name,
    live_progress,
    matching_preset,
)
from mnist_core.store import ACTIVE_STATES, RecordError, Run, RunState, RunStore, RunStoreError
from pages.shared import KEEP, init_state, loading_keras, store, tr

KERNEL_SIZES = (1, 3, 5, 7)
DENSE_UNITS = (0, 32, 64, 128, 256, 512, 1024)
BATCH_SIZES = (32, 64, 128, 256, 512, 1024)
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.002, 0.003, 0.01, 0.03)
TRAIN_LIMITS = (1000, 2000, 5000, 10000, 30000, ALL_TRAINING_IMAGES)
POLL_SECONDS = 1.0


def apply_preset() -> None:
    """Fill the controls from the chosen preset (the training-images control is left as the user set it, and so is
    the run name: an empty one follows the preset when the run starts)."""
    name = st.session_state["train.preset"]
    for field, value in controls_from_config(PRESETS[name].config).items():
        st.session_state[f"train.{field}"] = value


if "train.preset" not in st.session_state:
    st.session_state["train.preset"] = DEFAULT_PRESET
    apply_preset()
init_state(
    {
        "train.filters_3": 64,
        "train.filters_4": 128,
        "train.train_limit": ALL_TRAINING_IMAGES,
        "train.run_id": None,
        "train.name": "",
    }
)


@st.cache_data(show_spinner="Building the model (the first time loads TensorFlow)...", max_entries=256)
def model_summary(config_json: str) -> tuple[list[dict], int]:
    with loading_keras():  # the server's first TensorFlow import may be this one
        import keras

        from mnist_core.networks.model import describe

        try:
            return describe(RunConfig.from_dict(json.loads(config_json)))
        finally:
            keras.backend.clear_session()  # free the throwaway model now (see pages/shared.py)


def controls_ui() -> tuple[dict, dict]:
    """Draw the controls; return their values and a placeholder per config field for its error message."""
    notes = {}
    st.selectbox(
        "Preset",
        list(PRESETS),
        key="train.preset",
        persist_state=KEEP,
        on_change=apply_preset,
        help="Fills the controls; change any of them afterwards.",
    )
    st.caption(PRESETS[st.session_state["train.preset"]].description)

    st.markdown("**Model**")
    left, right = st.columns(2)
    blocks = left.slider("Convolution blocks", 1, 4, key="train.blocks", persist_state=KEEP)
    left.select_slider("Kernel size", KERNEL_SIZES, key="train.kernel_size", persist_state=KEEP)
    left.slider(
        "Convolutions per block",
        1,
        3,
        key="train.convs_per_block",
        persist_state=KEEP,
        help="Convolutions before each pooling: 1 in the seed's model",
    )
    left.select_slider(
        "Dense units", DENSE_UNITS, key="train.dense_units", persist_state=KEEP, help="0 = no hidden dense layer"
    )
    right.slider("Dropout", 0.0, 0.9, step=0.05, key="train.dropout", persist_state=KEEP)
    right.toggle("Batch normalisation", key="train.batch_norm", persist_state=KEEP)
    filter_cols = st.columns(4)
    for i in range(1, 5):
        filter_cols[i - 1].number_input(
            f"Filters, block {i}", 1, 512, step=4, key=f"train.filters_{i}", persist_state=KEEP, disabled=i > blocks
        )
    notes["filters"] = st.empty()

    st.markdown("**Training**")
    left, right = st.columns(2)
    left.slider("Epochs", 1, 50, key="train.epochs", persist_state=KEEP)
    left.select_slider("Batch size", BATCH_SIZES, key="train.batch_size", persist_state=KEEP)
    left.select_slider("Learning rate", LEARNING_RATES, key="train.learning_rate", persist_state=KEEP)
    right.slider(
        "Validation split",
        0.0,
        0.5,
        step=0.05,
        key="train.validation_split",
        persist_state=KEEP,
        help="The share of the training images held back to watch for overfitting.",
    )
    notes["validation_split"] = right.empty()
    if right.toggle(
        "Augmentation",
        key="train.augmentation",
        persist_state=KEEP,
        help="Random shifts, rotations and zooms of the training images, a new draw every epoch.",
    ):
        right.slider(
            "Shift (fraction of the image)", 0.0, 0.3, step=0.05, key="train.augment_shift", persist_state=KEEP
        )
        right.slider("Rotation (degrees)", 0.0, 45.0, step=5.0, key="train.augment_rotation", persist_state=KEEP)
        right.slider("Zoom (fraction)", 0.0, 0.5, step=0.05, key="train.augment_zoom", persist_state=KEEP)
    early = right.toggle(
        "Early stopping", key="train.early_stopping", persist_state=KEEP, help="Stop when val_loss stops improving."
    )
    if early:
        right.number_input("Patience (epochs)", 1, 20, key="train.patience", persist_state=KEEP)
    with st.expander("Optimizer and learning-rate schedule"):
        st.selectbox("Optimizer", OPTIMIZERS, key="train.optimizer", persist_state=KEEP)
        st.selectbox("Learning-rate schedule", LR_SCHEDULES, key="train.lr_schedule", persist_state=KEEP)
    notes["lr_schedule"] = st.empty()
    st.select_slider(
        "Training images (small data for quick runs)",
        TRAIN_LIMITS,
        key="train.train_limit",
        persist_state=KEEP,
        format_func=lambda n: f"all {n:,}" if n == ALL_TRAINING_IMAGES else f"first {n:,}",
    )
    notes["train_limit"] = st.empty()
    values = {
        key.removeprefix("train."): value
        for key, value in st.session_state.items()
        if isinstance(key, str) and key.startswith("train.")
    }
    return values, notes


def summary_ui(config: RunConfig) -> None:
    rows, total = model_summary(config.to_json())
    st.metric("Parameters", f"{total:,}")
    # Every row and every full name in view: the columns take their contents' width (the four fit half the page)
    # and the table its rows' height, never a scroll bar inside the table.
    st.dataframe(
        rows,
        hide_index=True,
        key="train.summary",
        height="content",
        column_config={
            "layer": st.column_config.TextColumn("Layer"),
            "type": st.column_config.TextColumn("Type", width=150),  # "BatchNormalization" in full
            "output_shape": st.column_config.TextColumn("Output"),
            "parameters": st.column_config.NumberColumn("Parameters", format="localized"),
        },
    )


def code_ui(config: RunConfig) -> None:
    """The settings as a plain numpy + Keras script, to copy or download: a student leaves with code."""
    preset = matching_preset(config, PRESETS)
    script = script_for(config, title=preset_title(preset, t=tr()) if preset else None, t=tr())
    with st.expander("The code behind these settings", key="train.code"):
        st.caption("A standalone script that trains exactly these settings: `python mnist_cnn.py` runs it anywhere.")
        st.code(script, language="python")
        st.download_button(
            "Download the script",
            script,
            file_name="mnist_cnn.py",
            mime="text/x-python",
            key="train.download_code",
            on_click="ignore",
            icon=":material/download:",
        )


def start_ui(runs: RunStore, all_runs: list[Run], line: list[Run], config: RunConfig | None) -> None:
    notice = st.empty()  # filled last, so a run queued by this very click is counted
    preset = matching_preset(config, PRESETS) if config is not None else None
    # Shown greyed in the empty field, and used when the user types no name: it follows the preset.
    suggested = default_run_name(preset or "custom", {run.name for run in all_runs})
    name = st.text_input(
        "Run name",
        key="train.name",
        persist_state=KEEP,
        max_chars=80,
        placeholder=suggested,
        help="Leave it empty to name the run after its preset, numbered when a run has that name already.",
    )
    label = "Queue behind it" if line else "Start training"
    clicked = st.button(label, type="primary", key="train.start", disabled=config is None, icon=":material/play_arrow:")
    if clicked and config is not None:  # the settings may have turned invalid since this button was drawn
        try:
            st.session_state["train.run_id"] = submit(runs, config, name=name.strip() or suggested, preset=preset)
            if line:
                st.toast(f"Queued behind {md(line[0].name)}.")
        except RunStoreError as error:
            st.error(md(error))
    # Another run holds the trainer: say so, so a Start is not mistaken for a start.
    others = [run for run in queue.line(runs) if run.id != st.session_state["train.run_id"]]
    if others:
        notice.warning(
            f"**{md(others[0].name)}** is {others[0].state} now. One training at a time on this server: "
            "a new run waits in the queue and starts when it ends."
        )


def watched_run(all_runs: list[Run], line: list[Run]) -> Run | None:
    """The run this tab started, else the one training now, else the next queued one, else the latest."""
    started_here = [run for run in all_runs if run.id == st.session_state["train.run_id"]]
    return next(iter(started_here + line + all_runs), None)


def live_panel(runs: RunStore, all_runs: list[Run], line: list[Run]) -> None:
    run = watched_run(all_runs, line)
    if run is None:
        st.info("No runs yet. Set the controls and press **Start training**; its curves appear here.")
        return
    try:
        progress = runs.progress(run.id)
    except RecordError as error:  # damaged while we looked: say so, never crash the page
        st.warning(f"Run {run.id} cannot be read ({md(error)}); the Runs page lists it as damaged.")
        return
    state, history = run.state, run.history
    planned = run.config.epochs if run.config else len(history)  # an imported model has no settings
    st.subheader(f"{md(run.name)} · {state}")
    if state == RunState.QUEUED:
        ahead = [other for other in line if other.id != run.id][:1]
        behind = f" behind {md(ahead[0].name)}" if ahead else ""
        st.info(f"Waiting in the queue{behind}.")
    if state in ACTIVE_STATES:
        if st.button("Stop" if state == RunState.RUNNING else "Cancel", key="train.stop", icon=":material/stop:"):
            try:
                runs.stop(run.id)
                st.toast("Stopping after the current batch: what it learned is kept.")
            except RunStoreError as error:
                st.error(md(error))
        if run.stop_requested and state == RunState.RUNNING:
            st.caption("Stop requested: finishing the current batch, then evaluating and saving the model.")
    if state == RunState.RUNNING:
        live = live_progress(progress, history, planned)
        if not progress.points:
            st.progress(0.0, text="Starting: building the model...")
        else:
            st.progress(live.fraction, text=live.label)
        if live.elapsed is None:
            st.caption("The time left is estimated after the first batches.")
        else:
            eta = f" · about {format_duration(live.eta)} left" if live.eta is not None else ""
            st.caption(f"Elapsed {format_duration(live.elapsed)}{eta}")
    elif run.status.error and state not in ACTIVE_STATES:
        st.caption(f"Note: {md(run.status.error)}")
    if state not in ACTIVE_STATES and run.status.test_accuracy is not None:
        left, right = st.columns([1, 3])
        left.metric("Test accuracy", f"{run.status.test_accuracy:.2%}")
        epochs = f"{len(history)} epoch{'' if len(history) == 1 else 's'}"
        right.caption(f"Trained {epochs} in {format_duration(run.status.train_seconds)}.")
        right.page_link(
            "pages/runs.py",
            label="Inspect it on the Runs page",
            icon=":material/history:",
            query_params={"run": run.id},
        )
    loss, accuracy = st.columns(2)
    loss.plotly_chart(charts.curve_figure("loss", history, progress.points, planned), key="train.live.loss")
    accuracy.plotly_chart(charts.curve_figure("accuracy", history, progress.points, planned), key="train.live.accuracy")


@st.fragment
def settings_panel() -> None:
    """The controls and the model summary. A fragment: moving a slider reruns only this part, not the live view
    below; the chosen config is handed to the Start button through the session state."""
    # Half the page for the model: its layer table shows every row and full names without a scroll bar.
    controls, summary = st.columns(2, gap="medium")
    with controls:
        values, notes = controls_ui()
        config, error = check_controls(values)
        if error:
            notes.get(error.field, notes["train_limit"]).error(f"{error.message}", icon=":material/error:")
    st.session_state["train.config"] = config
    with summary:
        st.markdown("**The model**")
        if config is not None:
            summary_ui(config)
        else:
            st.info("Fix the setting marked in red to see the model.")
    if config is not None:
        code_ui(config)


@st.fragment(run_every=POLL_SECONDS)
def run_panel() -> None:
    """Start and the live view, redrawn from the run store every second: a run started in another tab, queued
    behind another or finished meanwhile shows up without a click. Only this part reruns, never the controls."""
    runs = store()
    ensure_worker(runs)  # a worker that died with runs still queued is restarted: a queue never stalls
    all_runs, line = runs.runs(), queue.line(runs)
    start_ui(runs, all_runs, line, st.session_state.get("train.config"))
    live_panel(runs, all_runs, queue.line(runs))


st.title("Train")
# Warm: a worker with TensorFlow loaded waits for this page's first Start (it leaves after a few idle minutes).
ensure_worker(store(), warm=True)
settings_panel()
st.divider()
run_panel()
