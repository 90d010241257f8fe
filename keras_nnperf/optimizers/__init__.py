"""Optimizer wrappers (adaptive gradient clipping), in-graph gradient hooks, and fit guards."""

from keras_nnperf.optimizers.adaptive_clipping import AdaptiveGradientClipping
from keras_nnperf.optimizers.autoclip import AutoClip
from keras_nnperf.optimizers.fit_guard import guard_fit, unguard_fit
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    gradient_hook_names,
    refresh_train_function,
    remove_gradient_hook,
)
from keras_nnperf.optimizers.lookahead import Lookahead

__all__ = [
    "AdaptiveGradientClipping",
    "AutoClip",
    "Lookahead",
    "add_gradient_hook",
    "gradient_hook_names",
    "guard_fit",
    "refresh_train_function",
    "remove_gradient_hook",
    "unguard_fit",
]
