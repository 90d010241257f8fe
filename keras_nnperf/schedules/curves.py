"""Evaluate a schedule over many steps at once, for plots, tests and the CLI."""

from __future__ import annotations

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
        jit_compile: Evaluate inside `tf.function(jit_compile=True)`, as XLA-compiled training
            does. This option needs the TensorFlow backend.

    Returns:
        A 1-D float32 array with one value per step.

    Raises:
        ValueError: if the schedule does not return one float32 value per step.

    Example:
    ```python
    import matplotlib.pyplot as plt

    plt.plot(evaluate(OneCycle(1e-2, total_steps=1000), range(1000)))
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates" (look at the curve before you train).
    """
    call = schedule
    if jit_compile:
        import tensorflow as tf  # XLA compilation of a single function is TensorFlow's feature.

        call = tf.function(schedule, jit_compile=True)
    step_vector = ops.convert_to_tensor(np.asarray(list(steps), dtype=np.int64))
    values = call(step_vector)
    if ops.shape(values) != ops.shape(step_vector) or ops.dtype(values) != "float32":
        raise ValueError(
            "A schedule must return one float32 value per step (elementwise ops). "
            f"Received: shape={ops.shape(values)}, dtype={ops.dtype(values)} "
            f"for {ops.shape(step_vector)[0]} steps"
        )
    return ops.convert_to_numpy(values)
