import keras
import numpy as np
import pytest
from keras import ops

from keras_nnperf.optimizers.gradient_hooks import (
    _learning_rate_source,
    add_gradient_hook,
    gradient_hook_names,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)
from keras_nnperf.optimizers.training_state import release_state, state_variable

BACKEND = keras.backend.backend()
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
traced_backends = pytest.mark.skipif(
    BACKEND == "torch", reason="PyTorch runs the step eagerly: nothing is traced"
)


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


def _model():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3)]
    )


def _compile(model, optimizer, **kwargs):
    model.compile(optimizer, LOSS, **kwargs)


def _grad_norm(model, x, y):
    """Global gradient norm from the backend's own autodiff."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = LOSS(y, model(x))
        grads = tape.gradient(loss, model.trainable_weights)
    elif BACKEND == "jax":
        import jax

        others = [w.value for w in model.non_trainable_weights]

        def loss_of(trainable):
            return LOSS(y, model.stateless_call(trainable, others, x)[0])

        grads = jax.grad(loss_of)([w.value for w in model.trainable_weights])
    else:
        import torch

        loss = LOSS(ops.convert_to_tensor(y), model(ops.convert_to_tensor(x)))
        grads = torch.autograd.grad(loss, [w.value for w in model.trainable_weights])
        grads = [g.detach().cpu() for g in grads]
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(g))) for g in grads)))


class HookCallback(keras.callbacks.Callback):
    """Installs a hook the way our callbacks do: state on the optimizer, removed at the end."""

    def __init__(self, hook, key, name="test_hook"):
        super().__init__()
        self.hook, self.key, self.name = hook, key, name
        self.python_calls = 0

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        self.counter = state_variable(optimizer, f"{self.name}/count", 0.0)

        def hook(grads, variables):
            self.python_calls += 1
            self.counter.assign_add(1.0)
            return self.hook(grads, variables)

        add_gradient_hook(optimizer, self.name, hook, key=self.key)
        refresh_train_function(self.model)

    def on_train_end(self, logs=None):
        self.count = float(np.asarray(self.counter))
        remove_gradient_hook(self.model.optimizer, self.name)
        release_state(self.model.optimizer, f"{self.name}/")
        refresh_train_function(self.model)


def _zero(grads, variables):
    return [ops.zeros_like(g) for g in grads]


@pytest.mark.parametrize(
    "compile_kwargs",
    [{}, {"steps_per_execution": 2}, {"jit_compile": True}],
    ids=["graph", "steps_per_execution", "jit"],
)
def test_hook_runs_in_the_step_once_per_step(compile_kwargs):
    if BACKEND == "torch" and compile_kwargs:
        pytest.skip("PyTorch: one step per execution, and no XLA")
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.1), **compile_kwargs)
    callback = HookCallback(lambda g, v: None, key="count")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    assert callback.count == 8  # 32 / 4 steps, whatever steps_per_execution, on every backend
    if BACKEND != "torch":
        assert 1 <= callback.python_calls <= 3  # traced, not called from Python per step


def test_replacement_grads_are_used():
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.5))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[HookCallback(_zero, "zero")])
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_removal_restores_apply_and_the_next_plain_fit_runs_without_the_hook():
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.5))
    optimizer = model.optimizer
    n_variables = len(optimizer.variables)
    callback = HookCallback(_zero, "zero")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert "apply" not in vars(optimizer)
    assert gradient_hook_names(optimizer) == []
    assert len(optimizer.variables) == n_variables
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert any(
        not np.allclose(old, new) for old, new in zip(before, model.get_weights(), strict=True)
    )


@traced_backends
def test_a_second_fit_with_the_same_hook_key_does_not_retrace():
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.1))
    first = HookCallback(lambda g, v: None, key="same")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[first])
    second = HookCallback(lambda g, v: None, key="same")  # a new instance, an equal key
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[second])
    assert second.python_calls == 0  # the traced step was reused...
    assert second.count == 8  # ...and still ran the hook, on the state variable put back
    third = HookCallback(lambda g, v: None, key="same")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[third])
    assert third.python_calls == 0 and third.count == 4


@traced_backends
def test_a_changed_hook_retraces_even_when_the_state_has_the_same_shape():
    # JAX's jit retraces by itself when the number of optimizer variables changes, but not when
    # only a Python closure does: the signature check must catch it.
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.5))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[HookCallback(_zero, "zero")])
    before = [w.copy() for w in model.get_weights()]
    identity = HookCallback(lambda g, v: None, key="identity")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[identity])
    assert identity.python_calls >= 1
    assert any(
        not np.allclose(old, new) for old, new in zip(before, model.get_weights(), strict=True)
    )


def test_hooks_run_in_order_and_replace_by_name():
    optimizer = keras.optimizers.SGD(0.1)
    add_gradient_hook(optimizer, "a", lambda g, v: None)
    add_gradient_hook(optimizer, "b", lambda g, v: None)
    add_gradient_hook(optimizer, "a", lambda g, v: None)
    assert gradient_hook_names(optimizer) == ["a", "b"]
    remove_gradient_hook(optimizer, "a")
    remove_gradient_hook(optimizer, "b")
    assert "apply" not in vars(optimizer)


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
    seen = {}

    def norm(grads, variables):
        squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads]
        seen["variable"].assign(ops.sqrt(ops.sum(ops.stack(squares))))

    class Seen(HookCallback):
        def on_train_begin(self, logs=None):
            seen["variable"] = state_variable(self.model.optimizer, "seen/norm", 0.0)
            super().on_train_begin(logs)

        def on_train_end(self, logs=None):
            seen["value"] = float(np.asarray(seen["variable"]))
            release_state(self.model.optimizer, "seen/")
            super().on_train_end(logs)

    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Seen(norm, "norm")])
    np.testing.assert_allclose(seen["value"], _grad_norm(model, x, y), rtol=2e-2)


def test_apply_contract_hooks_get_the_trainers_variables_in_order():
    # The contract `_wrap_apply` relies on, on every backend: the trainer hands the gradients to
    # `optimizer.apply`, for `model.trainable_variables` in that order (JAX: without variables,
    # through stateless_apply; we bind them).
    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.1))
    seen = []

    def record(grads, variables):
        seen.append(([id(v) for v in variables], [tuple(g.shape) for g in grads]))

    model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[HookCallback(record, "rec")])
    assert seen
    ids, shapes = seen[0]
    assert ids == [id(v) for v in model.trainable_variables]
    assert shapes == [tuple(v.shape) for v in model.trainable_variables]


@pytest.mark.skipif(
    BACKEND == "tensorflow", reason="TensorFlow's optimizers refuse stateless_apply (tf.distribute)"
)
def test_apply_contract_stateless_apply_calls_apply_with_gradients_only():
    # JAX's trainer calls `stateless_apply`, which must call `self.apply(grads)` and hand back
    # `optimizer.variables` (our state included) as written in `apply`. Fails if Keras changes it.
    weights = [keras.Variable(np.ones((2,), "float32"))]
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(weights)
    extra = state_variable(optimizer, "contract/extra", 0.0)
    calls = []
    keras_apply = optimizer.apply

    def apply(grads, trainable_variables=None):
        calls.append(trainable_variables)
        extra.assign(extra + 5.0)
        return keras_apply(grads, trainable_variables)

    optimizer.apply = apply
    grads = [ops.ones((2,))]
    new_weights, new_optimizer_variables = optimizer.stateless_apply(
        [v.value for v in optimizer.variables], grads, [w.value for w in weights]
    )
    del optimizer.apply
    assert calls == [None]
    index = next(i for i, v in enumerate(optimizer.variables) if v is extra)
    assert float(ops.convert_to_numpy(new_optimizer_variables[index])) == 5.0
    np.testing.assert_allclose(ops.convert_to_numpy(new_weights[0]), [0.9, 0.9], rtol=1e-6)
    assert float(np.asarray(extra)) == 0.0  # stateless: the variable itself is untouched


def test_learning_rate_source_reads_the_private_keras_keeps_it_in():
    # `_learning_rate_source` reads `optimizer._learning_rate`: fails if Keras renames it.
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert _learning_rate_source(keras.optimizers.SGD(schedule)) is schedule
    assert _learning_rate_source(keras.optimizers.SGD(0.1)) is None
    assert hasattr(keras.optimizers.SGD(0.1), "_learning_rate")


def test_a_hook_without_bound_variables_explains_what_to_do():
    weights = [keras.Variable(np.ones((2,), "float32"))]
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(weights)
    add_gradient_hook(optimizer, "unbound", lambda g, v: None)
    with pytest.raises(ValueError, match="refresh_train_function"):
        optimizer.apply([ops.ones((2,))])
    remove_gradient_hook(optimizer, "unbound")


def test_a_model_trained_with_a_hook_is_freed_when_dropped():
    # The traced step is remembered for the next fit; it must not keep its model alive (it did,
    # through a weak-keyed registry whose values referenced their keys: every model of an
    # in-process search stayed in memory).
    import gc
    import weakref

    from keras_nnperf.callbacks import GradientMonitor

    x, y = _data()
    model = _model()
    _compile(model, keras.optimizers.SGD(0.01))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[GradientMonitor()])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[GradientMonitor()])
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None
