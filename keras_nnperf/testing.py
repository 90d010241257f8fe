"""A shared check for Keras layers: one small function per property, and `check_layer` for all.

Uses only public Keras API, on any backend. Gradients come from the backend's own automatic
differentiation (`tf.GradientTape`, `jax.grad`, `torch.autograd`); the XLA check compiles with
`tf.function(jit_compile=True)` on TensorFlow and `jax.jit` on JAX (PyTorch has no XLA: the check
is skipped there).

Example:
```python
from keras_nnperf.testing import check_layer

def test_prelu(tmp_path):
    check_layer(PReLU, {"alpha_initializer": 0.2}, input_shape=(3, 4),
                reference_fn=lambda x, layer: np.where(x >= 0, x, 0.2 * x), tmp_dir=tmp_path)
```
"""

from __future__ import annotations

import inspect
import os
import tempfile
import warnings

import keras
import numpy as np

# How far a mixed_float16 output may be from the float32 one: inputs and outputs are rounded to
# float16 (2^-11 relative) and every op computes in float16 (eps 2^-10); a few eps of headroom.
HALF_RTOL = 4e-3
HALF_ATOL = 4e-3


def random_inputs(input_shape, seed=0, margin=0.2, scale=3.0):
    """Float32 inputs with `margin <= |x| <= scale`, away from the kink of piecewise activations."""
    rng = np.random.default_rng(seed)
    magnitude = rng.uniform(margin, scale, size=input_shape)
    sign = np.where(rng.random(input_shape) < 0.5, -1.0, 1.0)
    return (sign * magnitude).astype("float32")


def _to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _forward(layer, x, training):
    return _to_numpy(
        layer(keras.ops.convert_to_tensor(x, dtype=layer.compute_dtype), training=training)
    )


def check_output_shape_and_dtype(layer_cls, init_kwargs, x, training=False, compare=True):
    """Output shape equals input shape; the dtype follows the policy (float32, mixed_float16).

    Under `mixed_float16` the weights must stay float32, the output must be float16 and finite,
    and (with `compare`, for layers that give the same output for the same weights) within
    float16 rounding of the float32 output with the same weights: `|y16 - y32| <= HALF_ATOL +
    HALF_RTOL * |y32|`.
    """
    full = layer_cls(**init_kwargs, dtype="float32")
    y_full = _forward(full, x, training)
    assert y_full.shape == x.shape, f"output shape {y_full.shape} != input shape {x.shape}"
    assert y_full.dtype == np.float32, f"float32 layer returned {y_full.dtype}"

    mixed = layer_cls(**init_kwargs, dtype="mixed_float16")
    mixed.build(x.shape)
    if full.weights:
        mixed.set_weights(full.get_weights())
    for variable in mixed.trainable_weights:
        assert variable.dtype == "float32", (
            f"mixed_float16 weight {variable.path} is {variable.dtype}"
        )
    y_half = _forward(mixed, x, training)
    assert y_half.shape == x.shape
    assert y_half.dtype == np.float16, f"mixed_float16 layer returned {y_half.dtype}"
    assert np.all(np.isfinite(y_half)), "mixed_float16 output is not finite"
    if compare:
        np.testing.assert_allclose(
            y_half.astype("float32"),
            y_full,
            rtol=HALF_RTOL,
            atol=HALF_ATOL,
            err_msg="mixed_float16 output differs from the float32 output beyond float16 rounding",
        )
    return full


def check_reference_values(layer, x, reference_fn, training=False, atol=1e-6, rtol=1e-6):
    """The output matches `reference_fn(x, layer)`, a NumPy reference computed in float64."""
    expected = reference_fn(x.astype("float64"), layer)
    np.testing.assert_allclose(_forward(layer, x, training), expected, atol=atol, rtol=rtol)


def _takes_training(layer) -> bool:
    # The class's own `call`: Keras may wrap the bound method in a `(*args, **kwargs)` function.
    parameters = inspect.signature(type(layer).call).parameters.values()
    return any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in parameters)


