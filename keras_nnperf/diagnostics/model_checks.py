"""Static inspections of a model's layers: each check returns a list of `Finding`s.

The model doctor (`diagnose`) runs all of them; each is usable on its own. Thresholds are module
constants, documented in docs/diagnostics.md.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_nnperf.diagnostics.report import Finding
from keras_nnperf.initializers.for_activation import ACTIVATION_SCHEMES

#: "Deep" for the saturating-activation and Glorot-with-ReLU checks: this many hidden layers.
DEEP_HIDDEN_LAYERS = 5
#: A model is large for its data when parameters > PARAMS_PER_SAMPLE * samples.
PARAMS_PER_SAMPLE = 10.0

SATURATING = frozenset({"sigmoid", "tanh", "hard_sigmoid", "softsign"})
REGULARIZING_LAYERS = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
)


def activation_name(layer) -> str | None:
    """The activation a layer applies, as a lower-case name, or `None` for layers without one."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if isinstance(layer, keras.layers.ReLU):
        return "relu"
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    activation = getattr(layer, "activation", None)
    if activation is None:
        name = type(layer).__name__.lower()
        return name if name in ACTIVATION_SCHEMES else None
    if isinstance(activation, keras.layers.Layer):
        return type(activation).__name__.lower()
    return getattr(activation, "__name__", type(activation).__name__).lower()


