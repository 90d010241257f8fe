"""Shared test set-up: quiet TensorFlow, two logical CPUs, fixed seeds."""

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# MirroredStrategy tests need two devices; logical devices can only be set before TF starts.
_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # TensorFlow was already initialised by another plugin.
    pass

# TensorFlow and Keras leave a very large heap after import; freezing it keeps every garbage
# collection during the tests down to the objects the tests create.
gc.freeze()


@pytest.fixture(autouse=True)
def _seed_and_clean():
    keras.utils.set_random_seed(1234)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")
    # Python's garbage collection after every test cost more than the tests themselves.
    keras.backend.clear_session(free_memory=False)
