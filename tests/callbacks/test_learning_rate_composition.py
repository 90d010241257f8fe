"""WarmUp, OneCycle and PerformanceScheduler compose into one rate, in any order, leaving no trace.

Every test records what the optimizer really applied, in-graph (`AppliedHyperparameters`), and
runs on every backend.
"""

import json
import warnings
import zipfile

import keras
import numpy as np
import pytest
from keras import ops

from keras_nnperf.callbacks._recording import AppliedHyperparameters
from keras_nnperf.callbacks.hyperparameters import held_learning_rate
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler
from keras_nnperf.callbacks.warmup import WarmUp
from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names
from keras_nnperf.schedules import OneCycle as OneCycleSchedule
from keras_nnperf.schedules import OneCycleMomentum, evaluate

EPOCHS, STEPS, BATCH = 4, 6, 8
TOTAL = EPOCHS * STEPS
PEAK, WARMUP, MIN_LR = 0.1, 4, 0.003


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * BATCH, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")).astype("float32")


class Tracing(keras.layers.Layer):
    """Counts how often the train step is traced (Python runs only while tracing)."""

    traces = 0

    def call(self, inputs):
        Tracing.traces += 1
        return inputs


def build(optimizer=None):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), Tracing(), keras.layers.Dense(1)]
    )
    model.compile(optimizer or keras.optimizers.Adam(0.05), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def plateau():
    """A metric that never improves after the first epoch: a reduction at every later epoch."""
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(flat=1.0))


def trio():
    return {
        "warmup": WarmUp(steps=WARMUP),
        "cycle": OneCycle(max_lr=PEAK),
        "plateau": PerformanceScheduler(monitor="flat", mode="min", patience=1, min_lr=MIN_LR),
    }


def expected_rates():
    """lr(t) = max(m W(S(t)), min(W(S(t)), min_lr)), computed from the pure schedules."""
    steps = np.arange(TOTAL)
    cycle = evaluate(OneCycleSchedule(PEAK, TOTAL), steps).astype("float64")
    warmed = np.where(steps < WARMUP, cycle[WARMUP] * steps / WARMUP, cycle)
    # Epoch ends at steps 6, 12, 18, 24: the first sets `best`; the next two halve m; at step 24
    # the rate is below min_lr already, so no reduction.
    multiplier = np.select([steps < 2 * STEPS, steps < 3 * STEPS], [1.0, 0.5], 0.25)
    return np.maximum(multiplier * warmed, np.minimum(warmed, MIN_LR))


@pytest.mark.parametrize("order", [("warmup", "cycle", "plateau"), ("plateau", "cycle", "warmup")])
def test_applied_rate_is_the_formula_in_any_order(order):
    model, (x, y) = build(), data()
    callbacks = trio()
    recorder = AppliedHyperparameters(TOTAL)
    model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=[plateau(), *(callbacks[name] for name in order), recorder],
    )
    assert callbacks["plateau"].multiplier == 0.25
    np.testing.assert_allclose(recorder.learning_rates, expected_rates(), rtol=2e-5, atol=1e-9)
    momenta = evaluate(OneCycleMomentum(TOTAL), np.arange(TOTAL))
    np.testing.assert_allclose(recorder.momenta, momenta, rtol=1e-5)


def test_both_orders_apply_bit_identical_rates():
    applied = []
    for order in (("warmup", "cycle", "plateau"), ("cycle", "plateau", "warmup")):
        keras.utils.set_random_seed(0)
        model, (x, y) = build(), data()
        callbacks, recorder = trio(), AppliedHyperparameters(TOTAL)
        chosen = [callbacks[name] for name in order]
        model.fit(
            x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
            callbacks=[plateau(), *chosen, recorder],
        )  # fmt: skip
        applied.append(recorder.learning_rates)
    np.testing.assert_array_equal(applied[0], applied[1])


def test_two_callbacks_on_one_slot_raise_and_leave_the_optimizer_alone():
    model, (x, y) = build(), data()
    before = list(model.optimizer.variables)
    held = held_learning_rate(model.optimizer)
    with pytest.raises(ValueError, match="OneCycle and OneCycle"):
        model.fit(x, y, batch_size=BATCH, verbose=0, callbacks=[OneCycle(0.1), OneCycle(0.2)])
    assert_optimizer_is_the_users(model, before, held)


def assert_optimizer_is_the_users(model, before, held, beta_1=0.9):
    optimizer = model.optimizer
    assert len(optimizer.variables) == len(before)
    assert all(a is b for a, b in zip(optimizer.variables, before, strict=True))
    assert held_learning_rate(optimizer) is held
    assert type(optimizer.beta_1) is float and optimizer.beta_1 == beta_1
    assert gradient_hook_names(optimizer) == []
    config = optimizer.get_config()
    assert isinstance(config["learning_rate"], float) and isinstance(config["beta_1"], float)


