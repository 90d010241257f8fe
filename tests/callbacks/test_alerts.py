import math
import warnings

import pytest

from keras_nnperf.callbacks.alerts import (
    REMEDIES,
    ActivationAlert,
    Alert,
    AlertTracker,
    GradientAlert,
    TrainingAlert,
    dead_unit_alerts,
    exploding_gradient_alerts,
    saturation_alerts,
    vanishing_gradient_alerts,
)


def test_vanishing_rule_uses_floor_and_ratio_to_last_layer():
    norms = {"a": 1e-5, "b": 2e-3, "c": 0.5, "d": 1e-8, "out": 1.0}
    alerts = vanishing_gradient_alerts(norms, floor=1e-7, ratio=1e-2)
    assert [a.layer for a in alerts] == ["a", "b", "d"]
    assert "floor" in alerts[2].detail and "below the last layer" in alerts[0].detail
    assert vanishing_gradient_alerts({"a": 0.2, "out": 1.0}) == []
    # The last layer is only checked against the floor.
    assert [a.layer for a in vanishing_gradient_alerts({"a": 1.0, "out": 1e-9})] == ["out"]


def test_exploding_rule_flags_non_finite_ceiling_and_growth():
    norms = {"a": math.nan, "b": 5.0, "c": 2e3, "out": 1e-3}
    peaks = {"a": math.nan, "b": 5e3, "c": 2e3, "out": 1e-3}
    alerts = exploding_gradient_alerts(norms, peaks, ceiling=1e3, ratio=1e4)
    assert [a.layer for a in alerts] == ["a", "b", "c"]
    assert "not finite" in alerts[0].detail and "ceiling" in alerts[1].detail
    growth = exploding_gradient_alerts({"a": 50.0, "out": 0.01}, ceiling=1e3, ratio=1e3)
    assert [a.layer for a in growth] == ["a"] and "the last layer" in growth[0].detail
    assert exploding_gradient_alerts({"a": 1.0, "out": 0.5}) == []


def test_unit_rules_use_strict_thresholds():
    assert [a.layer for a in dead_unit_alerts({"a": 0.5, "b": 0.51}, 0.5)] == ["b"]
    assert [a.layer for a in saturation_alerts({"a": 0.9, "b": 0.1}, 0.5)] == ["a"]


def test_alert_message_carries_the_fix_and_category():
    alert = Alert("dead", "dense", "90% of the units never activate")
    assert alert.category is ActivationAlert and issubclass(ActivationAlert, TrainingAlert)
    assert Alert("vanishing", "d", "x").category is GradientAlert
    assert alert.message.startswith("dead units in layer 'dense': 90%")
    assert alert.message.endswith("Fix: " + REMEDIES["dead"])
    assert set(REMEDIES) == {"vanishing", "exploding", "dead", "saturated"}
    assert "AdaptiveGradientClipping" in REMEDIES["exploding"]
    assert "for_activation" in REMEDIES["vanishing"] and "residual" in REMEDIES["vanishing"]


def test_tracker_warns_once_per_kind_and_layer():
    tracker = AlertTracker()
    alerts = dead_unit_alerts({"a": 1.0, "b": 1.0}) + saturation_alerts({"a": 1.0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(tracker.warn(alerts)) == 3
        assert tracker.warn(alerts) == []
        assert tracker.warn(dead_unit_alerts({"c": 1.0}))[0].layer == "c"
    assert len(caught) == 4
    assert all(issubclass(w.category, ActivationAlert) for w in caught)
    assert len(tracker.raised) == 4
    tracker.reset()
    with pytest.warns(ActivationAlert):
        tracker.warn(alerts[:1])


@pytest.mark.parametrize(
    "call",
    [
        lambda: vanishing_gradient_alerts({}, floor=0),
        lambda: vanishing_gradient_alerts({}, ratio=-1),
        lambda: exploding_gradient_alerts({}, ceiling=0),
        lambda: dead_unit_alerts({}, threshold=0),
        lambda: saturation_alerts({}, threshold=1.5),
    ],
)
def test_bad_thresholds_raise(call):
    with pytest.raises(ValueError, match="Received"):
        call()
