import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    gradient_hook_names,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


def _model():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3)]
    )


def _compile(model, optimizer, **kwargs):
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True), **kwargs)


def _grad_norm(model, x, y):
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))
    grads = tape.gradient(loss, model.trainable_weights)
    return float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))


@pytest.mark.parametrize(
    "compile_kwargs",
    [{}, {"steps_per_execution": 2}],
    ids=["graph", "steps_per_execution"],
)
def test_hook_runs_in_graph_once_per_step(compile_kwargs):
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.1), **compile_kwargs)
    counter = keras.Variable(0.0, trainable=False)
    python_calls = []

    def hook(grads, variables):
        python_calls.append(1)
        counter.assign_add(1.0)

    add_gradient_hook(model.optimizer, "count", hook)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert float(counter.numpy()) == 8  # 32 / 4 steps, whatever steps_per_execution
    assert 1 <= len(python_calls) <= 3  # traced, not called from Python per step


def test_replacement_grads_are_used():
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.5))
    before = [w.copy() for w in model.get_weights()]
    add_gradient_hook(model.optimizer, "zero", lambda g, v: [ops.zeros_like(t) for t in g])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_removal_restores_apply_and_retraces():
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.5))
    optimizer = model.optimizer
    add_gradient_hook(optimizer, "zero", lambda g, v: [ops.zeros_like(t) for t in g])
    assert "apply" in vars(optimizer)
    assert gradient_hook_names(optimizer) == ["zero"]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    remove_gradient_hook(optimizer, "zero")
    assert "apply" not in vars(optimizer)
    assert gradient_hook_names(optimizer) == []
    refresh_train_function(model)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert any(
        not np.allclose(old, new) for old, new in zip(before, model.get_weights(), strict=True)
    )


def test_hooks_run_in_order_and_replace_by_name():
    optimizer = keras.optimizers.SGD(0.1)
    add_gradient_hook(optimizer, "a", lambda g, v: None)
    add_gradient_hook(optimizer, "b", lambda g, v: None)
    add_gradient_hook(optimizer, "a", lambda g, v: None)
    assert gradient_hook_names(optimizer) == ["a", "b"]


@pytest.mark.parametrize("bad", [{"name": "", "hook": lambda g, v: None}, {"name": "x", "hook": 3}])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError, match="Received"):
        add_gradient_hook(keras.optimizers.SGD(), **bad)


def test_loss_scale_optimizer_hook_sees_unscaled_grads():
    keras.config.set_dtype_policy("mixed_float16")
    x, y = _data(16)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3, dtype="float32")]
    )
    _compile(model, keras.optimizers.SGD(0.0))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert unscaled_optimizer(model.optimizer) is model.optimizer.inner_optimizer
    seen = keras.Variable(0.0, trainable=False)

    def hook(grads, variables):
        squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads]
        seen.assign(ops.sqrt(ops.sum(ops.stack(squares))))

    add_gradient_hook(model.optimizer, "norm", hook)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = _grad_norm(model, x, y)
    np.testing.assert_allclose(float(seen.numpy()), expected, rtol=2e-2)
