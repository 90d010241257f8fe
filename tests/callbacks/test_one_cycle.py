import copy
import json

import keras
import numpy as np
import pytest

from keras_nnperf.callbacks._recording import AppliedHyperparameters
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.schedules import OneCycle as OneCycleSchedule
from keras_nnperf.schedules import OneCycleMomentum, evaluate


def model_and_data(optimizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], "float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer, loss="mse")
    return model, x, y


OPTIMIZERS = {
    "sgd": (lambda: keras.optimizers.SGD(0.01, momentum=0.9), "momentum"),
    "nesterov": (lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "momentum"),
    "adam": (lambda: keras.optimizers.Adam(), "beta_1"),
    "adamw": (lambda: keras.optimizers.AdamW(), "beta_1"),
    "nadam": (lambda: keras.optimizers.Nadam(), "beta_1"),
    "adamax": (lambda: keras.optimizers.Adamax(), "beta_1"),
    "lamb": (lambda: keras.optimizers.Lamb(), "beta_1"),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_applied_learning_rate_and_momentum_follow_the_cycle(name):
    make, attribute = OPTIMIZERS[name]
    model, x, y = model_and_data(make())
    original = getattr(model.optimizer, attribute)
    recorder = AppliedHyperparameters(10)
    callback = OneCycle(max_lr=0.05, pct_start=0.3, anneal="linear")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback, recorder])
    steps = np.arange(10)
    lrs = evaluate(OneCycleSchedule(0.05, 10, pct_start=0.3, anneal="linear"), steps)
    momenta = evaluate(OneCycleMomentum(10, pct_start=0.3, anneal="linear"), steps)
    np.testing.assert_allclose(recorder.learning_rates, lrs, rtol=1e-5)
    np.testing.assert_allclose(recorder.momenta, momenta, rtol=1e-5)
    assert history.history[attribute][-1] == pytest.approx(0.95)
    # The float is back after training, so the optimizer saves as usual.
    assert getattr(model.optimizer, attribute) == original


def test_sgd_update_uses_the_cycled_momentum():
    # One weight, loss = w: the gradient is 1 at every step, so v_k = m_k v_{k-1} - lr_k.
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(
        keras.optimizers.SGD(0.01, momentum=0.5), loss=lambda y_true, y_pred: ops_mean(y_pred)
    )
    x = np.ones((8, 1), "float32")
    model.fit(
        x, x, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[OneCycle(max_lr=0.1)]
    )
    lrs = evaluate(OneCycleSchedule(0.1, 8), np.arange(8))
    momenta = evaluate(OneCycleMomentum(8), np.arange(8))
    weight, velocity = 0.0, 0.0
    for lr, m in zip(lrs, momenta, strict=True):
        velocity = m * velocity - lr * 1.0
        weight += velocity
    np.testing.assert_allclose(model.get_weights()[0].ravel(), [weight], rtol=1e-5)


def ops_mean(y_pred):
    return keras.ops.mean(y_pred)


def test_max_lr_from_lr_find():
    model, x, y = model_and_data(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="max_lr"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[OneCycle()])
    result = lr_find(model, x, y, batch_size=8, num_steps=10)
    callback = OneCycle()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert callback.schedule.max_learning_rate == pytest.approx(result.suggestion)


