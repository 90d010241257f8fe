"""The one place that decides whether a monitored metric should go up or down.

Keras 3.15 takes a metric's direction from the metric object the model was compiled with (its
private `_direction`), so in `"auto"` mode its callbacks need the compiled model and cannot tell
a name they do not find there. Here the direction comes from the name alone, so it is known when
the callback is built and the same for every callback in this package: a metric name is matched
against the names Keras and common libraries use; an explicit `mode` always wins, and a name we
do not know raises instead of guessing. `MetricMonitor` is the base of every callback that
watches a metric (`PerformanceScheduler`, `EarlyStopping`), so they share the rule, the
`min_delta` semantics and the reading of `logs` (a one-element array, as Keras's `F1Score`
logs, is read as its value).
"""

from __future__ import annotations

import math
import re
import warnings

import keras
import numpy as np

from keras_nnperf.validation import check_choice, check_number

# Metrics where larger is better.
MAX_METRICS = frozenset(
    {
        "acc",
        "accuracy",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "auc",
        "pr_auc",
        "roc_auc",
        "precision",
        "recall",
        "f1",
        "f1_score",
        "fbeta_score",
        "r2",
        "r2_score",
        "iou",
        "mean_iou",
        "binary_iou",
        "one_hot_iou",
        "one_hot_mean_iou",
        "precision_at_recall",
        "recall_at_precision",
        "sensitivity_at_specificity",
        "specificity_at_sensitivity",
        "true_positives",
        "true_negatives",
        "cosine_similarity",
        "dice",
    }
)

# Metrics where smaller is better (besides anything ending in "loss").
MIN_METRICS = frozenset(
    {
        "loss",
        "error",
        "mse",
        "mae",
        "mape",
        "msle",
        "rmse",
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "root_mean_squared_error",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "binary_focal_crossentropy",
        "categorical_focal_crossentropy",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "kl_divergence",
        "kld",
        "kullback_leibler_divergence",
        "poisson",
        "log_cosh",
        "logcosh",
        "huber",
        "false_positives",
        "false_negatives",
        "perplexity",
        "ctc",
    }
)

MODES = ("auto", "min", "max")
MIN_DELTA_MODES = ("absolute", "relative")


def infer_mode(monitor: str) -> str:
    """Return `"min"` or `"max"`: the direction in which `monitor` improves.

    The `val_` prefix, a Keras uniqueness suffix (`auc_1`) and an output-name prefix
    (`dense_3_accuracy`) are ignored. Names ending in `loss` or `error` go down.

    Raises:
        ValueError: when the name is not one we know; pass `mode="min"` or `mode="max"`.
    """
    name = monitor.lower()
    if name.startswith("val_"):
        name = name[4:]
    name = re.sub(r"_\d+$", "", name)
    if name.endswith("loss") or name.endswith("error"):
        return "min"
    # The longest known metric name that ends the monitored name decides, so
    # "dense_3_sparse_categorical_accuracy" is an accuracy and "output_mse" an error.
    best, best_len = None, 0
    for table, mode in ((MAX_METRICS, "max"), (MIN_METRICS, "min")):
        for metric in table:
            if (name == metric or name.endswith("_" + metric)) and len(metric) > best_len:
                best, best_len = mode, len(metric)
    if best is None:
        raise ValueError(
            f"Cannot tell whether the metric {monitor!r} should go up or down. Pass "
            f'mode="min" or mode="max". Received: monitor={monitor!r}, mode="auto"'
        )
    return best


def resolve_mode(monitor: str, mode: str) -> str:
    """Validate `mode` and resolve `"auto"` with `infer_mode`."""
    check_choice("mode", mode, MODES)
    return infer_mode(monitor) if mode == "auto" else mode


class MetricMonitor(keras.callbacks.Callback):
    """Base for callbacks that react to a monitored metric.

    Args:
        monitor: Name of the metric in `logs`, for example `"val_loss"` or `"val_auc"`.
        mode: `"auto"`, `"min"` or `"max"`. In `"auto"` the direction comes from the metric's
            name (see `infer_mode`); an unknown name raises `ValueError`.
        min_delta: Smallest change that counts as an improvement (>= 0).
        min_delta_mode: `"absolute"`: improve by more than `min_delta`;
            `"relative"`: improve by more than `min_delta * |best|`.

    Raises:
        ValueError: for a bad `mode`, `min_delta` or `min_delta_mode`, or an unknown metric in
            auto mode.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        min_delta: float = 0.0,
        min_delta_mode: str = "absolute",
    ):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(
                f"Argument monitor must be a non-empty metric name. Received: monitor={monitor!r}"
            )
        min_delta = check_number("min_delta", min_delta, low=0.0)
        check_choice("min_delta_mode", min_delta_mode, MIN_DELTA_MODES)
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.min_delta = float(min_delta)
        self.min_delta_mode = min_delta_mode

    @property
    def worst_value(self) -> float:
        """The value every real measurement improves on."""
        return math.inf if self.mode == "min" else -math.inf

    def is_improvement(self, current: float, reference: float) -> bool:
        """True when `current` beats `reference` by more than `min_delta`."""
        if not math.isfinite(reference):
            return math.isfinite(current)
        delta = self.min_delta
        if self.min_delta_mode == "relative":
            delta *= abs(reference)
        if self.mode == "min":
            return current < reference - delta
        return current > reference + delta

    def get_monitor_value(self, logs: dict | None) -> float | None:
        """The monitored value from `logs` as a float, or `None` (with a warning) if absent.

        Raises:
            ValueError: when the logged value has more than one element (for example
                `F1Score(average=None)`, one score per class): nothing says which to follow.
        """
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"{type(self).__name__}: the monitored metric {self.monitor!r} is not in logs. "
                f"Available metrics are: {', '.join(sorted(logs))}",
                stacklevel=2,
            )
            return None
        return scalar_metric(self.monitor, value)


def scalar_metric(name: str, value) -> float:
    """`value` (a number, or an array or tensor with one element) as a Python float.

    Keras's `F1Score` and `FBetaScore` log a shape-(1,) array for a binary problem, and a
    one-element value is that number. A value with several elements (one per class) raises.

    Raises:
        ValueError: for a value with more than one element.
    """
    array = np.asarray(keras.ops.convert_to_numpy(value) if hasattr(value, "shape") else value)
    if array.size != 1:
        raise ValueError(
            f"The monitored metric {name!r} must be one number, but logs hold {array.size} values "
            f"(shape {array.shape}); for F1Score / FBetaScore pass average='micro', 'macro' or "
            f"'weighted'. Received: {name}={value!r}"
        )
    return float(array.reshape(()))
