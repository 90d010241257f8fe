"""Evaluate a schedule over many steps at once, for plots, tests and the CLI."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def evaluate(schedule, steps, jit_compile: bool = False) -> np.ndarray:
    """Return `schedule(step)` for every step in `steps`, as a float32 NumPy array.

    The steps are fed as one int64 vector (the dtype of `optimizer.iterations` under
    TensorFlow) in a single call: every schedule in this package is built from elementwise
    `keras.ops`, so `schedule(steps)[k] == schedule(steps[k])`, and one call is far cheaper than
    one eager call per step. The k-th update of training uses `schedule(k)`.

    Args:
        schedule: A `LearningRateSchedule` (or callable `step -> value`) built from elementwise
            ops.
        steps: Non-negative integer steps, e.g. `range(total_steps)`.
        jit_compile: Evaluate XLA-compiled, as compiled training does: `jax.jit` on JAX,
            `tf.function(jit_compile=True)` on TensorFlow. PyTorch has no XLA here and raises.

    Returns:
        A 1-D float32 array with one value per step.

    Raises:
        ValueError: if the schedule does not return one float32 value per step, or
            `jit_compile=True` on a backend without XLA.

    Example:
    ```python
    import matplotlib.pyplot as plt

    plt.plot(evaluate(OneCycle(1e-2, total_steps=1000), range(1000)))
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates" (look at the curve before you train).
    """
    call = _xla_compiled(schedule) if jit_compile else schedule
    step_vector = ops.convert_to_tensor(np.asarray(list(steps), dtype=np.int64))
    values = call(step_vector)
    if ops.shape(values) != ops.shape(step_vector) or ops.dtype(values) != "float32":
        raise ValueError(
            "A schedule must return one float32 value per step (elementwise ops). "
            f"Received: shape={ops.shape(values)}, dtype={ops.dtype(values)} "
            f"for {ops.shape(step_vector)[0]} steps"
        )
    return ops.convert_to_numpy(values)


def _xla_compiled(function):
    """`function` compiled with XLA by the backend's own compiler."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    raise ValueError(
        "evaluate(jit_compile=True) needs the JAX or TensorFlow backend. "
        f"Received: backend={backend!r}"
    )
