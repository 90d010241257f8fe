"""The model doctor: run every check on a model and its data, and rank what it finds."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks.alerts import REMEDIES
from keras_nnperf.callbacks.lr_finder import lr_find
from keras_nnperf.diagnostics._float64 import resolve_loss
from keras_nnperf.diagnostics.gradient_check import gradient_check
from keras_nnperf.diagnostics.input_checks import check_inputs
from keras_nnperf.diagnostics.loss_checks import check_loss_fits_output, loss_name_and_logits
from keras_nnperf.diagnostics.model_checks import (
    check_architecture,
    check_constant_kernels,
    check_output_dropout,
    check_regularization,
    hidden_activations,
)
from keras_nnperf.diagnostics.noise_scale import measure_noise_scale
from keras_nnperf.diagnostics.report import DiagnosisReport, Finding
from keras_nnperf.diagnostics.signal_propagation import signal_propagation
from keras_nnperf.initializers.baseline import baseline_prediction
from keras_nnperf.validation import check_bool, check_integer, check_seed

#: The learning rate is flagged when it is more than `LR_ABOVE` times the LR range test's
#: suggestion (`lr_find`'s default rule: the doctor has no rule of its own) or less than
#: 1 / `LR_BELOW` of it. The suggestion is a peak rate (1Cycle's `max_lr`); a constant rate sits
#: well below it (Adam's 1e-3 against suggestions of 0.007-0.03 on a small MLP), so only two
#: orders of magnitude below count as too slow.
LR_ABOVE = 10.0
LR_BELOW = 100.0
#: The initial loss against the trivial baseline's (the best constant prediction): above
#: `BASELINE_INFO_RATIO` an info, above `BASELINE_WARNING_RATIO` a warning, above
#: `BASELINE_ERROR_RATIO` an error. Keras's default Glorot head starts a logistic regression on
#: standardized, correlated features (breast cancer) at 0.9-2.6x, a two-layer ReLU classifier at
#: 1.1-1.8x: worth knowing, not alarming. The default regression MLP at 4.5x is.
BASELINE_INFO_RATIO = 1.1
BASELINE_WARNING_RATIO = 3.0
BASELINE_ERROR_RATIO = 10.0
#: The batch size is reported when it is more than `NOISE_SCALE_RATIO` times below or above the
#: gradient noise scale `B_noise` (McCandlish et al. 2018). Steps to a given loss go as
#: `1 + B_noise / B` times their minimum and examples as `1 + B / B_noise`: at a factor of 10
#: either way one of them is 11x its minimum. Only an info: the noise scale measured before
#: training is a lower bound (it grows as the loss falls, 10x or more in the paper), and
#: whether bigger batches are cheaper per step depends on the hardware.
NOISE_SCALE_RATIO = 10.0
#: Micro-batches per big batch, and big batches drawn, for the noise-scale estimate.
NOISE_SCALE_PARTS = 8
NOISE_SCALE_STEPS = 8

_INIT_FIX = (
    "Initialize each layer for its activation (keras_nnperf.initializers.for_activation: He for "
    "ReLU family, Glorot for tanh/sigmoid, LeCun for SELU) or run keras_nnperf.initializers.lsuv; "
    "add batch normalization."
)
_SIGNAL_FINDINGS = {
    "vanishing_gradients": ("warning", "Gradients shrink on the way back", REMEDIES["vanishing"]),
    "exploding_gradients": ("warning", "Gradients grow on the way back", REMEDIES["exploding"]),
    "vanishing_activations": ("warning", "Activations shrink with depth", _INIT_FIX),
    "exploding_activations": ("warning", "Activations grow with depth", _INIT_FIX),
    "non_finite": ("error", "A layer produces NaN or inf", REMEDIES["exploding"]),
}


def _head(data, count: int):
    return keras.tree.map_structure(lambda a: np.asarray(a)[:count], data)


def _sample(data, rows: np.ndarray):
    """The given rows of every array in `data` (in the order given)."""
    return keras.tree.map_structure(lambda a: np.asarray(a)[rows], data)


def _sample_rows(num_samples: int, count: int, seed) -> np.ndarray:
    """`count` distinct rows drawn at random (seeded), in random order; all rows if fewer.

    Users pass sorted arrays (by date, by class, by target): the first rows are not a sample of
    the data, and a baseline or a signal measured on them misleads.
    """
    rows = np.random.default_rng(seed).permutation(num_samples)
    return rows[: min(count, num_samples)]


def _num_samples(x) -> int:
    return len(np.asarray(keras.tree.flatten(x)[0]))


def _skipped(code: str, what: str, reason: str) -> Finding:
    return Finding("info", code, f"{what} was skipped", {"reason": reason}, "")


def _signal_findings(signal) -> list[Finding]:
    findings = []
    for flag in signal.flags:
        severity, title, fix = _SIGNAL_FINDINGS[flag.kind]
        code = "non_finite_signal" if flag.kind == "non_finite" else flag.kind
        evidence = {"layer": flag.layer, "ratio": flag.ratio, "threshold": flag.threshold}
        evidence["activation_std"] = [r.forward_std for r in signal.rows]
        evidence["gradient_std"] = [r.backward_std for r in signal.rows]
        if flag.kind != "non_finite":
            title = (
                f"{title}: std ratio {flag.ratio:.3g} between the first and the last hidden "
                f"layer (threshold {flag.threshold:g})"
            )
        findings.append(Finding(severity, code, f"{title} at {flag.layer!r}", evidence, fix))
    return findings


def _learning_rate_findings(model, x, y, steps: int, batch_size: int) -> tuple[list, dict]:
    try:
        with warnings.catch_warnings():  # the fallback is reported in the finding below
            warnings.simplefilter("ignore")
            result = lr_find(model, x, y, batch_size=batch_size, num_steps=steps)
    except ValueError as err:  # lr_find's "no finite loss": the model cannot train at any rate.
        return [
            Finding(
                "error",
                "lr_range_test_failed",
                "The learning-rate range test recorded no finite loss",
                {"reason": str(err)},
                REMEDIES["exploding"],
            )
        ], {}
    lr = float(np.asarray(model.optimizer.learning_rate))
    suggested = float(result.suggestion)
    facts = {"learning_rate": lr, "suggested_lr": suggested}
    if not (math.isfinite(suggested) and suggested > 0):
        return [], facts
    if suggested / LR_BELOW <= lr <= suggested * LR_ABOVE:
        return [], facts
    direction = "above" if lr > suggested else "below"
    factor = max(lr / suggested, suggested / lr)
    evidence = {"learning_rate": lr, "suggested_lr": suggested}
    reason = getattr(result, "reason", None)
    if reason:
        evidence["how_suggested"] = reason
    finding = Finding(
        "warning",
        "lr_far_from_range_test",
        f"The learning rate {lr:.3g} is {factor:.0f}x {direction} what the LR range test suggests",
        evidence,
        f"Set the optimizer's learning_rate to about {suggested:.2g} "
        "(keras_nnperf.callbacks.lr_finder.lr_find), or use it as max_lr of a 1Cycle schedule.",
    )
    return [finding], facts


def _noise_scale_findings(model, x, y, batch_size: int, seed) -> tuple[list, dict]:
    """The gradient noise scale at the current weights, and the batch size against it."""
    big = NOISE_SCALE_PARTS * batch_size
    try:
        result = measure_noise_scale(
            model, x, y, small=batch_size, big=big, steps=NOISE_SCALE_STEPS, seed=seed
        )
    except (ValueError, TypeError) as err:  # several losses or outputs, a loss we cannot call
        return [_skipped("noise_scale_skipped", "The gradient noise scale", str(err))], {}
    noise = result.noise_scale
    facts = {"noise_scale": noise, "noise_scale_batch_size": batch_size}
    evidence = {
        "batch_size": batch_size,
        "noise_scale": noise,
        "gradient_sq": result.gradient_sq,
        "trace_sigma": result.trace_sigma,
        "measured_with": [batch_size, big],
    }
    retune = (
        "Scale the learning rate with the batch (linearly for SGD, with a warm-up: Goyal et al. "
        "2017; keras_nnperf.callbacks.lr_finder.lr_find finds it again)."
    )
    if not math.isfinite(noise):
        if not result.trace_sigma > 0:
            return [], facts
        finding = Finding(
            "info",
            "batch_size_below_noise_scale",
            f"The gradient is lost in the noise at batch sizes {batch_size} and {big}: the "
            f"gradient noise scale (the critical batch size) is probably above {big}, so larger "
            "batches would cut the number of steps almost in proportion",
            evidence,
            "If the hardware runs larger batches in about the same time per step, raise "
            f"batch_size several-fold. {retune}",
        )
        return [finding], facts
    if batch_size * NOISE_SCALE_RATIO < noise:
        finding = Finding(
            "info",
            "batch_size_below_noise_scale",
            f"The batch size {batch_size} is {noise / batch_size:.0f}x below the gradient noise "
            f"scale ({noise:.3g} examples, the critical batch size): training takes about "
            f"{result.steps_factor(batch_size):.0f}x the minimum number of steps, and larger "
            "batches would cut them almost in proportion",
            evidence,
            "If the hardware runs larger batches in about the same time per step, raise "
            f"batch_size toward {noise:.0f}. {retune}",
        )
        return [finding], facts
    if batch_size > NOISE_SCALE_RATIO * noise:
        finding = Finding(
            "info",
            "batch_size_above_noise_scale",
            f"The batch size {batch_size} is {batch_size / noise:.0f}x above the gradient noise "
            f"scale ({noise:.3g} examples, the critical batch size): each step processes about "
            f"{result.examples_factor(batch_size):.0f}x the examples it needs, most of them "
            "without cutting the number of steps",
            evidence,
            f"Try a smaller batch_size (toward {max(noise, 1.0):.0f}) for the same steps at less "
            "compute, or keep it and train fewer epochs. The noise scale grows as the loss "
            "falls: measure it during training with "
            "keras_nnperf.callbacks.GradientNoiseScale before deciding.",
        )
        return [finding], facts
    return [], facts


def _constant_prediction(activation: str, task: str, bias: np.ndarray, count: int) -> np.ndarray:
    if activation == "sigmoid":
        values = 1 / (1 + np.exp(-bias))
    elif activation == "softmax":
        values = np.exp(bias - bias.max()) / np.exp(bias - bias.max()).sum()
    else:  # a linear head: the value itself, or logits the loss reads with from_logits=True
        values = bias
    return np.broadcast_to(values.astype("float32"), (count, len(values)))


def _rows(data, start: int, stop: int):
    return keras.tree.map_structure(lambda a: np.asarray(a)[start:stop], data)


def _gradient_findings(model, x, y, seed) -> list:
    """`wrong_gradients` when `gradient_check` fails, confirmed on other samples in float32.

    In float64 (every backend) one check on 16 samples decides. In float32 (an explicit
    choice, or a Keras without the float64 switch of `_float64.float64_computation`) the
    finite-difference steps are 1e-3 and 1e-2 (`gradient_check`), wide enough to straddle
    a ReLU kink: on PyTorch a healthy digits ReLU MLP "failed" with a relative error of
    0.29 on one element of its first bias, whose unit had a pre-activation 6e-4 from zero on one
    of the 16 samples, while its exact float64 gradient matched backpropagation. A kink is one
    element on one sample; a wrong derivative (a missing factor, a sign) is wrong everywhere. So
    a float32 failure counts only for the variables that fail again on the next 16 samples
    (the same ones if there are no more) with other sampled elements.
    """

    def check(rows, check_seed):
        return gradient_check(
            model,
            _rows(x, *rows),
            _rows(y, *rows) if y is not None else None,
            max_elements_per_variable=4,
            seed=check_seed,
        )

    try:
        result = check((0, 16), seed)
        failing = {v.name: v.max_relative_error for v in result.failing}
        if failing and result.dtype == "float32":
            rows = (16, 32) if _num_samples(x) >= 32 else (0, 16)
            again = check(rows, None if seed is None else seed + 1)
            confirmed = {v.name for v in again.failing}
            failing = {name: error for name, error in failing.items() if name in confirmed}
    except (ValueError, TypeError) as err:  # a model that cannot be rebuilt in float64
        return [_skipped("gradient_check_skipped", "The gradient check", str(err))]
    if not failing:
        return []
    return [
        Finding(
            "error",
            "wrong_gradients",
            "Backpropagated gradients disagree with finite differences",
            {"variables": failing, "dtype": result.dtype},
            "A custom layer or custom_gradient computes a wrong derivative: check it "
            "with keras_nnperf.diagnostics.gradient_check(layer, x) and fix its "
            "gradient function.",
        )
    ]


def _baseline_findings(model, x, y) -> tuple[list, dict]:
    """The initial loss against the trivial baseline's, on the same samples and loss."""
    try:
        activation, task, bias = baseline_prediction(model, y)
        loss_fn = resolve_loss(model.loss, "float32")
        predictions = model(x, training=False)
        # convert_to_numpy: on PyTorch the loss carries the weights' autograd graph.
        initial = float(ops.convert_to_numpy(loss_fn(y, ops.cast(predictions, "float32"))))
        constant = _constant_prediction(activation, task, bias, len(np.asarray(y)))
        baseline = float(ops.convert_to_numpy(loss_fn(y, constant)))
    except (ValueError, TypeError) as err:  # a head with no baseline (tanh), targets that do
        # not fit the loss: the loss checks report the mismatch itself.
        return [_skipped("baseline_check_skipped", "The baseline comparison", str(err))], {}
    if not baseline > 0:
        # The sampled targets are one value, which a constant predicts exactly (a target
        # spanning 50 orders of magnitude, standardized, is one float32 value but for its few
        # largest): any loss is "infinitely" above it, a false error; the ratio says nothing.
        return [
            _skipped(
                "baseline_check_skipped",
                "The baseline comparison",
                f"the sampled targets are all one value (the constant's loss is {baseline:.3g})",
            )
        ], {"current_loss": initial, "baseline_loss": baseline}
    ratio = initial / baseline
    # "current": the doctor usually runs before training, but a trained model is measured too.
    facts = {"current_loss": initial, "baseline_loss": baseline, "loss_vs_baseline": ratio}
    if not ratio > BASELINE_INFO_RATIO:  # NaN falls through here: non_finite_signal reports it
        return [], facts
    severity = (
        "error"
        if ratio > BASELINE_ERROR_RATIO
        else "warning"
        if ratio > BASELINE_WARNING_RATIO
        else "info"
    )
    what = {
        "regression": "the target's mean",
        "binary": "the log-odds of the positive rate",
        "multiclass": "the log of the class frequencies",
    }[task]
    finding = Finding(
        severity,
        "initial_loss_above_baseline",
        f"The untrained model's loss is {ratio:.3g}x the trivial baseline's ({initial:.4g} "
        f"against {baseline:.4g} for always predicting the best constant): the first epochs go "
        "to learning the target's average instead of the features",
        {
            "initial_loss": initial,
            "baseline_loss": baseline,
            "ratio": ratio,
            "output_activation": activation,
            "task": task,
        },
        "Start at the baseline: call keras_nnperf.initializers.initialize_at_baseline(model, "
        f"y_train) after building the model; it sets the output bias to {what} and scales the "
        "output kernel by 0.01. If the ratio stays high, check the target's scale "
        "(standardize a regression target) and the input scaling.",
    )
    return [finding], facts


