"""Adaptive gradient clipping (AGC): clip each unit's gradient relative to its weight norm.

`ClippingOptimizer`, the wrapper base shared with `AutoClip`, mirrors Keras's
`LossScaleOptimizer`: it holds an inner optimizer, delegates `learning_rate`, `iterations` and
`variables` to it, transforms the gradients in-graph in `apply`, and serializes the inner
optimizer in its config. Mixed precision wraps it in turn (`LossScaleOptimizer(AGC(Adam))`), so
it clips unscaled gradients, and gradient hooks (`keras_nnperf.optimizers.gradient_hooks`) added
to it see the gradients before clipping.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.optimizers.wrapper import OptimizerWrapper
from keras_nnperf.registry import register
from keras_nnperf.validation import check_positive


def _global_gradients(grads: list) -> tuple[list, int]:
    """All-reduce per-replica gradients so clipping sees the global gradient.

    Under a `tf.distribute` strategy `apply` runs per replica on that replica's share of the
    gradient (Keras scales each replica's loss by `1 / num_replicas`), and the inner optimizer
    sums the shares. Clipping must look at the sum, so this returns each replica the mean of the
    shares and the replica count `R`; `R * mean` is the global gradient, and after clipping the
    inner optimizer's sum of the `R` identical means is the clipped global gradient again.
    TensorFlow only: other backends have no replica context here and return `(grads, 1)`.
    """
    if keras.backend.backend() != "tensorflow":
        return grads, 1
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return grads, 1
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync
    if replicas == 1:
        return grads, 1
    present = [index for index, grad in enumerate(grads) if grad is not None]
    reduced = context.all_reduce("mean", [grads[index] for index in present])
    grads = list(grads)
    for index, grad in zip(present, reduced, strict=True):
        grads[index] = grad
    return grads, replicas


class ClippingOptimizer(OptimizerWrapper):
    """Base of optimizer wrappers that transform the gradients before an inner optimizer.

    Subclasses implement `build_clipping(var_list)` (create their state with `add_variable`) and
    `clip(grads, variables)`, returning the clipped gradients and a boolean scalar "this step
    was clipped". `clipped_fraction` is the fraction of applied steps that were clipped.

    Args:
        optimizer: The `keras.optimizers.Optimizer` to wrap.
        name: Optional name of the wrapper.

    Raises:
        ValueError: if `optimizer` is not a Keras optimizer, or it has its own
            `loss_scale_factor` (clipping must see unscaled gradients; use mixed precision's
            `LossScaleOptimizer` around the wrapper instead).
    """

    def __init__(self, optimizer, name: str | None = None):
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError(
                f"Argument optimizer must be a keras.optimizers.Optimizer instance. "
                f"Received: optimizer={optimizer!r}"
            )
        if optimizer.loss_scale_factor is not None:
            raise ValueError(
                "The wrapped optimizer must not scale the loss itself (clipping needs unscaled "
                "gradients). Received: optimizer.loss_scale_factor="
                f"{optimizer.loss_scale_factor!r}"
            )
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer

    def build(self, var_list):
        """Create the clipping state and build the inner optimizer on `var_list`."""
        # Replicas compute identical values from all-reduced gradients: keep the first's.
        self.clipped_steps = self.add_variable(
            shape=(), dtype="float32", aggregation="only_first_replica", name="clipped_steps"
        )
        self.build_clipping(var_list)
        self.inner_optimizer.build(var_list)
        self.remember_built_with(var_list)
        super().build(var_list)

    def build_clipping(self, var_list):
        """Create the subclass's state variables (none by default)."""

    def clip(self, grads: list, variables: list):
        """Return `(clipped_grads, was_clipped)` for the global gradients `grads`.

        The base leaves the gradients unchanged; subclasses override this.
        """
        return grads, ops.convert_to_tensor(False)

    def apply(self, grads, trainable_variables=None):
        """Clip `grads` in-graph, then let the inner optimizer apply them."""
        variables = self.resolve_variables(trainable_variables)
        grads, replicas = _global_gradients(list(grads))
        present = [
            index
            for index, (grad, variable) in enumerate(zip(grads, variables, strict=True))
            # Variables Keras overwrites with their "gradient" (e.g. float8 scales) are not clipped.
            if grad is not None and not getattr(variable, "overwrite_with_gradient", False)
        ]
        clipped, was_clipped = self.clip(
            [grads[index] * replicas for index in present], [variables[index] for index in present]
        )
        for index, grad in zip(present, clipped, strict=True):
            grads[index] = grad / replicas
        self.clipped_steps.assign_add(ops.cast(was_clipped, "float32"))
        return self.inner_optimizer.apply(grads, trainable_variables)

    @property
    def clipped_fraction(self):
        """Fraction of the steps applied so far whose gradients were clipped (a scalar tensor)."""
        if not self.built:
            return ops.convert_to_tensor(0.0)
        steps = ops.maximum(ops.cast(self.iterations, "float32"), 1.0)
        return ops.divide(self.clipped_steps.value, steps)

    def get_config(self):
        # Like LossScaleOptimizer: the base arguments (clipnorm, ...) belong to the inner one.
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(
            config.pop("optimizer"), custom_objects=custom_objects
        )
        return cls(optimizer, **config)


def unitwise_norm(x):
    """L2 norm of each output unit of `x`, broadcastable against `x`.

    A unit is a slice along the last axis: a Dense kernel `(in, out)` and a conv kernel
    `(..., in, out)` reduce over every axis but the last; a bias (or any vector) is a vector of
    units, each its own norm `|x_i|`; a scalar is one unit.
    """
    x = ops.convert_to_tensor(x)
    if len(x.shape) <= 1:
        return ops.abs(x)
    axes = tuple(range(len(x.shape) - 1))
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


def adaptive_clip(grads: list, weights: list, clip_factor: float = 0.01, eps: float = 1e-3):
    """Unit-wise adaptive gradient clipping of `grads` against `weights` (pure function).

    For every unit `i`: if `||G_i|| / max(||W_i||, eps) > clip_factor` then
    `G_i <- clip_factor * max(||W_i||, eps) / ||G_i|| * G_i`, else `G_i` is unchanged.

    Args:
        grads: Gradient tensors.
        weights: The matching weights (same shapes).
        clip_factor: Largest allowed ratio of gradient to weight norm per unit.
        eps: Floor on the weight norm, so zero-initialized weights can move.

    Returns:
        `(clipped_grads, was_clipped)`: the list of clipped gradients and a boolean scalar
        that is true when at least one unit was clipped.

    Example:
    ```python
    clipped, _ = adaptive_clip([ops.ones((2, 3))], [ops.ones((2, 3))], clip_factor=0.01)
    ```

    Reference:
        Brock et al., 2021, "High-Performance Large-Scale Image Recognition Without
        Normalization" (NFNets), section 4.1.
    """
    clipped, any_clipped = [], ops.convert_to_tensor(False)
    for grad, weight in zip(grads, weights, strict=True):
        grad = ops.convert_to_tensor(grad)
        weight = ops.cast(ops.convert_to_tensor(weight), grad.dtype)
        max_norm = ops.maximum(unitwise_norm(weight), ops.cast(eps, grad.dtype)) * clip_factor
        grad_norm = unitwise_norm(grad)
        over = grad_norm > max_norm
        # Dividing by a floored norm keeps the untaken branch of `where` finite.
        scale = max_norm / ops.maximum(grad_norm, ops.cast(1e-6, grad.dtype))
        clipped.append(ops.where(over, grad * scale, grad))
        any_clipped = ops.logical_or(any_clipped, ops.any(over))
    return clipped, any_clipped


@register("optimizer", aliases=("agc",))
class AdaptiveGradientClipping(ClippingOptimizer):
    """Wrap an optimizer with unit-wise adaptive gradient clipping (AGC).

    For every unit `i` (an output unit: the last axis of a Dense or conv kernel; each element of
    a bias), with `G_i` its gradient and `W_i` its weights:

    `if ||G_i|| / max(||W_i||, eps) > clip_factor:`
    `    G_i <- clip_factor * max(||W_i||, eps) / ||G_i|| * G_i`

    The clipping runs in-graph on the global gradient (all-reduced first under a
    `tf.distribute` strategy) before the inner optimizer's own update.

    Args:
        optimizer: The `keras.optimizers.Optimizer` to wrap.
        clip_factor: Largest allowed ratio `||G_i|| / ||W_i||`, > 0. Defaults to 0.01; Brock et
            al. use 0.01 to 0.16, smaller for larger batches.
        eps: Floor on `||W_i||`, > 0, so zero-initialized weights can still move. Defaults to 1e-3.
        name: Optional name.

    Raises:
        ValueError: for a non-optimizer `optimizer`, or `clip_factor` / `eps` not > 0.

    Example:
    ```python
    model.compile(optimizer=AdaptiveGradientClipping(keras.optimizers.SGD(0.1, momentum=0.9)),
                  loss="sparse_categorical_crossentropy")
    ```

    Reference:
        Brock et al., 2021, "High-Performance Large-Scale Image Recognition Without
        Normalization" (NFNets).
    """

    def __init__(self, optimizer, clip_factor: float = 0.01, eps: float = 1e-3, name=None):
        clip_factor = check_positive("clip_factor", clip_factor)
        eps = check_positive("eps", eps)
        super().__init__(optimizer, name=name)
        self.clip_factor = clip_factor
        self.eps = eps

    def clip(self, grads, variables):
        """Apply `adaptive_clip` with this wrapper's `clip_factor` and `eps`."""
        return adaptive_clip(grads, variables, self.clip_factor, self.eps)

    def get_config(self):
        config = super().get_config()
        config.update({"clip_factor": self.clip_factor, "eps": self.eps})
        return config
