"""The Train page: pick a preset or set the controls, see the model before training, start it in the background
and watch it live.

Training never runs in this script (a rerun would kill it): Start queues the run with `launch.submit`, a worker
process trains it and writes progress to the run store, and a fragment reads the store once a second. So the
training goes on while the user moves sliders, changes page or closes the tab, and any tab shows it live.

The settings sit on the left and Start with the live view on the right, so on a laptop's window the page's main
action and its result are in view without scrolling. The settings are kept in the URL (the preset and every
changed control), so a link opens the page set up exactly so.
"""

import json

import streamlit as st

# First: the engine loads once, in one thread (pages/shared.py), before this page imports any part of it.
from pages.shared import KEEP, init_state, loading_keras, store, tr  # isort: skip
from mnist_core.i18n import Translator
from mnist_core.jobs import queue
from mnist_core.jobs.launch import ensure_worker, submit
from mnist_core.networks import backend
from mnist_core.networks.codegen import preset_title, script_for
from mnist_core.networks.config import LR_SCHEDULES, OPTIMIZERS, PADDINGS, PRECISIONS, RunConfig
from mnist_core.networks.presets import DEFAULT_PRESET, PRESETS
from mnist_core.presentation import charts
from mnist_core.presentation.runs_page import state_name
from mnist_core.presentation.text import format_duration
from mnist_core.presentation.text import markdown_text as md
from mnist_core.presentation.train_page import (
    ADAM_BETA_1S,
    ADAM_BETA_2S,
    ALL_TRAINING_IMAGES,
    BATCH_SIZES,
    DENSE_UNITS,
    EMA_MOMENTA,
    KERNEL_SIZES,
    LEARNING_RATES,
    OTHER_PARAMS,
    RANGES,
    SETTINGS,
    TRAIN_LIMITS,
    changes_from_preset,
    check_controls,
    controls_from_config,
    default_run_name,
    edited_name,
    live_progress,
    matching_preset,
    plain_value,
    precision_note,
    settings_from_query,
    settings_query,
)
from mnist_core.store import ACTIVE_STATES, RecordError, Run, RunState, RunStore, RunStoreError

POLL_SECONDS = 1.0
# The live curves share the right half of the page with Start and the progress: two of this height fit a laptop's
# window below them.
CURVE_HEIGHT = 250


def apply_preset() -> None:
    """Fill the controls from the chosen preset (the training-images control is left as the user set it, and so is
    the run name: an empty one follows the preset when the run starts)."""
    name = st.session_state["train.preset"]
    for field, value in controls_from_config(PRESETS[name].config).items():
        st.session_state[f"train.{field}"] = value


def open_link() -> None:
    """The first visit of a session: the settings a link carries (?preset=fast&epochs=1), else the default preset.
    What the link asks but cannot have is said in one line above the settings."""
    linked = settings_from_query(st.query_params.to_dict())
    st.session_state["train.preset"] = linked.preset if linked else DEFAULT_PRESET
    apply_preset()
    if linked:
        for field, value in controls_from_config(linked.config).items():
            st.session_state[f"train.{field}"] = value
        st.session_state["train.train_limit"] = linked.config.train_limit or ALL_TRAINING_IMAGES
        st.session_state["train.link_problems"] = linked.problems


if "train.preset" not in st.session_state:
    open_link()
init_state(
    {
        "train.filters_3": 64,
        "train.filters_4": 128,
        "train.train_limit": ALL_TRAINING_IMAGES,
        "train.run_id": None,
        "train.name": "",
    }
)


@st.cache_data(show_spinner=False, max_entries=256)
def model_summary(config_json: str) -> tuple[list[dict], int]:
    with loading_keras():  # the server's first TensorFlow import may be this one
        import keras

        from mnist_core.networks.model import describe

        try:
            return describe(RunConfig.from_dict(json.loads(config_json)))
        finally:
            keras.backend.clear_session()  # free the throwaway model now (see pages/shared.py)


