"""Training diagnostics: gradient checks, signal propagation and the model doctor.

* `gradient_check(model_or_layer, x)`: analytic against numeric gradients, in float64.
* `signal_propagation(model, x)`: activation and gradient scale per layer, with flags and a plot.
* `diagnose(model, x, y)`: every check plus an LR range test, as a ranked `DiagnosisReport`.
* `measure_noise_scale(model, x, y)` and the `GradientNoiseScale` callback: the gradient noise
  scale, McCandlish et al.'s critical batch size.

For monitoring during training (gradient norms, dead units, adaptive clipping) see
`keras_nnperf.callbacks.gradient_monitor` and `keras_nnperf.callbacks.activation_monitor`.
"""

from keras_nnperf.diagnostics.doctor import diagnose
from keras_nnperf.diagnostics.gradient_check import GradientCheckResult, gradient_check
from keras_nnperf.diagnostics.noise_scale import (
    GradientNoiseScale,
    NoiseScaleResult,
    measure_noise_scale,
)
from keras_nnperf.diagnostics.report import DiagnosisReport, Finding
from keras_nnperf.diagnostics.signal_propagation import SignalPropagationResult, signal_propagation

__all__ = [
    "DiagnosisReport",
    "Finding",
    "GradientCheckResult",
    "GradientNoiseScale",
    "NoiseScaleResult",
    "SignalPropagationResult",
    "diagnose",
    "gradient_check",
    "measure_noise_scale",
    "signal_propagation",
]
