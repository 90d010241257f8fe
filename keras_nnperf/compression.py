"""Compress a trained model for inference in one call, with its before/after report.

`compress(model, x, y, quantize="int8", prune=0.5)` works on a copy of the model:

* **pruning**: magnitude pruning of the kernels of `Dense`, `EinsumDense` and the plain
  convolutions (`Conv1D/2D/3D` and their transposes): the fraction `prune` of the weights with
  the smallest magnitude is set to zero, per kernel (`scope="layer"`) or over all of them
  together (`scope="global"`). Keras 3 has no pruning, and TensorFlow Model Optimization's
  pruning API works on Keras 2 (`tf.keras`) models only, so this small part is ours. It is
  one-shot, without fine-tuning: the report shows what it costs in accuracy.
* **quantization**: Keras's own `model.quantize(mode)` (`"int8"`, `"int4"` or `"float8"`),
  which in Keras 3.15 quantizes `Dense`, `EinsumDense` and `Embedding` layers (not
  convolutions) on every backend. Pruned zeros stay zero under its symmetric abs-max scaling.

The report measures the same things before and after, on the copy: the saved `.keras` file's
size (saved before the model runs, so that neither metric state nor, on JAX, optimizer slots
count), its size after deflate (what a zip or gzip archive of it takes), the count of nonzero
weights, the median time of `model.predict` on `x`, and `model.evaluate` on `(x, y)`. A `.keras`
file stores its weights uncompressed, so pruning alone does not shrink it: zeros only pay in the
deflated size (or with sparse kernels, which Keras does not have). Both copies are compiled
from the model's compile config with a fresh optimizer, so no optimizer state inflates either
file.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import time
import warnings
import zlib

import keras
import numpy as np

from keras_nnperf.validation import check_choice, check_integer, check_number

QUANTIZE_MODES = ("int8", "int4", "float8")
PRUNE_SCOPES = ("layer", "global")
_PRUNABLE = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


@dataclasses.dataclass(frozen=True)
class ModelFootprint:
    """What one model costs and scores, as `compress` measures it.

    Attributes:
        file_bytes: Size of the saved `.keras` file.
        deflated_bytes: Size of that file after zlib deflate (level 6).
        weights: Number of weight values (all variables, quantization scales included).
        nonzero_weights: How many of them are not zero.
        latency_ms: Median wall time of `model.predict(x, batch_size)`, in milliseconds.
        metrics: `model.evaluate(x, y, return_dict=True)`, or `{}` without targets or compile.
    """

    file_bytes: int
    deflated_bytes: int
    weights: int
    nonzero_weights: int
    latency_ms: float
    metrics: dict


@dataclasses.dataclass(frozen=True)
class CompressionReport:
    """Before and after of `compress`, with what was done.

    Attributes:
        before: The `ModelFootprint` of the unchanged model.
        after: The `ModelFootprint` of the compressed model.
        quantize: The quantization mode, or `None`.
        prune: The fraction of prunable kernel weights set to zero.
        scope: `"layer"` or `"global"`.
        pruned_layers: Names of the layers whose kernels were pruned.
        quantized_layers: Names of the layers Keras quantized.
    """

    before: ModelFootprint
    after: ModelFootprint
    quantize: str | None
    prune: float
    scope: str
    pruned_layers: list
    quantized_layers: list

    def rows(self) -> list[tuple[str, object, object]]:
        """`(quantity, before, after)` rows, in the order of `table()`."""
        rows = [
            (".keras file (bytes)", self.before.file_bytes, self.after.file_bytes),
            ("deflated (bytes)", self.before.deflated_bytes, self.after.deflated_bytes),
            ("nonzero weights", self.before.nonzero_weights, self.after.nonzero_weights),
            ("predict latency (ms)", self.before.latency_ms, self.after.latency_ms),
        ]
        for name in self.before.metrics:
            rows.append((name, self.before.metrics[name], self.after.metrics.get(name)))
        return rows

    def table(self) -> str:
        """The report as a Markdown table."""

        def cell(value):
            if isinstance(value, float):
                return f"{value:.4g}"
            return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

        lines = ["| | before | after | after / before |", "|---|---:|---:|---:|"]
        for name, before, after in self.rows():
            ratio = (
                f"{after / before:.3g}"
                if isinstance(before, (int, float)) and isinstance(after, (int, float)) and before
                else "-"
            )
            lines.append(f"| {name} | {cell(before)} | {cell(after)} | {ratio} |")
        return "\n".join(lines)

    def __str__(self) -> str:
        done = []
        if self.prune:
            done.append(
                f"pruned {self.prune:.0%} ({self.scope}) of {len(self.pruned_layers)} kernels"
            )
        if self.quantize:
            done.append(f"{self.quantize} on {len(self.quantized_layers)} layers")
        return f"Compression: {', '.join(done) or 'nothing'}\n{self.table()}"

    def to_dict(self) -> dict:
        """The report as plain JSON types."""
        return dataclasses.asdict(self)


def _copy(model):
    """A fresh copy of `model` with its weights, compiled with a new, unbuilt optimizer.

    `compile_from_config` would build the optimizer, and its zero slots would then be saved.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    config = model.get_compile_config() if getattr(model, "compiled", False) else {}
    if config:
        copy.compile(**keras.saving.deserialize_keras_object(config))
    return copy