def loss_and_grads(layer, x, weights, training=False):
    """`sum(layer(x) * weights)` and its gradients w.r.t. `x` and the trainable weights.

    Each backend differentiates with its own machinery (`tf.GradientTape`, `jax.value_and_grad`
    over `layer.stateless_call`, `torch.autograd`), so the check is independent of Keras. On
    TensorFlow and JAX it can be wrapped in `tf.function(jit_compile=True)` / `jax.jit`.

    Returns:
        `(loss, [d loss / d x, d loss / d w for each trainable weight])`, backend tensors.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]
        # `stateless_call` hands its keyword arguments to `call` as they are.
        kwargs = {"training": training} if _takes_training(layer) else {}

        def loss_fn(x_value, trainable_values):
            y, _ = layer.stateless_call(trainable_values, non_trainable, x_value, **kwargs)
            return jnp.sum(y * jnp.asarray(weights, y.dtype))

        loss, (grad_x, grad_w) = jax.value_and_grad(loss_fn, argnums=(0, 1))(
            jnp.asarray(x), trainable
        )
        return loss, [grad_x, *grad_w]
    if backend == "torch":
        import torch

        x = torch.tensor(np.asarray(x), requires_grad=True)
        y = layer(x, training=training)
        loss = torch.sum(y * torch.as_tensor(weights, dtype=y.dtype))
        trainable = [v.value for v in layer.trainable_variables]
        return loss, list(torch.autograd.grad(loss, [x, *trainable]))
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, training=training) * weights)
    grads = tape.gradient(loss, [x, *layer.trainable_variables])
    return loss, grads


def value_and_grad(fn, x, jit=False):
    """`fn(x)` and the gradient of `sum(fn(x))` w.r.t. `x`, as NumPy arrays.

    Differentiated by the backend's own machinery (`tf.GradientTape`, `jax.grad`,
    `torch.autograd`); `jit=True` compiles forward and backward with XLA on TensorFlow and JAX
    (PyTorch has no XLA and runs eagerly).

    Example:
    ```python
    y, dy_dx = value_and_grad(keras_nnperf.activations.mish, np.linspace(-3, 3, 7))
    ```
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def step(v):
            y, pullback = jax.vjp(fn, v)
            return y, pullback(jnp.ones_like(y))[0]

        y, grad = (jax.jit(step) if jit else step)(jnp.asarray(x))
    elif backend == "torch":
        import torch

        v = torch.tensor(np.asarray(x), requires_grad=True)
        y = fn(v)
        (grad,) = torch.autograd.grad(torch.sum(y), [v])
    else:
        import tensorflow as tf

        def step(v):
            with tf.GradientTape() as tape:
                tape.watch(v)
                y = fn(v)
            return y, tape.gradient(y, v)

        y, grad = (tf.function(step, jit_compile=True) if jit else step)(tf.constant(x))
    return _to_numpy(y), _to_numpy(grad)


def float64_scope():
    """A context in which float64 is really float64, on every backend.

    A float64 layer alone computes in float32 on JAX and PyTorch (Keras's result-type rules;
    JAX's 64-bit mode is off by default), so this is the gradient check's own
    `keras_nnperf.diagnostics._float64.float64_computation()`.
    """
    from keras_nnperf.diagnostics._float64 import float64_computation

    return float64_computation()


def check_numeric_gradients(layer_cls, init_kwargs, x, training=False, eps=1e-6, rtol=1e-5):
    """Gradients w.r.t. inputs and trainable weights match central differences, in float64.

    The scalar checked is `sum(layer(x) * w)` with fixed random `w`, so every output element
    contributes with its own weight.
    """
    with float64_scope():
        _check_numeric_gradients(layer_cls, init_kwargs, x, training, eps, rtol)


def _check_numeric_gradients(layer_cls, init_kwargs, x, training, eps, rtol):
    layer = layer_cls(**init_kwargs, dtype="float64")
    x = x.astype("float64")
    layer.build(x.shape)
    weights = np.random.default_rng(1).normal(size=x.shape)

    def loss_value(x_value):
        return float(np.sum(_to_numpy(layer(x_value, training=training)) * weights))

    _, grads = loss_and_grads(layer, x, weights, training)
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        numeric[index] = (loss_value(x + step) - loss_value(x - step)) / (2 * eps)
    np.testing.assert_allclose(_to_numpy(grads[0]), numeric, rtol=rtol, atol=rtol, err_msg="d/dx")

    for variable, grad in zip(layer.trainable_variables, grads[1:], strict=True):
        value = _to_numpy(variable)
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            for sign in (1.0, -1.0):
                shifted = value.copy()
                shifted[index] += sign * eps
                variable.assign(shifted)
                numeric[index] += sign * loss_value(x) / (2 * eps)
        variable.assign(value)
        np.testing.assert_allclose(
            _to_numpy(grad), numeric, rtol=rtol, atol=rtol, err_msg=f"d/d{variable.path}"
        )