def keep_in_url(preset: str, config: RunConfig | None) -> None:
    """The settings as the page's query (the language and other owners' parameters left alone), so the address
    bar is a link that opens the page set up as now."""
    if config is None:
        return
    wanted = settings_query(preset, config)
    for key in [key for key in st.query_params if key not in OTHER_PARAMS and key not in wanted]:
        del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def preset_ui(t: Translator, config: RunConfig | None) -> None:
    """The preset box, and under it what the preset is or, once a control has moved, what was changed."""
    chosen = st.session_state["train.preset"]
    changes = changes_from_preset(config, PRESETS[chosen].config) if config is not None else []
    # "(changed)" marks the label, never an option: the browser sends back the option's text as it was drawn, and a
    # text that has since changed ("post (changed)" once the controls are back at post's) is no option any more.
    st.selectbox(
        t("Preset (changed)") if changes else t("Preset"),
        list(PRESETS),
        key="train.preset",
        persist_state=KEEP,
        on_change=apply_preset,
        help=t("Fills the controls; change any of them afterwards."),
    )
    if not changes:
        st.caption(t(PRESETS[chosen].description))
        return
    listed = ", ".join(
        t(
            "{setting} {old} → {new}",
            setting=t(SETTINGS[c.setting]),
            old=shown(t, c.setting, c.preset_value),
            new=shown(t, c.setting, c.value),
        )
        for c in changes
    )
    text, back = st.columns([4, 1], vertical_alignment="center")
    text.caption(t("Changed from {preset}: {changes}", preset=chosen, changes=listed))
    back.button(
        t("Undo"),
        key="train.reset",
        on_click=apply_preset,
        type="tertiary",
        icon=":material/undo:",
        help=t("Back to the settings of {preset}", preset=chosen),
    )


def shown(t: Translator, setting: str, value: object) -> str:
    """A setting's value in the reader's language: filters as 32 / 64, on / off translated, numbers as written."""
    if isinstance(value, tuple):
        return " / ".join(map(str, value))
    text = plain_value(setting, value)
    return {"on": t("on"), "off": t("off")}.get(text, text)


