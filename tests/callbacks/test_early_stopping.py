import copy
import math

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.callbacks.early_stopping import EarlyStopping

NAN = float("nan")


class ScriptedMetric(keras.callbacks.Callback):
    """Writes `values[epoch]` into the epoch logs under `name` and records the weights."""

    def __init__(self, name, values):
        super().__init__()
        self.name, self.values = name, values
        self.snapshots = []

    def on_train_begin(self, logs=None):
        self.initial = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = self.values[epoch]
        self.snapshots.append(self.model.get_weights())


class PoisonWeights(keras.callbacks.Callback):
    """Makes every weight NaN at the start of `epoch`, so that epoch's loss is NaN."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


class StopAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


def _fit(callbacks, epochs, eager=True):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    # Eager: a few one-step epochs cost less than tracing a train function for each new model.
    model.compile(keras.optimizers.SGD(0.05), "mse", run_eagerly=eager)
    history = model.fit(x, y, batch_size=32, epochs=epochs, callbacks=callbacks, verbose=0)
    return model, history


def _run(values, name="score", **kwargs):
    script = ScriptedMetric(name, values)
    stopper = EarlyStopping(monitor=name, **kwargs)
    model, history = _fit([script, stopper], len(values))
    return stopper, script, model, len(history.history["loss"])


def _assert_weights(model, expected):
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_restores_best_weights_when_epochs_run_out():
    stopper, script, model, ran = _run([3.0, 1.0, 2.0, 2.5], mode="min", patience=10)
    assert ran == 4
    assert stopper.stop_reason == "completed"
    assert stopper.stopped_epoch is None
    assert (stopper.best_epoch, stopper.best_value) == (1, 1.0)
    _assert_weights(model, script.snapshots[1])
    assert not np.array_equal(model.get_weights()[0], script.snapshots[-1][0])


def test_start_value_makes_the_starting_weights_a_candidate():
    # No epoch beats the start: the starting weights come back, best_epoch -1.
    stopper, script, model, ran = _run([3.0, 2.0, 2.5], mode="min", patience=10, start_value=1.0)
    assert (ran, stopper.best_epoch, stopper.best_value) == (3, -1, 1.0)
    _assert_weights(model, script.initial)
    assert not np.array_equal(script.initial[0], script.snapshots[0][0])
    # An epoch that beats it is kept as usual; patience counts from the start's value.
    stopper, script, model, _ = _run([3.0, 0.5, 2.5], mode="min", patience=10, start_value=1.0)
    assert (stopper.best_epoch, stopper.best_value) == (1, 0.5)
    _assert_weights(model, script.snapshots[1])
    stopper, script, model, ran = _run([3.0, 2.0, 0.5], mode="min", patience=2, start_value=1.0)
    assert (ran, stopper.stop_reason, stopper.best_epoch) == (2, "patience", -1)
    _assert_weights(model, script.initial)
    # mode "max": beaten only by a higher value.
    stopper, _, _, _ = _run([0.7, 0.8], mode="max", patience=10, start_value=0.9)
    assert stopper.best_epoch == -1


def test_restores_best_weights_when_another_callback_stops_training():
    script = ScriptedMetric("score", [2.0, 1.0, 3.0, 4.0, 5.0])
    stopper = EarlyStopping(monitor="score", mode="min", patience=10, divergence_factor=None)
    model, history = _fit([script, StopAt(3), stopper], 5)
    assert len(history.history["loss"]) == 4
    assert stopper.stop_reason == "completed"
    _assert_weights(model, script.snapshots[1])


def test_stops_and_restores_on_nan_loss():
    script = ScriptedMetric("score", [3.0, 2.0, 1.0, 0.5, 0.4])
    stopper = EarlyStopping(monitor="score", mode="min", patience=10)
    model, history = _fit([script, PoisonWeights(3), stopper], 5, eager=False)
    assert math.isnan(history.history["loss"][-1])
    assert len(history.history["loss"]) == 4
    assert (stopper.stop_reason, stopper.stopped_epoch, stopper.best_epoch) == ("non_finite", 3, 2)
    _assert_weights(model, script.snapshots[2])
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_nan_during_warm_up_restores_last_finite_weights():
    script = ScriptedMetric("score", [1.0, 1.0, 1.0, 1.0])
    stopper = EarlyStopping(monitor="score", mode="min", start_from_epoch=3)
    model, _ = _fit([script, PoisonWeights(0), stopper], 4)
    assert (stopper.stop_reason, stopper.stopped_epoch) == ("non_finite", 0)
    assert stopper.best_epoch is None
    _assert_weights(model, script.initial)


def test_stops_on_nan_monitored_metric():
    stopper, script, model, ran = _run([1.0, 0.5, NAN, 0.1], name="val_loss", patience=5)
    assert (ran, stopper.stop_reason, stopper.stopped_epoch) == (3, "non_finite", 2)
    _assert_weights(model, script.snapshots[1])


@pytest.mark.parametrize(
    "mode, factor, values",
    [
        ("min", 10.0, [1.0, 0.5, 4.9, 5.1]),  # threshold 10 * 0.5 = 5
        ("max", 2.0, [0.8, 0.9, 0.5, 0.44]),  # threshold 0.9 / 2 = 0.45
        ("min", 2.0, [-10.0, -12.0, -6.5, -5.9]),  # threshold -12 / 2 = -6
        ("max", 2.0, [-1.0, -0.5, -0.9, -1.1]),  # threshold 2 * -0.5 = -1
    ],
)
def test_stops_on_divergence(mode, factor, values):
    stopped = 3
    stopper, script, model, ran = _run(values, mode=mode, patience=10, divergence_factor=factor)
    assert (ran, stopper.stop_reason, stopper.stopped_epoch, stopper.best_epoch) == (
        stopped + 1,
        "divergence",
        stopped,
        1,
    )
    _assert_weights(model, script.snapshots[1])


def test_divergence_factor_none_disables_the_check():
    stopper, *_ = _run([1.0, 0.5, 100.0], mode="min", patience=10, divergence_factor=None)
    assert stopper.stop_reason == "completed"


def test_baseline_stops_a_run_that_never_reaches_it():
    stopper, *_ = _run([0.9, 0.8, 0.7, 0.6, 0.5], mode="min", patience=3, baseline=0.3)
    assert (stopper.stop_reason, stopper.stopped_epoch, stopper.best_epoch) == ("baseline", 2, 2)
    stopper, *_ = _run([0.9, 0.2, 0.25, 0.26, 0.27], mode="min", patience=3, baseline=0.3)
    assert (stopper.stop_reason, stopper.stopped_epoch, stopper.best_epoch) == ("patience", 4, 1)


def test_start_from_epoch_ignores_warm_up_epochs():
    values = [1.0, 5.0, 4.0, 3.0, 2.0]
    stopper, *_ = _run(values, mode="min", patience=1, divergence_factor=None)
    assert (stopper.stop_reason, stopper.stopped_epoch) == ("patience", 1)
    stopper, script, model, _ = _run(
        values, mode="min", patience=1, start_from_epoch=1, divergence_factor=None
    )
    assert (stopper.stop_reason, stopper.best_epoch) == ("completed", 4)
    _assert_weights(model, script.snapshots[4])


@pytest.mark.parametrize(
    "name, values, best_epoch",
    [
        ("val_auc", [0.6, 0.7, 0.65], 1),
        ("val_loss", [0.6, 0.5, 0.55], 1),
        ("val_mse", [1.0, 2.0, 3.0], 0),
    ],
)
def test_direction_follows_the_metric(name, values, best_epoch):
    stopper, script, model, _ = _run(values, name=name, patience=0)
    assert stopper.stop_reason == "patience"
    assert (stopper.best_epoch, stopper.stopped_epoch) == (best_epoch, best_epoch + 1)
    _assert_weights(model, script.snapshots[best_epoch])


def test_relative_min_delta():
    stopper, *_ = _run([1.0, 0.95], mode="min", min_delta=0.1, min_delta_mode="relative")
    assert (stopper.stop_reason, stopper.best_epoch) == ("patience", 0)
    stopper, *_ = _run([1.0, 0.85], mode="min", min_delta=0.1, min_delta_mode="relative")
    assert (stopper.stop_reason, stopper.best_epoch) == ("completed", 1)


def test_restore_best_weights_false_keeps_last_weights():
    stopper, script, model, _ = _run(
        [1.0, 2.0, 3.0], mode="min", patience=5, restore_best_weights=False
    )
    assert stopper.best_weights is None
    _assert_weights(model, script.snapshots[-1])


def test_state_resets_between_fits_and_deep_copies_are_independent():
    stopper = EarlyStopping(monitor="score", mode="min", patience=0)
    twin = copy.deepcopy(stopper)
    _fit([ScriptedMetric("score", [1.0, 2.0, 3.0]), stopper], 3)
    assert (stopper.stop_reason, stopper.best_epoch) == ("patience", 0)
    assert twin.stop_reason is None and twin.best_weights is None
    _fit([ScriptedMetric("score", [3.0, 2.0, 1.0]), stopper], 3)
    assert (stopper.stop_reason, stopper.best_epoch) == ("completed", 2)
    assert stopper.stopped_epoch is None


def test_works_inside_a_keras_tuner_search(tmp_path):
    import keras_tuner

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def build(hp):
        hidden = keras.layers.Dense(hp.Choice("units", [2, 4]))
        model = keras.Sequential([keras.Input((3,)), hidden, keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.01), "mse")
        return model

    stopper = EarlyStopping(monitor="val_loss", patience=1)
    tuner = keras_tuner.RandomSearch(
        build, objective="val_loss", max_trials=2, directory=tmp_path, seed=1
    )
    tuner.search(x, y, validation_data=(x, y), epochs=2, callbacks=[stopper], verbose=0)
    assert len(tuner.oracle.trials) == 2
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    assert stopper.stop_reason is None  # the tuner trained deep copies


def test_registered_and_config_round_trips():
    assert registry.lookup("callback", "early_stopping") is EarlyStopping
    stopper = EarlyStopping(monitor="val_auc", patience=3, divergence_factor=None, baseline=0.5)
    assert EarlyStopping(**stopper.get_config()).get_config() == stopper.get_config()
    assert stopper.mode == "max"
    started = EarlyStopping(start_value=np.float32(0.25))
    assert EarlyStopping(**started.get_config()).start_value == 0.25


BAD_ARGUMENTS = [
    {"patience": -1},
    {"patience": 1.5},
    {"start_from_epoch": -1},
    {"verbose": "yes"},
    {"baseline": "high"},
    {"baseline": NAN},
    {"start_value": NAN},
    {"start_value": True},
    {"start_value": float("inf")},
    {"divergence_factor": 1.0},
    {"divergence_factor": 0.5},
    {"min_delta": -0.1},
    {"mode": "up"},
    {"monitor": "val_mystery"},
]


def test_rejects_bad_arguments():
    # One test, not one per case: the shared teardown (clear_session) costs more than the check.
    for kwargs in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match="Received"):
            EarlyStopping(**kwargs)


class RaiseInStep(keras.layers.Layer):
    """Identity that raises `error` on its `at_call`-th training call (inside the train step)."""

    def __init__(self, at_call, error, **kwargs):
        super().__init__(**kwargs)
        self.at_call, self.error, self.calls = at_call, error, 0

    def call(self, x, training=None):
        if training:
            self.calls += 1
            if self.calls == self.at_call:
                raise self.error("raised in the step")
        return x


def _interruptible(layer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse", run_eagerly=True)
    return model, x, y


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_restores_best_weights_when_fit_ends_by_an_exception_in_the_step(error):
    # Epoch scores: best at epoch 1; the step of epoch 3 (one step per epoch) raises.
    model, x, y = _interruptible(RaiseInStep(at_call=4, error=error))
    script = ScriptedMetric("score", [3.0, 1.0, 2.0, 0.5])
    stopper = EarlyStopping(monitor="score", mode="min", patience=5)
    with pytest.raises(error, match="raised in the step"):
        model.fit(x, y, batch_size=32, epochs=4, verbose=0, callbacks=[script, stopper])
    assert stopper.stop_reason == "interrupted"
    assert stopper.best_epoch == 1
    _assert_weights(model, script.snapshots[1])


def test_restores_best_weights_when_a_data_generator_raises():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def batches():
        for _ in range(3):
            yield x, y
        raise ValueError("bad record")

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    script = ScriptedMetric("score", [2.0, 1.0, 3.0])
    stopper = EarlyStopping(monitor="score", mode="min", patience=5)
    with pytest.raises(Exception, match="bad record"):
        model.fit(batches(), steps_per_epoch=1, epochs=5, verbose=0, callbacks=[script, stopper])
    if keras.backend.backend() == "torch":
        # PyTorch's trainer fetches batches between steps: the exception is not seen.
        assert stopper.stop_reason is None
    else:
        assert stopper.stop_reason == "interrupted"
        _assert_weights(model, script.snapshots[1])


def test_an_exception_between_steps_is_not_seen_and_a_later_fit_is_untouched():
    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("another callback")

    model, x, y = _interruptible(keras.layers.Identity())
    script = ScriptedMetric("score", [3.0, 1.0, 2.0])
    stopper = EarlyStopping(monitor="score", mode="min", patience=5)
    with pytest.raises(RuntimeError, match="another callback"):
        model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[script, stopper, Boom()])
    weights = model.get_weights()
    _assert_weights(model, script.snapshots[2])  # not restored: EarlyStopping never saw it
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    # The plain fit trained from the interrupted weights, not from restored best ones.
    twin, _, _ = _interruptible(keras.layers.Identity())
    twin.set_weights(weights)
    twin.fit(x, y, batch_size=32, epochs=1, verbose=0)
    for got, want in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_interrupt_restores_the_best_weights_after_an_exception_between_steps():
    # What a caller that catches the exception does (`nnperf fit` on Ctrl-C): the guard never
    # saw it, so `interrupt()` puts the best epoch's weights back; twice is harmless.
    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    model, x, y = _interruptible(keras.layers.Identity())
    script = ScriptedMetric("score", [3.0, 1.0, 2.0])
    stopper = EarlyStopping(monitor="score", mode="min", patience=5)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=32, epochs=3, verbose=0, callbacks=[script, stopper, Boom()])
    assert stopper.stop_reason is None
    stopper.interrupt()
    stopper.interrupt()
    assert (stopper.stop_reason, stopper.best_epoch) == ("interrupted", 1)
    _assert_weights(model, script.snapshots[1])


def test_monitors_keras_f1_score_which_logs_a_one_element_array():
    # Regression: F1Score logs shape (1,); `float(value)` crashed on it.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
    model.compile(
        keras.optimizers.SGD(0.5), "binary_crossentropy", metrics=[keras.metrics.F1Score()]
    )
    stopper = EarlyStopping(monitor="val_f1_score", patience=1)
    assert stopper.mode == "max"
    history = model.fit(
        x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0, callbacks=[stopper]
    )
    assert np.shape(history.history["val_f1_score"][0]) == (1,)
    assert isinstance(stopper.best_value, float)
