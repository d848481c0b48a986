"""Studies: many runs that differ in a few settings, searched by Optuna and compared in one table.

The blog post tuned by hand: it edited the script, reran it and read a chart, seven times. A *study* does that in
one go. Three kinds:

    presets   named presets one after another (the post's study: its seven runs)
    grid      every combination of a few values per setting (filters x epochs x dropout ...)
    search    "the best within N trials" over ranges the user sets (Optuna's default TPE sampler)

Every trial is an ordinary run in the run store of the machine that trained it; a trial's value is its lowest
val_loss (the post's lesson: watch the loss; choosing on test accuracy would tune on the test set). Studies live in
an Optuna database: an SQLite file in the run store by default, or a server (PostgreSQL) that workers on several
machines share.

    spec      the definition of a study: what varies, parsed and checked (no Optuna)
    adapter   the only module that speaks to Optuna: storages, queued trials, heartbeats
    database  the database URL and its failures in one line, passwords hidden (SQLAlchemy only)
    worker    the worker loop: one trial at a time through the run store's training slot
    tables    where a study stands, its rows and curves, CSV (the terminal table: presentation/study_table)
    estimate  how long a study will take here, from the finished runs of the run store
    states    StudyState and TrialState: the words a study and its trials are in
    lab       `Studies`: create, stop, resume, launch a worker, read (what the CLI and the page use)
"""

from mnist_core.study.adapter import OptunaError
from mnist_core.study.database import StorageError
from mnist_core.study.lab import STORAGE_ENV, Studies, default_storage
from mnist_core.study.spec import (
    FIELD_TYPES,
    KINDS,
    MAX_GRID_CELLS,
    MAX_NAME_LENGTH,
    MAX_TRIALS,
    VARIABLE_FIELDS,
    StudyError,
    StudySpec,
    check_study_name,
    decode_value,
    describe_params,
    encode_value,
    grid_study,
    parse_assignments,
    parse_range,
    parse_values,
    preset_study,
    search_study,
    spec_from_form,
)
from mnist_core.study.states import StudyState, TrialState
from mnist_core.study.tables import rows_csv
from mnist_core.study.worker import HOST_ENV, host_name

__all__ = [
    "StudyState",
    "TrialState",
    "FIELD_TYPES",
    "HOST_ENV",
    "KINDS",
    "MAX_GRID_CELLS",
    "MAX_NAME_LENGTH",
    "MAX_TRIALS",
    "OptunaError",
    "STORAGE_ENV",
    "VARIABLE_FIELDS",
    "StorageError",
    "Studies",
    "StudyError",
    "StudySpec",
    "check_study_name",
    "decode_value",
    "default_storage",
    "describe_params",
    "encode_value",
    "grid_study",
    "host_name",
    "parse_assignments",
    "parse_range",
    "parse_values",
    "preset_study",
    "rows_csv",
    "search_study",
    "spec_from_form",
]