def _categorical_input_columns(model) -> list[int]:
    """Input columns a layer reads as category codes (`categorical_input_columns`), if any.

    `keras_nnperf.tabular.TabularEmbedding` declares its code columns this way; a model that
    starts with `keras.layers.Embedding` reads every input column as a token id.
    """
    layers = [layer for layer in getattr(model, "layers", []) if layer is not None]
    for layer in layers:
        declared = getattr(layer, "categorical_input_columns", None)
        if declared:
            return list(declared)
    if layers and isinstance(layers[0], keras.layers.Embedding):
        shape = getattr(model, "input_shape", None)
        width = shape[-1] if isinstance(shape, tuple) and shape and shape[-1] else 0
        return list(range(width))
    return []


def diagnose(
    model: keras.Model,
    x,
    y=None,
    run_lr_finder: bool = True,
    lr_finder_steps: int = 50,
    batch_size: int = 32,
    run_gradient_check: bool = True,
    sample_size: int = 256,
    seed: int | None = 0,
    run_noise_scale: bool = True,
    stops_early: bool = False,
) -> DiagnosisReport:
    """Examine a model and its training data for the mistakes that make training slow or fail.

    Checks, each reported as a `Finding` with a code (see docs/diagnostics.md for every code,
    its threshold and its fix):

    * data: `non_finite_inputs`, `unscaled_inputs` (per feature: root mean square > 10, an
      offset |mean| > max(1, 3 std), or a range max - min below 1e-3; features already in
      [-1, 1] with a usable range pass), `constant_inputs`;
    * weights: `constant_init` (a kernel with one repeated value);
    * signal (`signal_propagation` on up to `sample_size` samples): `vanishing_gradients`,
      `exploding_gradients`, `vanishing_activations`, `exploding_activations`,
      `non_finite_signal`;
    * architecture: `saturating_deep_net` (sigmoid/tanh hidden layers with >= 5 hidden
      layers), `relu_glorot_init` (ReLU family with Glorot init: info when the net is deep,
      warning when the signal measurably vanishes), `dropout_on_output`;
    * loss: `softmax_single_unit`, `logits_without_from_logits`, `probabilities_as_logits`,
      `loss_output_mismatch` (needs a compiled model; else `not_compiled`, info);
    * capacity: `no_regularization` (parameters > 10 x samples and no dropout, norm layer,
      weight penalty or weight decay; info instead of a warning when `stops_early`);
    * gradients: `wrong_gradients` (`gradient_check` on 16 samples in the most precise dtype
      the backend computes in; differences within the finite differences' rounding error are
      not counted, so vanishing gradients are not mistaken for wrong ones; a float32 failure
      counts only when the next 16 samples fail too, so a step across a ReLU kink is not
      mistaken for a wrong derivative);
    * start: `initial_loss_above_baseline` (the untrained loss on up to `sample_size` samples
      over the loss of the best constant prediction: info above 1.1x, warning above 3x, error
      above 10x; the fix is `keras_nnperf.initializers.initialize_at_baseline`);
    * learning rate: `lr_far_from_range_test` (the optimizer's rate more than 10x above or
      100x below `lr_find`'s suggestion under its default rule), `lr_range_test_failed`;
    * batch size: `batch_size_below_noise_scale` / `batch_size_above_noise_scale` (info: the
      gradient noise scale, McCandlish et al.'s critical batch size measured by
      `measure_noise_scale` at the current weights with `batch_size` and 8 x `batch_size`, is
      more than 10x above / below `batch_size`); the value is in `summary["noise_scale"]`.

    The signal, start and gradient checks run on a random sample of rows drawn with `seed`, not
    on the first rows: data is often stored sorted (by date, class or target).

    The model is left as it was: the checks run on copies or without updates, and `lr_find`
    restores the weights and the optimizer state exactly. It does compile the train function.

    Args:
        model: A Sequential or functional Keras model, compiled for the loss and LR checks.
        x: Training inputs (arrays; a nest of arrays for several inputs).
        y: Training targets; needed for the loss-based signal and the LR range test.
        run_lr_finder: Run the LR range test (`lr_finder_steps` training steps). Defaults to
            `True`.
        lr_finder_steps: Steps of the range test, >= 5. Defaults to 50.
        batch_size: The batch size training will use: the range test runs with it and the
            noise-scale check compares it with the critical batch size. Defaults to 32 (Keras's
            `fit` default).
        run_gradient_check: Compare analytic and numeric gradients. Defaults to `True`.
        sample_size: Samples used by the signal-propagation check. Defaults to 256.
        seed: Seed for the sampled rows, the random projections and the sampled elements.
        run_noise_scale: Measure the gradient noise scale (64 gradients of `batch_size`
            examples). Defaults to `True`.
        stops_early: Whether the training this model is headed for keeps its best validation
            epoch (early stopping, as `nnperf fit` always does). Early stopping limits what an
            unregularized model memorizes, so `no_regularization` is then information, not a
            warning. Defaults to `False`.

    Returns:
        A `DiagnosisReport`: `print(report)`, `report.has("unscaled_inputs")`,
        `report.to_dict()`.

    Raises:
        ValueError: for a bad `lr_finder_steps`, `batch_size`, `sample_size`, `seed` or flag, or
            `x` and `y` of different lengths.

    Example:
    ```python
    report = diagnose(model, x_train, y_train)
    print(report)
    ```

    Reference:
        Glorot & Bengio, 2010; He et al., 2015, "Delving Deep into Rectifiers"; Smith, 2017,
        "Cyclical Learning Rates for Training Neural Networks"; McCandlish et al., 2018, "An
        Empirical Model of Large-Batch Training".
    """
    lr_finder_steps = check_integer("lr_finder_steps", lr_finder_steps, low=5)
    batch_size = check_integer("batch_size", batch_size, low=1)
    sample_size = check_integer("sample_size", sample_size, low=1)
    seed = check_seed("seed", seed)
    run_lr_finder = check_bool("run_lr_finder", run_lr_finder)
    run_gradient_check = check_bool("run_gradient_check", run_gradient_check)
    run_noise_scale = check_bool("run_noise_scale", run_noise_scale)
    stops_early = check_bool("stops_early", stops_early)
    num_samples = _num_samples(x)
    if y is not None and _num_samples(y) != num_samples:
        raise ValueError(
            f"x and y must hold the same number of samples. Received: {num_samples} inputs and "
            f"{_num_samples(y)} targets"
        )
    if not model.built:
        model(_head(x, 1))
    compiled = bool(getattr(model, "compiled", False)) and getattr(model, "loss", None) is not None
    findings = check_inputs(x, _categorical_input_columns(model)) + check_constant_kernels(model)
    data_ok = not any(f.code == "non_finite_inputs" for f in findings)
    if not compiled:
        findings.append(
            Finding(
                "info",
                "not_compiled",
                "The model is not compiled: the loss and learning-rate checks were skipped",
                {},
                "Compile the model (optimizer and loss) before calling diagnose.",
            )
        )
    # A seeded random sample of rows, not the first ones; the gradient check takes its first 16
    # (and the next 16 to confirm), so the sample holds at least 32 rows when the data does.
    rows = _sample_rows(num_samples, max(sample_size, 32), seed)
    x_sample = _sample(x, rows)
    y_sample = _sample(y, rows) if y is not None else None
    x_head = _head(x_sample, sample_size)
    y_head = _head(y_sample, sample_size) if (y is not None and compiled) else None

    signal = None
    if data_ok:
        try:
            signal = signal_propagation(model, x_head, y_head, seed=seed)
        except (ValueError, AttributeError) as err:  # subclassed or multi-output models
            findings.append(_skipped("signal_propagation_skipped", "Signal propagation", str(err)))
    if signal is not None:
        findings += _signal_findings(signal)
    findings += check_architecture(model, signal)
    findings += check_output_dropout(model)
    findings += check_regularization(model, num_samples, stops_early)
    baseline_facts = {}
    loss_fits = False
    if compiled:
        loss_findings = check_loss_fits_output(model)
        loss_fits = not loss_findings
        findings += loss_findings
        if y_head is not None and data_ok and not loss_findings:
            baseline, baseline_facts = _baseline_findings(model, x_head, y_head)
            findings += baseline

    if run_gradient_check and data_ok:
        findings += _gradient_findings(
            model, x_sample, y_sample if y_head is not None else None, seed
        )

    summary = {
        "parameters": int(model.count_params()),
        "samples": num_samples,
        "hidden_layers": len(hidden_activations(model)),
    }
    if compiled:
        summary["loss"] = loss_name_and_logits(model.loss)[0]
    summary.update(baseline_facts)
    if run_noise_scale and loss_fits and data_ok and y is not None:
        noise_findings, facts = _noise_scale_findings(model, x, y, batch_size, seed)
        findings += noise_findings
        summary.update(facts)
    if run_lr_finder and compiled and data_ok:
        if y is None:
            findings.append(_skipped("lr_range_test_skipped", "The LR range test", "no targets"))
        else:
            lr_findings, facts = _learning_rate_findings(model, x, y, lr_finder_steps, batch_size)
            findings += lr_findings
            summary.update(facts)
    return DiagnosisReport(findings, summary)