def all_layers(model) -> list:
    """Every layer in forward order, the layers of nested models in place of the model."""
    found = []
    for layer in model.layers:
        found.extend(all_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return found


def weighted_layers(model) -> list:
    """The layers that hold a kernel (Dense, Conv, ...), in forward order."""
    return [layer for layer in all_layers(model) if getattr(layer, "kernel", None) is not None]


def output_activation(model) -> tuple[str | None, int | None]:
    """The output's activation and units, looking past layers after the last weighted layer."""
    units = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    for layer in reversed(all_layers(model)):
        name = activation_name(layer)
        if name is not None:
            return name, units
        if getattr(layer, "kernel", None) is not None:
            return "linear", units
    return None, units


def check_constant_kernels(model) -> list[Finding]:
    """Kernels whose values are all equal (zero or constant initialization)."""
    bad = {}
    for layer in weighted_layers(model):
        kernel = np.asarray(layer.kernel)
        if kernel.size > 1 and np.ptp(kernel) == 0:
            bad[layer.name] = float(kernel.flat[0])
    if not bad:
        return []
    return [
        Finding(
            "error",
            "constant_init",
            f"{len(bad)} kernel(s) hold one repeated value: all units compute the same thing and "
            "get the same gradient, so they never become different",
            {"layers": list(bad), "values": list(bad.values())},
            "Use a random initializer that fits the activation "
            "(keras_nnperf.initializers.for_activation; He normal for ReLU, Glorot for tanh), "
            "never zeros or a constant for kernels; biases may stay zero.",
        )
    ]


def hidden_activations(model) -> list[tuple]:
    """`(layer, activation name)` of every weighted layer but the last (the output layer).

    A linear layer followed by an activation layer (ReLU, PReLU, ...) counts with that activation.
    """
    layers = all_layers(model)
    hidden = []
    for i, layer in enumerate(layers):
        if getattr(layer, "kernel", None) is None:
            continue
        name = activation_name(layer)
        if name in (None, "linear") and i + 1 < len(layers):
            following = activation_name(layers[i + 1])
            if following is not None and getattr(layers[i + 1], "kernel", None) is None:
                name = following
        hidden.append((layer, name))
    return hidden[:-1]


def check_architecture(model, signal=None) -> list[Finding]:
    """Saturating hidden activations in a deep net; ReLU-family layers with Glorot init.

    Args:
        model: The model.
        signal: A `SignalPropagationResult`, used as evidence (and to raise the Glorot finding
            from info to warning when it measured vanishing or exploding signal).
    """
    findings = []
    hidden = hidden_activations(model)
    depth = len(hidden)
    flags = sorted({f.kind for f in signal.flags}) if signal is not None else []
    saturating = [layer.name for layer, name in hidden if name in SATURATING]
    if depth >= DEEP_HIDDEN_LAYERS and saturating:
        findings.append(
            Finding(
                "warning",
                "saturating_deep_net",
                f"{len(saturating)} of {depth} hidden layers use sigmoid/tanh: their derivative "
                "(at most 0.25 for sigmoid) shrinks the gradient layer after layer",
                {"layers": saturating, "hidden_layers": depth, "signal_flags": flags},
                "Use ReLU-family activations in hidden layers (relu, gelu, silu, "
                "keras_nnperf's mish or prelu) with He initialization; keep sigmoid/softmax "
                "for the output layer.",
            )
        )
    glorot = [
        layer.name
        for layer, name in hidden
        if ACTIVATION_SCHEMES.get(name or "", (None,))[0] in ("he", "he_for_slope")
        and type(getattr(layer, "kernel_initializer", None)).__name__
        in ("GlorotUniform", "GlorotNormal")
    ]
    measured = [f for f in flags if f.startswith(("vanishing", "exploding"))]
    if glorot and (depth >= DEEP_HIDDEN_LAYERS or measured):
        findings.append(
            Finding(
                "warning" if measured else "info",
                "relu_glorot_init",
                f"{len(glorot)} ReLU-family layers use Glorot init (Keras's default), which "
                "halves the signal variance at every layer of a rectifier network",
                {"layers": glorot, "hidden_layers": depth, "signal_flags": measured},
                "Initialize rectifier layers with He normal: "
                "kernel_initializer=keras_nnperf.initializers.for_activation('relu') "
                "(or 'he_normal').",
            )
        )
    return findings


def check_output_dropout(model) -> list[Finding]:
    """A Dropout layer after the output layer (error) or right before it (info)."""
    layers = [
        layer for layer in all_layers(model) if not isinstance(layer, keras.layers.InputLayer)
    ]
    weighted = [i for i, layer in enumerate(layers) if getattr(layer, "kernel", None) is not None]
    if not weighted:
        return []
    last = weighted[-1]
    after = [each.name for each in layers[last + 1 :] if isinstance(each, keras.layers.Dropout)]
    before = (
        [layers[last - 1].name]
        if last > 0 and isinstance(layers[last - 1], keras.layers.Dropout)
        else []
    )
    if after:
        return [
            Finding(
                "error",
                "dropout_on_output",
                "Dropout is applied to the model's output: it zeroes predictions during training "
                "and the loss compares the targets with corrupted outputs",
                {"layers": after, "output_layer": layers[last].name},
                "Remove the Dropout after the output layer; put dropout between hidden layers.",
            )
        ]
    if before:
        return [
            Finding(
                "info",
                "dropout_on_output",
                "Dropout feeds the output layer directly",
                {"layers": before, "output_layer": layers[last].name},
                "Common in classifier heads and usually fine; if training is noisy or slow, "
                "move the dropout one layer earlier or lower its rate.",
            )
        ]
    return []


def check_regularization(model, num_samples: int | None, stops_early: bool = False):
    """A model with many more parameters than samples and no regularization at all.

    With `stops_early` (training keeps its best validation epoch), information, not a warning:
    early stopping is itself a regularizer (Bishop 1995), and `nnperf fit --tune` trains the
    model its search chose on validation this way.
    """
    if not num_samples:
        return []
    params = int(model.count_params())
    if params <= PARAMS_PER_SAMPLE * num_samples:
        return []
    layers = all_layers(model)
    if any(isinstance(layer, REGULARIZING_LAYERS) for layer in layers):
        return []
    for layer in layers:
        for attribute in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            if getattr(layer, attribute, None) is not None:
                return []
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "weight_decay", None):
        return []
    if stops_early:
        return [
            Finding(
                "info",
                "no_regularization",
                f"{params} parameters for {num_samples} samples ({params / num_samples:.0f} "
                "per sample) and no dropout, weight penalty or weight decay; training keeps "
                "its best validation epoch, which limits what it memorizes",
                {"parameters": params, "samples": num_samples, "stops_early": True},
                "If the validation loss turns up within a few epochs (the training curves "
                "show it), add Dropout or weight decay (AdamW), or shrink the model.",
            )
        ]
    return [
        Finding(
            "warning",
            "no_regularization",
            f"{params} parameters for {num_samples} samples ({params / num_samples:.0f} per "
            "sample) and no regularization: the model can memorize the training set",
            {"parameters": params, "samples": num_samples},
            "Add Dropout between hidden layers, L2 weight decay (AdamW or "
            "kernel_regularizer=keras.regularizers.L2(1e-4)) or batch normalization, shrink "
            "the model, get more data, and stop early "
            "(keras_nnperf.callbacks.early_stopping.EarlyStopping).",
        )
    ]
