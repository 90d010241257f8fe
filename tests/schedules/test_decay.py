import numpy as np
import pytest

from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.schedules.decay import ExponentialDecay, PolynomialDecay, PowerDecay

STEPS = np.arange(0, 25, 3)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_exponential_decay_matches_formula(jit_compile):
    values = evaluate(ExponentialDecay(0.1, decay_steps=10), STEPS, jit_compile)
    np.testing.assert_allclose(values, 0.1 * 0.1 ** (STEPS / 10), rtol=1e-5)
    assert evaluate(ExponentialDecay(0.1, 10), [10])[0] == pytest.approx(0.01)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_exponential_decay_staircase(jit_compile):
    values = evaluate(ExponentialDecay(0.1, 10, decay_rate=0.5, staircase=True), STEPS, jit_compile)
    np.testing.assert_allclose(values, 0.1 * 0.5 ** np.floor(STEPS / 10), rtol=1e-6)


def test_exponential_growth_for_range_tests():
    values = evaluate(ExponentialDecay(1e-5, decay_steps=10, decay_rate=10.0), [0, 10, 20])
    np.testing.assert_allclose(values, [1e-5, 1e-4, 1e-3], rtol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("power", [1.0, 0.5])
def test_power_decay_matches_formula(power, jit_compile):
    values = evaluate(PowerDecay(0.1, decay_steps=6, power=power), STEPS, jit_compile)
    np.testing.assert_allclose(values, 0.1 / (1 + STEPS / 6) ** power, rtol=1e-6)
    assert evaluate(PowerDecay(0.1, 6), [6])[0] == pytest.approx(0.05)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_polynomial_decay_matches_formula_then_holds(power, jit_compile):
    schedule = PolynomialDecay(0.1, decay_steps=12, end_learning_rate=0.01, power=power)
    values = evaluate(schedule, STEPS, jit_compile)
    expected = 0.09 * (1 - np.minimum(STEPS, 12) / 12) ** power + 0.01
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert values[STEPS >= 12] == pytest.approx(0.01)


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: ExponentialDecay(-1.0, 10), "initial_learning_rate"),
        (lambda: ExponentialDecay(0.1, 0), "decay_steps"),
        (lambda: ExponentialDecay(0.1, 10, decay_rate=0.0), "decay_rate"),
        (lambda: ExponentialDecay(0.1, 10, staircase="yes"), "staircase"),
        (lambda: PowerDecay(0.1, -5), "decay_steps"),
        (lambda: PowerDecay(0.1, 5, power=0.0), "power"),
        (lambda: PolynomialDecay(0.1, 5, end_learning_rate=-0.1), "end_learning_rate"),
        (lambda: PolynomialDecay(0.1, 5, power=-1.0), "power"),
        (lambda: PolynomialDecay(0.1, float("inf")), "decay_steps"),
    ],
)
def test_bad_arguments_raise(factory, argument):
    with pytest.raises(ValueError, match=f"Argument {argument}"):
        factory()
