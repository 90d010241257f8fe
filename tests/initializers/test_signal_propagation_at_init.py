"""Forward signal through a 50-layer Dense(256) stack at initialization, no training.

The point of `for_activation`: with it the signal neither explodes, vanishes nor saturates; with
a naive N(0, 1) init, or Keras's default Glorot under relu, it does. Depth 50 and width 256 make
the random drift of the activation scale large, hence the wide [0.25, 4] band and a fixed seed.
"""

import keras
import numpy as np
import pytest

from keras_nnperf.initializers.for_activation import for_activation

DEPTH, WIDTH, BATCH = 50, 256, 256


def activations_per_layer(activation, make_initializer):
    """Post-activation outputs of each of the DEPTH layers, for a standard normal input batch.

    Each layer is `activation(x @ W)` with `W` drawn by a Keras initializer and a zero bias, as
    in `Dense`; the matmul is done directly (in `keras.ops`, much faster here than NumPy's on a
    busy machine) to keep this quick.
    """
    function = keras.activations.get(activation)
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(0).standard_normal((BATCH, WIDTH)).astype("float32")
    )
    outputs = []
    for _ in range(DEPTH):
        # A fresh initializer per layer: one unseeded Keras initializer instance returns the
        # same matrix on every call.
        x = function(keras.ops.matmul(x, make_initializer()((WIDTH, WIDTH))))
        outputs.append(keras.ops.convert_to_numpy(x))
    return outputs


def stds(outputs):
    with np.errstate(invalid="ignore", over="ignore"):
        return np.array([np.std(a.astype("float64")) for a in outputs])


def exploded(outputs):
    values = stds(outputs)
    return bool(np.any(~np.isfinite(values)) or np.nanmax(values) > 1e6)


def saturated_fraction(a):
    return float(np.mean(np.abs(a) > 0.99))


def unit_normal():
    return keras.initializers.RandomNormal(stddev=1.0)


@pytest.mark.parametrize("activation", ["relu", "selu"])
def test_relu_and_selu_keep_their_scale_with_for_activation_and_explode_with_unit_normal(
    activation,
):
    kept = stds(activations_per_layer(activation, lambda: for_activation(activation)))
    assert np.all((kept >= 0.25) & (kept <= 4.0)), kept
    assert exploded(activations_per_layer(activation, unit_normal))


def test_tanh_stays_unsaturated_with_for_activation_and_saturates_with_unit_normal():
    kept = activations_per_layer("tanh", lambda: for_activation("tanh"))
    assert max(saturated_fraction(a) for a in kept) < 0.05
    naive = activations_per_layer("tanh", unit_normal)
    assert saturated_fraction(naive[-1]) > 0.5


def test_relu_vanishes_with_keras_default_glorot():
    vanished = stds(activations_per_layer("relu", keras.initializers.GlorotUniform))
    assert vanished[-1] < 1e-3
