"""Optimizer wrappers (adaptive gradient clipping) and in-graph gradient hooks."""

from keras_nnperf.optimizers.adaptive_clipping import AdaptiveGradientClipping
from keras_nnperf.optimizers.autoclip import AutoClip
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    gradient_hook_names,
    refresh_train_function,
    remove_gradient_hook,
)

__all__ = [
    "AdaptiveGradientClipping",
    "AutoClip",
    "add_gradient_hook",
    "gradient_hook_names",
    "refresh_train_function",
    "remove_gradient_hook",
]
