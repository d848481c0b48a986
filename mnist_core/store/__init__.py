"""The run store: where runs live on disk, and the boundary between the pages and training.

    layout    every path under a store's root (nothing else builds them)
    records   the typed records of a run and their JSON (checked on every read)
    locks     flock-based liveness: a lock held while a process works, gone when it dies
    runs      RunStore, Run snapshots, DamagedRun, RunWriter: records in, records out
    own_digits  the user's own digits beside the runs (RunStore.own_digits): kept, listed, exported, imported

Pages, the command line and the job system (mnist_core.jobs) get typed records from `RunStore` and write through a
`RunWriter`; nothing else opens a run's files. The store never imports training or the job system.
"""

from mnist_core.store.own_digits import DamagedDigit, OwnDigit, OwnDigits, OwnDigitsError
from mnist_core.store.records import (
    ACTIVE_STATES,
    DAMAGED,
    FINISHED_WITH_MODEL,
    Progress,
    RecordError,
    Results,
    RunKind,
    RunMeta,
    RunState,
    RunStatus,
    Trainer,
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
    "DAMAGED",
    "RunKind",
    "RunState",
    "Trainer",
    "ACTIVE_STATES",
    "FINISHED_WITH_MODEL",
    "RUNS_DIR_ENV",
    "DamagedDigit",
    "DamagedRun",
    "OwnDigit",
    "OwnDigits",
    "OwnDigitsError",
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
