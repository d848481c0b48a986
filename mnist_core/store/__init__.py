"""The run store: where runs live on disk, and the boundary between the pages and training.

    layout    every path under a store's root (nothing else builds them)
    records   the typed records of a run and their JSON (checked on every read)
    atomic    atomic file writes
    locks     flock-based liveness: a lock held while a process works, gone when it dies
    runs      RunStore, Run snapshots, DamagedRun, RunWriter: records in, records out
    queue     one training at a time: the line of waiting runs and the training slot
    worker    the background worker that trains the dashboard's runs (and stays warm)
    runner    carrying out one run: train, evaluate, save, record

Pages and the command line use `RunStore`, `queue` and `worker`; only the processes that train use `runner`.
"""

from mnist_core.store.records import (
    ACTIVE_STATES,
    COMPLETED,
    FAILED,
    FINISHED_WITH_MODEL,
    IMPORTED,
    INTERRUPTED,
    OWNER,
    QUEUED,
    RUNNING,
    STOPPED,
    TRAINED,
    WORKER,
    Progress,
    RecordError,
    Results,
    RunMeta,
    RunStatus,
)
from mnist_core.store.runs import (
    RUNS_DIR_ENV,
    DamagedRun,
    Run,
    RunStore,
    RunStoreError,
    RunWriter,
    check_name,
    default_runs_dir,
    now_iso,
)

__all__ = [
    "ACTIVE_STATES",
    "COMPLETED",
    "FAILED",
    "FINISHED_WITH_MODEL",
    "IMPORTED",
    "INTERRUPTED",
    "OWNER",
    "QUEUED",
    "RUNNING",
    "RUNS_DIR_ENV",
    "STOPPED",
    "TRAINED",
    "WORKER",
    "DamagedRun",
    "Progress",
    "RecordError",
    "Results",
    "Run",
    "RunMeta",
    "RunStatus",
    "RunStore",
    "RunStoreError",
    "RunWriter",
    "check_name",
    "default_runs_dir",
    "now_iso",
]