def test_optimizers_without_momentum_raise():
    model, x, y = model_and_data(keras.optimizers.RMSprop())
    with pytest.raises(ValueError, match="cycle_momentum"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    # An SGD with momentum=0 has no momentum slots to cycle, before it is built (on TensorFlow
    # it would build inside the traced step and crash there) and after.
    model, x, y = model_and_data(keras.optimizers.SGD())
    with pytest.raises(ValueError, match="cycle_momentum"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="cycle_momentum"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    no_momentum = OneCycle(max_lr=0.1, cycle_momentum=False)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[no_momentum])


def test_saved_model_loads_after_training(tmp_path):
    # Intentional change: after fit the optimizer holds the user's own rate again.
    model, x, y = model_and_data(keras.optimizers.Adam())
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[OneCycle(max_lr=0.1)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.001)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_checkpoint_saved_during_the_cycle_loads(name, tmp_path):
    # ModelCheckpoint serializes the optimizer while the cycled momentum is installed. The saved
    # momentum is the user's own (intentional change: it was the cycle's value of the moment).
    factory, attribute = OPTIMIZERS[name]
    model, x, y = model_and_data(factory())
    original = getattr(model.optimizer, attribute)
    path = tmp_path / "checkpoint.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path)
    cycle = OneCycle(max_lr=0.05, steps=20)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cycle, checkpoint])
    loaded = keras.models.load_model(path)
    saved = loaded.optimizer.get_config()[attribute]
    assert type(saved) is float and saved == pytest.approx(original)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_momentum_reads_as_a_number_during_and_after_fit(name, jit_compile):
    factory, attribute = OPTIMIZERS[name]
    model, x, y = model_and_data(factory())
    model.compile(model.optimizer, loss="mse", jit_compile=jit_compile)
    seen = []

    def read(epoch, logs):
        # What a user's callback does; `float` of the attribute, and arithmetic with it.
        value = getattr(model.optimizer, attribute)
        seen.append((float(value), float(1.0 - value), float(model.optimizer.learning_rate)))

    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0,
        callbacks=[OneCycle(max_lr=0.05), keras.callbacks.LambdaCallback(on_epoch_end=read)],
    )  # fmt: skip
    momenta = evaluate(OneCycleMomentum(10), np.arange(11))
    # At an epoch end the next step (5, then 10: past the cycle) is what the step will read.
    np.testing.assert_allclose([m for m, _, _ in seen], history.history[attribute], rtol=1e-6)
    np.testing.assert_allclose([m for m, _, _ in seen], [momenta[4], momenta[9]], rtol=1e-5)
    np.testing.assert_allclose([1 - m for m, _, _ in seen], [r for _, r, _ in seen], rtol=1e-5)
    value = getattr(model.optimizer, attribute)
    assert type(value) is float and float(value) == pytest.approx(0.9)


def plateau_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], "float32")).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), loss="mse")
    return model, x, y


def feed(values):
    """A fake validation metric: `values[epoch]` at each epoch end."""
    return keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: logs.update(val_loss=values[min(epoch, len(values) - 1)])
    )


def test_a_plateau_jumps_to_the_anneal_and_stops_annealed():
    model, x, y = plateau_model()
    recorder = AppliedHyperparameters(20 * 8)
    cycle = OneCycle(max_lr=0.05, patience=2, anneal_epochs=2)
    # Improves for 3 epochs, then flat: patience runs out at the end of epoch 5 (index 4).
    metric = feed([1.0, 0.9, 0.8, 0.8, 0.8])
    history = model.fit(
        x, y, batch_size=8, epochs=20, verbose=0, callbacks=[metric, cycle, recorder]
    )
    assert cycle.jumped_epoch == 4 and cycle.stopped_epoch == 6
    assert len(history.history["loss"]) == 7 < 20
    applied = recorder.learning_rates[: 7 * 8]
    assert applied[-1] <= 0.05 / 100
    assert applied[-1] == pytest.approx(0.05 / 25 / 1e4, rel=1e-4)
    # From the jump on (step 40): a cosine from the rate the cycle had at step 40 to the floor.
    planned = evaluate(OneCycleSchedule(0.05, 160), np.arange(160))
    np.testing.assert_allclose(applied[:40], planned[:40], rtol=1e-5)
    fraction = np.arange(16) / 15
    anneal = planned[40] * 0.5 * (1 + np.cos(np.pi * fraction))
    anneal += 0.05 / 25 / 1e4 * (1 - 0.5 * (1 + np.cos(np.pi * fraction)))
    np.testing.assert_allclose(applied[40:], anneal, rtol=1e-4, atol=1e-9)
    momenta = recorder.momenta[40:56]
    assert momenta[0] == pytest.approx(recorder.momenta[39], abs=2e-3) and momenta[-1] == 0.95


