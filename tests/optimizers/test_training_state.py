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
    assert float(variable) == 2.5
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