def controls_ui(t: Translator) -> tuple[dict, dict]:
    """Draw the controls; return their values and a placeholder per config field for its error message."""
    notes = {}

    def label(setting: str) -> str:
        return t(SETTINGS[setting])

    def bounds(name: str) -> dict:
        limits = RANGES[name]
        return {"min_value": limits.low, "max_value": limits.high, "step": limits.step}

    st.markdown(bold(t("Model")))
    left, right = st.columns(2)
    blocks = left.slider(t("Convolution blocks"), **bounds("blocks"), key="train.blocks", persist_state=KEEP)
    per_block = left.toggle(
        t("A kernel size per block"),
        key="train.per_block_kernels",
        persist_state=KEEP,
        help=t("Off: one kernel size for every block. On: one per block (fast uses 5x5, then 3x3)."),
    )
    if per_block:
        for i in range(1, blocks + 1):
            key = f"train.kernel_size_{i}"
            if st.session_state.get(key) is None:  # a block the preset did not have: the size of the one before it
                st.session_state[key] = st.session_state.get(f"train.kernel_size_{i - 1}") or st.session_state.get(
                    "train.kernel_size", 3
                )
            left.select_slider(
                t("Kernel size, block {number}", number=i),
                KERNEL_SIZES,
                key=key,
                persist_state=KEEP,
            )
    else:
        left.select_slider(label("kernel_size"), KERNEL_SIZES, key="train.kernel_size", persist_state=KEEP)
    left.segmented_control(
        label("padding"),
        PADDINGS,
        key="train.padding",
        persist_state=KEEP,
        required=True,
        help=t(
            "same keeps each convolution's size; valid adds no border, so a k x k filter trims k-1 pixels "
            "(fewer multiply-adds)."
        ),
    )
    notes["padding"] = left.empty()
    left.slider(
        label("convs_per_block"),
        **bounds("convs_per_block"),
        key="train.convs_per_block",
        persist_state=KEEP,
        help=t("Convolutions before each pooling: 1 in the post's model"),
    )
    right.select_slider(
        label("dense_units"),
        DENSE_UNITS,
        key="train.dense_units",
        persist_state=KEEP,
        help=t("Neurons of the hidden layer; 0 = no hidden layer"),
    )
    right.slider(label("dropout"), **bounds("dropout"), key="train.dropout", persist_state=KEEP)
    right.toggle(label("batch_norm"), key="train.batch_norm", persist_state=KEEP)
    st.caption(t("Filters per convolution block"))
    filter_cols = st.columns(4)
    for i in range(1, 5):
        filter_cols[i - 1].number_input(
            t("Block {number}", number=i),
            min_value=int(RANGES["filters"].low),
            max_value=int(RANGES["filters"].high),
            step=4,
            key=f"train.filters_{i}",
            persist_state=KEEP,
            disabled=i > blocks,
        )
    notes["filters"] = st.empty()

    st.markdown(bold(t("Training")))
    left, right = st.columns(2)
    left.slider(label("epochs"), **bounds("epochs"), key="train.epochs", persist_state=KEEP)
    left.select_slider(label("batch_size"), BATCH_SIZES, key="train.batch_size", persist_state=KEEP)
    left.select_slider(label("learning_rate"), LEARNING_RATES, key="train.learning_rate", persist_state=KEEP)
    right.slider(
        label("validation_split"),
        **bounds("validation_split"),
        key="train.validation_split",
        persist_state=KEEP,
        help=t("The share of the training images held back to watch for overfitting."),
    )
    notes["validation_split"] = right.empty()
    if right.toggle(
        t("Augmentation"),
        key="train.augmentation",
        persist_state=KEEP,
        help=t(
            "Random changes of the training images, a new draw every epoch: shifts, rotations, zooms, slants, "
            "elastic bends and stroke widths."
        ),
    ):
        for setting in ("augment_shift", "augment_rotation", "augment_zoom"):
            right.slider(label(setting), **bounds(setting), key=f"train.{setting}", persist_state=KEEP)
        right.slider(
            label("augment_shear"),
            **bounds("augment_shear"),
            key="train.augment_shear",
            persist_state=KEEP,
            help=t(
                "Leans the digits left or right: the rows shift sideways by up to this fraction of the height (0.2"
                " is 11 degrees). People's handwriting leans more, and more ways, than MNIST's."
            ),
        )
        right.slider(
            label("augment_elastic"),
            **bounds("augment_elastic"),
            key="train.augment_elastic",
            persist_state=KEEP,
            help=t(
                "Bends the strokes as a hand wavers: every pixel moves along a random, smooth field (Simard et al. "
                "used a strength of 34 on MNIST). About 4 ms more per batch of 64 on two cores."
            ),
        )
        right.slider(
            label("augment_stroke"),
            **bounds("augment_stroke"),
            key="train.augment_stroke",
            persist_state=KEEP,
            help=t(
                "Makes each image's strokes thicker or thinner by a random amount up to this share, as pens and "
                "pencils differ from MNIST's writers'."
            ),
        )
    early = right.toggle(
        label("early_stopping_patience"),
        key="train.early_stopping",
        persist_state=KEEP,
        help=t("Stop when val_loss stops improving."),
    )
    if early:
        right.number_input(t("Patience (epochs)"), min_value=1, max_value=20, key="train.patience", persist_state=KEEP)
    with st.expander(t("Optimizer, learning-rate schedule, loss and precision")):
        optimizer = st.selectbox(label("optimizer"), OPTIMIZERS, key="train.optimizer", persist_state=KEEP)
        st.selectbox(
            label("lr_schedule"),
            LR_SCHEDULES,
            key="train.lr_schedule",
            persist_state=KEEP,
            help=t(
                "warmup_cosine climbs from 1/25 of the rate over the first 30% of the steps, then falls to 0 "
                "along a cosine."
            ),
        )
        adam = optimizer in ("adam", "adamw")
        beta_1, beta_2 = st.columns(2)
        beta_1.select_slider(
            label("adam_beta_1"), ADAM_BETA_1S, key="train.adam_beta_1", persist_state=KEEP, disabled=not adam
        )
        beta_2.select_slider(
            label("adam_beta_2"), ADAM_BETA_2S, key="train.adam_beta_2", persist_state=KEEP, disabled=not adam
        )
        st.slider(
            label("label_smoothing"),
            **bounds("label_smoothing"),
            key="train.label_smoothing",
            persist_state=KEEP,
            help=t("Targets of 1 - s + s/10 for the digit and s/10 for each other digit; fast uses 0.1."),
        )
        st.select_slider(
            label("ema_momentum"),
            EMA_MOMENTA,
            key="train.ema_momentum",
            persist_state=KEEP,
            format_func=lambda m: t("off") if not m else f"{m:g}",
            help=t(
                "The optimizer keeps a moving average of the weights and the model ends with it: smoother than the "
                "last step's weights. 0.999 averages about the last 1,000 steps. With a validation split the "
                "average is what is validated, and no epoch's weights are put back."
            ),
        )
        st.segmented_control(
            label("precision"),
            PRECISIONS,
            key="train.precision",
            persist_state=KEEP,
            required=True,
            help=t.message(precision_note(backend.cpu_bf16_flags())),
        )
    notes["lr_schedule"] = st.empty()
    st.select_slider(
        t("Training images (small data for quick runs)"),
        TRAIN_LIMITS,
        key="train.train_limit",
        persist_state=KEEP,
        format_func=lambda n: (
            t("all {count}", count=t.number(n)) if n == ALL_TRAINING_IMAGES else t("first {count}", count=t.number(n))
        ),
    )
    notes["train_limit"] = st.empty()
    return control_values(), notes


