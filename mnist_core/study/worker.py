"""A study worker: takes the study's queued trials one at a time and trains each as an ordinary run of this machine's
run store, until none is left, the study is stopped or the worker is told to exit.

Start one on each machine (`python -m mnist_core study run NAME --storage URL`), or several on one machine with a
run store each. Between trials a worker lets runs queued on the Train page go first and takes its store's training
slot before it asks the study for a trial, so it never trains beside another training of its store and holds no
trial while it waits. With nothing queued but trials still running elsewhere it stays: if one of their workers dies,
Optuna's heartbeat check queues that trial again after the grace period, and this worker trains it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Protocol

from mnist_core.i18n import Message, marked
from mnist_core.jobs import queue
from mnist_core.jobs.launch import ensure_worker
from mnist_core.networks.metrics import ForwardingSink
from mnist_core.store import RunState, Trainer
from mnist_core.store.locks import waiting_for
from mnist_core.study.adapter import Pruned, StudyHandle, TrialHandle
from mnist_core.study.spec import StudyError, StudySpec
from mnist_core.study.tables import result_of

HOST_ENV = "MNIST_LAB_HOST"  # the name a worker gives its machine in the study (default: the host name)
STOP_POLL_SECONDS = 2.0


def host_name() -> str:
    return os.environ.get(HOST_ENV) or socket.gethostname()


class Display(Protocol):
    """What a worker tells a person: lines, the study's progress, and a sink for each trial's epochs."""

    def log(self, message: str) -> None: ...

    def study(self, progress: dict) -> None: ...

    def trial_sink(self, title: str): ...


class LogDisplay:
    """Lines only (a log file, the dashboard's worker, a test)."""

    def __init__(self, log: Callable[[str], None] | None = None):
        self._log = log or (lambda message: None)

    def log(self, message: str) -> None:
        self._log(message)

    def study(self, progress: dict) -> None:
        pass

    def trial_sink(self, title: str):
        return None


class TrialInterruptedError(RuntimeError):
    """A trial ended before its last epoch without being pruned (a stop); it is trained again later."""


def run_worker(lab, name: str, data=None, display: Display | None = None, should_exit=None, max_trials=None) -> int:
    """Train trials of study `name` until none is left, a stop, `should_exit()` or `max_trials`. Returns how many."""
    study, spec = lab.open(name)
    display = display or LogDisplay()
    exiting = should_exit or (lambda: False)
    if study.attrs.get("stop_requested"):
        raise StudyError("name", Message("study {name!r} was stopped; resume it to go on", name=name))
    study.fail_stale()
    trainer = _Trainer(lab, study, spec, data, display, exiting)

    def give_up() -> bool:
        return exiting() or trainer.stop_requested()  # the database is asked at most every STOP_POLL_SECONDS

    announced = False
    display.study(lab.progress(name))
    with lab.presence(name):
        try:
            while (max_trials is None or trainer.trained < max_trials) and not exiting():
                if trainer.stop_requested(poll=True):
                    break
                attempts = study.attempts()
                if not any(a.state == "waiting" for a in attempts):
                    running = sum(1 for a in attempts if a.state == "running")
                    if not running:
                        break
                    if not announced:
                        display.log(
                            f"waiting for {running} trial(s) running elsewhere; one whose worker goes silent for "
                            f"{study.heartbeat[1]} s is trained again here"
                        )
                        announced = True
                    _sleep(study.heartbeat[0], give_up)
                    study.fail_stale()
                    continue
                announced = False
                _let_queued_runs_go_first(lab.store, give_up)
                with waiting_for(queue.training_slot(lab.store), give_up) as held:
                    if not held or give_up():
                        break
                    study.run_one(trainer.objective)
                display.study(lab.progress(name))
        finally:
            # Runs queued on the Train page while we held the store waited for us: start their worker now.
            ensure_worker(lab.store)
    return trainer.trained


def _let_queued_runs_go_first(store, give_up: Callable[[], bool], poll_seconds: float = 1.0) -> None:
    """Between trials, let runs queued on the Train page train first, so a long study does not starve them."""
    while queue.line(store) and not give_up():
        ensure_worker(store)
        time.sleep(poll_seconds)


def _sleep(seconds: float, give_up: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not give_up():
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


class _Trainer:
    """Trains one trial as a run: the objective `study.run_one` calls."""

    def __init__(self, lab, study: StudyHandle, spec: StudySpec, data, display: Display, exiting):
        self.lab, self.study, self.spec = lab, study, spec
        self.data = data
        self.display = display
        self.exiting = exiting
        self.trained = 0
        self._stop = (0.0, False)  # when the study's stop flag was last read, and its value

    def stop_requested(self, poll: bool = False) -> bool:
        """The study's stop flag, read from the database at most every STOP_POLL_SECONDS."""
        checked_at, value = self._stop
        if poll or time.monotonic() - checked_at > STOP_POLL_SECONDS:
            self._stop = (time.monotonic(), bool(self.study.attrs.get("stop_requested")))
        return self._stop[1]

    def objective(self, trial: TrialHandle) -> float:
        self.trained += 1
        spec, study = self.spec, self.study
        # A retried trial arrives with its dead predecessor's attributes: each is written afresh.
        for key, value in {"host": host_name(), "pid": os.getpid(), "result": None, "error": None}.items():
            trial.set(key, value)
        trial.set("interrupted", None)
        try:
            params = trial.choose(spec.space())
            config = spec.config_for(params)
        except Exception as error:
            trial.set("error", f"{type(error).__name__}: {error}")
            self.display.log(f"trial {trial.slot} failed: {type(error).__name__}: {error}")
            raise
        label = spec.preset_for(params) if spec.kind == "presets" else spec.describe(params)
        # Locked by this worker from its creation, so a worker killed at any instant leaves it interrupted.
        with self.lab.store.create(
            config,
            name=f"{study.name} #{trial.slot} {label}"[:80],
            preset=spec.preset_for(params),
            trainer=Trainer.OWNER,
            study=study.name,
            trial=trial.slot,
        ) as writer:
            trial.set("run_id", writer.id)
            self.display.log(f"trial {trial.slot} of {spec.size} ({label}): run {writer.id} on {host_name()}")
            return self._train(trial, writer, params)

    def _train(self, trial: TrialHandle, writer, params: dict) -> float:
        if self.data is None:
            from mnist_core.data.mnist import load_mnist

            self.data = load_mnist()
        from mnist_core.networks.backend import tensorflow_logs

        with tensorflow_logs():
            from mnist_core.jobs.runner import execute_run

        reporter = _Reporter(trial, self.spec.prune, self.display.trial_sink(f"trial {trial.slot}"))

        def should_stop() -> bool:
            return reporter.pruned_at is not None or self.exiting() or self.stop_requested()

        try:
            status = execute_run(writer, self.data, sink=reporter, should_stop=should_stop)
        except KeyboardInterrupt:
            self._interrupted(trial, params, marked("interrupted by Ctrl-C"), again=True)
            raise
        except Exception as error:
            trial.set("error", f"{type(error).__name__}: {error}")
            self.display.log(f"trial {trial.slot} failed: {type(error).__name__}: {error}")
            raise
        finally:
            reporter.close()
        result = result_of(writer.read())
        trial.set("result", result)
        if reporter.pruned_at is not None:
            message = (
                f"pruned after epoch {reporter.pruned_at}: its val_loss was worse than the median of earlier trials "
                f"at that epoch"
            )
            writer.write_status(status.state, error=message)
            writer.update_meta(pruned=True)
            self.display.log(f"trial {trial.slot}: {message}")
            raise Pruned(message)
        if status.state == RunState.STOPPED:
            if self.stop_requested(poll=True):
                self._interrupted(trial, params, marked("stopped with the study before its last epoch"), again=False)
            else:
                self._interrupted(trial, params, marked("its worker was stopped before the last epoch"), again=True)
            raise TrialInterruptedError("stopped before its last epoch")
        if not reporter.val_losses:
            raise RuntimeError("no val_loss to compare trials by: give the study a validation split")
        value = min(reporter.val_losses)
        self.display.log(f"trial {trial.slot}: val_loss {value:.4f}, test accuracy {result['test_accuracy']:.4f}")
        return value

    def _interrupted(self, trial: TrialHandle, params: dict, why: str, again: bool) -> None:
        """Mark the trial interrupted; `again`: queue it at once for any worker (a resume does it after a stop)."""
        trial.set("interrupted", why)
        if again:
            self.study.enqueue(trial.slot, params)
        self.display.log(f"trial {trial.slot}: {why}; " + ("queued again" if again else "resume trains it again"))


class _Reporter(ForwardingSink):
    """A progress sink: reports each epoch's val_loss to Optuna, asks the pruner whether to go on, and passes
    everything to the person's display."""

    def __init__(self, trial: TrialHandle, prune: bool, outer=None):
        super().__init__(outer)
        self.trial = trial
        self.prune = prune
        self.pruned_at: int | None = None
        self.val_losses: list[float] = []
        self.epochs: int | None = None

    def on_train_begin(self, epochs, steps_per_epoch):
        self.epochs = epochs
        super().on_train_begin(epochs, steps_per_epoch)

    def on_epoch(self, metrics):
        super().on_epoch(metrics)
        if metrics.val_loss is None:
            return
        self.val_losses.append(metrics.val_loss)
        self.trial.report(metrics.val_loss, metrics.epoch)
        # After the last epoch there is nothing left to save by pruning: the trial completes with its value.
        last = self.epochs is not None and metrics.epoch >= self.epochs
        if self.prune and not last and self.pruned_at is None and self.trial.should_prune():
            self.pruned_at = metrics.epoch

    def close(self):
        if self.outer and hasattr(self.outer, "close"):
            self.outer.close()
