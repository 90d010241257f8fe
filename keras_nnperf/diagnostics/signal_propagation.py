"""Signal propagation at the current weights: activation and gradient scale, layer by layer."""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from keras_nnperf.diagnostics._float64 import resolve_loss
from keras_nnperf.diagnostics.gradients import value_and_gradients
from keras_nnperf.diagnostics.model_checks import output_activation
from keras_nnperf.validation import check_number

#: A hidden stack is flagged when the last hidden layer's activation std is below this fraction
#: of the first's (or above its inverse).
FORWARD_RATIO = 0.1
#: ... and when the first hidden layer's gradient std is below this fraction of the last hidden
#: layer's (or above its inverse): two orders of magnitude lost or gained on the way back.
BACKWARD_RATIO = 1e-2

_SQUASHED = ("sigmoid", "softmax")


@dataclasses.dataclass(frozen=True)
class LayerSignal:
    """One layer's row: name, class, std of its output and of the gradient w.r.t. it.

    `backward_std` is `None` for a sigmoid or softmax output layer measured with a loss: Keras
    computes the crossentropy of such an output from its logits (on TensorFlow), which a probe
    on that layer would hide, so its gradient is not measured.
    """

    name: str
    class_name: str
    forward_std: float
    backward_std: float | None


@dataclasses.dataclass(frozen=True)
class PropagationFlag:
    """A problem `signal_propagation` found.

    `kind` is one of `"vanishing_activations"`, `"exploding_activations"`,
    `"vanishing_gradients"`, `"exploding_gradients"`, `"non_finite"`; `ratio` is the measured
    std ratio (`nan` for `"non_finite"`), `layer` the last hidden layer (or the non-finite one).
    """

    kind: str
    layer: str
    ratio: float
    threshold: float

    def __str__(self) -> str:
        if self.kind == "non_finite":
            return f"non_finite: layer {self.layer!r} has a non-finite activation or gradient"
        return (
            f"{self.kind}: std ratio {self.ratio:.3g} across the hidden layers up to "
            f"{self.layer!r} (threshold {self.threshold:g})"
        )


@dataclasses.dataclass(frozen=True)
class SignalPropagationResult:
    """What `signal_propagation` measured.

    `rows` holds one `LayerSignal` per layer in forward order, `flags` the `PropagationFlag`s,
    and `forward_ratio`/`backward_ratio` the two depth ratios (`nan` with fewer than two hidden
    layers).
    """

    rows: tuple
    flags: tuple
    forward_ratio: float
    backward_ratio: float

    @property
    def healthy(self) -> bool:
        """True when nothing was flagged."""
        return not self.flags

    def __str__(self) -> str:
        lines = [f"  {'layer':<28} {'class':<18} {'activation std':>15} {'gradient std':>13}"]
        for r in self.rows:
            backward = "-" if r.backward_std is None else f"{r.backward_std:.3g}"
            lines.append(f"  {r.name:<28} {r.class_name:<18} {r.forward_std:>15.3g} {backward:>13}")
        lines += [f"  flag: {f}" for f in self.flags] or ["  no flags"]
        return "Signal propagation\n" + "\n".join(lines)

    def plot(self, axes=None, label: str | None = None):
        """Plot activation std and gradient std against depth (log scale).

        Args:
            axes: Two matplotlib axes to draw on (to overlay several results); a new figure
                with two panels by default.
            label: Legend label for this result's lines.

        Returns:
            The matplotlib `Figure`.
        """
        from keras_nnperf.report import new_figure  # Lazy: matplotlib is optional.

        if axes is None:
            axes = new_figure(10, 3.8, layout=None).subplots(1, 2)
        fig = axes[0].figure
        depth = np.arange(1, len(self.rows) + 1)
        for ax, values, title in (
            (axes[0], [r.forward_std for r in self.rows], "forward: activation std"),
            (axes[1], [_or_nan(r.backward_std) for r in self.rows], "backward: gradient std"),
        ):
            ax.semilogy(depth, values, marker="o", label=label)
            ax.set_title(title)
            ax.set_xlabel("layer (input side -> output)")
            ax.grid(True, which="both", alpha=0.3)
            if label is not None:
                ax.legend()
        fig.tight_layout()
        return fig


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _layers_with_one_output(model: keras.Model) -> list:
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        output = layer.output
        if isinstance(output, (list, tuple, dict)):
            continue
        layers.append(layer)
    return layers