def bold(text: str) -> str:
    return f"**{text}**"


def control_values() -> dict:
    """The controls' values as the session holds them now (the browser sends every widget's value with each
    rerun, so the live view's fragment reads the same values as the controls' fragment)."""
    return {
        key.removeprefix("train."): value
        for key, value in st.session_state.items()
        if isinstance(key, str) and key.startswith("train.")
    }


def summary_ui(t: Translator, config: RunConfig) -> None:
    with st.spinner(t("Building the model (the first time loads TensorFlow)...")):
        rows, total = model_summary(config.to_json())
    st.metric(t("Parameters"), t.number(total))
    # Every row and every full name in view: the columns take their contents' width and the table its rows'
    # height, never a scroll bar inside the table. Layer types are Keras' names in every language.
    st.dataframe(
        rows,
        hide_index=True,
        key="train.summary",
        height="content",
        column_config={
            "layer": st.column_config.TextColumn(t("Layer")),
            "type": st.column_config.TextColumn(t("Type"), width=150),  # "BatchNormalization" in full
            "output_shape": st.column_config.TextColumn(t("Output")),
            "parameters": st.column_config.NumberColumn(t("Parameters"), format="localized"),
        },
    )


def code_ui(t: Translator, config: RunConfig) -> None:
    """The settings as a plain numpy + Keras script, to copy or download: a student leaves with code."""
    preset = matching_preset(config, PRESETS)
    if preset is None:  # the chosen preset, edited: "The fast preset, with epochs changed"
        chosen = st.session_state["train.preset"]
        changed = [change.setting for change in changes_from_preset(config, PRESETS[chosen].config)]
        title = preset_title(chosen, changed, t=t)
    else:
        title = preset_title(preset, t=t)
    script = script_for(config, title=title, t=t)
    with st.expander(t("The code behind these settings"), key="train.code"):
        st.caption(t("A standalone script that trains exactly these settings: `python mnist_cnn.py` runs it anywhere."))
        # Long lines wrap: in half the page, a line cut off at the block's edge would hide the end of a call.
        st.code(script, language="python", wrap_lines=True)
        st.download_button(
            t("Download the script"),
            script,
            file_name="mnist_cnn.py",
            mime="text/x-python",
            key="train.download_code",
            on_click="ignore",
            icon=":material/download:",
        )


