import numpy as np
import pytest

from keras_nnperf.schedules.basic import Constant, Linear, PiecewiseConstant
from keras_nnperf.schedules.curves import evaluate

STEPS = np.arange(14)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_constant(jit_compile):
    np.testing.assert_allclose(evaluate(Constant(0.3), STEPS, jit_compile), np.full(14, 0.3))


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("initial, final", [(0.1, 0.0), (0.0, 0.2)])
def test_linear_interpolates_then_holds(initial, final, jit_compile):
    expected = initial + (final - initial) * np.minimum(STEPS, 10) / 10
    values = evaluate(Linear(initial, final, total_steps=10), STEPS, jit_compile)
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-8)
    assert values[0] == np.float32(initial)
    assert values[5] == pytest.approx((initial + final) / 2)
    assert values[10] == values[13] == pytest.approx(final)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_piecewise_constant_switches_at_the_boundary_step(jit_compile):
    values = evaluate(PiecewiseConstant([3, 7], [0.1, 0.01, 0.001]), STEPS, jit_compile)
    expected = np.array([0.1] * 3 + [0.01] * 4 + [0.001] * 7)
    np.testing.assert_allclose(values, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: Constant(-0.1), "learning_rate"),
        (lambda: Constant(float("nan")), "learning_rate"),
        (lambda: Constant("0.1"), "learning_rate"),
        (lambda: Linear(0.1, -0.1, 10), "final_learning_rate"),
        (lambda: Linear(0.1, 0.0, 0), "total_steps"),
        (lambda: Linear(0.1, 0.0, 2.5), "total_steps"),
        (lambda: Linear(0.1, 0.0, True), "total_steps"),
        (lambda: PiecewiseConstant([3, 7], [0.1, 0.01]), "values"),
        (lambda: PiecewiseConstant([3, 7], [0.1, 0.01, 0.001, 1e-4]), "values"),
        (lambda: PiecewiseConstant([7, 3], [0.1, 0.01, 0.001]), "boundaries"),
        (lambda: PiecewiseConstant([3, 3], [0.1, 0.01, 0.001]), "boundaries"),
        (lambda: PiecewiseConstant([0, 3], [0.1, 0.01, 0.001]), "boundaries"),
        (lambda: PiecewiseConstant([3], [0.1, -0.01]), "values"),
        (lambda: PiecewiseConstant(3, [0.1, 0.01]), "boundaries"),
    ],
)
def test_bad_arguments_raise(factory, argument):
    with pytest.raises(ValueError, match=f"Argument {argument}"):
        factory()
