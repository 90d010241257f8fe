"""Lookahead: an optimizer wrapper that keeps slow weights and pulls them towards the fast ones.

The wrapper holds an inner optimizer (the "fast" one, which updates the model's weights as
usual) and one slow copy of every trainable variable, created with the optimizer's own
`add_variable_from_reference`: they are optimizer variables, so JAX's `stateless_apply` carries
them through the train step, `.keras` files save them, and TensorFlow and PyTorch see them as any
optimizer slot. Like Keras's `LossScaleOptimizer`, it delegates `learning_rate` and `iterations`
to the inner optimizer, so schedules, our learning-rate callbacks and `optimizer.iterations`
read through to it.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.optimizers.wrapper import OptimizerWrapper
from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number


def lookahead_update(fast, slow, slow_step_size: float):
    """One synchronization of Lookahead (pure function): `phi + alpha (theta - phi)`.

    Args:
        fast: The fast weights `theta` after their `k`-th inner step.
        slow: The slow weights `phi`.
        slow_step_size: `alpha`, in (0, 1].

    Returns:
        The new slow weights; the fast weights are reset to them.

    Example:
    ```python
    lookahead_update(ops.ones(3), ops.zeros(3), 0.5)  # [0.5, 0.5, 0.5]
    ```

    Reference:
        Zhang, Lucas, Hinton and Ba, 2019, "Lookahead Optimizer: k steps forward, 1 step back",
        Algorithm 1.
    """
    fast = ops.convert_to_tensor(fast)
    slow = ops.cast(ops.convert_to_tensor(slow), fast.dtype)
    return slow + ops.cast(slow_step_size, fast.dtype) * (fast - slow)


@register("optimizer", aliases=("lookahead",))
class Lookahead(OptimizerWrapper):
    """Wrap an optimizer with Lookahead: `k` fast steps forward, one slow step back.

    The inner optimizer updates the model's (fast) weights `theta` at every step. Every
    `sync_period` (`k`) steps, counted by the inner optimizer's `iterations`, the slow weights
    `phi` (the weights met at the first step) move towards the fast ones,
    and the fast weights restart from there:

    `phi <- phi + alpha * (theta - phi)`,  `theta <- phi`,  when `iterations % k == 0`

    with `alpha = slow_step_size`. Both happen in-graph, in the train step, on every backend. The
    model holds the fast weights (as in TensorFlow Addons' `Lookahead`); after a number of steps
    that is a multiple of `k` they equal the slow weights.

    `learning_rate` reads and sets the inner optimizer's rate, so a `LearningRateSchedule` given
    to the inner optimizer (or set as `lookahead.learning_rate = schedule`) and Keras's
    `LearningRateScheduler` drive the inner optimizer through the wrapper.

    Args:
        optimizer: The inner (fast) `keras.optimizers.Optimizer`, or its name or config
            (`"adam"`), as `keras.optimizers.get` takes it.
        sync_period: `k`, the number of fast steps between synchronizations, an integer >= 1.
            Defaults to 6 (the TensorFlow Addons default; the paper uses 5 to 10).
        slow_step_size: `alpha`, in (0, 1]. Defaults to 0.5 (the paper's default). With 1 the
            slow weights follow the fast ones and Lookahead is the inner optimizer.
        name: Optional name.

    Raises:
        ValueError: for an `optimizer` that is not a Keras optimizer, one that scales the loss
            itself, `sync_period` < 1 or `slow_step_size` outside (0, 1].

    Example:
    ```python
    model.compile(optimizer=Lookahead(keras.optimizers.Adam(1e-3), sync_period=5),
                  loss="sparse_categorical_crossentropy")
    ```

    Reference:
        Zhang, Lucas, Hinton and Ba, 2019, "Lookahead Optimizer: k steps forward, 1 step back"
        (NeurIPS 2019), Algorithm 1.
    """

    def __init__(
        self,
        optimizer="adam",
        sync_period: int = 6,
        slow_step_size: float = 0.5,
        name: str | None = None,
    ):
        if isinstance(optimizer, (str, dict)):
            optimizer = keras.optimizers.get(optimizer)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError(
                "Argument optimizer must be a keras.optimizers.Optimizer instance, name or "
                f"config. Received: optimizer={optimizer!r}"
            )
        if optimizer.loss_scale_factor is not None:
            raise ValueError(
                "The wrapped optimizer must not scale the loss itself; wrap Lookahead in a "
                "LossScaleOptimizer instead. Received: optimizer.loss_scale_factor="
                f"{optimizer.loss_scale_factor!r}"
            )
        sync_period = check_integer("sync_period", sync_period, low=1)
        slow_step_size = check_number(
            "slow_step_size", slow_step_size, low=0.0, high=1.0, low_open=True
        )
        super().__init__(learning_rate=0.0, name=name or "lookahead")
        self.inner_optimizer = optimizer
        self.sync_period = sync_period
        self.slow_step_size = slow_step_size

    def build(self, var_list):
        """Create the slow weights (one per variable) and build the inner optimizer."""
        # Zeros now, the weights' values at the first step: TensorFlow's trainer builds the
        # optimizer while tracing the train step, where XLA cannot lift a variable whose initial
        # value reads another variable (Keras's own `use_ema` averages start the same way).
        self.slow_weights = [
            self.add_variable_from_reference(variable, name="slow") for variable in var_list
        ]
        self.slow_ready = self.add_variable(
            shape=(), dtype="float32", aggregation="only_first_replica", name="slow_ready"
        )
        self.inner_optimizer.build(var_list)
        self.remember_built_with(var_list)
        super().build(var_list)

    def apply(self, grads, trainable_variables=None):
        """Let the inner optimizer step, then synchronize every `sync_period` steps."""
        variables = self.resolve_variables(trainable_variables)
        # The slow weights start as the weights met at the first step (see `build`).
        ready = self.slow_ready.value > 0.5
        for variable, slow in zip(variables, self.slow_weights, strict=True):
            slow.assign(ops.where(ready, slow.value, ops.cast(variable.value, slow.dtype)))
        self.slow_ready.assign(1.0)
        self.inner_optimizer.apply(grads, trainable_variables)
        # Unconditional assigns through `where`: writes inside a `cond` branch would be lost in
        # JAX's stateless scope.
        sync = ops.equal(ops.mod(self.inner_optimizer.iterations, self.sync_period), 0)
        for variable, slow in zip(variables, self.slow_weights, strict=True):
            if getattr(variable, "overwrite_with_gradient", False):
                continue
            fast, phi = variable.value, slow.value
            updated = ops.where(sync, lookahead_update(fast, phi, self.slow_step_size), phi)
            slow.assign(updated)
            variable.assign(ops.where(sync, updated, fast))

    def get_config(self):
        # Like LossScaleOptimizer: the base arguments (clipnorm, ...) belong to the inner one.
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
            "sync_period": self.sync_period,
            "slow_step_size": self.slow_step_size,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(
            config.pop("optimizer"), custom_objects=custom_objects
        )
        return cls(optimizer, **config)


__all__ = ["Lookahead", "lookahead_update"]
