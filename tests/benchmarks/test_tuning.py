"""The held-out split of `benchmarks/tuning.py` (what docs/tuning.md's test scores rest on)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    pytest.importorskip("sklearn")
    pytest.importorskip("palmerpenguins")
    pytest.importorskip("keras_tuner")
    return load_benchmark("tuning")


def test_the_held_out_rows_are_kept_out_of_training_and_validation(bench):
    x = np.arange(200, dtype="float64")[:, None]
    y = np.arange(200) % 2
    x_train, y_train, x_val, y_val, x_test, y_test = bench._split(x, y, holdout=0.2)
    assert (len(x_train), len(x_val), len(x_test)) == (112, 48, 40)
    rows = [set(part[:, 0].tolist()) for part in (x_train, x_val, x_test)]
    assert not (rows[0] & rows[2]) and not (rows[1] & rows[2]) and not (rows[0] & rows[1])
    assert y_test.mean() == 0.5  # stratified
    assert bench._split(x, y)[4] is None  # no test without a holdout
    # The table's rows, standardized with the training split's statistics only.
    parts = bench._standardize(x_train, y_train, x_val, y_val, x_test, y_test)
    mean, std = x_train.mean(), x_train.std()
    np.testing.assert_allclose(parts[4], (x_test - mean) / (std + 1e-12), rtol=1e-6)


def test_test_accuracy_reads_sigmoid_and_softmax_outputs(bench):
    keras = pytest.importorskip("keras")
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]], dtype="float32")
    sigmoid = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
    sigmoid.set_weights([np.array([[10.0]]), np.array([0.0])])
    assert bench.test_accuracy(sigmoid, (x, np.array([0, 0, 1, 1]))) == 1.0
    assert bench.test_accuracy(sigmoid, (x, np.array([0, 1, 1, 1]))) == 0.75
    softmax = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="softmax")])
    softmax.set_weights([np.array([[-10.0, 10.0]]), np.zeros(2)])
    assert bench.test_accuracy(softmax, (x, np.array([0, 0, 1, 0]))) == 0.75
    assert np.isnan(bench.test_accuracy(softmax, None))
