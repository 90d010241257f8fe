import numpy as np
import pytest

from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.schedules.cyclical import Triangular


def clr_reference(step, base, peak, step_size, mode, gamma):
    """Smith 2017, Section 3.1 (the paper's Python snippet)."""
    cycle = np.floor(1 + step / (2 * step_size))
    x = np.abs(step / step_size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**step}
    return base + (peak - base) * np.maximum(0, 1 - x) * scale[mode]


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize(
    "mode, gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.95)]
)
def test_triangular_matches_paper(mode, gamma, jit_compile):
    steps = np.arange(30)
    values = evaluate(Triangular(0.01, 0.1, 5, mode, gamma), steps, jit_compile)
    expected = clr_reference(steps.astype(float), 0.01, 0.1, 5, mode, gamma)
    np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_triangular_corners():
    values = evaluate(Triangular(0.01, 0.1, 5), [0, 5, 10, 15, 20, 7])
    np.testing.assert_allclose(values, [0.01, 0.1, 0.01, 0.1, 0.01, 0.01 + 0.09 * 0.6], rtol=1e-5)
    halving = evaluate(Triangular(0.0, 0.8, 5, "triangular2"), [5, 15, 25])
    np.testing.assert_allclose(halving, [0.8, 0.4, 0.2], rtol=1e-6)


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: Triangular(0.1, 0.01, 5), "max_learning_rate"),
        (lambda: Triangular(-0.1, 0.1, 5), "base_learning_rate"),
        (lambda: Triangular(0.01, 0.1, 0), "step_size"),
        (lambda: Triangular(0.01, 0.1, 5, mode="triangle"), "mode"),
        (lambda: Triangular(0.01, 0.1, 5, "exp_range", gamma=0.0), "gamma"),
        (lambda: Triangular(0.01, 0.1, 5, "exp_range", gamma=1.5), "gamma"),
    ],
)
def test_bad_arguments_raise(factory, argument):
    with pytest.raises(ValueError, match=f"Argument {argument}"):
        factory()
