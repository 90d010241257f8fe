"""Numerical gradient check: analytic gradients against central differences, in float64."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import keras
import numpy as np
from keras import ops

from keras_nnperf.diagnostics._float64 import (
    cast_inputs,
    clone_in_dtype,
    float64_computation,
    precise_dtype,
    resolve_loss,
)
from keras_nnperf.diagnostics.gradients import compiled, value_and_gradients
from keras_nnperf.validation import check_choice, check_positive

# Step and pass threshold per dtype: in float64 central differences are good to ~1e-9, in
# float32 only to ~1e-3.
_DEFAULT_EPS = {"float64": 1e-6, "float32": 1e-3}
_DEFAULT_TOLERANCE = {"float64": 1e-4, "float32": 3e-2}
# Below this size (relative to the variable's largest gradient) an error counts as absolute:
# a gradient that is zero analytically is never exactly zero numerically.
_RELATIVE_FLOOR = 1e-3
# The rounding error of a central difference: f(w + eps) and f(w - eps) are each rounded to
# about one unit in the last place of |f|, so their difference over 2 eps is uncertain by about
# u |f| / (2 eps). Measured on a 6-layer sigmoid MLP in float64 (f = 2.5, eps = 1e-6): the
# numeric gradient of layers whose true gradient is 1e-13 came out as 0, +-2.2e-10, +-4.4e-10,
# i.e. 1 to 2 such units; 16 leaves a margin for losses summed over many terms. A gradient error
# smaller than that cannot be seen by finite differences at all, and counting it made every
# network with vanishing gradients "fail" the check.
_ROUNDING_ULPS = 16.0
# Each element is also compared at a 10x wider step and keeps the closer of the two. In float32
# the rounding of a network's loss is far above 16 units of |f|: every activation is rounded and
# the errors add up through the layers (binary crossentropy of saturated sigmoid outputs, where
# 1 - p keeps few digits, is the worst). On ReLU MLPs (PyTorch, float32) the step 1e-3 gave
# 0.919 for an exact 0.910 and 0.00727 for an exact 0.00111; the step 1e-2 gave 0.9104 and
# 0.00019. So the wide step's own noise is estimated from the two: the narrow difference's noise
# is 10x the wide one's and both have the same derivative (the truncation error, about
# eps^2 |f'''| / 6, is 1e-4 relative at 1e-2), so |narrow - wide| / 10 measures it, counted
# with a margin of 3. The narrow step covers a ReLU kink that the wide one crosses. A wrong
# derivative (a factor 2, a sign) is far from both differences, which agree with each other.
_WIDE_STEP = 10.0
_NOISE_MARGIN = 3.0


@dataclasses.dataclass(frozen=True)
class VariableCheck:
    """The check of one variable: path, shape, elements compared, worst errors.

    `rounding_error` is the largest finite-difference error allowed for the sampled elements
    (`allowed_i` of the step each kept, see `gradient_check`); differences below it are not
    counted in `max_relative_error`.
    """

    name: str
    shape: tuple
    checked: int
    max_relative_error: float
    max_absolute_error: float
    rounding_error: float = 0.0


@dataclasses.dataclass(frozen=True)
class GradientCheckResult:
    """What `gradient_check` measured.

    Attributes:
        variables: One `VariableCheck` per trainable variable, in the object's order.
        tolerance: The largest relative error that passes.
        eps: The finite-difference step.
        dtype: The dtype the check computed in.
    """

    variables: tuple
    tolerance: float
    eps: float
    dtype: str

    @property
    def failing(self) -> list[VariableCheck]:
        """The variables whose relative error exceeds `tolerance` (or is not finite)."""
        return [
            v
            for v in self.variables
            if not (math.isfinite(v.max_relative_error) and v.max_relative_error <= self.tolerance)
        ]

    @property
    def passed(self) -> bool:
        """True when every variable passed."""
        return not self.failing

    @property
    def max_relative_error(self) -> dict[str, float]:
        """The worst relative error per variable path."""
        return {v.name: v.max_relative_error for v in self.variables}

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        status = "PASSED" if self.passed else f"FAILED ({len(self.failing)} variable(s))"
        lines = [
            f"Gradient check {status}: {self.dtype}, eps={self.eps:g}, "
            f"tolerance={self.tolerance:g}",
            f"  {'variable':<40} {'shape':<16} {'checked':>7} {'max rel err':>12}",
        ]
        for v in self.variables:
            mark = "  <-- FAIL" if v in self.failing else ""
            lines.append(
                f"  {v.name:<40} {str(v.shape):<16} {v.checked:>7} "
                f"{v.max_relative_error:>12.3g}{mark}"
            )
        return "\n".join(lines)


def gradient_check(
    model_or_layer,
    x,
    y=None,
    eps: float | None = None,
    dtype: str | None = None,
    loss=None,
    max_elements_per_variable: int = 8,
    tolerance: float | None = None,
    seed: int | None = None,
) -> GradientCheckResult:
    """Compare analytic gradients with central differences for every trainable variable.

    The checked scalar is `f = mean(loss(y, model(x)))` (plus the model's regularization losses)
    when `y` is given, else `f = sum(output * r)` for a fixed random `r ~ N(0, 1/n)` of the
    output's shape. For each sampled element `w_i` of each variable,

        numeric_i(h) = (f(w_i + h) - f(w_i - h)) / (2 * h)
        rounding_i(h) = 16 * u * max(|f(w_i + h)|, |f(w_i - h)|, |f(w)|) / (2 * h)
        error_i(h) = max(0, |analytic_i - numeric_i(h)| - allowed_i(h))
                     / max(|analytic_i|, |numeric_i(h)|, floor)
        error_i = min(error_i(eps), error_i(10 * eps))

    with `allowed_i(eps) = rounding_i(eps)` and, for the wide step, its noise measured from the
    two differences: `allowed_i(10 eps) = max(rounding_i(10 eps),
    3 |numeric_i(eps) - numeric_i(10 eps)| / 10)`,

    where `u` is the dtype's unit roundoff (2.2e-16 in float64) and `floor = 1e-3 *
    max_i |analytic_i|` over the variable, so gradients that are zero (dead units) are compared
    in absolute terms. The wider step rescues an ill-conditioned float32 loss (saturated
    sigmoid outputs), the narrower one a step across a ReLU kink; a wrong derivative fails both.
    `rounding_i` is what the finite difference cannot resolve: the gradients
    of the first layers of a network whose gradients vanish (1e-13 against a loss of 2.5) are
    below it, and any disagreement there is rounding, not a wrong derivative. A variable passes
    when `max_i error_i <= tolerance`.

    The check runs on a copy rebuilt from the config under a `dtype` policy with the weights
    copied across; the object passed in is not modified. In float64 the copy is built and run
    inside `float64_computation()`, which makes JAX and PyTorch compute float64 in float64
    (Keras maps float64 results to float32 there otherwise). Layers are called with
    `training=False`, so Dropout and random activations (RReLU) are deterministic. The analytic
    gradients come from the backend's own differentiation (`tf.GradientTape`, `jax.grad`,
    `torch.autograd`) through `keras_nnperf.diagnostics.gradients.value_and_gradients`.

    Args:
        model_or_layer: A Keras layer, or a Sequential or functional model.
        x: Inputs (NumPy arrays, or a nest of them for several inputs). Keep them small.
        y: Targets; with `y` the model's compiled loss (or `loss`) is checked.
        eps: Finite-difference step. Defaults to 1e-6 in float64, 1e-3 in float32.
        dtype: `"float64"` or `"float32"`. Defaults to `"float64"` on every backend (float32
            only with a Keras whose float64 mapping `float64_computation` cannot switch).
        loss: A loss name, function or `keras.losses.Loss`, used with `y` instead of the
            compiled loss.
        max_elements_per_variable: Elements sampled per variable (two forward passes each).
            Defaults to 8.
        tolerance: Largest passing relative error. Defaults to 1e-4 in float64, 3e-2 in float32.
        seed: Seed for the sampled elements and for `r`.

    Returns:
        A `GradientCheckResult`; `result.passed`, `result.failing`, `print(result)`.

    Raises:
        ValueError: for a bad `dtype`, `eps`, `tolerance` or `max_elements_per_variable`, an
            object without trainable variables, `y` without a loss to check, or a model that
            is random at inference (`MCDropout`: two passes at the same weights differ).

    Example:
    ```python
    result = gradient_check(keras_nnperf.layers.PReLU(), np.random.randn(4, 3))
    assert result.passed, result
    ```

    Reference:
        Glorot & Bengio, 2010, and the standard practice of checking backpropagation against
        finite differences (LeCun et al., 1998, "Efficient BackProp").
    """
    if dtype is None:
        dtype = precise_dtype()
    dtype = check_choice("dtype", dtype, list(_DEFAULT_EPS))
    if dtype == "float64" and precise_dtype() != "float64":
        raise ValueError(
            f"This Keras computes in float32 on the {keras.backend.backend()} backend (it maps "
            "float64 results to float32), so a float64 check would silently mix precisions. "
            f"Use dtype='float32' or dtype=None. Received: {dtype=}"
        )
    eps = _DEFAULT_EPS[dtype] if eps is None else eps
    tolerance = _DEFAULT_TOLERANCE[dtype] if tolerance is None else tolerance
    eps = check_positive("eps", eps)
    tolerance = check_positive("tolerance", tolerance)
    max_elements_per_variable = check_positive(
        "max_elements_per_variable", max_elements_per_variable, integer=True
    )
    with float64_computation() if dtype == "float64" else contextlib.nullcontext():
        checks = _check(model_or_layer, x, y, loss, dtype, eps, max_elements_per_variable, seed)
    return GradientCheckResult(tuple(checks), float(tolerance), float(eps), dtype)


def _check(model_or_layer, x, y, loss, dtype, eps, max_elements_per_variable, seed) -> list:
    loss_fn = None
    if y is not None:
        loss_fn = resolve_loss(
            loss if loss is not None else getattr(model_or_layer, "loss", None), dtype
        )

    target = clone_in_dtype(model_or_layer, x, dtype)
    originals = model_or_layer.trainable_variables
    variables = target.trainable_variables
    if not variables:
        raise ValueError(f"There are no trainable variables to check. Received: {model_or_layer!r}")
    rng = np.random.default_rng(seed)
    inputs = cast_inputs(x, dtype)
    y64 = None if y is None else cast_inputs(y, dtype)
    projections = None
    if loss_fn is None:
        outputs = keras.tree.flatten(target(inputs, training=False))
        # Backend tensors: PyTorch cannot multiply a tensor that requires a gradient by a NumPy
        # array (it hands the product to NumPy, which refuses such a tensor).
        projections = [
            ops.convert_to_tensor(
                (rng.standard_normal(o.shape) / math.sqrt(max(1, int(np.prod(o.shape))))).astype(
                    dtype
                )
            )
            for o in outputs
        ]

    def objective():
        prediction = target(inputs, training=False)
        if loss_fn is None:
            return sum(
                ops.sum(o * r)
                for o, r in zip(keras.tree.flatten(prediction), projections, strict=True)
            )
        value = loss_fn(y64, prediction)
        for extra in target.losses:
            value = value + ops.cast(extra, dtype)
        return value

    value, analytic = value_and_gradients(objective, variables)
    value = abs(float(keras.ops.convert_to_numpy(value)))
    # Two forward passes per sampled element: a compiled function reads the variables afresh on
    # every call and saves the eager per-layer overhead (about 50x on a 10-layer MLP).
    evaluate = compiled(objective, variables)
    unit_roundoff = float(np.finfo(dtype).eps)
    _check_deterministic(model_or_layer, evaluate, unit_roundoff)

    checks = []
    for original, variable, grad in zip(originals, variables, analytic, strict=True):
        weights = keras.ops.convert_to_numpy(variable.value).copy()
        grad = keras.ops.convert_to_numpy(grad).reshape(weights.shape)
        count = min(weights.size, max_elements_per_variable)
        indices = rng.choice(weights.size, size=count, replace=False)
        exact = grad.flat[indices]
        floor = max(_RELATIVE_FLOOR * float(np.max(np.abs(grad))), 1e-12)
        narrow, narrow_rounding = _central_differences(variable, weights, indices, eps, evaluate)
        wide, wide_rounding = _central_differences(
            variable, weights, indices, _WIDE_STEP * eps, evaluate
        )
        # The narrow difference's noise is _WIDE_STEP times the wide one's, so their disagreement
        # measures the wide one's noise (see `_WIDE_STEP`).
        wide_rounding = np.maximum(
            wide_rounding, _NOISE_MARGIN * np.abs(narrow - wide) / _WIDE_STEP
        )
        best = None  # per element, the closer of the two
        for numeric, rounding, step in (
            (narrow, narrow_rounding, eps),
            (wide, wide_rounding, _WIDE_STEP * eps),
        ):
            rounding = np.maximum(rounding, _ROUNDING_ULPS * unit_roundoff * value / (2 * step))
            difference = np.abs(exact - numeric)
            scale = np.maximum(np.maximum(np.abs(exact), np.abs(numeric)), floor)
            candidate = (np.maximum(difference - rounding, 0.0) / scale, difference, rounding)
            if best is None:
                best = candidate
            else:
                closer = candidate[0] < best[0]
                best = tuple(np.where(closer, c, b) for c, b in zip(candidate, best, strict=True))
        variable.assign(weights)
        error, difference, rounding = best
        checks.append(
            VariableCheck(
                name=original.path,
                shape=tuple(weights.shape),
                checked=count,
                max_relative_error=float(np.max(error)),
                max_absolute_error=float(np.max(difference)),
                rounding_error=float(np.max(rounding)),
            )
        )
    return checks


def _check_deterministic(model_or_layer, evaluate, unit_roundoff: float) -> None:
    """Raise unless two passes at the same weights give the same `f` (to rounding).

    A layer random at inference (`MCDropout`) draws a new mask for every pass, so a central
    difference measures the noise, not the derivative: the doctor called a healthy MCDropout
    network's gradients wrong (relative errors 0.3-0.97 on TensorFlow and PyTorch).
    """
    first, second = (float(keras.ops.convert_to_numpy(evaluate())) for _ in range(2))
    if abs(first - second) > 64 * unit_roundoff * max(abs(first), abs(second), 1e-30):
        raise ValueError(
            "The model is random at inference (training=False), e.g. MCDropout: two passes on "
            f"the same inputs and weights gave {first!r} and {second!r}, so finite differences "
            "would measure that noise, not the gradient. Check a copy without the random layers, "
            f"or the other layers one by one. Received: {model_or_layer.name!r}"
        )


def _central_differences(variable, weights, indices, step, evaluate):
    """`(f(w_i + step) - f(w_i - step)) / (2 step)` per index, and its rounding error."""
    numeric, rounding = np.empty(len(indices)), np.empty(len(indices))
    unit_roundoff = float(np.finfo(weights.dtype).eps)
    for j, index in enumerate(indices):
        values = []
        for signed in (step, -step):
            perturbed = weights.copy()
            perturbed.flat[index] += signed
            variable.assign(perturbed)
            values.append(float(keras.ops.convert_to_numpy(evaluate())))
        numeric[j] = (values[0] - values[1]) / (2 * step)
        rounding[j] = _ROUNDING_ULPS * unit_roundoff * max(map(abs, values)) / (2 * step)
    return numeric, rounding
