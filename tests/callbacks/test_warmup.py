import keras
import numpy as np
import pytest

from keras_nnperf.callbacks._recording import AppliedHyperparameters
from keras_nnperf.callbacks.warmup import AdaptiveWarmUp, WarmUp
from keras_nnperf.schedules import Constant, CosineDecay, evaluate
from keras_nnperf.schedules import WarmUp as WarmUpSchedule


def model_and_data(learning_rate=0.1, loss="mse"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], "float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate), loss=loss)
    return model, x, y


@pytest.mark.parametrize("kind", ["linear", "exponential"])
def test_wraps_a_schedule_and_applies_its_curve(kind):
    model, x, y = model_and_data(CosineDecay(0.1, decay_steps=16))
    recorder = AppliedHyperparameters(16)
    model.fit(
        x, y, batch_size=4, epochs=2, verbose=0, callbacks=[WarmUp(epochs=0.5, kind=kind), recorder]
    )
    expected = evaluate(WarmUpSchedule(CosineDecay(0.1, 16), 4, kind), np.arange(16))
    np.testing.assert_allclose(recorder.learning_rates, expected, rtol=1e-5, atol=1e-9)
    assert recorder.learning_rates[0] < recorder.learning_rates[3] < recorder.learning_rates[4]


def test_starts_at_the_current_step():
    model, x, y = model_and_data(0.1)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 8 steps without warm-up
    recorder = AppliedHyperparameters(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[WarmUp(steps=4), recorder])
    np.testing.assert_allclose(
        recorder.learning_rates[8:], [0, 0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1], atol=1e-7
    )


def test_gradient_warmup_holds_on_a_spike():
    model, x, y = model_and_data(0.1, loss="mae")
    x = x.copy()
    x[12:16] *= 1e4  # the fourth batch of 4: a gradient spike
    callback = WarmUp(steps=6, kind="gradient")
    recorder = AppliedHyperparameters(8)
    model.fit(
        x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[callback, recorder]
    )
    lrs = recorder.learning_rates
    # Stable steps advance one sixth each; the spike (step 3) holds at the step-2 rate.
    np.testing.assert_allclose(lrs[:3], 0.1 * np.arange(1, 4) / 6, rtol=1e-5)
    np.testing.assert_allclose(lrs[3], lrs[2], rtol=1e-6)
    np.testing.assert_allclose(lrs[4:], 0.1 * np.array([4, 5, 6, 6]) / 6, rtol=1e-5)
    assert callback.progress == 6.0


def test_gradient_warmup_backoff():
    model, x, y = model_and_data(0.1, loss="mae")
    x = x.copy()
    x[8:12] *= 1e4
    callback = WarmUp(steps=8, kind="gradient", backoff=2)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[callback])
    # 2 stable steps, a spike (-2 => 0), then 5 stable steps.
    assert callback.progress == 5.0


def test_adaptive_schedule_config_round_trip():
    schedule = AdaptiveWarmUp(Constant(0.1), warmup_steps=10, init_learning_rate=0.01, progress=5)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert float(restored(0)) == pytest.approx(0.01 + 0.09 * 0.5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({}, "steps"),
        ({"steps": 3, "epochs": 1}, "steps"),
        ({"steps": 0}, "steps"),
        ({"epochs": -1}, "epochs"),
        ({"steps": 3, "kind": "cosine"}, "kind"),
        ({"steps": 3, "init_lr": -1.0}, "init_lr"),
        ({"steps": 3, "kind": "exponential", "init_lr": 0.0}, "init_lr"),
        ({"steps": 3, "tolerance": 0}, "tolerance"),
        ({"steps": 3, "average_decay": 1.0}, "average_decay"),
        ({"steps": 3, "backoff": -1}, "backoff"),
        ({"steps": 3, "verbose": 2}, "verbose"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        WarmUp(**kwargs)