def check_config_round_trip(layer, x, training=False):
    """`from_config(get_config())` gives the same config and, with the same weights, outputs."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config, "config changed in a from_config round trip"
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_forward(clone, x, training), _forward(layer, x, training))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer), "serialize/deserialize returned another class"


def check_save_load(layer, x, tmp_dir=None, training=False):
    """A model holding the layer saves to `.keras` and loads (no custom_objects) identically."""
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    with tempfile.TemporaryDirectory(dir=tmp_dir) as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(
        _to_numpy(loaded(x, training=training)), _to_numpy(model(x, training=training))
    )
    return loaded


def check_fit_step(layer_cls, init_kwargs, x):
    """One `fit` step runs with a finite loss and changes every trainable weight of the layer."""
    layer = layer_cls(**init_kwargs)
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [_to_numpy(w).copy() for w in layer.trainable_weights]
    target = np.random.default_rng(2).normal(size=x.shape).astype("float32")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The model does not have any trainable weights")
        history = model.fit(x, target, batch_size=len(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]), "fit loss is not finite"
    for variable, old in zip(layer.trainable_weights, before, strict=True):
        assert not np.array_equal(_to_numpy(variable), old), f"{variable.path} did not change"


def check_jit_matches_eager(layer, x, training=False, rtol=1e-5):
    """Forward and backward compiled by XLA match eager execution.

    XLA is `tf.function(jit_compile=True)` on TensorFlow and `jax.jit` on JAX (whose eager ops are
    compiled one by one). PyTorch has no XLA; there the check does nothing.
    """
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        return
    weights = np.random.default_rng(1).normal(size=x.shape).astype("float32")

    def step(x_value):
        return loss_and_grads(layer, x_value, weights, training)

    eager_loss, eager_grads = step(x)
    if backend == "jax":
        import jax

        xla_loss, xla_grads = jax.jit(step)(x)
    else:
        import tensorflow as tf

        xla_loss, xla_grads = tf.function(step, jit_compile=True)(x)
    np.testing.assert_allclose(_to_numpy(xla_loss), _to_numpy(eager_loss), rtol=rtol)
    for eager, xla in zip(eager_grads, xla_grads, strict=True):
        np.testing.assert_allclose(_to_numpy(xla), _to_numpy(eager), rtol=rtol, atol=rtol)


def two_cpu_strategy():
    """A `MirroredStrategy` over the two logical CPUs that `tests/conftest.py` creates (TensorFlow).

    It reduces with `ReductionToOneDevice` rather than the default collective ops: collective
    instances keyed per process clash when several strategies train in one pytest process
    ("Shape mismatch in the collective instance").
    """
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def check_layer(
    layer_cls,
    init_kwargs=None,
    input_shape=(3, 4),
    reference_fn=None,
    *,
    training=False,
    deterministic=True,
    gradients=True,
    tmp_dir=None,
    atol=1e-6,
    rtol=1e-6,
):
    """Run every check on `layer_cls(**init_kwargs)` with inputs of `input_shape`.

    Shape and dtype (float32 and `mixed_float16`, the latter compared with the float32 output
    within float16 rounding), reference values, numeric gradients, config round trip, `.keras`
    save/load, one `fit` step and XLA-vs-eager, on the current Keras backend. Layers that are
    random at the checked `training` value pass `deterministic=False`, which skips the checks that
    compare two calls.

    Args:
        layer_cls: A layer class (or any callable returning a layer, taking `dtype=`).
        init_kwargs: Constructor keyword arguments.
        input_shape: Shape of the test batch, batch axis first; keep it tiny.
        reference_fn: `reference_fn(x_float64, layer) -> expected` or `None`.
        training: The `training` argument of every call.
        deterministic: Whether two calls with the same weights give the same output.
        gradients: Whether to run the numeric gradient check.
        tmp_dir: Directory for the saved model (pytest's `tmp_path`); default system temp.
        atol: Absolute tolerance of the reference check.
        rtol: Relative tolerance of the reference check.

    Returns:
        The float32 layer that was checked.

    Raises:
        AssertionError: naming the first property that does not hold.
    """
    init_kwargs = dict(init_kwargs or {})
    x = random_inputs(input_shape)
    layer = check_output_shape_and_dtype(layer_cls, init_kwargs, x, training, deterministic)
    if reference_fn is not None:
        check_reference_values(layer, x, reference_fn, training, atol=atol, rtol=rtol)
    check_fit_step(layer_cls, init_kwargs, x)
    if deterministic:
        if gradients:
            check_numeric_gradients(layer_cls, init_kwargs, x, training)
        check_config_round_trip(layer, x, training)
        check_save_load(layer, x, tmp_dir, training)
        check_jit_matches_eager(layer, x, training)
    return layer
