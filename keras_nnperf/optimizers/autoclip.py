"""AutoClip: clip the global gradient norm to a percentile of the norms seen so far."""

from __future__ import annotations

from keras import ops

from keras_nnperf.optimizers.adaptive_clipping import ClippingOptimizer
from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number


def global_norm(grads: list):
    """The L2 norm of all `grads` taken together, as a float32 scalar."""
    squares = [ops.sum(ops.square(ops.cast(grad, "float32"))) for grad in grads]
    return ops.sqrt(ops.sum(ops.stack(squares))) if squares else ops.convert_to_tensor(0.0)


def history_percentile(history, count, percentile: float):
    """`np.percentile(history[:n], percentile)` (linear interpolation) of a ring buffer, in-graph.

    Args:
        history: The ring buffer, a float vector of size `H`.
        count: How many values were ever written (`n = min(count, H)` of them are valid).
        percentile: In [0, 100].

    Returns:
        The percentile as a float32 scalar; `+inf` while the buffer is empty.
    """
    size = history.shape[0]
    valid = ops.minimum(ops.cast(count, "int32"), size)
    # Unused slots sort to the end, so the first `valid` sorted values are the history.
    slots = ops.arange(size, dtype="int32")
    ordered = ops.sort(ops.where(slots < valid, history, float("inf")))
    position = percentile / 100.0 * ops.cast(ops.maximum(valid - 1, 0), "float32")
    low = ops.cast(ops.floor(position), "int32")
    high = ops.minimum(low + 1, ops.maximum(valid - 1, 0))
    low_value, high_value = ops.take(ordered, low), ops.take(ordered, high)
    fraction = position - ops.cast(low, "float32")
    # `where` avoids inf * 0 when low == high at the end of the valid range.
    return ops.where(
        ops.equal(low, high), low_value, low_value + fraction * (high_value - low_value)
    )


@register("optimizer", aliases=("autoclip",))
class AutoClip(ClippingOptimizer):
    """Wrap an optimizer with AutoClip: clip the global gradient norm to a running percentile.

    At each step the global norm `||g||` is appended to a history `h` (a ring buffer of the last
    `history_size` finite norms, kept in a variable and updated in-graph), then

    `g <- g * min(1, percentile(h, p) / ||g||)`

    so the gradient is clipped whenever its norm is above the `p`-th percentile of the norms
    observed so far (the current one included). Non-finite norms are not recorded.

    Args:
        optimizer: The `keras.optimizers.Optimizer` to wrap.
        percentile: `p` in (0, 100]. Defaults to 10, the value Seetharaman et al. recommend.
        history_size: Length of the ring buffer, >= 1. Defaults to 1000 (the paper keeps the whole
            history; 1000 steps is long enough to be stable and costs one small sort per step).
        name: Optional name.

    Raises:
        ValueError: for a non-optimizer `optimizer`, `percentile` outside (0, 100] or
            `history_size` < 1.

    Example:
    ```python
    model.compile(optimizer=AutoClip(keras.optimizers.Adam(1e-3), percentile=10),
                  loss="sparse_categorical_crossentropy")
    ```

    Reference:
        Seetharaman et al., 2020, "AutoClip: Adaptive Gradient Clipping for Source Separation
        Networks".
    """

    def __init__(self, optimizer, percentile: float = 10.0, history_size: int = 1000, name=None):
        percentile = check_number("percentile", percentile, low=0.0, high=100.0, low_open=True)
        history_size = check_integer("history_size", history_size, low=1)
        super().__init__(optimizer, name=name)
        self.percentile = percentile
        self.history_size = history_size

    def build_clipping(self, var_list):
        """Create the norm history ring buffer and its write counter."""
        self.norm_history = self.add_variable(
            shape=(self.history_size,),
            dtype="float32",
            aggregation="only_first_replica",
            name="norm_history",
        )
        self.norm_count = self.add_variable(
            shape=(), dtype="int32", aggregation="only_first_replica", name="norm_count"
        )

    def clip(self, grads, variables):
        """Record the global norm of `grads`, then clip it to the history's percentile."""
        norm = global_norm(grads)
        finite = ops.isfinite(norm)
        # `.value` reads the variables as tensors: JAX cannot trace a `keras.Variable` in `where`.
        history, count = self.norm_history.value, self.norm_count.value
        slot = ops.mod(count, self.history_size)
        written = ops.where(
            ops.logical_and(finite, ops.equal(ops.arange(self.history_size, dtype="int32"), slot)),
            norm,
            history,
        )
        # Unconditional assigns: a `cond` branch must not merge replicas under tf.distribute
        # (and its writes would be lost in JAX's stateless scope).
        self.norm_history.assign(written)
        count = count + ops.cast(finite, "int32")
        self.norm_count.assign(count)
        threshold = history_percentile(written, count, self.percentile)
        clipped = ops.logical_and(finite, norm > threshold)
        scale = ops.where(clipped, threshold / ops.maximum(norm, 1e-12), 1.0)
        return [ops.multiply(grad, ops.cast(scale, grad.dtype)) for grad in grads], clipped

    @property
    def clip_threshold(self):
        """The current clipping threshold: the `percentile` of the recorded norms."""
        return history_percentile(self.norm_history.value, self.norm_count.value, self.percentile)

    def get_config(self):
        config = super().get_config()
        config.update({"percentile": self.percentile, "history_size": self.history_size})
        return config


__all__ = ["AutoClip", "global_norm", "history_percentile"]
