import math

import numpy as np
import pytest

from keras_nnperf.schedules.cosine import CosineDecay, CosineRestarts
from keras_nnperf.schedules.curves import evaluate


def sgdr_reference(step, lr0, first, t_mul, m_mul, alpha):
    """SGDR by walking the cycles one by one (no closed-form inversion)."""
    start, length, cycle = 0.0, float(first), 0
    while step >= start + length:
        start += length
        length *= t_mul
        cycle += 1
    cosine = 0.5 * m_mul**cycle * (1 + math.cos(math.pi * (step - start) / length))
    return lr0 * ((1 - alpha) * cosine + alpha)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_matches_formula_then_holds(alpha, jit_compile):
    steps = np.arange(14)
    values = evaluate(CosineDecay(0.1, decay_steps=10, alpha=alpha), steps, jit_compile)
    cosine = 0.5 * (1 + np.cos(np.pi * np.minimum(steps, 10) / 10))
    np.testing.assert_allclose(values, 0.1 * ((1 - alpha) * cosine + alpha), rtol=1e-5, atol=1e-8)
    assert values[0] == pytest.approx(0.1)
    assert values[5] == pytest.approx(0.1 * (0.5 * (1 - alpha) + alpha))
    assert values[10:] == pytest.approx([0.1 * alpha] * 4, abs=1e-8)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize(
    "t_mul, m_mul, alpha", [(2.0, 1.0, 0.0), (2.0, 0.5, 0.1), (1.0, 0.8, 0.0), (1.5, 1.0, 0.05)]
)
def test_cosine_restarts_matches_cycle_by_cycle_reference(t_mul, m_mul, alpha, jit_compile):
    steps = np.arange(0, 60)
    values = evaluate(CosineRestarts(0.1, 4, t_mul, m_mul, alpha), steps, jit_compile)
    expected = [sgdr_reference(step, 0.1, 4, t_mul, m_mul, alpha) for step in steps]
    np.testing.assert_allclose(values, expected, rtol=1e-4, atol=1e-7)


def test_cosine_restarts_jumps_back_exactly_at_each_restart():
    # t_mul=2, first cycle 4: restarts at steps 4, 12, 28, 60.
    values = evaluate(CosineRestarts(0.1, 4, t_mul=2.0, m_mul=0.5), [3, 4, 11, 12, 27, 28, 59, 60])
    np.testing.assert_allclose(values[1::2], [0.05, 0.025, 0.0125, 0.00625], rtol=1e-5)
    assert np.all(values[0::2] < values[1::2])


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: CosineDecay(0.1, 0), "decay_steps"),
        (lambda: CosineDecay(0.1, 10, alpha=1.5), "alpha"),
        (lambda: CosineDecay(0.1, 10, alpha=-0.1), "alpha"),
        (lambda: CosineRestarts(0.1, 0), "first_decay_steps"),
        (lambda: CosineRestarts(0.1, 10, t_mul=0.0), "t_mul"),
        (lambda: CosineRestarts(0.1, 10, t_mul=0.5), "t_mul"),
        (lambda: CosineRestarts(0.1, 10, m_mul=0.0), "m_mul"),
        (lambda: CosineRestarts(-0.1, 10), "initial_learning_rate"),
    ],
)
def test_bad_arguments_raise(factory, argument):
    with pytest.raises(ValueError, match=f"Argument {argument}"):
        factory()


@pytest.mark.parametrize("t_mul", [3, 6, 7, 10, np.int64(3)])
def test_cosine_restarts_evaluate_equals_scalar_calls_at_every_restart(t_mul):
    # Regression: a vectorized float32 pow gave 3 ** 4 = 81.0000076, so `evaluate` put the
    # restart at step 40 (t_mul=3) or 259 (t_mul=6) one step late, unlike a scalar call.
    schedule = CosineRestarts(1.0, 1, t_mul=t_mul)
    restarts = [(int(t_mul) ** i - 1) // (int(t_mul) - 1) for i in range(1, 7)]
    steps = sorted({step + d for step in restarts for d in (-1, 0, 1)})
    vector = evaluate(schedule, steps)
    scalar = [float(schedule(step)) for step in steps]
    reference = [sgdr_reference(step, 1.0, 1, float(t_mul), 1.0, 0.0) for step in steps]
    np.testing.assert_allclose(vector, scalar, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(vector, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(evaluate(schedule, restarts), 1.0)
