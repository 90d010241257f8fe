import keras
import numpy as np
import pytest

from keras_nnperf.schedules.basic import Constant, Linear
from keras_nnperf.schedules.cosine import CosineDecay
from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.schedules.sequence import Join, join


@pytest.mark.parametrize("jit_compile", [False, True])
def test_each_phase_sees_its_own_step(jit_compile):
    schedule = join([Linear(0.0, 0.1, 4), CosineDecay(0.1, 6), 0.005], [4, 10])
    steps = np.arange(14)
    values = evaluate(schedule, steps, jit_compile)
    expected = np.concatenate(
        [
            0.1 * steps[:4] / 4,
            0.05 * (1 + np.cos(np.pi * (steps[4:10] - 4) / 6)),
            np.full(4, 0.005),
        ]
    )
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-8)
    assert values[4] == pytest.approx(0.1)  # the cosine starts fresh at its own step 0


def test_join_accepts_keras_schedules_and_configs():
    keras_cosine = keras.optimizers.schedules.CosineDecay(0.1, 10)
    schedule = Join([keras.optimizers.schedules.serialize(Constant(0.2)), keras_cosine], [2])
    np.testing.assert_allclose(
        evaluate(schedule, [0, 1, 2, 7]),
        [0.2, 0.2, 0.1, 0.1 * 0.5 * (1 + np.cos(np.pi * 0.5))],
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "schedules, boundaries, argument",
    [
        ([0.1, 0.01], [5, 10], "schedules"),  # no silent zip truncation
        ([0.1, 0.01, 0.001], [5], "schedules"),
        ([0.1, 0.01, 0.001], [10, 5], "boundaries"),
        ([0.1, 0.01], [0], "boundaries"),
        ([0.1, lambda step: 0.01], [5], "schedules"),  # a closure cannot be saved
        ([0.1, "cosine"], [5], "schedules"),
        (0.1, [5], "schedules"),
    ],
)
def test_bad_arguments_raise(schedules, boundaries, argument):
    with pytest.raises(ValueError, match=f"Argument {argument}"):
        Join(schedules, boundaries)