def start_ui(t: Translator, runs: RunStore, all_runs: list[Run], line: list[Run], config: RunConfig | None) -> None:
    notice = st.empty()  # filled last, so a run queued by this very click is counted
    chosen = st.session_state["train.preset"]
    preset = matching_preset(config, PRESETS) if config is not None else None
    # Shown greyed in the empty field, and used when the user types no name: the preset's name, or the edited
    # preset's ("fast (epochs 1)").
    base = preset or edited_name(chosen, changes_from_preset(config, PRESETS[chosen].config) if config else [])
    suggested = default_run_name(base, {run.name for run in all_runs})
    name = st.text_input(
        t("Run name"),
        key="train.name",
        persist_state=KEEP,
        max_chars=80,
        placeholder=suggested,
        help=t("Leave it empty to name the run after its preset, numbered when a run has that name already."),
    )
    if line:
        label = t.ngettext("Start after the run ahead", "Start after the {n} runs ahead", len(line))
        help_text = t(
            "One training at a time: this run waits in the queue and starts by itself when the runs ahead end."
        )
    else:
        label, help_text = t("Start training"), t("Trains in the background: you may change page or close the tab.")
    clicked = st.button(
        label,
        type="primary",
        key="train.start",
        disabled=config is None,
        icon=":material/play_arrow:",
        help=help_text,
        width="stretch",
    )
    if clicked and config is not None:  # the settings may have turned invalid since this button was drawn
        try:
            st.session_state["train.run_id"] = submit(runs, config, name=name.strip() or suggested, preset=preset)
            if line:
                st.toast(t("Queued behind {name}.", name=md(line[0].name)))
        except RunStoreError as error:
            st.error(md(t.message(error)))
    # Another run holds the trainer: say so, so a Start is not mistaken for a start.
    others = [run for run in queue.line(runs) if run.id != st.session_state["train.run_id"]]
    if others:
        notice.warning(
            t(
                "**{name}** is {state} now. One training at a time on this server: a new run waits in the queue and"
                " starts when it ends.",
                name=md(others[0].name),
                state=state_name(others[0].state, t),
            )
        )


def watched_run(all_runs: list[Run], line: list[Run]) -> Run | None:
    """The run this tab started, else the one training now, else the next queued one, else the latest."""
    started_here = [run for run in all_runs if run.id == st.session_state["train.run_id"]]
    return next(iter(started_here + line + all_runs), None)