def _std(value) -> float:
    return float(np.std(keras.ops.convert_to_numpy(value).astype("float64")))


class _Probe(keras.layers.Layer):
    """`layer(...) + delta`, `delta = 0`: its gradient is the one of the layer's output.

    This works on every backend: `jax.grad` differentiates with respect to inputs and variables
    only, never an intermediate tensor.
    """

    def __init__(self, layer, shape, dtype):
        super().__init__(name=f"probe_{layer.name}")
        self.layer = layer
        self.delta = self.add_weight(
            shape=shape, initializer="zeros", dtype=dtype, trainable=False, name="delta"
        )

    def build(self, *args, **kwargs):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return ops.add(self.layer(inputs, *args, **kwargs), self.delta)

    def compute_output_spec(self, inputs, *args, **kwargs):
        # The delta has the concrete batch size; symbolically the output is the layer's.
        return self.layer.compute_output_spec(inputs, *args, **kwargs)


def signal_propagation(
    model: keras.Model,
    x,
    y=None,
    loss=None,
    seed: int | None = None,
    forward_ratio: float = FORWARD_RATIO,
    backward_ratio: float = BACKWARD_RATIO,
) -> SignalPropagationResult:
    """Measure how activations and gradients scale through the layers at the current weights.

    For every layer `l` with one output `h_l` it records `std(h_l)` (forward) and `std(dF/dh_l)`
    (backward), where `F` is the model's compiled loss (or `loss`) on `(x, y)` when `y` is
    given, else `F = sum(output * r)` for a fixed random `r`. A variance-preserving network keeps
    both roughly constant with depth (Glorot & Bengio 2010; He et al. 2015). With `first` and
    `last` the first and last hidden layers (the layers before the output layer, which is the last
    layer with a kernel):

    * `vanishing_activations` if `std(h_last) / std(h_first) < forward_ratio` (default 0.1),
      `exploding_activations` if it is above `1 / forward_ratio`;
    * `vanishing_gradients` if `std(g_first) / std(g_last) < backward_ratio` (default 1e-2),
      `exploding_gradients` if it is above `1 / backward_ratio`;
    * `non_finite` for a layer whose activation or gradient std is not finite.

    `dF/dh_l` is measured as the gradient with respect to a zero added to `h_l` (a probe on
    a clone that shares the model's layers), computed by the backend's own differentiation
    through `keras_nnperf.diagnostics.gradients.value_and_gradients`, so it works on
    TensorFlow, JAX and PyTorch. Layers run with `training=False`; the model is not changed.

    Args:
        model: A Sequential or functional model with one output.
        x: A batch of inputs (a few hundred samples is plenty).
        y: Targets; with `y` the compiled loss (or `loss`) is used.
        loss: A loss name, function or `Loss` to use with `y` instead of the compiled one.
        seed: Seed for `r`.
        forward_ratio: Threshold of the forward std ratio, in (0, 1).
        backward_ratio: Threshold of the backward std ratio, in (0, 1).

    Returns:
        A `SignalPropagationResult` with `rows`, `flags` and `plot()`.

    Raises:
        ValueError: for a ratio outside (0, 1), a model with no layers or several outputs, or
            `y` without a loss.

    Example:
    ```python
    result = signal_propagation(model, x_train[:256])
    print(result)
    result.plot().savefig("signal.png")
    ```

    Reference:
        Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward neural
        networks"; He et al., 2015, "Delving Deep into Rectifiers".
    """
    interval = dict(low=0.0, high=1.0, low_open=True, high_open=True)
    forward_ratio = check_number("forward_ratio", forward_ratio, **interval)
    backward_ratio = check_number("backward_ratio", backward_ratio, **interval)
    loss_fn = None
    if y is not None:
        loss_fn = resolve_loss(
            loss if loss is not None else getattr(model, "loss", None), "float32"
        )
    if not model.built:
        model(x)
    layers = _layers_with_one_output(model)
    if not layers:
        raise ValueError(f"The model has no layer to measure. Received: model={model!r}")
    if len(model.outputs) != 1:
        raise ValueError(
            "signal_propagation measures single-output models. "
            f"Received: a model with {len(model.outputs)} outputs"
        )
    output = model.outputs[0]
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    forward = keras.Model(inputs, [layer.output for layer in layers])(x, training=False)
    forward = list(forward) if isinstance(forward, (list, tuple)) else [forward]
    # Keras computes the crossentropy of a sigmoid or softmax output from its logits on
    # TensorFlow; a probe on the output layer would hide the logits and change every gradient
    # below it, so with a loss such an output layer gets none.
    skip = output if loss_fn is not None and output_activation(model)[0] in _SQUASHED else None
    probed = {
        id(layer): _Probe(layer, tuple(value.shape), value.dtype)
        for layer, value in zip(layers, forward, strict=True)
        if layer.output is not skip
    }
    clone = keras.models.clone_model(
        model, clone_function=lambda layer: probed.get(id(layer), layer)
    )
    rng = np.random.default_rng(seed)
    batch = (int(forward[0].shape[0]), *output.shape[1:])
    r = None if loss_fn is not None else rng.standard_normal(batch)

    def objective():
        prediction = ops.cast(clone(x, training=False), "float32")
        if loss_fn is None:
            return ops.sum(prediction * ops.cast(r, "float32"))
        return loss_fn(y, prediction)

    probes = list(probed.values())
    _, gradients = value_and_gradients(objective, [probe.delta for probe in probes])
    by_layer = {id(probe.layer): g for probe, g in zip(probes, gradients, strict=True)}
    rows = tuple(
        LayerSignal(
            layer.name,
            type(layer).__name__,
            _std(out),
            _std(by_layer[id(layer)]) if id(layer) in by_layer else None,
        )
        for layer, out in zip(layers, forward, strict=True)
    )
    # The output layer is the last one with a kernel; layers after it (Activation, Dropout)
    # belong to the output, not to the hidden stack.
    weighted = [i for i, layer in enumerate(layers) if getattr(layer, "kernel", None) is not None]
    output_index = weighted[-1] if weighted else len(rows) - 1
    return _flag(rows, output_index, forward_ratio, backward_ratio)


def _flag(
    rows: tuple, output_index: int, forward_ratio: float, backward_ratio: float
) -> SignalPropagationResult:
    flags = [
        PropagationFlag("non_finite", r.name, math.nan, math.nan)
        for r in rows
        if not math.isfinite(r.forward_std)
        or (r.backward_std is not None and not math.isfinite(r.backward_std))
    ]
    hidden = rows[:output_index]
    forward = backward = math.nan
    if len(hidden) >= 2 and not flags:
        first, last = hidden[0], hidden[-1]
        forward = last.forward_std / max(first.forward_std, 1e-30)
        backward = first.backward_std / max(last.backward_std, 1e-30)
        for kind, ratio, threshold in (
            ("activations", forward, forward_ratio),
            ("gradients", backward, backward_ratio),
        ):
            if ratio < threshold:
                flags.append(PropagationFlag(f"vanishing_{kind}", last.name, ratio, threshold))
            elif ratio > 1 / threshold:
                flags.append(PropagationFlag(f"exploding_{kind}", last.name, ratio, 1 / threshold))
    return SignalPropagationResult(rows, tuple(flags), forward, backward)
