"""Data-parallel training on JAX: `keras.distribution.DataParallel` over two host devices.

JAX fixes its device count when it starts, from `XLA_FLAGS`, so the training runs in a fresh
process (the `run_on_two_jax_devices` fixture in conftest.py). (TensorFlow's `MirroredStrategy`
is tested next to each layer.)
"""

import numpy as np

SCRIPT = r"""
import json

import jax
import keras
import numpy as np

from keras_nnperf.layers import PELU, PReLU

assert len(jax.devices()) == 2, jax.devices()
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 6)).astype("float32")
y = rng.normal(size=(32, 1)).astype("float32")


def train(distribution):
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), PReLU(), keras.layers.Dense(8), PELU(),
         keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    devices = len(model.layers[1].alpha.value.sharding.device_set)
    weights = [np.asarray(w.numpy()).tolist() for w in model.weights]
    return {"loss": history.history["loss"], "weights": weights, "devices": devices}


single = train(None)
parallel = train(keras.distribution.DataParallel(devices=jax.devices()))
print(json.dumps({"single": single, "parallel": parallel}))
"""


def test_data_parallel_on_two_devices_matches_single_device(run_on_two_jax_devices):
    runs = run_on_two_jax_devices(SCRIPT)
    single, parallel = runs["single"], runs["parallel"]
    assert single["devices"] == 1 and parallel["devices"] == 2
    # The mean loss over two half batches is the loss over the batch: same steps, same weights.
    np.testing.assert_allclose(parallel["loss"], single["loss"], rtol=1e-5)
    for got, expected in zip(parallel["weights"], single["weights"], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert single["loss"][-1] < single["loss"][0]
