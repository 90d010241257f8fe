"""Layer-sequential unit-variance (LSUV) init: scale each kernel to unit output variance."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import keras
from keras import ops

from keras_nnperf.initializers.he_for_slope import check_seed
from keras_nnperf.validation import check_integer, check_number

# Layers whose `kernel` is their only linear map, so scaling it scales the output.
_LINEAR_LAYERS = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)

# Below this the layer's output is (numerically) constant and rescaling cannot fix it.
_DEAD_VARIANCE = 1e-12


@dataclasses.dataclass(frozen=True)
class LayerLSUVResult:
    """What LSUV did to one layer.

    Attributes:
        name: The layer's name.
        variance: The variance of the layer's pre-activation output on the batch, at the end.
        iterations: How many times the kernel was rescaled after the orthonormal start.
        converged: Whether `|variance - 1| < tol`.
    """

    name: str
    variance: float
    iterations: int
    converged: bool

    def __str__(self) -> str:
        return f"{self.name:<24} {self.variance:>10.4f} {self.iterations:>10d}  {self.converged}"


@dataclasses.dataclass(frozen=True)
class LSUVReport:
    """The per-layer outcome of `lsuv`, in the order the layers were initialized.

    Index it by position or layer name; `print(report)` shows a table.

    Attributes:
        layers: One `LayerLSUVResult` per initialized layer.
        skipped: Names of the layers left alone (no kernel to scale).
        tol: The tolerance the run used.
    """

    layers: tuple[LayerLSUVResult, ...]
    skipped: tuple[str, ...]
    tol: float

    @property
    def converged(self) -> bool:
        """Whether every initialized layer reached unit variance within `tol`."""
        return all(result.converged for result in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, key: int | str) -> LayerLSUVResult:
        if isinstance(key, str):
            for result in self.layers:
                if result.name == key:
                    return result
            raise KeyError(f"No layer named {key!r} in the LSUV report: {[r.name for r in self]}")
        return self.layers[key]

    def __str__(self) -> str:
        done = sum(result.converged for result in self.layers)
        lines = [
            f"LSUV (tol={self.tol}): {done} of {len(self.layers)} layers converged",
            f"{'layer':<24} {'variance':>10} {'iterations':>10}  converged",
            *(str(result) for result in self.layers),
        ]
        if self.skipped:
            lines.append(f"skipped (no kernel): {', '.join(self.skipped)}")
        return "\n".join(lines)


def lsuv(
    model: keras.Model,
    x_batch: Any,
    tol: float = 0.1,
    max_iter: int = 10,
    seed=None,
    verbose: bool = False,
) -> LSUVReport:
    """Layer-sequential unit-variance initialization, in place (Mishkin & Matas 2015).

    For each Dense, EinsumDense or convolution layer, in order from input to output:

    1. set its kernel to an orthonormal matrix (`keras.initializers.Orthogonal`; a conv kernel
       is flattened to `(prod(shape[:-1]), shape[-1])`);
    2. run `x_batch` through the model up to that layer and measure `v = Var(z)` over every
       element of the layer's output `z`;
    3. while `|v - 1| >= tol` and fewer than `max_iter` rescalings were made:
       `W <- W / sqrt(v)`, and measure again.

    `z` is the output of the layer's linear part (kernel and bias) *before* its activation, as
    in the authors' Caffe implementation, which stops the forward pass at the convolution so the
    in-place ReLU after it is not counted. Keras fuses the activation into Dense and Conv
    layers, so the activation is switched off while measuring. The bias is left as it is.
    Layers without a kernel (activations, pooling, normalization, dropout) are skipped, and
    layers inside a nested model are not visited. Use a batch large enough for a stable
    variance (a few hundred samples).

    Args:
        model: A built or buildable Sequential or functional `keras.Model`.
        x_batch: A batch of typical inputs, in any form `model` accepts.
        tol: Tolerance on the variance, `> 0`. Defaults to 0.1, as in the paper.
        max_iter: Maximum rescalings per layer, `>= 1`. Defaults to 10, as in the paper.
        seed: `None`, an int or a `keras.random.SeedGenerator` for the orthonormal start.
        verbose: Print each layer's result as it is done.

    Returns:
        An `LSUVReport`: per layer its name, final variance, iterations and whether it
        converged, plus the names of the skipped layers.

    Raises:
        ValueError: for an invalid argument, a subclassed model (its layers' inputs cannot be
            read), or a layer with a kernel that is called more than once in the model.

    Example:
    ```python
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, "relu"),
                              keras.layers.Dense(10)])
    report = lsuv(model, x_train[:512])
    print(report)
    ```

    Reference:
        Mishkin & Matas, 2015, "All you need is a good init" (https://arxiv.org/abs/1511.06422).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"Argument model must be a keras.Model. Received: model={model!r}")
    if x_batch is None or (
        hasattr(x_batch, "shape") and len(x_batch.shape) and not x_batch.shape[0]
    ):
        raise ValueError(
            f"Argument x_batch must be a non-empty batch. Received: x_batch={x_batch!r}"
        )
    tol = check_number("tol", tol, low=0.0, low_open=True)
    max_iter = check_integer("max_iter", max_iter, low=1)
    seed = check_seed(seed)

    if not model.built:
        model(x_batch, training=False)
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            "lsuv needs a Sequential or functional model, whose layers' inputs can be read. "
            f"Received: model={model!r}"
        )
    # `model.input` keeps a multi-input model's structure; a built Sequential only has `inputs`.
    model_input = inputs[0] if len(inputs) == 1 else model.input

    orthogonal = keras.initializers.Orthogonal(seed=_seed_generator(seed))
    results, skipped = [], []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        kernel = getattr(layer, "kernel", None)
        if not isinstance(layer, _LINEAR_LAYERS) or not isinstance(kernel, keras.Variable):
            skipped.append(layer.name)
            continue
        try:
            layer_input = keras.Model(model_input, layer.input)(x_batch, training=False)
        except (AttributeError, ValueError) as err:
            raise ValueError(
                f"lsuv cannot read the input of layer {layer.name!r}; a layer called more than "
                f"once (shared) is not supported. Received: model={model.name!r}"
            ) from err
        kernel.assign(orthogonal(kernel.shape, dtype=kernel.dtype))
        variance = _output_variance(layer, layer_input)
        iterations = 0
        while abs(variance - 1.0) >= tol and iterations < max_iter:
            if not math.isfinite(variance) or variance < _DEAD_VARIANCE:
                break
            kernel.assign(kernel / ops.cast(math.sqrt(variance), kernel.dtype))
            iterations += 1
            variance = _output_variance(layer, layer_input)
        result = LayerLSUVResult(layer.name, variance, iterations, abs(variance - 1.0) < tol)
        if verbose:
            print(f"LSUV {result}")
        results.append(result)
    return LSUVReport(tuple(results), tuple(skipped), float(tol))


def _seed_generator(seed):
    # One generator for the whole run: an initializer given an int (or `None`, which Keras turns
    # into a fixed int) returns the same matrix on every call, so equal-shaped layers would match.
    if isinstance(seed, keras.random.SeedGenerator):
        return seed
    return keras.random.SeedGenerator(seed)


def _output_variance(layer: keras.layers.Layer, layer_input) -> float:
    with _without_activation(layer):
        outputs = layer(layer_input, training=False)
    return float(ops.var(ops.cast(outputs, "float32")))


@contextlib.contextmanager
def _without_activation(layer: keras.layers.Layer):
    """Make `layer` compute only its linear part (the paper's variance is taken before it)."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        yield
        return
    # `object.__setattr__` bypasses Keras's attribute tracking: the swap is temporary, and an
    # activation that is itself a layer must not be re-tracked or dropped from the layer's state.
    object.__setattr__(layer, "activation", keras.activations.linear)
    try:
        yield
    finally:
        object.__setattr__(layer, "activation", activation)
