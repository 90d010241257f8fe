"""The private Keras accesses of `hyperparameters.py`, and `ScheduledHyperparameter` as a number."""

import json

import keras
import numpy as np
import pytest
from keras import ops

from keras_nnperf.callbacks.hyperparameters import (
    ScheduledHyperparameter,
    held_learning_rate,
    momentum_attribute,
    restore_learning_rate,
    set_untracked_attribute,
    variable_index,
)
from keras_nnperf.schedules import Constant


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


@pytest.mark.not_on_torch("needs jit_compile=True")
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
