"""The private Keras accesses of `hyperparameters.py`, and `ScheduledHyperparameter` as a number."""

import json

import keras
import numpy as np
import pytest
from keras import ops

from keras_nnperf.callbacks._recording import AppliedHyperparameters
from keras_nnperf.callbacks.hyperparameters import (
    ScheduledHyperparameter,
    current_learning_rate,
    held_learning_rate,
    momentum_attribute,
    restore_learning_rate,
    set_untracked_attribute,
    variable_index,
)
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler
from keras_nnperf.callbacks.warmup import WarmUp
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.schedules import Constant, CosineDecay
from keras_nnperf.schedules.composed import ComposedLearningRate


def built(optimizer):
    optimizer.build([keras.Variable(np.zeros((2, 1), "float32"))])
    return optimizer


def test_keras_still_keeps_the_learning_rate_where_we_read_and_restore_it():
    # Fails if Keras renames `_learning_rate`, `_variables` or `_track_variable`.
    optimizer = built(keras.optimizers.Adam(0.01))
    held = held_learning_rate(optimizer)
    assert isinstance(held, keras.Variable) and held is optimizer._learning_rate
    before = list(optimizer.variables)
    index = variable_index(optimizer, held)
    assert index == 1
    optimizer.learning_rate = Constant(0.5)  # the public setter untracks the variable
    assert all(v is not held for v in optimizer.variables)
    restore_learning_rate(optimizer, held, index)
    assert all(a is b for a, b in zip(optimizer.variables, before, strict=True))
    assert held_learning_rate(optimizer) is held
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    schedule = Constant(0.2)
    optimizer.learning_rate = Constant(0.5)
    restore_learning_rate(optimizer, schedule, None)
    assert held_learning_rate(optimizer) is schedule


@pytest.mark.parametrize(
    "factory, attribute",
    [
        (lambda: keras.optimizers.SGD(momentum=0.9), "momentum"),
        (lambda: keras.optimizers.AdamW(), "beta_1"),
        (lambda: keras.optimizers.Lamb(), "beta_1"),
        (lambda: keras.optimizers.RMSprop(), None),
    ],
)
def test_momentum_attribute(factory, attribute):
    assert momentum_attribute(factory()) == attribute


def test_scheduled_hyperparameter_is_a_number_and_the_variable():
    optimizer = built(keras.optimizers.Adam())
    variable = optimizer.add_variable((), initializer=keras.initializers.Constant(0.8), name="m")
    count = len(optimizer.variables)
    value = ScheduledHyperparameter(variable, 0.9, low=0.5, high=0.95)
    set_untracked_attribute(optimizer, "beta_1", value)
    assert len(optimizer.variables) == count  # not listed as an optimizer variable
    assert isinstance(optimizer.beta_1, float)
    assert float(optimizer.beta_1) == pytest.approx(0.8)
    assert float(1 - optimizer.beta_1) == pytest.approx(0.2)
    assert float(ops.cast(optimizer.beta_1, "float32")) == pytest.approx(0.8)
    variable.assign(0.7)
    assert float(ops.power(ops.cast(optimizer.beta_1, "float32"), 2.0)) == pytest.approx(0.49)
    # Comparisons are Python booleans: 0 is outside the schedule's range, no read needed.
    assert (optimizer.beta_1 != 0) is True and (optimizer.beta_1 == 0) is False
    assert optimizer.beta_1 == pytest.approx(0.7)
    # Saving writes the user's own value, as a plain float.
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(optimizer)))
    assert config["config"]["beta_1"] == 0.9


@pytest.mark.not_on_torch("jit_compile=True is torch.compile there: skipped for the CI time budget")
def test_jit_reads_the_current_value():
    variable = keras.Variable(0.5)
    value = ScheduledHyperparameter(variable, 0.9)
    if keras.backend.backend() == "jax":
        import jax

        read = jax.jit(lambda: ops.cast(value, "float32") * 2.0)
    else:
        import tensorflow as tf

        read = tf.function(lambda: ops.cast(value, "float32") * 2.0, jit_compile=True)
    assert float(read()) == pytest.approx(1.0)
    variable.assign(0.25)
    if keras.backend.backend() == "tensorflow":  # TF reads the variable inside the graph
        assert float(read()) == pytest.approx(0.5)