def _leaves(model) -> list:
    def expand(layer):
        if hasattr(layer, "layers") and layer is not model:
            return [leaf for sub in layer.layers for leaf in expand(sub)]
        return [layer]

    return [leaf for layer in model.layers for leaf in expand(layer)]


def magnitude_prune(model, fraction: float, scope: str = "layer") -> list[str]:
    """Set the `fraction` of smallest-magnitude kernel weights to zero, in place.

    Kernels of `Dense`, `EinsumDense` and plain convolution layers are pruned; biases,
    normalization and embedding weights are left alone. With `scope="layer"` each kernel loses
    `fraction` of its weights (Han et al. 2015); with `"global"` one threshold over all kernels
    decides, so layers with larger weights keep more of them (Blalock et al. 2020 find it
    slightly better at equal sparsity). Ties at the threshold are broken by position so exactly
    `round(fraction * size)` weights become zero.

    Args:
        model: A built Keras model (not quantized yet).
        fraction: In [0, 1).
        scope: `"layer"` or `"global"`. Defaults to `"layer"`.

    Returns:
        Names of the pruned layers.

    Raises:
        ValueError: for a bad `fraction` or `scope`.

    Example:
    ```python
    magnitude_prune(model, 0.5)
    ```

    Reference:
        Han, Pool, Tran & Dally, 2015, "Learning both Weights and Connections for Efficient
        Neural Networks"; Blalock et al., 2020, "What is the State of Neural Network Pruning?".
    """
    fraction = check_number("fraction", fraction, low=0.0, high=1.0, high_open=True)
    scope = check_choice("scope", scope, PRUNE_SCOPES)
    layers = [
        layer
        for layer in _leaves(model)
        if isinstance(layer, _PRUNABLE) and getattr(layer, "kernel", None) is not None
    ]
    if not fraction or not layers:
        return []
    kernels = [np.asarray(layer.kernel) for layer in layers]
    if scope == "global":
        flat = np.concatenate([np.abs(k).ravel() for k in kernels])
        masks = np.split(_keep_mask(flat, fraction), np.cumsum([k.size for k in kernels])[:-1])
    else:
        masks = [_keep_mask(np.abs(k).ravel(), fraction) for k in kernels]
    for layer, kernel, mask in zip(layers, kernels, masks, strict=True):
        layer.kernel.assign(kernel * mask.reshape(kernel.shape))
    return [layer.name for layer in layers]


def _keep_mask(magnitudes: np.ndarray, fraction: float) -> np.ndarray:
    drop = int(round(fraction * magnitudes.size))
    mask = np.ones(magnitudes.size, magnitudes.dtype)
    mask[np.argsort(magnitudes, kind="stable")[:drop]] = 0
    return mask


def _latencies(models, x, batch_size: int, repeats: int) -> list[float]:
    """Median `predict` time of each model in ms, timed in turns (A B A B ...).

    Taking turns makes a change in machine load hit every model alike.
    """
    for model in models:
        model.predict(x, batch_size=batch_size, verbose=0)  # trace and warm up
    times = [[] for _ in models]
    for _ in range(repeats):
        for model, record in zip(models, times, strict=True):
            start = time.perf_counter()
            model.predict(x, batch_size=batch_size, verbose=0)
            record.append(1000.0 * (time.perf_counter() - start))
    return [statistics.median(record) for record in times]


def _saved_size(model, directory: str, name: str) -> tuple[int, int]:
    """`(file bytes, deflated bytes)` of `model` saved as `.keras`.

    Called before the model first runs: `evaluate` adds the metrics' state to the file, and on
    JAX it also builds the optimizer, whose zero slots would double or triple a float model's
    file but not an int8 one's (its kernels are not trainable).
    """
    path = os.path.join(directory, f"{name}.keras")
    model.save(path)
    with open(path, "rb") as f:
        data = f.read()
    return len(data), len(zlib.compress(data, 6))