def live_panel(t: Translator, runs: RunStore, all_runs: list[Run], line: list[Run]) -> None:
    run = watched_run(all_runs, line)
    if run is None:
        st.info(t("No runs yet. Set the controls and press **Start training**; its curves appear here."))
        return
    try:
        progress = runs.progress(run.id)
    except RecordError as error:  # damaged while we looked: say so, never crash the page
        st.warning(
            t(
                "Run {id} cannot be read ({problem}); the Runs page lists it as damaged.",
                id=run.id,
                problem=md(t.message(error)),
            )
        )
        return
    state, history = run.state, run.history
    planned = run.config.epochs if run.config else len(history)  # an imported model has no settings
    heading, action = st.columns([4, 1], vertical_alignment="center")
    heading.markdown(f"**{md(run.name)} · {state_name(state, t)}**")
    if state in ACTIVE_STATES:
        stop = t("Stop") if state == RunState.RUNNING else t("Cancel")
        if action.button(stop, key="train.stop", icon=":material/stop:", width="stretch"):
            try:
                runs.stop(run.id)
                st.toast(t("Stopping after the current batch: what it learned is kept."))
            except RunStoreError as error:
                st.error(md(t.message(error)))
    if state == RunState.QUEUED:
        ahead = [other for other in line if other.id != run.id][:1]
        if ahead:
            st.info(t("Waiting in the queue behind {name}.", name=md(ahead[0].name)))
        else:
            st.info(t("Waiting in the queue."))
    if state == RunState.RUNNING:
        if run.stop_requested:
            st.caption(t("Stop requested: finishing the current batch, then evaluating and saving the model."))
        live = live_progress(progress, history, planned, config=run.config)
        if not progress.points:
            st.progress(0.0, text=t("Starting: building the model..."))
        else:
            text = live.label(t)
            st.progress(live.fraction, text=text)
        if live.elapsed is None:
            st.caption(t("The time left is estimated after the first batches."))
        elif live.eta is None:
            st.caption(t("Elapsed {elapsed}", elapsed=format_duration(live.elapsed)))
        else:
            st.caption(
                t(
                    "Elapsed {elapsed} · about {left} left (the test and saving included)",
                    elapsed=format_duration(live.elapsed),
                    left=format_duration(live.eta),
                )
            )
    elif run.status.error and state not in ACTIVE_STATES:
        st.caption(t("Note: {error}", error=md(t.message(run.status.error))))
    if state not in ACTIVE_STATES and run.status.test_accuracy is not None:
        left, right = st.columns([1, 2])
        left.metric(t("Test accuracy"), t.percent(run.status.test_accuracy, 2))
        right.caption(
            t.ngettext(
                "Trained {n} epoch in {duration}.",
                "Trained {n} epochs in {duration}.",
                len(history),
                duration=format_duration(run.status.train_seconds),
            )
        )
        right.page_link(
            "pages/runs.py",
            label=t("Inspect it on the Runs page"),
            icon=":material/history:",
            query_params={"run": run.id},
        )
    for metric in ("loss", "accuracy"):
        st.plotly_chart(
            charts.curve_figure(metric, history, progress.points, planned, height=CURVE_HEIGHT, t=t),
            key=f"train.live.{metric}",
        )


@st.fragment
def settings_panel() -> None:
    """The preset, the controls, the model and its code. A fragment: moving a slider reruns only this part, not
    the live view beside it."""
    t = tr()
    if problems := st.session_state.pop("train.link_problems", None):
        st.warning(
            t(
                "Not all of this link's settings could be used; the preset's values stand instead: {problems}",
                problems="; ".join(md(t.message(p)) for p in problems),
            ),
            icon=":material/link_off:",
        )
    preset_slot = st.container()
    values, notes = controls_ui(t)
    config, error = check_controls(values)
    if error:
        problem = t.message(error.message)
        if error.field not in notes:  # said at the end of the controls, so it names its setting
            problem = t("{setting}: {problem}", setting=t(SETTINGS.get(error.field, error.field)), problem=problem)
        notes.get(error.field, notes["train_limit"]).error(problem, icon=":material/error:")
    with preset_slot:
        preset_ui(t, config)
    keep_in_url(st.session_state["train.preset"], config)
    st.markdown(bold(t("The model")))
    if config is not None:
        summary_ui(t, config)
        code_ui(t, config)
    else:
        st.info(t("Fix the setting marked in red to see the model."))


@st.fragment(run_every=POLL_SECONDS)
def run_panel() -> None:
    """Start and the live view, redrawn from the run store every second: a run started in another tab, queued
    behind another or finished meanwhile shows up without a click. Only this part reruns, never the controls."""
    t = tr()
    runs = store()
    ensure_worker(runs)  # a worker that died with runs still queued is restarted: a queue never stalls
    all_runs, line = runs.runs(), queue.line(runs)
    # The settings read afresh, not as the controls' fragment last left them: a Start clicked while that
    # fragment's rerun was cut short by the next one trained the settings of a few moves before (seen in chromium).
    config, _ = check_controls(control_values())
    start_ui(t, runs, all_runs, line, config)
    live_panel(t, runs, all_runs, queue.line(runs))


t = tr()
st.title(t("Train"))
# Warm: a worker with TensorFlow loaded waits for this page's first Start (it leaves after a few idle minutes).
ensure_worker(store(), warm=True)
settings, live = st.columns(2, gap="medium")
with settings:
    settings_panel()
with live:
    run_panel()
