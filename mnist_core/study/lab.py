"""`Studies`: the studies of one study database, as the command line and the Experiments page use them.

A thin layer over the adapter (Optuna), the worker and the tables: create, list, stop, resume, start a worker, and
read where a study stands. The database is `--storage URL`, else $MNIST_LAB_STUDIES, else an SQLite file in the
run store; several machines share a study by giving the same server URL, each with its own run store.
"""

from __future__ import annotations

import contextlib
import os
import time

import mnist_core.study.adapter as adapter
import mnist_core.study.estimate as estimate
import mnist_core.study.tables as tables
import mnist_core.study.worker as worker
from mnist_core.i18n import Message
from mnist_core.jobs.launch import spawn_detached
from mnist_core.store import RunStore, RunStoreError
from mnist_core.store.locks import has_holders, shared
from mnist_core.study.database import hide_password
from mnist_core.study.spec import StudyError, StudySpec, check_study_name

STORAGE_ENV = "MNIST_LAB_STUDIES"


def default_storage(store: RunStore) -> str:
    return f"sqlite:///{store.layout.studies_db.resolve()}"


class Studies:
    """The studies kept in one database, whose trials this machine trains into one run store."""

    def __init__(self, store: RunStore, storage: str | None = None):
        self.store = store
        self.url = storage or os.environ.get(STORAGE_ENV) or default_storage(store)

    @property
    def shown_url(self) -> str:
        """The database's URL with any password hidden, for messages and pages."""
        return hide_password(self.url)

    # --- creating and opening -----------------------------------------------------------------------------------
    def names(self) -> list[str]:
        if self.url == default_storage(self.store) and not self.store.layout.studies_db.exists():
            return []
        return adapter.study_names(self.url)

    def create(self, name: str, spec: StudySpec, heartbeat: tuple[int, int] | None = None) -> None:
        """A new study with every planned trial queued. `heartbeat`: (interval, grace) seconds, for tests."""
        name = check_study_name(name)
        spec.validate()
        if self.url == default_storage(self.store):
            self.store.root.mkdir(parents=True, exist_ok=True)
        if name in self.names():
            raise StudyError(
                "name",
                Message("a study named {name!r} already exists; show it, resume it or pick another name", name=name),
            )
        adapter.create_study(
            self.url,
            name,
            spec.planned(),
            attrs={"spec": spec.to_dict(), "created_at": time.strftime("%Y-%m-%dT%H:%M:%S")},
            search=spec.kind == "search",
            prune=spec.prune,
            **({"heartbeat": heartbeat} if heartbeat else {}),
        )

    def open(self, name: str) -> tuple[adapter.StudyHandle, StudySpec]:
        names = self.names()
        if name not in names:
            known = ", ".join(names) or Message("none yet")
            raise StudyError(
                "name",
                Message("no study {name!r} in {url} (studies: {known})", name=name, url=self.shown_url, known=known),
            )
        study = adapter.open_study(self.url, name)
        return study, StudySpec.from_dict(study.attrs["spec"])

    # --- stop, resume, work -------------------------------------------------------------------------------------
    def request_stop(self, name: str) -> list[str]:
        """Workers start no new trial and the current ones stop after their batch. Returns this store's run ids
        stopped at once (workers elsewhere see the flag within seconds)."""
        study, _ = self.open(name)
        study.set_attr("stop_requested", True)
        stopped = []
        for attempt in study.attempts():
            run = tables.local_run(attempt, self.store) if attempt.state == "running" else None
            if run is not None:
                with contextlib.suppress(RunStoreError):
                    self.store.stop(run.id)
                    stopped.append(run.id)
        return stopped

    def prepare_resume(self, name: str) -> list[int]:
        """Clear a stop and queue interrupted trials again; returns the trial numbers queued again."""
        study, _ = self.open(name)
        study.set_attr("stop_requested", False)
        study.fail_stale()
        pending = tables.needing_resume(study.attempts())
        for attempt in pending:
            study.enqueue(attempt.slot, attempt.params)
        return [attempt.slot for attempt in pending]

    def run_worker(self, name: str, data=None, log=None, should_exit=None, max_trials=None, display=None) -> int:
        """Train trials of `name` here until none is left (see `mnist_core.study.worker`). Returns how many."""
        display = display or worker.LogDisplay(log)
        return worker.run_worker(self, name, data, display, should_exit, max_trials)

    @contextlib.contextmanager
    def presence(self, name: str):
        """A shared lock on the study's presence file while working, so this machine's page sees a worker."""
        self.store.root.mkdir(parents=True, exist_ok=True)
        with shared(self.store.layout.study_presence(name)):
            yield

    def worker_alive(self, name: str) -> bool:
        return has_holders(self.store.layout.study_presence(name))

    def launch_worker(self, name: str) -> bool:
        """Start a background worker for the study (the page's Queue); False if one is working here already.
        The database URL goes by the environment, so a password in it never shows in a process listing."""
        if self.worker_alive(name):
            return False
        args = ["study", "run", name, "--runs-dir", str(self.store.root.resolve())]
        if self.url != os.environ.get(STORAGE_ENV) and self.url != default_storage(self.store):
            args += ["--storage", self.url]
        spawn_detached(args, self.store.layout.study_worker_log)
        return True

    # --- reading ------------------------------------------------------------------------------------------------
    def _read(self, name: str) -> tuple[adapter.StudyHandle, StudySpec, list[adapter.Attempt]]:
        study, spec = self.open(name)
        study.fail_stale()  # a trial whose worker died shows as interrupted (and queued again), not running
        return study, spec, study.attempts()

    def progress(self, name: str) -> dict:
        study, spec, attempts = self._read(name)
        attrs = study.attrs
        found = tables.progress(attempts, spec, bool(attrs.get("stop_requested")), self.worker_alive(name))
        return {"study": name, **found, "worker_alive": self.worker_alive(name), "created_at": attrs.get("created_at")}

    def rows(self, name: str) -> list[dict]:
        study, spec, attempts = self._read(name)
        return tables.rows(attempts, spec, self.store, stopped=bool(study.attrs.get("stop_requested")))

    def estimate(self, spec: StudySpec) -> estimate.Estimate:
        """How long `spec` would take here, from the finished runs of this machine's run store."""
        runs = [run for run in self.store.runs() if getattr(run, "config", None) is not None]
        summaries = [(run.config, {**run.summary(), "wall_seconds": run.status.wall_seconds}) for run in runs]
        return estimate.estimate(spec, estimate.observations(summaries))

    def curves(self, name: str) -> dict:
        _, spec, attempts = self._read(name)
        return tables.curves(attempts, spec, self.store)

    def attempts(self, name: str) -> list[adapter.Attempt]:
        return self._read(name)[2]

    def figures(self, name: str) -> dict:
        """Optuna's views of a search (parallel coordinates, importances), once two trials have completed."""
        return self.open(name)[0].figures()
