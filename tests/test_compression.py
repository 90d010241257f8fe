import json
import os

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from keras_nnperf.compression import compress, magnitude_prune

_X, _Y = load_digits(return_X_y=True)
X = (_X / 16.0).astype("float32")
Y = _Y


def _mlp(units=128):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(units, "relu"),
            keras.layers.Dense(units, "relu"),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X[:1000], Y[:1000], epochs=3, batch_size=64, verbose=0)
    return model


def _cnn():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _kernels(model):
    return [np.asarray(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.9])
def test_layer_pruning_zeros_the_smallest_weights_of_each_kernel(fraction):
    model = _mlp(32)
    before = _kernels(model)
    biases = [np.asarray(layer.bias) for layer in model.layers]
    names = magnitude_prune(model, fraction)
    assert names == [layer.name for layer in model.layers]
    for old, new in zip(before, _kernels(model), strict=True):
        drop = int(round(fraction * old.size))
        assert np.count_nonzero(new == 0) == drop
        order = np.argsort(np.abs(old).ravel(), kind="stable")
        # numpy reference: the `drop` smallest magnitudes are gone, the rest unchanged.
        np.testing.assert_array_equal(new.ravel()[order[:drop]], 0)
        np.testing.assert_array_equal(new.ravel()[order[drop:]], old.ravel()[order[drop:]])
    for old, layer in zip(biases, model.layers, strict=True):
        np.testing.assert_array_equal(np.asarray(layer.bias), old)


def test_global_pruning_uses_one_threshold():
    model = _mlp(32)
    before = _kernels(model)
    magnitude_prune(model, 0.6, scope="global")
    after = _kernels(model)
    total = sum(k.size for k in before)
    assert sum(np.count_nonzero(k == 0) for k in after) == int(round(0.6 * total))
    pruned = np.concatenate([np.abs(o)[a == 0] for o, a in zip(before, after, strict=True)])
    kept = np.concatenate([np.abs(a)[a != 0] for a in after])
    assert pruned.max() <= kept.min()
    # The layers lose different fractions: the threshold is shared, not the fraction.
    fractions = [np.mean(a == 0) for a in after]
    assert max(fractions) - min(fractions) > 0.05


def test_int8_shrinks_the_file_keeps_accuracy_and_leaves_the_model_alone(tmp_path):
    model = _mlp()
    weights = [w.copy() for w in model.get_weights()]
    small, report = compress(model, X[1000:], Y[1000:], quantize="int8", repeats=2)
    # The model itself is unchanged (not quantized, same weights).
    assert all(layer.quantization_mode is None for layer in model.layers)
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    # Float32 kernels become int8 plus a scale per output: 3 of every 4 kernel bytes go.
    kernels = sum(int(np.prod(layer.kernel.shape)) for layer in model.layers)
    assert report.before.file_bytes - report.after.file_bytes > 0.95 * 3 * kernels
    assert report.quantized_layers == [layer.name for layer in small.layers]
    expected = model.evaluate(X[1000:], Y[1000:], verbose=0, return_dict=True)
    assert report.before.metrics["accuracy"] == pytest.approx(expected["accuracy"])
    assert report.after.metrics["accuracy"] == pytest.approx(expected["accuracy"], abs=0.02)
    reference = model.predict(X[1000:], verbose=0)
    np.testing.assert_allclose(small.predict(X[1000:], verbose=0), reference, atol=0.05)
    assert report.before.latency_ms > 0 and report.after.latency_ms > 0
    # The compressed model saves and loads with no custom_objects and gives the same outputs.
    # Its file holds the weights that were measured (plus the metrics' state `evaluate` added,
    # and on JAX the optimizer slots of the float biases).
    path = os.path.join(tmp_path, "small.keras")
    small.save(path)
    assert 0 <= os.path.getsize(path) - report.after.file_bytes < 16_000
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(X[1000:], verbose=0), small.predict(X[1000:], verbose=0), atol=1e-6
    )


def test_pruning_alone_shrinks_only_the_deflated_size():
    model = _mlp()
    _, report = compress(model, X[1000:], Y[1000:], quantize=None, prune=0.5, repeats=1)
    # .keras stores weights uncompressed: zeros take the same bytes.
    assert report.after.file_bytes == report.before.file_bytes
    assert report.after.deflated_bytes < 0.8 * report.before.deflated_bytes
    kernels = sum(layer.kernel.shape[0] * layer.kernel.shape[1] for layer in model.layers)
    dropped = report.before.nonzero_weights - report.after.nonzero_weights
    assert dropped == pytest.approx(kernels / 2, rel=0.01)
    assert report.quantized_layers == [] and report.quantize is None
    json.dumps(report.to_dict())
    text = str(report)
    assert "pruned 50% (layer) of 3 kernels" in text and "| accuracy |" in text


def test_cnn_prunes_convolutions_but_keras_quantizes_only_dense():
    model = _cnn()
    small, report = compress(model, X.reshape(-1, 8, 8, 1)[:64], Y[:64], prune=0.5, repeats=1)
    conv, dense = model.layers[0].name, model.layers[-1].name
    assert report.pruned_layers == [conv, dense]
    assert report.quantized_layers == [dense]  # Keras 3.15 has no int8 convolution
    assert np.mean(np.asarray(small.layers[0].kernel) == 0) == pytest.approx(0.5, abs=0.01)


def test_without_targets_there_are_no_metrics():
    _, report = compress(_mlp(16), X[:64], quantize="int8", repeats=1)
    assert report.before.metrics == {} and report.after.metrics == {}


def test_rejects_bad_arguments():
    model = _mlp(16)
    for kwargs in (
        {"quantize": "int3"},
        {"prune": 1.0},
        {"prune": -0.1},
        {"prune": float("nan")},
        {"scope": "net"},
        {"batch_size": 0},
        {"repeats": True},
    ):
        with pytest.raises(ValueError, match="Received"):
            compress(model, X[:64], Y[:64], **kwargs)
    with pytest.raises(ValueError, match="Received: fraction=1.5"):
        magnitude_prune(model, 1.5)
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be built"):
        compress(unbuilt, X[:64])
    no_kernels = keras.Sequential([keras.Input((64,)), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="Received: prune=0.5"):
        compress(no_kernels, X[:64], quantize=None, prune=0.5)
    with pytest.raises(ValueError, match="Received: quantize='int8'"):
        compress(no_kernels, X[:64])