def _footprint(model, x, y, batch_size: int, sizes, latency_ms: float) -> ModelFootprint:
    metrics = {}
    if y is not None and getattr(model, "compiled", False):
        result = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        metrics = {key: float(np.asarray(value).mean()) for key, value in result.items()}
    values = [np.asarray(w) for w in model.weights]
    return ModelFootprint(
        file_bytes=sizes[0],
        deflated_bytes=sizes[1],
        weights=int(sum(v.size for v in values)),
        nonzero_weights=int(sum(np.count_nonzero(v) for v in values)),
        latency_ms=latency_ms,
        metrics=metrics,
    )


def compress(
    model: keras.Model,
    x,
    y=None,
    quantize: str | None = "int8",
    prune: float = 0.0,
    scope: str = "layer",
    batch_size: int = 32,
    repeats: int = 5,
) -> tuple[keras.Model, CompressionReport]:
    """Prune and quantize a copy of `model` for inference, and report what it gained and cost.

    Order: magnitude pruning first (`magnitude_prune`, on the float kernels), then Keras's
    `model.quantize(quantize)`. `model` itself is not changed.

    Args:
        model: A built Sequential or functional model (`keras.models.clone_model` must copy
            it). Compiled with metrics, the report compares them.
        x: Inputs to time `predict` on and to evaluate.
        y: Targets for `evaluate`; `None` skips the metrics.
        quantize: `"int8"`, `"int4"`, `"float8"` or `None`. Defaults to `"int8"`.
        prune: Fraction of kernel weights to zero, in [0, 1). Defaults to 0.
        scope: `"layer"` (each kernel loses `prune`) or `"global"`. Defaults to `"layer"`.
        batch_size: Batch size of `predict` and `evaluate`. Defaults to 32.
        repeats: Timed `predict` calls per model (the median is reported), after one untimed
            call, alternating between the two models. Defaults to 5.

    Returns:
        `(compressed_model, report)`: a new compiled model and a `CompressionReport`
        (`print(report)` shows a Markdown table).

    Raises:
        ValueError: for a bad argument, or a model with nothing to prune or quantize.

    Example:
    ```python
    small, report = compress(model, x_test, y_test, quantize="int8", prune=0.5)
    print(report)
    small.save("small.keras")
    ```

    Reference:
        Jacob et al., 2018, "Quantization and Training of Neural Networks for Efficient
        Integer-Arithmetic-Only Inference"; Han et al., 2015, "Learning both Weights and
        Connections for Efficient Neural Networks".
    """
    if quantize is not None:
        quantize = check_choice("quantize", quantize, QUANTIZE_MODES)
    prune = check_number("prune", prune, low=0.0, high=1.0, high_open=True)
    scope = check_choice("scope", scope, PRUNE_SCOPES)
    batch_size = check_integer("batch_size", batch_size, low=1)
    repeats = check_integer("repeats", repeats, low=1)
    if not model.built:
        raise ValueError(
            f"Argument model must be built (call it once or fit it). Received: model={model!r}"
        )
    before_model = _copy(model)
    after_model = _copy(model)
    pruned = magnitude_prune(after_model, prune, scope)
    if prune and not pruned:
        raise ValueError(
            "Argument prune needs Dense, EinsumDense or convolution kernels, and the model has "
            f"none. Received: prune={prune!r}"
        )
    quantized = []
    if quantize is not None:
        with warnings.catch_warnings():
            # Keras warns for every layer without weights to quantize (InputLayer, Flatten ...).
            warnings.filterwarnings("ignore", message=r"Layer .* does not have a `quantize`")
            after_model.quantize(quantize)
        quantized = [
            layer.name
            for layer in _leaves(after_model)
            if getattr(layer, "quantization_mode", None) == quantize
        ]
        if not quantized:
            raise ValueError(
                "Argument quantize found no layer Keras can quantize (Dense, EinsumDense, "
                f"Embedding). Received: quantize={quantize!r}"
            )
    with tempfile.TemporaryDirectory() as directory:
        sizes = [_saved_size(m, directory, n) for m, n in ((before_model, "a"), (after_model, "b"))]
    latency = _latencies([before_model, after_model], x, batch_size, repeats)
    before = _footprint(before_model, x, y, batch_size, sizes[0], latency[0])
    after = _footprint(after_model, x, y, batch_size, sizes[1], latency[1])
    report = CompressionReport(before, after, quantize, prune, scope, pruned, quantized)
    return after_model, report


__all__ = ["CompressionReport", "ModelFootprint", "compress", "magnitude_prune"]
