import keras
import numpy as np
import pytest

from keras_nnperf.callbacks._recording import AppliedHyperparameters
from keras_nnperf.callbacks.hyperparameters import current_learning_rate
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler
from keras_nnperf.callbacks.warmup import WarmUp
from keras_nnperf.schedules import Constant, CosineDecay
from keras_nnperf.schedules import WarmUp as WarmUpSchedule


def compiled(learning_rate=0.1):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def drive(callback, model, values, monitor="val_loss"):
    """Feed epoch-end values by hand; return the multiplier after each epoch."""
    callback.set_model(model)
    callback.on_train_begin()
    multipliers = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        multipliers.append(callback.multiplier)
    return multipliers


def test_reduces_after_patience_with_relative_delta():
    callback = PerformanceScheduler(patience=2, factor=0.5, min_delta=0.01)
    # 0.995 is within 1% of 1.0: not an improvement.
    assert drive(callback, compiled(), [1.0, 0.995, 0.99, 0.5, 0.6, 0.6]) == [
        1,
        1,
        0.5,
        0.5,
        0.5,
        0.25,
    ]


def test_absolute_delta_cooldown_and_min_lr():
    callback = PerformanceScheduler(
        patience=1, factor=0.5, min_delta=0.1, min_delta_mode="absolute", cooldown=1, min_lr=0.03
    )
    model = compiled(0.1)
    multipliers = drive(callback, model, [1.0, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95])
    assert multipliers == [1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    # 0.1 * 0.25 = 0.025 is floored at min_lr; no reduction once at the floor.
    assert current_learning_rate(model.optimizer) == pytest.approx(0.03)


def test_direction_of_max_metrics_and_unknown_names():
    callback = PerformanceScheduler(monitor="val_auc", patience=1)
    assert drive(callback, compiled(), [0.8, 0.9, 0.85], monitor="val_auc") == [1, 1, 0.5]
    with pytest.raises(ValueError, match="mode"):
        PerformanceScheduler(monitor="val_weirdness")


def test_scales_a_schedule_and_waits_for_warm_up():
    schedule = WarmUpSchedule(CosineDecay(0.1, 1000), warmup_steps=100)
    model = compiled(schedule)
    callback = PerformanceScheduler(patience=1)
    assert drive(callback, model, [1.0, 2.0, 2.0]) == [1, 1, 1]  # step 0: warming up
    model.optimizer.iterations.assign(500)
    callback.on_epoch_end(3, {"val_loss": 2.0})
    assert callback.multiplier == 0.5
    expected = 0.5 * float(CosineDecay(0.1, 1000)(500))
    assert current_learning_rate(model.optimizer) == pytest.approx(expected, rel=1e-5)


def test_in_fit_with_warm_up_callback():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(Constant(0.1)), loss="mse")
    recorder = AppliedHyperparameters(16)
    # "loss" with mode="max": every epoch is a plateau, so only the warm-up holds reductions off.
    plateau = PerformanceScheduler(monitor="loss", mode="max", patience=1)
    history = model.fit(
        x, y, batch_size=4, epochs=4, verbose=0, callbacks=[WarmUp(steps=6), plateau, recorder]
    )
    # Epoch 1 ends at step 4 (warming up): no reduction; epochs 2, 3 and 4 end past it.
    np.testing.assert_allclose(
        history.history["learning_rate"], [0.4 / 6, 0.1, 0.05, 0.025], rtol=1e-6
    )
    applied = recorder.learning_rates
    np.testing.assert_allclose(applied[:6], 0.1 * np.arange(6) / 6, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(applied[8:12], 0.05, rtol=1e-6)
    np.testing.assert_allclose(applied[12:], 0.025, rtol=1e-6)
    assert plateau.multiplier == 0.125


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"factor": 1.0}, "factor"),
        ({"patience": -1}, "patience"),
        ({"cooldown": 1.5}, "cooldown"),
        ({"min_lr": -1}, "min_lr"),
        ({"min_delta": -1}, "min_delta"),
        ({"min_delta_mode": "percent"}, "min_delta_mode"),
        ({"mode": "up"}, "mode"),
        ({"verbose": 2}, "verbose"),
        ({"monitor": ""}, "monitor"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PerformanceScheduler(**kwargs)
