import keras
import numpy as np
import pytest

from keras_nnperf.random_hash import hash_uniform

C1, C2, GOLDEN = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35), np.uint32(0x9E3779B9)


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _fmix32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * C1
    h = h ^ (h >> np.uint32(13))
    h = h * C2
    return h ^ (h >> np.uint32(16))


def _reference(shape, seed):
    """The documented formula in NumPy uint32 arithmetic (which wraps modulo 2^32)."""
    with np.errstate(over="ignore"):
        s0, s1 = (np.uint32(v % 2**32) for v in seed)
        key = _fmix32(s0 ^ _fmix32(s1 + GOLDEN))
        h = (np.arange(int(np.prod(shape)), dtype=np.uint32) + key) * C1
        h = (h ^ (h >> np.uint32(15))) * C2
    return ((h >> np.uint32(8)).astype(np.float32) / np.float32(2**24)).reshape(shape)


@pytest.mark.parametrize("seed", [(7, 0), (7, 1), (-5, 3), (2**31 - 1, 12345)])
def test_same_bits_as_numpy_reference_on_every_backend(seed):
    # Keras's PyTorch backend holds uint32 in int64; the hash must still wrap at 2^32.
    np.testing.assert_array_equal(_np(hash_uniform((6, 50), list(seed))), _reference((6, 50), seed))


def test_range_moments_and_reproducibility():
    u = _np(hash_uniform((200, 300), seed=7))
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    # Neighbouring elements are uncorrelated.
    assert abs(np.corrcoef(u.ravel()[:-1], u.ravel()[1:])[0, 1]) < 0.01
    np.testing.assert_array_equal(_np(hash_uniform((200, 300), seed=7)), u)
    assert np.mean(_np(hash_uniform((200, 300), seed=8)) == u) < 0.001


def test_seed_generator_advances_and_replays():
    generator = keras.random.SeedGenerator(3)
    first, second = _np(hash_uniform((50,), generator)), _np(hash_uniform((50,), generator))
    assert np.mean(first == second) < 0.05
    replay = keras.random.SeedGenerator(3)
    np.testing.assert_array_equal(_np(hash_uniform((50,), replay)), first)


@pytest.mark.tensorflow_only("advancing a SeedGenerator inside tf.function(jit_compile=True)")
def test_seed_generator_advances_inside_xla_function():
    import tensorflow as tf

    generator = keras.random.SeedGenerator(3)
    draw = tf.function(lambda: hash_uniform((50,), generator), jit_compile=True)
    first, second = draw().numpy(), draw().numpy()
    assert np.mean(first == second) < 0.05
    replay = keras.random.SeedGenerator(3)
    np.testing.assert_array_equal(_np(hash_uniform((50,), replay)), first)


def test_dtype_follows_request():
    dtype = keras.backend.standardize_dtype(hash_uniform((3,), 1, dtype="float16").dtype)
    assert dtype == "float16"
