import keras
import numpy as np
import pytest

from keras_nnperf import device_arrays
from keras_nnperf.optimizers.training_state import release_state, state_variable


def test_full_has_the_value_shape_and_dtype():
    values = keras.ops.convert_to_numpy(device_arrays.full((2, 3), 1.5))
    np.testing.assert_array_equal(values, np.full((2, 3), 1.5, "float32"))
    assert values.dtype == np.float32
    assert keras.ops.convert_to_numpy(device_arrays.full((4,), 7, "int32")).dtype == np.int32


def test_a_new_array_per_assignment_survives_training():
    # JAX donates the state buffers to its train step: an array assigned twice would be freed.
    optimizer = keras.optimizers.SGD(0.1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    variable = state_variable(optimizer, "test/odd_shape", 2.0, shape=(7, 3))
    for _ in range(2):
        variable.assign(device_arrays.full((7, 3), 3.0))
        model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), np.full((7, 3), 3.0))
    release_state(optimizer, "test/")


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX compiles eager conversions")
def test_creating_and_assigning_state_compiles_nothing():
    import logging

    import jax

    compiled = []

    class Record(logging.Handler):
        def emit(self, record):
            if "Finished XLA compilation" in record.getMessage():
                compiled.append(record.getMessage())

    optimizer = keras.optimizers.Adam()
    optimizer.build([keras.Variable(np.zeros(3, "float32"))])
    logger = logging.getLogger("jax")
    handler, level = Record(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with jax.log_compiles(True):
            variable = state_variable(optimizer, "test/shape_13_5", 0.5, shape=(13, 5))
            variable.assign(device_arrays.full((13, 5), 2.0))
            release_state(optimizer, "test/")
            state_variable(optimizer, "test/shape_13_5", 0.25, shape=(13, 5))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    # `keras.initializers.Constant` and `assign(numpy)` compiled 2-4 programs for a new shape.
    assert compiled == []
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), np.full((13, 5), 0.25))
    release_state(optimizer, "test/")
