import keras
import numpy as np
import pytest

from keras_nnperf.optimizers.training_state import (
    release_state,
    state_variable,
    state_variables,
    untrack_optimizer_variable,
)


def _trained_model(optimizer):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0)
    return model


def test_state_variable_is_owned_by_the_optimizer_and_released():
    optimizer = keras.optimizers.Adam(1e-3)
    _trained_model(optimizer)
    before = len(optimizer.variables)
    variable = state_variable(optimizer, "test/value", 2.5)
    assert state_variable(optimizer, "test/value", 9.0) is variable  # created once
    assert any(v is variable for v in optimizer.variables)
    assert float(keras.ops.convert_to_numpy(variable)) == 2.5
    assert list(state_variables(optimizer, "test/")) == ["test/value"]
    release_state(optimizer, "test/")
    assert len(optimizer.variables) == before
    assert state_variables(optimizer, "test/") == {}


def test_released_optimizer_saves_and_loads_without_a_warning(tmp_path):
    optimizer = keras.optimizers.Adam(1e-3)
    model = _trained_model(optimizer)
    state_variable(optimizer, "test/a", 1.0)
    release_state(optimizer, "test/")
    path = str(tmp_path / "m.keras")
    model.save(path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.models.load_model(path)


def test_untrack_uses_the_keras_private_it_isolates():
    # Keras has no public way to remove an optimizer variable; this fails when Keras renames
    # `_untrack_variable`, the one private we rely on here.
    optimizer = keras.optimizers.SGD(0.1)
    assert callable(getattr(optimizer, "_untrack_variable", None))
    optimizer.build([keras.Variable(np.zeros(2))])
    extra = optimizer.add_variable(shape=(), name="extra")
    untrack_optimizer_variable(optimizer, extra)
    assert not any(v is extra for v in optimizer.variables)


def test_empty_name_is_refused():
    with pytest.raises(ValueError, match="name"):
        state_variable(keras.optimizers.SGD(0.1), "", 0.0)


def test_a_released_variable_comes_back_as_the_same_object_reset_to_initial():
    # The same object keeps a traced train step valid (no retrace in the next fit).
    optimizer = keras.optimizers.Adam(1e-3)
    _trained_model(optimizer)
    variable = state_variable(optimizer, "reuse/v", 1.0, shape=(3,))
    variable.assign(np.full(3, 7.0, "float32"))
    release_state(optimizer, "reuse/")
    assert not any(v is variable for v in optimizer.variables)
    again = state_variable(optimizer, "reuse/v", 2.0, shape=(3,))
    assert again is variable
    assert any(v is variable for v in optimizer.variables)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again), [2.0, 2.0, 2.0])
    release_state(optimizer, "reuse/")
    other = state_variable(optimizer, "reuse/v", 0.0, shape=(4,))  # another shape: a new one
    assert other is not variable and tuple(other.shape) == (4,)


def test_track_uses_the_keras_private_it_isolates():
    # `track_optimizer_variable` calls `_track_variable`: fails if Keras renames it.
    from keras_nnperf.optimizers.training_state import track_optimizer_variable

    optimizer = keras.optimizers.SGD(0.1)
    assert callable(getattr(optimizer, "_track_variable", None))
    optimizer.build([keras.Variable(np.zeros(2))])
    extra = optimizer.add_variable(shape=(), name="extra")
    untrack_optimizer_variable(optimizer, extra)
    track_optimizer_variable(optimizer, extra)
    assert optimizer.variables[-1] is extra
