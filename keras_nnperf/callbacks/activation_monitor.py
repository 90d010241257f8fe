"""Per-layer activation statistics on a fixed probe batch, once per epoch.

One forward pass of the probe batch through an intermediate model (built once, in
`on_train_begin`, and reused) gives each monitored layer's outputs. From them: mean, std, the
fraction of saturated sigmoid/tanh outputs, the fraction of dead ReLU units, and a histogram per
epoch, which `plot()` stacks into fastai's "colorful dimension" picture.
"""

from __future__ import annotations

import copy

import keras
import numpy as np

from keras_nnperf.callbacks.alerts import AlertTracker, dead_unit_alerts, saturation_alerts
from keras_nnperf.registry import register, snake_case
from keras_nnperf.validation import check_integer, check_number

#: Activations whose units can die: their output is exactly zero on the whole negative side.
DYING_ACTIVATIONS = frozenset({"relu", "relu6", "re_lu", "threshold_relu"})
#: Saturating activations and the test for "at a flat end" (Glorot & Bengio, 2010).
SATURATION_TESTS = {
    "sigmoid": lambda a: (a < 0.01) | (a > 0.99),
    "hard_sigmoid": lambda a: (a < 0.01) | (a > 0.99),
    "tanh": lambda a: np.abs(a) > 0.99,
}
_BOUNDS = {"sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def activation_name(layer) -> str | None:
    """The snake_case name of the activation a layer applies last, or `None` if unknown."""
    if isinstance(layer, keras.layers.ReLU):
        slope = float(np.asarray(layer.negative_slope)) if layer.negative_slope else 0.0
        return "relu" if slope == 0 else "leaky_relu"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = getattr(activation, "__name__", None) or type(activation).__name__
    return snake_case(name)


def _symbolic_inputs(model):
    """The model's symbolic inputs in the structure it is called with, or `None`."""
    try:
        # A Functional model's `input` keeps the call structure (a tensor, list or dict).
        return model.input
    except (AttributeError, ValueError):
        pass
    inputs = getattr(model, "inputs", None)  # a built Sequential: a list of one tensor
    if not inputs:
        return None
    return inputs[0] if len(inputs) == 1 else inputs


def _default_layers(model) -> list:
    # A confident output layer is meant to saturate (a sigmoid near 0 or 1): watching it would
    # raise false saturation alerts, so only hidden layers are watched by default.
    output_ids = {id(tensor) for tensor in keras.tree.flatten(model.outputs)}
    return [
        layer
        for layer in model.layers
        if (layer.trainable_weights or activation_name(layer) not in (None, "linear"))
        and id(layer.output) not in output_ids
    ]


@register("callback")
class ActivationMonitor(keras.callbacks.Callback):
    """Track activation statistics of a probe batch per epoch; warn about dead or saturated units.

    For every monitored layer with outputs `a` on the probe batch (units on the last axis):

    * `act_mean/<layer>`, `act_std/<layer>`: mean and standard deviation of `a`;
    * `saturated_fraction/<layer>` (sigmoid, hard sigmoid: `a < 0.01 or a > 0.99`; tanh:
      `|a| > 0.99`): the fraction of saturated outputs;
    * `dead_fraction/<layer>` (ReLU layers): the fraction of units that are zero for every probe
      sample (and every spatial position);
    * a histogram of `a` in `histograms[layer]`, one row per measured epoch, over `bin_edges[layer]`
      (the activation's bounds for sigmoid/tanh, otherwise the first measurement's range widened
      by half its span on each side; values outside count in the edge bins).

    The values go into `logs` and `history` (a dict of lists keyed like `logs`). An
    `ActivationAlert` warning, with its fix, is raised once per kind and layer.

    Args:
        x_probe: The probe inputs, a fixed batch (a few hundred samples is plenty), as the
            model's `__call__` takes them.
        every_n_epochs: Measure every n-th epoch (and always after the first). Defaults to 1.
        layers: `None` (top-level hidden layers with weights or a non-linear activation; the
            output layer is left out because it is meant to saturate) or a list of layer names /
            objects.
        dead_threshold: Alert when the dead fraction is above this, in (0, 1]. Defaults to 0.5.
        saturation_threshold: Alert when the saturated fraction is above this, in (0, 1].
            Defaults to 0.5.
        bins: Number of histogram bins, >= 2. Defaults to 40.
        alerts: Raise `ActivationAlert` warnings. Defaults to True.

    Raises:
        ValueError: for a bad argument; at `fit`, for a model without symbolic inputs
            (subclassed models) or a layer that is not in the model.

    Example:
    ```python
    monitor = ActivationMonitor(x_train[:256])
    model.fit(x_train, y_train, epochs=10, callbacks=[monitor])
    monitor.plot().savefig("activations.png")
    ```

    Reference:
        Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward neural
        networks"; Lu et al., 2019, "Dying ReLU and Initialization".
    """

    def __init__(
        self,
        x_probe,
        every_n_epochs: int = 1,
        layers=None,
        dead_threshold: float = 0.5,
        saturation_threshold: float = 0.5,
        bins: int = 40,
        alerts: bool = True,
    ):
        super().__init__()
        if x_probe is None:
            raise ValueError("Argument x_probe must be a batch of inputs. Received: x_probe=None")
        every_n_epochs = check_integer("every_n_epochs", every_n_epochs, low=1)
        bins = check_integer("bins", bins, low=2)
        dead_threshold = check_number(
            "dead_threshold", dead_threshold, low=0.0, high=1.0, low_open=True
        )
        saturation_threshold = check_number(
            "saturation_threshold", saturation_threshold, low=0.0, high=1.0, low_open=True
        )
        if layers is not None and (isinstance(layers, str) or not hasattr(layers, "__iter__")):
            raise ValueError(
                f"Argument layers must be None or a list of layer names or layers. "
                f"Received: layers={layers!r}"
            )
        self.x_probe = x_probe
        self.every_n_epochs = every_n_epochs
        self.layers = None if layers is None else list(layers)
        self.dead_threshold = float(dead_threshold)
        self.saturation_threshold = float(saturation_threshold)
        self.bins = bins
        self.alerts = bool(alerts)
        self.history: dict[str, list[float]] = {}
        self.histograms: dict[str, list[np.ndarray]] = {}
        self.bin_edges: dict[str, np.ndarray] = {}
        self.epochs: list[int] = []
        self.layer_names: list[str] = []
        self.alert_tracker = AlertTracker()
        self._probe_model = None

    def __deepcopy__(self, memo):
        # Keras Tuner deep-copies callbacks per trial: a fresh monitor, sharing the probe data.
        return type(self)(
            self.x_probe,
            every_n_epochs=self.every_n_epochs,
            layers=copy.deepcopy(self.layers, memo),
            dead_threshold=self.dead_threshold,
            saturation_threshold=self.saturation_threshold,
            bins=self.bins,
            alerts=self.alerts,
        )

    def on_train_begin(self, logs=None):
        model = self.model
        inputs = _symbolic_inputs(model)
        if inputs is None:
            raise ValueError(
                "ActivationMonitor needs a Functional or Sequential model with known inputs "
                f"(a keras.Input). Received a model without symbolic inputs: {model.name!r}"
            )
        if self.layers is None:
            layers = _default_layers(model)
        else:
            by_name = {layer.name: layer for layer in model.layers}
            layers = []
            for item in self.layers:
                layer = by_name.get(item) if isinstance(item, str) else item
                if not any(layer is known for known in model.layers):
                    raise ValueError(
                        f"Argument layers must name top-level layers of the model "
                        f"({sorted(by_name)}). Received: layers={self.layers!r}"
                    )
                layers.append(layer)
        self.layer_names = [layer.name for layer in layers]
        self._activations = {layer.name: activation_name(layer) for layer in layers}
        # Built once and reused: the outputs are symbolic tensors of the trained model itself.
        self._probe_model = keras.Model(inputs, [layer.output for layer in layers])

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every_n_epochs:
            return
        stats = self.measure()
        self.epochs.append(epoch)
        for key, value in stats.items():
            self.history.setdefault(key, []).append(value)
        if logs is not None:
            logs.update(stats)
        if self.alerts:
            dead = {
                n: stats[f"dead_fraction/{n}"]
                for n in self.layer_names
                if f"dead_fraction/{n}" in stats
            }
            saturated = {
                n: stats[f"saturated_fraction/{n}"]
                for n in self.layer_names
                if f"saturated_fraction/{n}" in stats
            }
            self.alert_tracker.warn(
                dead_unit_alerts(dead, self.dead_threshold)
                + saturation_alerts(saturated, self.saturation_threshold)
            )

    def measure(self) -> dict[str, float]:
        """Run the probe batch once and return this epoch's statistics (histograms are stored)."""
        # `predict_on_batch` compiles the forward pass once and reuses it: about a graph call
        # per epoch instead of an eager pass through every layer.
        outputs = self._probe_model.predict_on_batch(self.x_probe)
        if len(self.layer_names) == 1:
            outputs = [outputs]
        stats = {}
        for name, output in zip(self.layer_names, outputs, strict=True):
            values = np.asarray(output, dtype="float32")
            activation = self._activations[name]
            stats[f"act_mean/{name}"] = float(values.mean())
            stats[f"act_std/{name}"] = float(values.std())
            if activation in SATURATION_TESTS:
                stats[f"saturated_fraction/{name}"] = float(
                    SATURATION_TESTS[activation](values).mean()
                )
            if activation in DYING_ACTIVATIONS:
                units = values.reshape(-1, values.shape[-1])
                stats[f"dead_fraction/{name}"] = float(np.all(units == 0, axis=0).mean())
            self._record_histogram(name, activation, values)
        return stats

    def _record_histogram(self, name, activation, values):
        if name not in self.bin_edges:
            low, high = _BOUNDS.get(activation, (float(values.min()), float(values.max())))
            if activation not in _BOUNDS:
                pad = 0.5 * max(high - low, 1e-6)
                low, high = (0.0 if activation in DYING_ACTIVATIONS else low - pad), high + pad
            self.bin_edges[name] = np.linspace(low, high, self.bins + 1)
        edges = self.bin_edges[name]
        clipped = np.clip(values.ravel(), edges[0], edges[-1])
        self.histograms.setdefault(name, []).append(np.histogram(clipped, bins=edges)[0])

    def plot(self, layers=None):
        """Fastai's "colorful dimension" plot: per layer, a histogram of the outputs per epoch.

        One panel per layer: the output value on the vertical axis, the epoch (from 1) on the
        horizontal axis, and the colour `log(1 + count)` of probe outputs (rows x units) in each
        value bin, on one colour bar shared by every panel. A dotted line marks zero. What a bright
        band at zero means depends on the activation (named in each panel's title): for the ReLU
        family it is outputs at exactly zero (a unit zero on every probe row is dead,
        `dead_fraction`); for Mish, Swish or GELU it is their small negative side, squeezed near
        zero, which still passes gradient; for sigmoid and tanh, bands at the bounds are
        saturation (`saturated_fraction`).

        Args:
            layers: Names of the layers to draw; all monitored layers when `None`.

        Returns:
            A `keras_nnperf.report.NotebookFigure` (Jupyter shows it once, as an image), four
            panels a row.

        Raises:
            ValueError: before any epoch was measured, or for a layer that was not monitored.
        """
        if not self.histograms:
            raise ValueError("ActivationMonitor has no histograms yet: call fit with it first.")
        names = self.layer_names if layers is None else list(layers)
        unknown = [n for n in names if n not in self.histograms]
        if unknown:
            raise ValueError(
                f"Argument layers must be monitored layers ({self.layer_names}). "
                f"Received: layers={layers!r}"
            )
        from matplotlib.colors import Normalize
        from matplotlib.ticker import MaxNLocator

        from keras_nnperf.report import new_figure

        columns = min(4, len(names))
        rows = -(-len(names) // columns)
        figure = new_figure(1.2 + 3.0 * columns, 0.4 + 3.0 * rows)
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        counts = {name: np.log1p(np.stack(self.histograms[name]).T) for name in names}
        norm = Normalize(0.0, max(float(c.max()) for c in counts.values()) or 1.0)
        epochs = np.asarray(self.epochs) + 1
        spacing = np.diff(epochs)
        # Measured epochs are evenly spaced unless fit ran more than once: then count
        # measurements instead of numbering epochs.
        if len(epochs) > 1 and not (np.all(spacing == spacing[0]) and spacing[0] > 0):
            epochs, spacing = np.arange(1, len(epochs) + 1), np.ones(1)
            x_label = "measurement"
        else:
            x_label = "epoch"
        step = float(spacing[0]) if len(spacing) else 1.0
        for ax, name in zip(axes, names, strict=False):
            edges = self.bin_edges[name]
            image = ax.imshow(
                counts[name],
                origin="lower",
                aspect="auto",
                cmap="inferno",
                norm=norm,
                extent=(epochs[0] - step / 2, epochs[-1] + step / 2, edges[0], edges[-1]),
                interpolation="nearest",
            )
            # The bins span the first epoch's range widened by half on each side: show only
            # the rows that ever hold outputs (and one empty bin beyond).
            filled = np.flatnonzero(counts[name].max(axis=1) > 0)
            if filled.size:
                low = edges[max(filled[0] - 1, 0)]
                high = edges[min(filled[-1] + 2, len(edges) - 1)]
                ax.set_ylim(low, high)
            if edges[0] < 0 < edges[-1]:
                ax.axhline(0.0, color="white", linestyle=":", linewidth=0.8, alpha=0.7)
            if self._activations.get(name) not in _BOUNDS and counts[name][-1].any():
                # Outputs beyond the bins were counted in the top bin: say so on the picture.
                ax.axhline(edges[-2], color="cyan", linestyle="--", linewidth=0.8)
                ax.annotate(
                    f"top bin: all > {edges[-2]:.3g}",
                    xy=(0.02, edges[-2]),
                    xycoords=("axes fraction", "data"),
                    xytext=(0, -2),
                    textcoords="offset points",
                    color="cyan",
                    fontsize=8,
                    va="top",
                )
            ax.set_title(f"{name} ({self._activations.get(name) or 'linear'})", fontsize=10)
            ax.set_xlabel(x_label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes[len(names) :]:
            ax.set_visible(False)
        for ax in axes[::columns]:
            ax.set_ylabel("output value")
        colorbar = figure.colorbar(image, ax=list(axes[: len(names)]))
        colorbar.set_label("log(1 + count) of probe outputs")
        return figure
