import numpy as np

from mnist_core.networks.training import KeepBestWeights, train
from tests.support.commands import SMALL


class Recorder:
    def __init__(self):
        self.begin, self.points, self.epochs = None, [], []

    def on_train_begin(self, epochs, steps_per_epoch):
        self.begin = (epochs, steps_per_epoch)

    def on_batch(self, point):
        self.points.append(point)

    def on_epoch(self, metrics):
        self.epochs.append(metrics)


def test_real_training_on_a_small_subset_learns(mnist):
    sink = Recorder()
    result = train(SMALL.replace(epochs=3), mnist, sink, progress_every_seconds=0.0)
    assert sink.begin == (3, 19)  # 2,400 fit images / batch 128
    assert [m.epoch for m in result.history] == [1, 2, 3]
    for metrics in result.history:
        for name in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"):
            assert getattr(metrics, name) is not None, name
    assert result.history[-1].val_accuracy > 0.85
    assert result.history[-1].loss < result.history[0].loss
    # Within-epoch points exist for every epoch, so a live chart of epoch 1 is not blank.
    assert {p.epoch for p in sink.points} == {1, 2, 3}
    start, *during = sink.points
    # The untrained model's point comes first, before the first step: a live chart starts at once.
    assert (start.epoch, start.batch, start.progress) == (1, 0, 0.0)
    assert 1.8 < start.loss < 2.8, "an untrained 10-way softmax: about ln(10)"
    assert all(0 < p.progress <= 3 for p in during)


def test_stop_request_ends_after_the_current_batch_and_keeps_the_model(mnist):
    calls = []

    def should_stop():
        calls.append(1)
        return True  # asked at the first batch end: the request arrives during the first epoch

    result = train(SMALL.replace(epochs=50, train_limit=6000, batch_size=32), mnist, should_stop=should_stop)
    assert result.stopped
    assert calls
    assert len(result.history) == 1  # stopped inside the first epoch, not after 50
    probabilities = result.model.predict(np.zeros((1, 28, 28, 1), np.float32), verbose=0)
    assert probabilities.shape == (1, 10)


def test_same_seed_gives_the_same_training(mnist):
    config = SMALL.replace(epochs=1, train_limit=1000)
    first, second = train(config, mnist), train(config, mnist)
    assert np.isclose(first.history[0].loss, second.history[0].loss, rtol=1e-5)
    other = train(config.replace(seed=7), mnist)
    assert not np.isclose(first.history[0].loss, other.history[0].loss, rtol=1e-5)


def test_the_best_weights_by_val_loss_are_put_back():
    class FakeModel:
        def __init__(self):
            self.weights = "w0"

        def get_weights(self):
            return self.weights

        def set_weights(self, weights):
            self.weights = weights

    keeper = KeepBestWeights()
    keeper.set_model(FakeModel())
    for epoch, (val_loss, weights) in enumerate([(0.5, "w1"), (0.3, "w2"), (0.4, "w3")]):
        keeper.model.weights = weights
        keeper.on_epoch_end(epoch, {"val_loss": val_loss})
    keeper.on_train_end()
    assert keeper.model.weights == "w2"
    assert keeper.best_epoch == 2
