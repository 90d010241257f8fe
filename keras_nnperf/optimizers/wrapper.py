"""`OptimizerWrapper`: the delegation every optimizer that wraps another one shares.

Like Keras's `LossScaleOptimizer`, a wrapper (`Lookahead`, the clipping optimizers) keeps its own
state in `_variables` and hands the update to `inner_optimizer`: the rate, the step counter and
the end-of-training values are the inner optimizer's. `wraps_inner_optimizer = True` tells
`keras_nnperf.optimizers.gradient_hooks.unscaled_optimizer` to put gradient hooks and scheduled
rates on that inner optimizer, the one whose rate is really applied.
"""

from __future__ import annotations

import weakref

import keras

# wrapper -> the variables it was built with; outside the optimizer so TensorFlow's attribute
# tracking never saves model variables as optimizer dependencies.
_BUILT_WITH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Base of our optimizers that wrap another one (`self.inner_optimizer`)."""

    wraps_inner_optimizer = True

    def remember_built_with(self, var_list) -> None:
        """Record the variables `build` got, for `apply` calls that pass gradients only."""
        _BUILT_WITH[self] = list(var_list)

    def resolve_variables(self, trainable_variables) -> list:
        """The variables `apply` updates, building the wrapper on the first call if needed.

        JAX's `stateless_apply` passes only the gradients: then they are the built-with ones.
        """
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `trainable_variables`, the optimizer must be "
                    "built. Call `optimizer.build(trainable_variables)` first."
                )
            return _BUILT_WITH[self]
        variables = list(trainable_variables)
        if not self.built:
            with keras.name_scope(self.name):
                self.build(variables)
        return variables

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    # The momentum hyperparameters read and set as on the inner optimizer: a notebook's
    # `float(model.optimizer.beta_1)` works on `AutoClip(AdamW(...))` as on a bare AdamW (it
    # raised AttributeError), and reads the cycled value while `OneCycle` schedules it. An inner
    # optimizer without one (SGD has no `beta_1`) raises AttributeError, as it would.
    @property
    def beta_1(self):
        return self.inner_optimizer.beta_1

    @beta_1.setter
    def beta_1(self, value):
        self.inner_optimizer.beta_1 = value

    @property
    def momentum(self):
        return self.inner_optimizer.momentum

    @momentum.setter
    def momentum(self, value):
        self.inner_optimizer.momentum = value

    def finalize_variable_values(self, var_list):
        """Delegate to the inner optimizer (its EMA weights, if it has `use_ema=True`)."""
        self.inner_optimizer.finalize_variable_values(var_list)