def test_a_run_that_keeps_improving_follows_the_planned_cycle():
    model, x, y = plateau_model()
    recorder = AppliedHyperparameters(6 * 8)
    cycle = OneCycle(max_lr=0.05, patience=1)
    metric = feed([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    history = model.fit(
        x, y, batch_size=8, epochs=6, verbose=0, callbacks=[metric, cycle, recorder]
    )
    assert cycle.jumped_epoch is None and len(history.history["loss"]) == 6
    planned = evaluate(OneCycleSchedule(0.05, 48), np.arange(48))
    np.testing.assert_allclose(recorder.learning_rates, planned, rtol=1e-5, atol=1e-10)
    assert cycle.stopped_epoch == 5  # the floor was reached on the last step


def test_the_jump_works_on_a_second_fit():
    model, x, y = plateau_model()
    cycle = OneCycle(max_lr=0.05, patience=1)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[feed([1.0, 0.9, 0.8]), cycle])
    assert cycle.jumped_epoch is None and cycle.stopped_epoch == 2
    recorder = AppliedHyperparameters(40 * 8)
    history = model.fit(
        x, y, batch_size=8, epochs=12, verbose=0,
        callbacks=[feed([1.0, 1.0]), cycle, recorder],
    )  # fmt: skip
    # A new cycle of 96 steps from step 24; flat from its second epoch: jump after it, 2 epochs
    # of anneal (max(2, 25% of 2 epochs)), stop.
    assert cycle.start_step == 24 and cycle.jumped_epoch == 1 and cycle.stopped_epoch == 3
    assert len(history.history["loss"]) == 4
    assert recorder.learning_rates[24 + 4 * 8 - 1] <= 0.05 / 100


def test_policy_config_round_trip():
    cycle = OneCycle(max_lr=np.float32(0.05), patience=np.int64(3), anneal_epochs=2.5)
    copied = copy.deepcopy(cycle)
    assert copied.get_config() == cycle.get_config()
    assert cycle.get_config()["patience"] == 3 and type(cycle.get_config()["patience"]) is int
    assert json.loads(json.dumps(cycle.get_config()))["anneal_epochs"] == 2.5
    rebuilt = OneCycle(**cycle.get_config())
    assert rebuilt.get_config() == cycle.get_config()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_lr": 0}, "max_lr"),
        ({"steps": 2}, "steps"),
        ({"pct_start": 1.0}, "pct_start"),
        ({"div_factor": 0}, "div_factor"),
        ({"final_div_factor": -1}, "final_div_factor"),
        ({"anneal": "cosine"}, "anneal"),
        ({"cycle_momentum": 1}, "cycle_momentum"),
        ({"momentum": (0.95,)}, "momentum"),
        ({"momentum": (1.2, 0.85)}, "momentum"),
        ({"verbose": 3}, "verbose"),
        ({"max_lr": float("inf")}, "max_lr"),
        ({"max_lr": float("nan")}, "max_lr"),
        ({"max_lr": True}, "max_lr"),
        ({"steps": 3.5}, "steps"),
        ({"patience": 0}, "patience"),
        ({"patience": True}, "patience"),
        ({"anneal_epochs": -1.0}, "anneal_epochs"),
        ({"patience": 2, "final_div_factor": 1.0}, "final_div_factor"),
        ({"patience": 2, "monitor": "val_weirdness"}, "mode"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        OneCycle(**kwargs)


def test_numpy_scalars_are_numbers():
    cycle = OneCycle(max_lr=np.float64(0.1), steps=np.int64(30), pct_start=np.float32(0.5))
    assert cycle.get_config()["steps"] == 30 and type(cycle.get_config()["steps"]) is int