def test_assign_sets_the_value_every_reader_sees():
    variable = keras.Variable(0.5)
    value = ScheduledHyperparameter(variable, 0.9, low=0.5, high=0.95)
    value.assign(0.85)
    assert float(ops.convert_to_numpy(variable)) == pytest.approx(0.85)
    assert float(value) == pytest.approx(0.85)
    assert float(1 - value) == pytest.approx(0.15)


@pytest.mark.tensorflow_only("counts the operations of a TensorFlow graph")
def test_reads_after_an_assignment_in_a_traced_step_reuse_the_assigned_value():
    # Adam reads beta_1 twice per weight: after the momentum hook's assignment in the same
    # step, those reads need no read of the variable; after another scalar assignment (the
    # next unrolled step), they read it again.
    import tensorflow as tf

    variable, counter = keras.Variable(0.5), keras.Variable(0, dtype="int64")
    value = ScheduledHyperparameter(variable, 0.9, low=0.5, high=0.95)

    @tf.function
    def step(new):
        value.assign(new)
        first = ops.cast(value, "float32") * (1 - value)
        counter.assign(7)
        second = ops.cast(value, "float32")
        return first, second

    first, second = step(tf.constant(0.8))
    assert float(first) == pytest.approx(0.8 * 0.2) and float(second) == pytest.approx(0.8)
    graph = step.get_concrete_function(tf.constant(0.8)).graph
    reads = [op for op in graph.get_operations() if op.type == "ReadVariableOp"]
    assert len(reads) == 1  # only `second`, after the counter's assignment


class RatesAtEpochEnd(keras.callbacks.Callback):
    """At each epoch end: `current_learning_rate` and the schedule evaluated by Keras, eagerly."""

    def __init__(self):
        super().__init__()
        self.host, self.keras = [], []

    def on_epoch_end(self, epoch, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        held = held_learning_rate(optimizer)
        assert isinstance(held, ComposedLearningRate)
        self.host.append(current_learning_rate(optimizer))
        self.keras.append(float(ops.convert_to_numpy(held(optimizer.iterations))))


def fit_with(base, callbacks, epochs=4, steps=5):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * 8, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(base), loss="mse")
    return model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("base", [0.05, CosineDecay(0.05, 40)])
def test_logged_learning_rate_is_the_rate_the_optimizer_applies_next(base):
    epochs, steps = 4, 5
    recorder = AppliedHyperparameters(capacity=epochs * steps)
    rates = RatesAtEpochEnd()
    callbacks = [WarmUp(steps=7, kind="exponential"), OneCycle(max_lr=0.1), rates, recorder]
    history = fit_with(base, callbacks, epochs, steps)
    logged = np.asarray(history.history["learning_rate"], "float32")
    # At the end of epoch e the next update is step (e + 1) * steps: the rate logged is its rate.
    applied = recorder.learning_rates[steps::steps]
    assert np.all(np.isfinite(applied)) and len(applied) == epochs - 1
    np.testing.assert_allclose(logged[:-1], applied, rtol=1e-6)
    np.testing.assert_allclose(logged, rates.keras, rtol=1e-6)
    assert len(set(logged.tolist())) == epochs  # the rate moved: the test can tell them apart


def test_host_rate_follows_the_plateau_multiplier():
    # mode="max" on a falling loss: the multiplier halves at every epoch end after the warm-up.
    scheduler = PerformanceScheduler(monitor="loss", mode="max", patience=1, factor=0.5)
    rates = RatesAtEpochEnd()  # after the scheduler: sees the reduced multiplier
    fit_with(0.05, [WarmUp(steps=3), OneCycle(max_lr=0.1), scheduler, rates])
    assert scheduler.multiplier < 0.5
    np.testing.assert_allclose(rates.host, rates.keras, rtol=1e-6)


def test_current_learning_rate_of_an_optimizer_without_our_schedule():
    optimizer = built(keras.optimizers.Adam(CosineDecay(0.1, 10)))
    optimizer.iterations.assign(5)
    assert current_learning_rate(optimizer) == pytest.approx(float(optimizer.learning_rate))
    assert current_learning_rate(built(keras.optimizers.SGD(0.3))) == pytest.approx(0.3)
