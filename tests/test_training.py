import keras
import numpy as np
import pytest

from mnist_core.networks.presets import get_preset
from mnist_core.networks.training import KeepBestWeights, make_optimizer, train
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


def test_the_warmup_cosine_schedule_climbs_from_a_25th_for_30_percent_of_the_steps_then_falls_to_zero():
    # `fast` on all 60,000 images: 2 epochs of 235 batches of 256.
    optimizer = make_optimizer(get_preset("fast").config, steps_per_epoch=235)
    schedule = optimizer._learning_rate  # the schedule itself; optimizer.learning_rate is its value now
    rate = {step: float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 70, 141, 300, 470)}
    assert rate[0] == pytest.approx(0.01 / 25)
    assert rate[70] == pytest.approx(0.0004 + (0.01 - 0.0004) * 70 / 141, rel=1e-4)  # a straight line up
    assert rate[141] == pytest.approx(0.01)  # int(0.3 * 470): the top
    assert rate[300] == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi * (300 - 141) / (470 - 141))), rel=1e-4)
    assert rate[470] == pytest.approx(0.0, abs=1e-9)
    assert (float(optimizer.beta_1), float(optimizer.beta_2)) == (0.7, 0.9)


def test_label_smoothing_changes_the_loss_the_model_is_compiled_with(mnist):
    config = SMALL.replace(epochs=1, label_smoothing=0.2, lr_schedule="warmup_cosine", adam_beta_1=0.8)
    result = train(config, mnist)
    assert result.model.loss.get_config()["label_smoothing"] == 0.2
    assert float(result.model.optimizer.beta_1) == 0.8
    # A smoothed target asks for 0.82 on the digit and 0.02 on each other class: no answer has a cross-entropy
    # below that target's own entropy, 0.82 ln(1 / 0.82) + 9 x 0.02 ln(1 / 0.02) = 0.867.
    assert result.history[-1].loss > 0.867


def test_weight_averaging_ends_with_the_average_and_validates_it(mnist):
    config = SMALL.replace(filters=(8,), dense_units=16, epochs=2, train_limit=1000, validation_split=0.2)
    averaged = train(config.replace(ema_momentum=0.75), mnist)  # 14 steps: an average of about the last 4
    last_step = train(config, mnist)
    assert averaged.best_epoch is None  # no epoch's weights are put back over the average
    assert int(averaged.model.optimizer.iterations) == config.steps  # the steps the config's check counts
    assert averaged.model.optimizer.use_ema
    assert float(averaged.model.optimizer.ema_momentum) == pytest.approx(0.75)
    assert not np.allclose(averaged.model.get_weights()[0], last_step.model.get_weights()[0])
    # Validation measured the averaged weights: the model it ends with scores the last epoch's val figures.
    x = (mnist.x_train[800:1000].astype("float32") / 255.0)[..., np.newaxis]
    y = keras.utils.to_categorical(mnist.y_train[800:1000], 10)
    loss, accuracy = averaged.model.evaluate(x, y, verbose=0, batch_size=config.batch_size)
    assert accuracy == pytest.approx(averaged.history[-1].val_accuracy, abs=1e-6)
    assert loss == pytest.approx(averaged.history[-1].val_loss, rel=1e-4)
