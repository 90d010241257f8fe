import copy
import math

import pytest

from keras_nnperf.callbacks.monitor import MetricMonitor, infer_mode, resolve_mode


@pytest.mark.parametrize(
    "monitor, expected",
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("val_dense_3_loss", "min"),
        ("val_mae", "min"),
        ("mean_squared_error", "min"),
        ("val_root_mean_squared_error", "min"),
        ("val_false_negatives_2", "min"),
        ("val_accuracy", "max"),
        ("acc", "max"),
        ("val_sparse_categorical_accuracy", "max"),
        ("output_1_binary_accuracy", "max"),
        ("val_auc", "max"),
        ("val_auc_1", "max"),
        ("precision", "max"),
        ("val_recall_3", "max"),
        ("f1_score", "max"),
        ("val_r2_score", "max"),
        ("val_binary_crossentropy", "min"),
    ],
)
def test_infer_mode_knows_keras_metric_names(monitor, expected):
    assert infer_mode(monitor) == expected


@pytest.mark.parametrize("monitor", ["val_wobble", "throughput", "val_accumulated"])
def test_unknown_metric_raises_instead_of_guessing(monitor):
    with pytest.raises(ValueError, match=r'mode="min" or mode="max"'):
        infer_mode(monitor)


def test_explicit_mode_wins_over_the_name():
    assert resolve_mode("val_accuracy", "min") == "min"
    assert resolve_mode("val_wobble", "max") == "max"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"mode": "up"}, "mode"),
        ({"min_delta": -1.0}, "min_delta"),
        ({"min_delta_mode": "percent"}, "min_delta_mode"),
        ({"monitor": ""}, "monitor"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument {name} "):
        MetricMonitor(**kwargs)


def test_absolute_and_relative_min_delta():
    absolute = MetricMonitor("val_loss", min_delta=0.1)
    assert absolute.is_improvement(0.85, 1.0)
    assert not absolute.is_improvement(0.95, 1.0)
    relative = MetricMonitor("val_loss", min_delta=0.1, min_delta_mode="relative")
    assert relative.is_improvement(8.9, 10.0)
    assert not relative.is_improvement(9.5, 10.0)
    up = MetricMonitor("val_auc", min_delta=0.01)
    assert up.is_improvement(0.95, 0.93)
    assert not up.is_improvement(0.935, 0.93)


def test_first_finite_value_always_improves_and_nan_never_does():
    watcher = MetricMonitor("val_loss")
    assert watcher.is_improvement(123.0, watcher.worst_value)
    assert not watcher.is_improvement(math.nan, watcher.worst_value)
    assert not watcher.is_improvement(math.nan, 1.0)
    assert MetricMonitor("val_accuracy").worst_value == -math.inf


def test_missing_metric_warns_and_lists_what_exists():
    watcher = MetricMonitor("val_loss")
    with pytest.warns(UserWarning, match="Available metrics are: loss"):
        assert watcher.get_monitor_value({"loss": 1.0}) is None
    assert watcher.get_monitor_value({"val_loss": 0.5}) == 0.5


def test_deepcopy_keeps_the_rule():
    watcher = copy.deepcopy(MetricMonitor("val_auc", min_delta=0.05, min_delta_mode="relative"))
    assert (watcher.mode, watcher.min_delta, watcher.min_delta_mode) == ("max", 0.05, "relative")


def test_a_one_element_array_is_read_as_its_value():
    # Regression: Keras's F1Score logs a shape-(1,) array; `float(value)` raised on it.
    import keras
    import numpy as np

    monitor = MetricMonitor("val_f1_score")
    assert monitor.mode == "max"
    assert monitor.get_monitor_value({"val_f1_score": np.array([0.25], "float32")}) == 0.25
    tensor = keras.ops.convert_to_tensor(np.array([0.5], "float32"))
    assert monitor.get_monitor_value({"val_f1_score": tensor}) == 0.5
    assert monitor.get_monitor_value({"val_f1_score": np.float32(0.75)}) == 0.75


def test_several_values_raise_a_clear_error():
    import numpy as np

    monitor = MetricMonitor("val_f1_score")
    with pytest.raises(ValueError, match="average="):
        monitor.get_monitor_value({"val_f1_score": np.array([0.1, 0.9])})
