"""The job system: the things that write runs into a store, one training at a time.

    queue      the line of waiting runs (queue order) and the store's training slot
    launch     submit() a run for the background worker; ensure_worker() starts one when needed, stop_worker()
               stops it (by the pid in its lock)
    worker     the background worker's loop (`python -m mnist_core worker`): trains queued runs, stays warm
    runner     carrying out one run: train, evaluate, save, record (imports Keras)
    importing  a model file brought from elsewhere, evaluated and kept as a run (imports Keras)

Pages and the command line queue and launch; only the processes that train use `runner`. The run store underneath
never imports this package.
"""

from mnist_core.jobs.launch import (
    ensure_worker,
    spawn_detached,
    stop_worker,
    submit,
    waiting_for_worker,
    worker_alive,
    worker_pid,
)
from mnist_core.jobs.queue import line, position, training_slot, wait_for_turn
from mnist_core.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "mnist_core.jobs.runner": ("execute_run",),
        "mnist_core.jobs.importing": ("import_model",),
        "mnist_core.jobs.worker": ("run_worker",),
    },
)

__all__ = [
    "ensure_worker",
    "execute_run",
    "import_model",
    "line",
    "position",
    "run_worker",
    "spawn_detached",
    "stop_worker",
    "submit",
    "training_slot",
    "wait_for_turn",
    "waiting_for_worker",
    "worker_alive",
    "worker_pid",
]
