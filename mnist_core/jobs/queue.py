"""One training at a time per run store: the queue's order and the training slot.

These machines have two cores; two trainings at once would each run at half speed, and Keras would fight itself
for the cores. So every run waits in one line, ordered by when it was queued, whoever queued it (the dashboard's
Start, the command line's `train`, a study's trial), and only the run at the head of the line may take the store's
training slot (an exclusive lock) and train.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mnist_core.jobs.launch import ensure_worker
from mnist_core.store.locks import Lock
from mnist_core.store.records import ACTIVE_STATES, RunState, Trainer
from mnist_core.store.runs import Run, RunStore, RunWriter

POLL_SECONDS = 0.25


def line(store: RunStore) -> list[Run]:
    """The runs training or waiting to, in the order they train (the one training first)."""
    waiting = [run for run in store.runs() if run.state in ACTIVE_STATES]
    return sorted(waiting, key=lambda run: (run.state != RunState.RUNNING, run.status.queued_at or 0.0, run.id))


def position(runs: list[Run], run_id: str) -> tuple[int, Run | None]:
    """Where a run stands in `line(...)`: how many runs are ahead of it, and the one training now (if any)."""
    ahead = next((i for i, run in enumerate(runs) if run.id == run_id), len(runs))
    return ahead, next((run for run in runs if run.state == RunState.RUNNING), None)


def training_slot(store: RunStore) -> Lock:
    """The store's training slot: acquire it (non-blocking) before training, release it after."""
    store.root.mkdir(parents=True, exist_ok=True)
    return Lock(store.layout.training_slot)


def wait_for_turn(
    store: RunStore,
    writer: RunWriter,
    cancelled: Callable[[], bool],
    on_wait: Callable[[int, Run | None], None] | None = None,
) -> Lock | None:
    """Wait until `writer`'s run heads the line, then take the training slot and return it (release it when the
    training ends). Returns None if `cancelled()` turns true first. `on_wait(ahead, current)` is called whenever the
    run's place in the line changes, so a terminal or a log can say what it waits for."""
    slot = training_slot(store)
    last = None
    while True:
        if cancelled():
            return None
        runs = line(store)
        ahead, current = position(runs, writer.id)
        if ahead == 0 and slot.acquire():
            return slot
        if on_wait and (ahead, current and current.id) != last:
            on_wait(ahead, current)
            last = (ahead, current and current.id)
        # Runs ahead that the store's worker trains need a worker: never let them (and us) wait for nobody.
        if any(run.status.trainer == Trainer.WORKER for run in runs[:ahead]):
            ensure_worker(store)
        time.sleep(POLL_SECONDS)
