from conftest import SMALL, wait_until
from mnist_core import jobs


def test_queued_runs_train_one_at_a_time_in_a_background_worker(store):
    first = jobs.submit(store, SMALL.replace(epochs=1), name="first")
    second = jobs.submit(store, SMALL.replace(epochs=1), name="second")
    wait_until(lambda: jobs.worker_alive(store), 30, "a worker process to take the queue")
    seen_running = set()

    def both_done():
        running = [r.id for r in store.runs() if r.state == "running"]
        assert len(running) <= 1, "two trainings ran at once"
        seen_running.update(running)
        return first.state == "completed" and second.state == "completed"

    wait_until(both_done, 120, "both runs to complete")
    assert first.status()["finished_at"] <= second.status()["started_at"]
    wait_until(lambda: not jobs.worker_alive(store), 30, "the worker to exit once the queue is empty")


def test_stop_keeps_a_running_run_and_cancels_a_queued_one(store):
    long = jobs.submit(store, SMALL.replace(epochs=100, train_limit=20000, batch_size=64), name="long")
    waiting = jobs.submit(store, SMALL, name="waiting")
    wait_until(lambda: long.progress().get("points"), 120, "the long run to start training")
    jobs.stop(store, waiting.id)
    assert waiting.state == "stopped"
    assert "cancelled" in waiting.status()["error"]
    jobs.stop(store, long.id)
    wait_until(lambda: long.state == "stopped", 30, "the long run to stop")
    assert long.has_model()
    assert long.results()["test_accuracy"] > 0.5
    assert len(long.history()) < 100
    assert not waiting.has_model()
