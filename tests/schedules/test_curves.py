import keras
import numpy as np
import pytest

from keras_nnperf.schedules.basic import Linear
from keras_nnperf.schedules.curves import evaluate


@pytest.mark.parametrize("jit_compile", [False, True])
def test_evaluate_matches_step_by_step_calls(jit_compile):
    values = evaluate(Linear(0.0, 1.0, 4), range(6), jit_compile)
    assert values.dtype == np.float32
    np.testing.assert_allclose(values, [0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    one_by_one = [Linear(0.0, 1.0, 4)(keras.ops.convert_to_tensor(k, "int64")) for k in range(6)]
    np.testing.assert_allclose(values, keras.ops.convert_to_numpy(keras.ops.stack(one_by_one)))


def test_evaluate_rejects_wrong_dtype_or_shape():
    with pytest.raises(ValueError, match="one float32 value per step"):
        # int32, not float64: JAX (without x64) turns float64 into float32.
        evaluate(lambda step: keras.ops.cast(step, "int32"), [0, 1])
    with pytest.raises(ValueError, match="one float32 value per step"):
        evaluate(lambda step: keras.ops.ones(()), [0, 1])