def test_after_fit_the_model_saves_as_if_we_were_never_there(tmp_path):
    model, (x, y) = build(), data()
    before, held = list(model.optimizer.variables), held_learning_rate(model.optimizer)
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=list(trio().values()))
    assert_optimizer_is_the_users(model, before, held)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        optimizer_config = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]
    assert "keras_nnperf" not in json.dumps(optimizer_config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Skipping variable loading for optimizer" included
        loaded = keras.models.load_model(path, custom_objects={"Tracing": Tracing})
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))


@pytest.mark.not_on_torch("PyTorch runs the step eagerly: there is no trace to count")
def test_a_second_fit_with_the_same_callbacks_does_not_retrace():
    model, (x, y) = build(), data()
    callbacks = [plateau(), *trio().values()]
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=callbacks)
    traced = Tracing.traces
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=callbacks)
    assert Tracing.traces == traced


@pytest.mark.not_on_torch("PyTorch runs the step eagerly: there is no trace to count")
def test_the_step_builds_the_claimed_parts_and_retraces_when_they_change():
    # The traced formula builds only the parts of the slots claimed (a plateau multiplier
    # alone carries no warm-up). A warm-up in a later fit must retrace although the hooks and
    # variables are the same, or it would never apply.
    model, (x, y) = build(), data()
    fit = dict(x=x, y=y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    recorder = AppliedHyperparameters(2 * STEPS)
    model.fit(**fit, callbacks=[PerformanceScheduler(monitor="loss", patience=9), recorder])
    traced = Tracing.traces
    model.fit(**fit, callbacks=[WarmUp(steps=WARMUP), recorder])
    assert Tracing.traces > traced
    # The warm-up of the user's constant 0.05 from 0, starting at step STEPS.
    ramp = 0.05 * np.minimum(np.arange(STEPS), WARMUP) / WARMUP
    np.testing.assert_allclose(recorder.learning_rates[STEPS:], ramp, rtol=1e-6, atol=1e-9)
    traced = Tracing.traces
    model.fit(**fit, callbacks=[WarmUp(steps=WARMUP), recorder])
    assert Tracing.traces == traced  # the same parts: the step traced by the last fit serves


class Interrupt(keras.callbacks.Callback):
    def __init__(self, error, batch=2):
        super().__init__()
        self.error, self.batch = error, batch

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            raise self.error


class InterruptingData(keras.utils.PyDataset):
    def __init__(self, x, y, at):
        super().__init__()
        self.x, self.y, self.at = x, y, at

    def __len__(self):
        return STEPS

    def __getitem__(self, index):
        if index == self.at:
            raise KeyboardInterrupt
        part = slice(index * BATCH, (index + 1) * BATCH)
        return self.x[part], self.y[part]


@pytest.mark.parametrize("where", ["callback_error", "callback_interrupt", "data_interrupt"])
def test_a_fit_ended_by_an_exception_leaves_a_plain_optimizer(where):
    model, (x, y) = build(), data()
    before, held = list(model.optimizer.variables), held_learning_rate(model.optimizer)
    ours = [*trio().values(), AppliedHyperparameters(TOTAL)]
    error = RuntimeError("boom") if where == "callback_error" else KeyboardInterrupt()
    # TensorFlow reports an interrupt inside its data pipeline as an UnknownError.
    with pytest.raises((Exception, KeyboardInterrupt)):
        if where == "data_interrupt":
            model.fit(InterruptingData(x, y, at=3), epochs=2, verbose=0, callbacks=ours)
        else:
            model.fit(
                x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[*ours, Interrupt(error)]
            )
    # A plain fit now trains with the user's rate and momentum, as if we had never been there.
    recorder = AppliedHyperparameters(4 * TOTAL)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[recorder])
    applied = recorder.learning_rates[~np.isnan(recorder.learning_rates)]
    assert len(applied) == STEPS
    np.testing.assert_allclose(applied, 0.05, rtol=1e-6)
    np.testing.assert_allclose(recorder.momenta[~np.isnan(recorder.momenta)], 0.9, rtol=1e-6)
    assert_optimizer_is_the_users(model, before, held)
    # ... and our callbacks work again.
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=list(trio().values()))
    assert_optimizer_is_the_users(model, before, held)


def test_a_schedule_of_the_user_is_composed_and_given_back():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.5)
    model, (x, y) = build(keras.optimizers.SGD(schedule, momentum=0.9)), data()
    recorder = AppliedHyperparameters(TOTAL)
    model.fit(
        x, y, batch_size=BATCH, epochs=2, verbose=0,
        callbacks=[WarmUp(steps=WARMUP), PerformanceScheduler(min_lr=0.0), recorder],
    )  # fmt: skip
    steps = np.arange(2 * STEPS)
    decay = 0.05 * 0.5 ** (steps / 10)
    expected = np.where(steps < WARMUP, 0.05 * 0.5 ** (WARMUP / 10) * steps / WARMUP, decay)
    np.testing.assert_allclose(recorder.learning_rates[: 2 * STEPS], expected, rtol=1e-5)
    assert held_learning_rate(model.optimizer) is schedule
