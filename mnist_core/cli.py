"""`python -m mnist_core`: the blog post's whole experiment from a terminal, with `--json` for scripts.

It speaks the language of $LANGUAGE / $LC_ALL / $LC_MESSAGES / $LANG (zh_*: Chinese, else English), or the one
`--lang` names: help, messages and progress lines; `--json` output stays English.

The commands and what each does: COMMAND_LIST below (also `python -m mnist_core --help`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import signal
import sys
import time

import msgspec

from mnist_core.data.mnist import DATA_ENV, DataError, load_mnist
from mnist_core.data.preprocess import ImageError
from mnist_core.i18n import (
    LANGUAGES,
    Message,
    install_for_process,
    language_from_environment,
    language_of,
    marked,
    translator,
)
from mnist_core.jobs import queue
from mnist_core.networks import backend
from mnist_core.networks.config import LR_SCHEDULES, OPTIMIZERS, PADDINGS, PRECISIONS, ConfigError, RunConfig
from mnist_core.networks.model_files import ModelFileError, check_model_file
from mnist_core.networks.presets import ALIASES, DEFAULT_PRESET, PRESETS, STUDY, canonical_preset, get_preset
from mnist_core.presentation.tables import confusion_table, per_class_table, print_table, runs_table
from mnist_core.store import (
    FINISHED_WITH_MODEL,
    RUNS_DIR_ENV,
    RecordError,
    RunState,
    RunStore,
    RunStoreError,
    Trainer,
    now_iso,
)
from mnist_core.store.own_digits import MAX_IMPORT_BYTES, DamagedDigit, OwnDigitsError
from mnist_core.store.records import DigitSource
from mnist_core.store.runs import CANCELLED

# Errors whose message already says what to do: printed as one line, without a traceback.
USER_ERRORS = (ConfigError, DataError, RunStoreError, RecordError, ImageError, ModelFileError, OwnDigitsError)
# What to do about a filesystem fault, by its errno; anything else gets the system's own words.
OS_ERROR_HINTS = {
    errno.EACCES: marked("check its permissions, or use another path"),
    errno.EPERM: marked("check its permissions, or use another path"),
    errno.EROFS: marked("the file system is read-only; use another path"),
    errno.ENOSPC: marked("the disk is full; free some space and try again"),
    errno.ENOTDIR: marked("a part of the path is a file, not a folder"),
    errno.EISDIR: marked("it is a folder; give a file"),
}

# This process's language (main() installs the one $LANG or --lang names): help, messages, progress lines.
t = translator()

COMMAND_LIST = marked("""\
data       where MNIST came from, shapes and per-class counts
train      train a preset or custom config and save it as a run
runs       list the runs in the run store
evaluate   test metrics, confusion matrix and per-class metrics of a run
predict    classify image files with a run's model (or the bundled one)
import     keep a Keras model file (.keras, or Keras 2 .h5) as a run, evaluated on the MNIST test set
rename / delete   manage runs
export     save a run's model without optimizer state (how the bundled model is made)
code       the standalone Keras script that trains a preset's, a run's or your settings
worker     train the dashboard's queued runs in the background (the dashboard starts it); --stop stops it
study      create, run (as one of several workers), resume, stop and show studies: many runs compared
digits     your own digits (the Draw page's "Wrong? It is a ..."): keep, list, score models, export, import""")


# argparse's own words: argparse asks gettext's default domain for them, which install_for_process makes ours.
# Listed here so that extraction puts them in the catalogs (their %-placeholders are argparse's).
ARGPARSE_WORDS = (
    marked("usage: "),
    marked("positional arguments"),
    marked("options"),
    marked("show this help message and exit"),
    marked("the following arguments are required: %s"),
    marked("unrecognized arguments: %s"),
    marked("invalid choice: %(value)r (choose from %(choices)s)"),
    marked("argument %(argument_name)s: %(message)s"),
    marked("invalid %(type)s value: %(value)r"),
    marked("expected one argument"),
    marked("expected at least one argument"),
    marked("expected at most one argument"),
    marked("one of the arguments %s is required"),
    marked("not allowed with argument %s"),
    marked("ambiguous option: %(option)s could match %(matches)s"),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One clear line instead of argparse's usage dump.
        self.exit(2, t("{prog}: error: {message} (see {prog} --help)", prog=self.prog, message=message) + "\n")


def choose_language(argv: list[str] | None) -> str:
    """--lang if given (anywhere on the line), else the environment's language (zh_*: Chinese), else English."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang")
    known, _rest = early.parse_known_args(sys.argv[1:] if argv is None else argv)
    return language_of(known.lang) or language_from_environment()


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help=t("print machine-readable JSON on stdout (in English)"))
    common.add_argument(
        "--runs-dir", metavar="DIR", help=t("the run store (default: ${env} or ./runs)", env=RUNS_DIR_ENV)
    )
    common.add_argument(
        "--data", metavar="NPZ", help=t("an mnist.npz to use (default: ${env}, cache, package)", env=DATA_ENV)
    )
    language_help = t("the language of help, messages and progress lines (default: from $LANG)")
    common.add_argument("--lang", choices=list(LANGUAGES), default=argparse.SUPPRESS, help=language_help)

    parser = _Parser(
        prog="python -m mnist_core", description=t(COMMAND_LIST), formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--lang", choices=list(LANGUAGES), help=language_help)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    commands.add_parser("data", parents=[common], help=t("show where MNIST came from, shapes and class counts"))

    # The settings of a run, shared by `train` and `code`: both read them the same way (config_from_args).
    config_flags = _Parser(add_help=False)
    # No default value: `code` refuses a RUN given along with --preset (config_from_args falls back to `post`).
    config_flags.add_argument(
        "--preset",
        help=t(
            "start from a preset: {presets} (default: {default}, the blog post's model; the old names {aliases} "
            "still work)",
            presets=", ".join(PRESETS),
            default=DEFAULT_PRESET,
            aliases=", ".join(ALIASES),
        ),
    )
    config_flags.add_argument("--epochs", type=int)
    config_flags.add_argument(
        "--filters", type=int, nargs="+", metavar="N", help=t("filters per convolution block, 1 to 4 blocks")
    )
    config_flags.add_argument("--kernel-size", type=int, nargs="+", metavar="N")
    config_flags.add_argument("--padding", choices=PADDINGS)
    config_flags.add_argument("--dense-units", type=int)
    config_flags.add_argument("--dropout", type=float)
    config_flags.add_argument("--batch-size", type=int)
    config_flags.add_argument("--validation-split", type=float)
    config_flags.add_argument("--optimizer", choices=OPTIMIZERS)
    config_flags.add_argument("--learning-rate", type=float)
    config_flags.add_argument("--lr-schedule", choices=LR_SCHEDULES)
    config_flags.add_argument("--adam-beta-1", type=float)
    config_flags.add_argument("--adam-beta-2", type=float)
    config_flags.add_argument("--label-smoothing", type=float)
    config_flags.add_argument("--precision", choices=PRECISIONS)
    config_flags.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None)
    config_flags.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=t("small shifts (10%%), rotations (10 degrees) and zoom (10%%) of training images"),
    )
    config_flags.add_argument(
        "--augment-shear",
        type=float,
        metavar="FRACTION",
        help=t("slant training images by shearing them up to FRACTION of the height either way (0.2 = 11 degrees)"),
    )
    config_flags.add_argument(
        "--augment-elastic",
        type=float,
        metavar="ALPHA",
        help=t("bend training images' strokes by an elastic distortion of this strength (Simard et al.: 34; 0 = off)"),
    )
    config_flags.add_argument(
        "--augment-stroke",
        type=float,
        metavar="SHARE",
        help=t("make training images' strokes thicker or thinner, up to this share (0 to 1, e.g. 0.5)"),
    )
    config_flags.add_argument(
        "--ema-momentum",
        type=float,
        metavar="M",
        help=t("end with a moving average of the weights, e.g. 0.999 (about the last 1,000 steps; 0 = off)"),
    )
    config_flags.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        dest="early_stopping_patience",
        help=t("stop after PATIENCE epochs without a lower val_loss (0 = off)"),
    )
    config_flags.add_argument(
        "--seed", type=int, help=t("the random seed: the same starting weights, shuffles and dropout on every run")
    )
    config_flags.add_argument(
        "--limit",
        type=int,
        metavar="N",
        dest="train_limit",
        help=t("train on the first N training images only, for quick runs"),
    )

    train = commands.add_parser("train", parents=[common, config_flags], help=t("train a model and save it as a run"))
    train.add_argument("--name", help=t("a name for the run (default: the preset's)"))
    train.add_argument(
        "--no-wait",
        action="store_true",
        help=t("fail at once if another training runs in this run store (default: wait in the queue)"),
    )
    add_code_parser(commands, parents=[common, config_flags])

    commands.add_parser("runs", parents=[common], help=t("list the runs"))

    evaluate = commands.add_parser("evaluate", parents=[common], help=t("test metrics of a run"))
    evaluate.add_argument("run", help=t("run id, unique id prefix, or name"))

    predict = commands.add_parser("predict", parents=[common], help=t("classify images of digits"))
    predict.add_argument("images", nargs="+", metavar="IMAGE", help=t("PNG, JPEG, GIF, BMP or WebP files"))
    predict.add_argument("--run", help=t("the run whose model to use (default: the bundled model)"))

    add_import_parser(commands, parents=[common])

    rename = commands.add_parser("rename", parents=[common], help=t("rename a run"))
    rename.add_argument("run")
    rename.add_argument("name")

    delete = commands.add_parser("delete", parents=[common], help=t("delete a run and its files"))
    delete.add_argument("run")

    export = commands.add_parser(
        "export", parents=[common], help=t("save a run's model for inference only (no optimizer)")
    )
    export.add_argument("run")
    export.add_argument("path", help=t("where to write the .keras file"))

    worker = commands.add_parser(
        "worker",
        parents=[common],
        help=t("train the dashboard's queued runs one at a time (the dashboard starts it)"),
    )
    worker.add_argument(
        "--idle",
        type=float,
        metavar="SECONDS",
        help=t(
            "stay this long after the queue empties, warm, for the next run (default: $MNIST_LAB_WORKER_IDLE or 300)"
        ),
    )
    worker.add_argument(
        "--stop",
        action="store_true",
        help=t(
            "stop the run store's worker instead: the run it trains stops after its batch and keeps what it "
            "learned; a worker that does not leave within --timeout is killed"
        ),
    )
    worker.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help=t("with --stop: how long to wait before killing the worker (default: 30)"),
    )
    add_study_parser(commands, common)
    add_digits_parser(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    global t
    t = install_for_process(choose_language(argv))  # before the parser: its help and argparse's words follow it
    args = build_parser().parse_args(argv)
    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    try:
        return COMMANDS[args.command](args, store)
    except USER_ERRORS as error:
        # With --json the error stays English, like the rest of the output; a person reads it in their language.
        said = translator() if args.json else t
        print(said("error: {message}", message=said.message(error)), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as error:  # a filesystem fault, not a bug: the path and what to do, in one line
        said = translator() if args.json else t
        print(said("error: {message}", message=describe_os_error(error, said)), file=sys.stderr)
        return 2


def describe_os_error(error: OSError, said=None) -> str:
    """The path, the system's own words and what to do (in `said`'s language; English by default)."""
    where = f"{error.filename}: " if error.filename else ""
    what = error.strerror or str(error)
    hint = OS_ERROR_HINTS.get(error.errno)
    return f"{where}{what}" + (f" ({(said or translator())(hint)})" if hint else "")


# --- commands --------------------------------------------------------------------------------------------------


def cmd_data(args, store) -> int:
    started = time.perf_counter()
    data = load_mnist(args.data)
    summary = data.summary()
    if args.json:
        return _print_json({**summary, "seconds": round(time.perf_counter() - started, 3)})
    print(t("source: {source}", source=summary["source"]))
    for part in ("train", "test"):
        counts = " ".join(f"{d}:{n}" for d, n in summary[part]["class_counts"].items())
        print(f"{t.pgettext('subset', part)}: {tuple(summary[part]['shape'])}  {counts}")
    return 0


CONFIG_FLAGS = (
    "epochs",
    "filters",
    "kernel_size",
    "padding",
    "dense_units",
    "dropout",
    "batch_size",
    "validation_split",
    "optimizer",
    "learning_rate",
    "lr_schedule",
    "adam_beta_1",
    "adam_beta_2",
    "label_smoothing",
    "precision",
    "batch_norm",
    "early_stopping_patience",
    "augment_shear",
    "augment_elastic",
    "augment_stroke",
    "ema_momentum",
    "seed",
    "train_limit",
)


def config_from_args(args) -> tuple[RunConfig, str]:
    """The settings the flags name and the preset they start from, by its name now (`--preset seed` -> `post`)."""
    preset = get_preset(args.preset or DEFAULT_PRESET)
    if args.preset and canonical_preset(args.preset) != args.preset:
        say(args, t("preset {old} is now called {new}; the old name keeps working", old=args.preset, new=preset.name))
    return preset.config.replace(**config_changes(args)), preset.name


def config_changes(args) -> dict:
    """The config fields the flags set; a flag left out keeps the preset's (or the run's) value."""
    changes = {flag: getattr(args, flag) for flag in CONFIG_FLAGS if getattr(args, flag) is not None}
    if len(changes.get("kernel_size") or ()) == 1:  # one size for every block
        changes["kernel_size"] = changes["kernel_size"][0]
    if args.augment is not None:
        on = args.augment
        changes.update(augment_shift=0.1 * on, augment_rotation=10.0 * on, augment_zoom=0.1 * on)
    return changes


@contextlib.contextmanager
def stop_on_ctrl_c(what: str):
    """The first Ctrl-C (or SIGTERM) asks for a clean stop after the current batch; the second aborts.

    Yields the `should_stop` callable that training polls.
    """
    requested = False

    def on_signal(signum, frame):
        nonlocal requested
        if requested:
            raise KeyboardInterrupt  # a second Ctrl-C aborts; the run or trial is marked interrupted
        requested = True
        print("\n" + t("{what} (Ctrl-C again to abort)...", what=what), file=sys.stderr)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_train(args, store) -> int:
    config, preset = config_from_args(args)
    data = load_mnist(args.data)  # before queuing: a data problem leaves no run behind
    store.sweep()  # what killed trainings left: temporary files, runs still marked running
    # Locked by this process from its creation: killed at any instant, the run reads interrupted, never queued.
    with store.create(config, name=args.name or preset, preset=preset, trainer=Trainer.OWNER) as writer:
        images = config.train_limit or len(data.x_train)
        say(
            args,
            t(
                "run {id}: {blocks} conv blocks {filters}, {epochs} epochs, {images} training images "
                "(Ctrl-C stops and keeps the run)",
                id=writer.id,
                blocks=config.conv_blocks,
                filters=list(config.filters),
                epochs=config.epochs,
                images=images,
            ),
        )
        with stop_on_ctrl_c(t("stopping after this batch")) as stop_requested:
            slot = queue.wait_for_turn(
                store,
                writer,
                cancelled=lambda: args.no_wait or stop_requested() or writer.stop_requested(),
                on_wait=lambda ahead, current: _say_waiting(writer.id, ahead, current),
            )
            if slot is None:
                return _not_started(args, store, writer)
            with slot:
                with backend.tensorflow_logs():
                    from mnist_core.jobs.runner import execute_run
                from mnist_core.presentation.terminal import TerminalProgress

                display = None if args.json else TerminalProgress()
                try:
                    status = execute_run(writer, data, sink=display, should_stop=stop_requested)
                except KeyboardInterrupt:
                    print("\n" + t("run {id} interrupted", id=writer.id), file=sys.stderr)
                    return 130
                except Exception as error:  # noqa: BLE001 - recorded on the run by execute_run
                    detail = f"{type(error).__name__}: {error}"  # Keras' or TensorFlow's own words, verbatim
                    failure = t("run {id} failed: {detail}", id=writer.id, detail=detail)
                    print(t("error: {message}", message=failure), file=sys.stderr)
                    return 1
                finally:
                    if display:
                        display.close()
    row = store.get(writer.id).summary()
    keys = ("run_id", "name", "status", "test_accuracy", "test_loss", "epochs_completed", "train_seconds", "model_path")
    result = {key: row[key] for key in keys}
    if args.json:
        return _print_json(result)
    print(
        "\n"
        + t(
            "{state}: test accuracy {accuracy:.4f}, loss {loss:.4f}, {epochs} epochs in {seconds:.1f} s; model {path}",
            state=status.state,
            accuracy=result["test_accuracy"],
            loss=result["test_loss"],
            epochs=result["epochs_completed"],
            seconds=result["train_seconds"],
            path=result["model_path"],
        )
    )
    return 0


def _say_waiting(run_id: str, ahead: int, current) -> None:
    training = t("; training now: {name} ({id})", name=current.name, id=current.id) if current else ""
    waiting = t.ngettext(
        "run {id}: waiting in the queue, {n} run ahead{training}. Ctrl-C cancels.",
        "run {id}: waiting in the queue, {n} runs ahead{training}. Ctrl-C cancels.",
        ahead,
        id=run_id,
        training=training,
    )
    print(waiting, file=sys.stderr)


def _not_started(args, store: RunStore, writer) -> int:
    """The run never started: --no-wait found the store busy, or Ctrl-C / a stop came while it waited."""
    if args.no_wait:
        writer.close()
        store.delete(writer.id)  # it never was: nothing learned, nothing to keep
        busy = next(iter(queue.line(store)), None)
        what = (
            Message("run {name} ({id}) is {state}", name=busy.name, id=busy.id, state=busy.state)
            if busy
            else Message("another training holds the store")
        )
        raise RunStoreError(
            Message(
                "{root}: {what}; one training at a time per run store. Run `train` without --no-wait to wait.",
                root=store.root,
                what=what,
            )
        )
    writer.write_status(RunState.STOPPED, finished_at=now_iso(), error=CANCELLED)
    print(t("run {id} cancelled before it started", id=writer.id), file=sys.stderr)
    return 130


def say(args, message: str) -> None:
    """Chatter for a person: on stderr, and not at all with --json."""
    if not args.json:
        print(message, file=sys.stderr)


def cmd_runs(args, store) -> int:
    store.check_readable()
    rows = store.summaries()
    if args.json:
        return _print_json(rows)
    if not rows:
        print(t("no runs yet in {root}: train one with `python -m mnist_core train --preset post`", root=store.root))
        return 0
    print_table(runs_table(rows))
    return 0


def cmd_evaluate(args, store) -> int:
    run = store.find(args.run)
    results = run.results
    if results is None:
        raise RunStoreError(
            Message(
                "Run {id} has no test results (status: {state}); it has not finished training.",
                id=run.id,
                state=run.state,
            )
        )
    output = {
        "run_id": run.id,
        "test_accuracy": results.test_accuracy,
        "test_loss": results.test_loss,
        "confusion_matrix": results.confusion_matrix,
        "per_class": [dataclasses.asdict(row) for row in results.per_class],
        "misclassified_count": len(results.misclassified),
    }
    if args.json:
        return _print_json(output)
    print(
        t(
            "run {id}: test accuracy {accuracy:.4f}, loss {loss:.4f}, {wrong} misclassified",
            id=run.id,
            accuracy=results.test_accuracy,
            loss=results.test_loss,
            wrong=len(results.misclassified),
        )
    )
    print(t("confusion matrix (rows: true digit, columns: predicted):"))
    print_table(confusion_table(results))
    print_table(per_class_table(results))
    return 0


def cmd_predict(args, store) -> int:
    from mnist_core.inspection.predict import BUNDLED_MODEL, Predictor

    model_path = store.find(args.run).model_path if args.run else BUNDLED_MODEL
    backend.import_keras()  # TensorFlow's start-up log hidden here, so a bad model file below prints only its error
    predictor = Predictor.from_path(model_path)
    answers = predictor.classify_pictures((path, path) for path in args.images)
    rows = [
        {"file": a.name, "error": a.error} if a.problem else {"file": a.name, **a.prediction.to_dict()} for a in answers
    ]
    if args.json:
        _print_json(rows)
    else:
        for answer in answers:
            if answer.problem:  # on stderr, so `predict *.png > answers.txt` still shows what failed
                print(f"{answer.name}: " + t("error: {message}", message=t.message(answer.problem)), file=sys.stderr)
            else:
                print(f"{answer.name}: {answer.prediction.digit} ({answer.prediction.confidence:.1%})")
    return 1 if any(answer.problem for answer in answers) else 0


# --- import -------------------------------------------------------------------------------------------------


def add_import_parser(commands, parents) -> None:
    imported = commands.add_parser(
        "import",
        parents=parents,
        help=t("keep a Keras model file (.keras, or Keras 2 .h5) as a run, evaluated on the MNIST test set"),
        description=t(
            "Open a model file in Keras' safe mode (its input 28x28, 28x28x1 or 784 pixels, its output 10\n"
            "classes), evaluate it on the MNIST test set and keep it as an imported run. A file that cannot be\n"
            "used is one line on stderr and changes nothing."
        ),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    imported.add_argument("file", metavar="FILE", help=t("a .keras file, or an .h5 file saved by Keras 2"))
    imported.add_argument("--name", help=t("a name for the run (default: the file's name)"))


def cmd_import(args, store) -> int:
    check_model_file(args.file)  # a file that is no model at all is refused at once, before TensorFlow starts
    data = load_mnist(args.data) if args.data else None
    backend.import_keras()  # TensorFlow's start-up log hidden here, so a refused model prints only its one line
    from mnist_core.jobs.importing import import_model

    try:
        run = import_model(store, args.file, name=args.name, data=data)
    except KeyboardInterrupt:
        print("\n" + t("import of {file} interrupted; nothing was kept", file=args.file), file=sys.stderr)
        return 130
    row = run.summary()
    keys = ("run_id", "name", "kind", "source_file", "status", "test_accuracy", "test_loss", "parameters")
    result = {key: row[key] for key in keys} | {"model_path": row["model_path"]}
    if args.json:
        return _print_json(result)
    print(
        f"imported {args.file} as run {run.id} ({run.name}): test accuracy {result['test_accuracy']:.4f}, "
        f"loss {result['test_loss']:.4f}, {result['parameters']:,} parameters; model {result['model_path']}"
    )
    return 0


def cmd_rename(args, store) -> int:
    run = store.rename(store.find(args.run).id, args.name)
    if args.json:
        return _print_json(run.summary())
    print(t("renamed {id} to {name}", id=run.id, name=repr(args.name)))
    return 0


def cmd_delete(args, store) -> int:
    run = store.find(args.run)
    store.delete(run.id)
    if args.json:
        return _print_json({"deleted": run.id})
    print(t("deleted {id}", id=run.id))
    return 0


def cmd_export(args, store) -> int:
    """Drop the optimizer state (a third of the file) and the training-only augmentation block: nothing an
    inference-only user needs, and the file then loads in any Keras 3 without this project's own layers."""
    from pathlib import Path

    from mnist_core.atomic import atomic_write_bytes
    from mnist_core.networks.model_files import load_model_file

    run = store.find(args.run)
    if not run.has_model:
        raise RunStoreError(Message("Run {id} has no model yet (status: {state}).", id=run.id, state=run.state))
    target = Path(args.path)
    if target.is_dir():
        raise ModelFileError(
            target,
            Message("is a directory"),
            Message("Give the file to write, e.g. {example}", example=target / "model.keras"),
        )
    if target.suffix != ".keras":
        raise RunStoreError(Message("{target}: the file name must end in .keras", target=target))
    backend.import_keras()
    from mnist_core.networks.model import inference_only  # imports Keras: only once the arguments are good

    model = inference_only(load_model_file(run.model_path))
    tmp = target.with_name(f".{target.name}.tmp.keras")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        model.save(tmp)
        atomic_write_bytes(target, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    output = {
        "run_id": run.id,
        "path": str(target),
        "bytes": target.stat().st_size,
        "test_accuracy": run.results.test_accuracy if run.results else None,
    }
    if args.json:
        return _print_json(output)
    print(
        f"exported {run.id} to {target} ({output['bytes'] / 1e6:.1f} MB, test accuracy {output['test_accuracy']:.4f})"
    )
    return 0


# --- code ---------------------------------------------------------------------------------------------------


def add_code_parser(commands, parents) -> None:
    code = commands.add_parser(
        "code",
        parents=parents,
        help=t("print the standalone Keras script that trains a preset, a run or these settings"),
        description=t(
            "Print a plain numpy + Keras script that trains exactly these settings: a preset's (default:\n"
            "post, the blog post's model) or a run's, changed by the same flags as `train`. It runs anywhere\n"
            "with `python FILE`. Its comments explain each step in the language of --lang (default: from $LANG);\n"
            "with --json, English."
        ),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    code.add_argument("run", nargs="?", metavar="RUN", help=t("take the settings of this run (id, id prefix or name)"))
    code.add_argument("-o", "--output", metavar="FILE", help=t("write the script to FILE instead of printing it"))


def cmd_code(args, store) -> int:
    from mnist_core.atomic import atomic_write_text
    from mnist_core.networks.codegen import preset_title, script_for, with_changes

    # The script's comments speak this process's language; with --json, English, like the rest of that output.
    said = translator() if args.json else t
    if args.run:
        if args.preset:
            raise ConfigError("preset", "give a RUN or --preset, not both: the script starts from one of them")
        run = store.find(args.run)
        if run.config is None:
            raise RunStoreError(
                Message("Run {id} is an imported model: it has no settings to write as a script.", id=run.id)
            )
        config = run.config.replace(**config_changes(args))
        title = run.name
    else:
        config, preset = config_from_args(args)
        title = preset_title(preset, t=said)
    script = script_for(config, title=with_changes(title, config_changes(args), t=said), t=said)
    if args.output:
        atomic_write_text(args.output, script)
    if args.json:
        return _print_json(
            {"config": config.to_dict(), "script": script, **({"path": args.output} if args.output else {})}
        )
    if args.output:
        print(t("wrote {file}: run it with `python {file}`", file=args.output))
    else:
        print(script, end="")
    return 0


def cmd_worker(args, store) -> int:
    from mnist_core.jobs.worker import run_worker, stop_on_signals

    if args.stop:
        return _stop_worker(args, store)

    def log(message: str) -> None:
        print(message, flush=True)

    # SIGTERM (what `worker --stop` sends) or Ctrl-C: a run in training stops after its batch, then the worker exits.
    with stop_on_signals(log) as stop:
        try:
            trained = run_worker(store, idle_seconds=args.idle, log=log, stop=stop)
        except KeyboardInterrupt:
            log(t("worker: aborted; the run it trained reads interrupted"))
            return 130
    if args.json:
        return _print_json({"trained": trained})
    done = (
        t.ngettext("worker: trained {n} run; stopped", "worker: trained {n} runs; stopped", trained)
        if stop()
        else t.ngettext(
            "worker: trained {n} run; the queue is empty", "worker: trained {n} runs; the queue is empty", trained
        )
    )
    log(done)
    return 0


def _stop_worker(args, store) -> int:
    from mnist_core.jobs.launch import stop_worker

    if args.timeout < 0:
        raise RunStoreError(t("--timeout must be 0 seconds or more (got {timeout:g})", timeout=args.timeout))

    def asked(pid: int, runs: list[str]) -> None:
        if args.json:
            return
        if runs:
            what = t("run {runs} stops after its current batch, keeping what it learned", runs=", ".join(runs))
        else:
            what = t("idle")
        print(t("asked worker {pid} of {root} to stop ({what})", pid=pid, root=store.root, what=what), flush=True)

    result = stop_worker(store, timeout=args.timeout, on_asked=asked)
    if args.json:
        return _print_json({"runs_dir": str(store.root), **dataclasses.asdict(result)})
    if result.outcome == "none":
        print(t("no worker is running for {root}", root=store.root))
        return 0
    if result.outcome == "killed":
        message = t(
            "worker {pid} did not stop within {timeout:g} s: killed it (SIGKILL)", pid=result.pid, timeout=args.timeout
        )
        if result.stopping_runs:
            message += t("; run {runs} reads interrupted", runs=", ".join(result.stopping_runs))
        print(message)
    else:
        print(t("worker {pid} stopped after {seconds:.1f} s", pid=result.pid, seconds=result.seconds))
    if result.queued:
        print(
            t.ngettext(
                "{n} queued run waits for the next worker (the Train page starts one)",
                "{n} queued runs wait for the next worker (the Train page starts one)",
                result.queued,
            )
        )
    return 0


STUDY_HELP = marked("""Studies: many runs that differ in a few settings, searched by Optuna, compared in one table.

    study create NAME --preset-study [--run]             the post's seven runs
    study create NAME --grid filters=16/36,32/64 --grid epochs=5,10
    study create NAME --search dropout=0.1:0.5 --search learning_rate=1e-4:1e-2:log --trials 20
    study run NAME        train its trials as a worker (start several, here or on other machines, to share it)
    study resume NAME     after a stop, crash or kill: train what is left, never what finished
    study stop NAME       stop after the current batch; finished trials are kept
    study show [NAME]     the results table (or the list of studies)

Add --epochs N and --limit N to `create` for a quick study. Studies live in --storage URL (default:
$MNIST_LAB_STUDIES, else an SQLite file in the run store). Workers on several machines share a study through one
PostgreSQL server: --storage postgresql+psycopg://USER@HOST:PORT/DATABASE (a password from the URL or $PGPASSWORD),
each machine with its own run store. A worker that dies mid-trial has its trial trained again by another.""")


def add_study_parser(commands, common) -> None:
    study_common = _Parser(add_help=False)
    study_common.add_argument(
        "--storage",
        metavar="URL",
        help=t(
            "the study database, e.g. postgresql+psycopg://USER@HOST:PORT/DB (default: $MNIST_LAB_STUDIES, else "
            "SQLite in the run store)"
        ),
    )
    study = commands.add_parser(
        "study",
        help=t("create, run, resume and show studies (many runs compared)"),
        description=t(STUDY_HELP),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    actions = study.add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
    parents = [common, study_common]
    create = actions.add_parser("create", parents=parents, help=t("define a study"))
    create.add_argument("name")
    kind = create.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--preset-study",
        nargs="*",
        metavar="PRESET",
        help=t("train presets one after another (default: the post's seven)"),
    )
    kind.add_argument("--grid", action="append", metavar="FIELD=V1,V2", help=t("every combination of these values"))
    kind.add_argument(
        "--search",
        action="append",
        metavar="FIELD=LOW:HIGH[:log]|A,B",
        help=t("search these ranges (Optuna's TPE sampler) for --trials trials"),
    )
    create.add_argument("--trials", type=int, help=t("how many trials a search runs"))
    create.add_argument(
        "--base",
        default=DEFAULT_PRESET,
        help=t("the preset a grid or search starts from: {presets}", presets=", ".join(PRESETS)),
    )
    create.add_argument("--epochs", type=int, help=t("train every trial for this many epochs (a quick study)"))
    create.add_argument("--limit", type=int, metavar="N", help=t("train every trial on the first N images only"))
    create.add_argument(
        "--prune",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=t("stop trials whose val_loss trails the median (default: on for searches)"),
    )
    create.add_argument("--run", action="store_true", help=t("then run it as a worker here and print the table"))
    for action, text in (
        ("run", t("train the study's trials as a worker, then print the table")),
        ("resume", t("queue interrupted trials again, clear a stop, then run as a worker")),
    ):
        parser = actions.add_parser(action, parents=parents, help=text)
        parser.add_argument("name")
        parser.add_argument("--max-trials", type=int, metavar="N", help=t("train at most N trials, then exit"))
    stop = actions.add_parser("stop", parents=parents, help=t("stop a study after the current batch"))
    stop.add_argument("name")
    show = actions.add_parser("show", parents=parents, help=t("a study's results table, or the list of studies"))
    show.add_argument("name", nargs="?")
    show.add_argument("--csv", action="store_true", help=t("print the table as CSV"))


def cmd_study(args, store) -> int:
    from mnist_core import study as studies_module

    studies = studies_module.Studies(store, args.storage)
    try:
        if args.action == "create":
            spec = _study_spec_from_args(args, studies_module)
            studies.create(args.name, spec)
            if not args.run:
                if args.json:
                    return _print_json({"study": args.name, "planned": spec.size, "spec": spec.to_dict()})
                print(
                    t(
                        "created study {name}: {size} trials; run it with `python -m mnist_core study run {name}`",
                        name=repr(args.name),
                        size=spec.size,
                    )
                )
                return 0
            return _study_work(args, studies, resume=False)
        if args.action in ("run", "resume"):
            return _study_work(args, studies, resume=args.action == "resume")
        if args.action == "stop":
            stopped = studies.request_stop(args.name)
            if args.json:
                return _print_json({"study": args.name, "stopping_runs": stopped})
            print(
                t("study {name} stops after the current batch", name=repr(args.name))
                + (" " + t("(run {ids})", ids=", ".join(stopped)) if stopped else "")
            )
            return 0
        return _study_show(args, studies)
    except studies_module.OptunaError as error:  # Optuna's own refusals (a study deleted under us, ...)
        raise studies_module.StudyError("study", f"{type(error).__name__}: {error}") from None


def _study_spec_from_args(args, module):
    overrides = {"epochs": args.epochs, "train_limit": args.limit}
    if args.preset_study is not None:
        return module.preset_study(args.preset_study or STUDY, **overrides)
    if args.grid:
        grid = module.parse_assignments(args.grid, module.parse_values, "grid")
        return module.grid_study(grid, base=args.base, prune=bool(args.prune), **overrides)
    if args.trials is None:
        raise module.StudyError("trials", "a search needs --trials N: how many trials to run")
    search = module.parse_assignments(args.search, module.parse_range, "search")
    prune = True if args.prune is None else args.prune
    return module.search_study(search, args.trials, base=args.base, prune=prune, **overrides)


def _study_work(args, studies, resume: bool) -> int:
    from mnist_core.presentation.terminal import StudyProgress

    # A bar for the study and the trial's epochs in a terminal; plain lines on stderr otherwise and with --json.
    display = StudyProgress(args.name, lines=args.json)
    with stop_on_ctrl_c(t("stopping this worker after the current batch")) as stop_requested:
        try:
            if resume:
                requeued = studies.prepare_resume(args.name)
                if requeued:
                    display.log(t("queued again: trial(s) {trials}", trials=", ".join(map(str, requeued))))
            data = load_mnist(args.data) if args.data else None
            trained = studies.run_worker(
                args.name,
                data=data,
                display=display,
                should_exit=stop_requested,
                max_trials=getattr(args, "max_trials", None),
            )
        except KeyboardInterrupt:
            display.close()
            print(
                "\n" + t("study {name} interrupted; resume it with `study resume`", name=repr(args.name)),
                file=sys.stderr,
            )
            return 130
        finally:
            display.close()
    return _study_show(args, studies, trained=trained)


def _study_show(args, studies, trained: int | None = None) -> int:
    from mnist_core.presentation.study_table import format_table
    from mnist_core.study import rows_csv

    if not args.name:
        names = studies.names()
        listing = [studies.progress(name) for name in names]
        if args.json:
            return _print_json(listing)
        if not listing:
            hint = "`python -m mnist_core study create NAME --preset-study`"
            print(t("no studies yet in {url}: create one with {hint}", url=studies.shown_url, hint=hint))
        for item in listing:
            print(
                f"{item['study']:<30} {item['kind']:<8} {item['state']:<11} {item['finished']}/{item['planned']} trials"
            )
        return 0
    rows = studies.rows(args.name)
    progress = studies.progress(args.name)
    if args.json:
        return _print_json({**progress, **({"trained_here": trained} if trained is not None else {}), "trials": rows})
    if getattr(args, "csv", False):
        print(rows_csv(rows), end="")
        return 0
    hosts = t("; trained on {hosts}", hosts=", ".join(progress["hosts"])) if progress["hosts"] else ""
    here = t(", {count} trained by this worker", count=trained) if trained is not None else ""
    print(
        t(
            "study {name} ({kind}): {state}, {finished}/{planned} trials finished",
            name=repr(args.name),
            kind=progress["kind"],
            state=progress["state"],
            finished=progress["finished"],
            planned=progress["planned"],
        )
        + here
        + hosts
    )
    print(format_table(rows))
    if progress["interrupted"]:
        print(
            t(
                "{count} interrupted trial(s): `study resume {name}` trains them again",
                count=progress["interrupted"],
                name=args.name,
            )
        )
    return 0


# --- your own digits ------------------------------------------------------------------------------------------------


def add_digits_parser(commands, common) -> None:
    digits = commands.add_parser(
        "digits",
        help=t("your own digits: keep labelled pictures, score models on them, export and import the set"),
        description=t(
            'Your own digits, kept beside the run store: the Draw page\'s "Wrong? It is a ..." keeps a drawing '
            "with its right label; any model can be scored on the set, the way to measure a model on your own hand."
        ),
    )
    actions = digits.add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
    actions.add_parser("list", parents=[common], help=t("list the kept digits (damaged files with the reason)"))
    keep = actions.add_parser("keep", parents=[common], help=t("keep pictures of one digit (photos of paper too)"))
    keep.add_argument("images", nargs="+", metavar="IMAGE", help=t("PNG, JPEG, GIF, BMP or WebP files"))
    keep.add_argument(
        "--label", required=True, type=int, choices=range(10), metavar="DIGIT", help=t("the digit they show")
    )
    score = actions.add_parser("score", parents=[common], help=t("how well models read your digits"))
    score.add_argument("--run", help=t("the run whose model to score (default: the bundled model)"))
    score.add_argument("--all", action="store_true", help=t("score the bundled model and every finished run's model"))
    export = actions.add_parser("export", parents=[common], help=t("write the set as a zip: PNG files + labels.csv"))
    export.add_argument("path", help=t("where to write the .zip file"))
    imported = actions.add_parser("import", parents=[common], help=t("keep the labelled pictures of a zip"))
    imported.add_argument("zip", help=t("a zip with labels.csv (columns file and label) and the pictures it names"))
    remove = actions.add_parser("remove", parents=[common], help=t("remove kept digits by id"))
    remove.add_argument("ids", nargs="+", metavar="ID")


def cmd_digits(args, store) -> int:
    own = store.own_digits
    if args.action == "list":
        entries = own.entries()
        rows = [
            {"id": e.id, "damaged": e.reason}
            if isinstance(e, DamagedDigit)
            else {"id": e.id, **dataclasses.asdict(e.record)}
            for e in entries
        ]
        if args.json:
            return _print_json(rows)
        if not entries:
            print(t('no digits kept yet in {root}: the Draw page\'s "Wrong? It is a ..." keeps them', root=store.root))
        for entry in entries:
            if isinstance(entry, DamagedDigit):
                print(t("{id}: damaged: {reason}", id=entry.id, reason=t.message(entry.why)))
            else:
                print(t("{id}: a {label}, kept {when}", id=entry.id, label=entry.label, when=entry.record.saved_at))
        return 0
    if args.action == "keep":
        from mnist_core.data.preprocess import open_image

        kept = []
        for path in args.images:
            digit, new = own.keep(open_image(path), args.label, source=DigitSource.UPLOAD)
            kept.append({"file": path, "id": digit.id, "new": new})
            say(
                args, t("{file}: kept as {id}", file=path, id=digit.id) if new else t("{file}: already kept", file=path)
            )
        return _print_json(kept) if args.json else 0
    if args.action == "score":
        return _score_digits(args, store)
    if args.action == "export":
        data = own.export_zip()
        with open(args.path, "wb") as handle:
            handle.write(data)
        say(args, t("wrote {n} digits to {path}", n=own.count(), path=args.path))
        return _print_json({"path": args.path, "digits": own.count()}) if args.json else 0
    if args.action == "import":
        try:
            with open(args.zip, "rb") as handle:
                data = handle.read(MAX_IMPORT_BYTES + 1)  # import_zip refuses it if larger
        except IsADirectoryError:
            raise OwnDigitsError(Message("{path} is a folder; give the zip file.", path=args.zip)) from None
        report = own.import_zip(data)
        for problem in report.problems:
            print(t("error: {message}", message=t.message(problem)), file=sys.stderr)
        if args.json:
            _print_json(
                {
                    "added": report.added,
                    "already_there": report.already_there,
                    "problems": [str(p) for p in report.problems],
                }
            )
        else:
            print(
                t("imported {added}; {already} already in your set", added=report.added, already=report.already_there)
            )
        return 1 if report.problems else 0
    removed = own.remove(args.ids)
    say(args, t("removed {n}", n=removed))
    return _print_json({"removed": removed}) if args.json else 0


def _score_digits(args, store) -> int:
    from mnist_core.inspection.own_digits import prepared_inputs, score_model
    from mnist_core.inspection.predict import BUNDLED_MODEL, Predictor

    if args.all:
        models = [("bundled", BUNDLED_MODEL)] + [
            (run.id, run.model_path) for run in store.runs() if run.state in FINISHED_WITH_MODEL and run.has_model
        ]
    elif args.run:
        run = store.find(args.run)
        models = [(run.id, run.model_path)]
    else:
        models = [("bundled", BUNDLED_MODEL)]
    if not store.own_digits.count():
        raise OwnDigitsError(
            Message("Your set is empty: keep digits on the Draw page, or with `python -m mnist_core digits keep`.")
        )
    backend.import_keras()
    prepared = prepared_inputs(store.own_digits)  # once, for every model
    rows = []
    for name, path in models:
        result = score_model(Predictor.from_path(path), store.own_digits, prepared)
        rows.append(
            {
                "model": name,
                "accuracy": result.accuracy,
                "right": result.right,
                "digits": result.count,
                "unreadable": result.unreadable,
            }
        )
        if not args.json:
            print(
                t(
                    "{model}: {right} of {n} read right ({accuracy})",
                    model=name,
                    right=result.right,
                    n=result.count,
                    accuracy=t.percent(result.accuracy, 2),
                )
            )
    return _print_json(rows) if args.json else 0


COMMANDS = {
    "data": cmd_data,
    "train": cmd_train,
    "runs": cmd_runs,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "import": cmd_import,
    "rename": cmd_rename,
    "delete": cmd_delete,
    "export": cmd_export,
    "code": cmd_code,
    "worker": cmd_worker,
    "study": cmd_study,
    "digits": cmd_digits,
}


def _print_json(data) -> int:
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
