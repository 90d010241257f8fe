"""Alert rules for training diagnostics, and the fix that goes with each alert.

The rules are pure functions of per-layer statistics (the epoch aggregates that `GradientMonitor`
and `ActivationMonitor` gather), so the model doctor (`keras_nnperf.diagnostics`) can apply the
same rules and quote the same remedies. Layers are always given in forward order, input first.

An alert is raised with `warnings.warn(message, category)`, where `category` is `GradientAlert` or
`ActivationAlert` (both `TrainingAlert`, a `UserWarning`), so the usual warning filters work:
`warnings.simplefilter("error", GradientAlert)` turns them into exceptions in a test.
`AlertTracker` raises each (kind, layer) pair once (per monitor), never every epoch.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping

from keras_nnperf.validation import check_number, check_positive


class TrainingAlert(UserWarning):
    """Base category of every keras_nnperf training alert."""


class GradientAlert(TrainingAlert):
    """Gradients vanish or explode (raised by `GradientMonitor`)."""


class ActivationAlert(TrainingAlert):
    """Units are dead or saturated (raised by `ActivationMonitor`)."""


VANISHING_GRADIENTS_FIX = (
    "use a ReLU-family activation (relu, leaky_relu, gelu, silu, mish) instead of sigmoid/tanh in "
    "hidden layers; initialize for the activation (keras_nnperf.initializers.for_activation, e.g. "
    "He normal for ReLU); add batch normalization between layers; add residual connections so "
    "the gradient has a short path to early layers."
)
EXPLODING_GRADIENTS_FIX = (
    "clip the gradients (optimizer clipnorm=1.0 or "
    "keras_nnperf.optimizers.adaptive_clipping.AdaptiveGradientClipping / AutoClip); lower the "
    "learning rate (keras_nnperf.callbacks.lr_finder.lr_find picks one); warm the learning rate "
    "up over the first steps; check the inputs are standardized."
)
DEAD_UNITS_FIX = (
    "use an activation that never dies (leaky_relu, PReLU, RReLU, ELU, gelu); lower the learning "
    "rate; initialize with He normal (keras_nnperf.initializers.for_activation('relu')) and zero "
    "biases; add batch normalization before the activation."
)
SATURATED_UNITS_FIX = (
    "use a non-saturating activation (ReLU family) in hidden layers; standardize the inputs; "
    "initialize for the activation (Glorot for tanh/sigmoid); add batch normalization before "
    "the activation."
)

#: Remedy text for each alert kind, for reuse by reports and the model doctor.
REMEDIES: dict[str, str] = {
    "vanishing": VANISHING_GRADIENTS_FIX,
    "exploding": EXPLODING_GRADIENTS_FIX,
    "dead": DEAD_UNITS_FIX,
    "saturated": SATURATED_UNITS_FIX,
}

_CATEGORIES: dict[str, type[TrainingAlert]] = {
    "vanishing": GradientAlert,
    "exploding": GradientAlert,
    "dead": ActivationAlert,
    "saturated": ActivationAlert,
}


@dataclasses.dataclass(frozen=True)
class Alert:
    """One finding: its `kind` (a key of `REMEDIES`), the `layer` and what was measured."""

    kind: str
    layer: str
    detail: str

    @property
    def fix(self) -> str:
        """The remedy for this kind of alert."""
        return REMEDIES[self.kind]

    @property
    def category(self) -> type[TrainingAlert]:
        """The warning category the alert is raised with."""
        return _CATEGORIES[self.kind]

    @property
    def message(self) -> str:
        """The full warning text: what, where, how much, and the fix."""
        where = f"{self.kind} {_NOUNS[self.kind]} in layer {self.layer!r}"
        return f"{where}: {self.detail}. Fix: {self.fix}"


_NOUNS = {"vanishing": "gradients", "exploding": "gradients", "dead": "units", "saturated": "units"}


def vanishing_gradient_alerts(
    grad_norms: Mapping[str, float], floor: float = 1e-7, ratio: float = 1e-2
) -> list[Alert]:
    """Layers whose gradient norm vanished.

    Layer `i` is flagged when `norm_i < floor`, or when it lies before the last layer and
    `norm_i < ratio * norm_last` (orders of magnitude below the output layer's norm).

    Args:
        grad_norms: Mean gradient norm per layer, in forward order.
        floor: Absolute floor. Defaults to 1e-7.
        ratio: Smallest healthy ratio to the last layer's norm. Defaults to 1e-2 (two orders
            of magnitude); a 20-layer ReLU + He-initialized MLP stays within a factor of 3.

    Returns:
        The alerts, in layer order.

    Raises:
        ValueError: if `floor` or `ratio` is not > 0.

    Example:
    ```python
    vanishing_gradient_alerts({"dense": 1e-9, "dense_1": 0.1})  # flags "dense"
    ```

    Reference:
        Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward
        neural networks".
    """
    check_positive("floor", floor)
    check_positive("ratio", ratio)
    names = list(grad_norms)
    last = grad_norms[names[-1]] if names else math.nan
    alerts = []
    for index, name in enumerate(names):
        norm = grad_norms[name]
        if not math.isfinite(norm):
            continue
        if norm < floor:
            alerts.append(Alert("vanishing", name, f"gradient norm {norm:.3g} < floor {floor:g}"))
        elif index < len(names) - 1 and math.isfinite(last) and norm < ratio * last:
            alerts.append(
                Alert(
                    "vanishing",
                    name,
                    f"gradient norm {norm:.3g} is {last / max(norm, 1e-300):.3g}x below the last "
                    f"layer's {last:.3g} (threshold {1 / ratio:g}x)",
                )
            )
    return alerts


def exploding_gradient_alerts(
    grad_norms: Mapping[str, float],
    grad_norms_max: Mapping[str, float] | None = None,
    ceiling: float = 1e3,
    ratio: float = 1e3,
) -> list[Alert]:
    """Layers whose gradient norm exploded.

    Layer `i` is flagged when its norm is not finite, when `max_norm_i > ceiling`, or when it lies
    before the last layer and `norm_i > ratio * norm_last` (gradients grow going backwards).

    Args:
        grad_norms: Mean gradient norm per layer, in forward order.
        grad_norms_max: Largest gradient norm per layer over the epoch; defaults to `grad_norms`.
        ceiling: Absolute ceiling. Defaults to 1e3.
        ratio: Largest healthy ratio to the last layer's norm. Defaults to 1e3.

    Returns:
        The alerts, in layer order.

    Raises:
        ValueError: if `ceiling` or `ratio` is not > 0.

    Example:
    ```python
    exploding_gradient_alerts({"dense": float("nan"), "dense_1": 0.1})  # flags "dense"
    ```

    Reference:
        Pascanu et al., 2013, "On the difficulty of training recurrent neural networks".
    """
    check_positive("ceiling", ceiling)
    check_positive("ratio", ratio)
    grad_norms_max = grad_norms if grad_norms_max is None else grad_norms_max
    names = list(grad_norms)
    last = grad_norms[names[-1]] if names else math.nan
    alerts = []
    for index, name in enumerate(names):
        norm, peak = grad_norms[name], grad_norms_max.get(name, grad_norms[name])
        if not (math.isfinite(norm) and math.isfinite(peak)):
            alerts.append(Alert("exploding", name, "the gradient is not finite (inf or NaN)"))
        elif peak > ceiling:
            alerts.append(
                Alert("exploding", name, f"gradient norm reached {peak:.3g} > ceiling {ceiling:g}")
            )
        elif index < len(names) - 1 and math.isfinite(last) and norm > ratio * max(last, 1e-300):
            alerts.append(
                Alert(
                    "exploding",
                    name,
                    f"gradient norm {norm:.3g} is {norm / max(last, 1e-300):.3g}x the last "
                    f"layer's {last:.3g} (threshold {ratio:g}x)",
                )
            )
    return alerts


def dead_unit_alerts(dead_fractions: Mapping[str, float], threshold: float = 0.5) -> list[Alert]:
    """Layers where more than `threshold` of the units output zero for every probe sample.

    Args:
        dead_fractions: Fraction of dead units per layer (ReLU-family layers only).
        threshold: Largest healthy fraction, in (0, 1]. Defaults to 0.5.

    Returns:
        The alerts, in layer order.

    Raises:
        ValueError: if `threshold` is not in (0, 1].

    Example:
    ```python
    dead_unit_alerts({"dense": 0.9})  # flags "dense"
    ```

    Reference:
        Lu et al., 2019, "Dying ReLU and Initialization: Theory and Numerical Examples".
    """
    check_number("threshold", threshold, low=0.0, high=1.0, low_open=True)
    return [
        Alert(
            "dead", name, f"{fraction:.0%} of the units never activate (threshold {threshold:.0%})"
        )
        for name, fraction in dead_fractions.items()
        if fraction > threshold
    ]


def saturation_alerts(
    saturated_fractions: Mapping[str, float], threshold: float = 0.5
) -> list[Alert]:
    """Layers where more than `threshold` of sigmoid/tanh outputs sit at the flat ends.

    Args:
        saturated_fractions: Fraction of saturated outputs per layer (sigmoid/tanh layers only).
        threshold: Largest healthy fraction, in (0, 1]. Defaults to 0.5.

    Returns:
        The alerts, in layer order.

    Raises:
        ValueError: if `threshold` is not in (0, 1].

    Example:
    ```python
    saturation_alerts({"dense": 0.8})  # flags "dense"
    ```

    Reference:
        Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward
        neural networks".
    """
    check_number("threshold", threshold, low=0.0, high=1.0, low_open=True)
    return [
        Alert(
            "saturated",
            name,
            f"{fraction:.0%} of the outputs are saturated (threshold {threshold:.0%})",
        )
        for name, fraction in saturated_fractions.items()
        if fraction > threshold
    ]


class AlertTracker:
    """Raise each (kind, layer) alert once; remember every alert raised in `raised`.

    Example:
    ```python
    tracker = AlertTracker()
    tracker.warn(dead_unit_alerts({"dense": 0.9}))  # warns
    tracker.warn(dead_unit_alerts({"dense": 0.9}))  # silent: already raised
    ```
    """

    def __init__(self):
        self.raised: list[Alert] = []
        self._seen: set[tuple[str, str]] = set()

    def warn(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Raise the alerts not raised before; return them."""
        new = []
        for alert in alerts:
            key = (alert.kind, alert.layer)
            if key in self._seen:
                continue
            self._seen.add(key)
            new.append(alert)
            warnings.warn(alert.message, alert.category, stacklevel=3)
        self.raised.extend(new)
        return new

    def reset(self) -> None:
        """Forget what was raised, so the next run warns again."""
        self.raised.clear()
        self._seen.clear()
