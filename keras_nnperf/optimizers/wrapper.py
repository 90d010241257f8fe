"""`OptimizerWrapper`: the delegation every optimizer that wraps another one shares.

Like Keras's `LossScaleOptimizer`, a wrapper (`Lookahead`, the clipping optimizers) keeps its own
state in `_variables` and hands the update to `inner_optimizer`: the rate, the step counter and
the end-of-training values are the inner optimizer's. `wraps_inner_optimizer = True` tells
`keras_nnperf.optimizers.gradient_hooks.unscaled_optimizer` to put gradient hooks and scheduled
rates on that inner optimizer, the one whose rate is really applied.
"""

from __future__ import annotations

import keras


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Base of our optimizers that wrap another one (`self.inner_optimizer`)."""

    wraps_inner_optimizer = True

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

    def finalize_variable_values(self, var_list):
        """Delegate to the inner optimizer (its EMA weights, if it has `use_ema=True`)."""
        self.inner_optimizer.finalize_variable_values(var_list)
