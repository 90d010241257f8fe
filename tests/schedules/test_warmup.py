import numpy as np
import pytest

from keras_nnperf.schedules.basic import Constant
from keras_nnperf.schedules.cosine import CosineDecay
from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.schedules.warmup import WarmUp, warmup_cosine


@pytest.mark.parametrize("jit_compile", [False, True])
def test_linear_warmup_overlays_the_schedule(jit_compile):
    cosine = CosineDecay(0.1, decay_steps=20)
    steps = np.arange(24)
    values = evaluate(WarmUp(cosine, warmup_steps=5), steps, jit_compile)
    target = 0.05 * (1 + np.cos(np.pi * 5 / 20))
    expected = np.where(
        steps < 5, target * steps / 5, 0.05 * (1 + np.cos(np.pi * np.minimum(steps, 20) / 20))
    )
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-8)
    assert values[0] == 0.0
    assert values[5] == pytest.approx(target)  # the wrapped schedule still ends at step 20
    assert values[20] == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("init", [None, 1e-4])
def test_exponential_warmup(init, jit_compile):
    steps = np.arange(8)
    values = evaluate(
        WarmUp(0.1, 4, kind="exponential", init_learning_rate=init), steps, jit_compile
    )
    start = 0.1 / 100 if init is None else init
    expected = np.where(steps < 4, start * (0.1 / start) ** (steps / 4), 0.1)
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    ratios = values[1:5] / values[:4]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-4)  # geometric ramp


def test_explicit_linear_init_and_zero_warmup():
    values = evaluate(WarmUp(Constant(0.1), 4, init_learning_rate=0.02), [0, 2, 4])
    np.testing.assert_allclose(values, [0.02, 0.06, 0.1], rtol=1e-6)
    np.testing.assert_allclose(evaluate(WarmUp(0.1, 0), [0, 3]), [0.1, 0.1])


def test_exponential_warmup_to_zero_stays_finite():
    values = evaluate(WarmUp(0.0, 4, kind="exponential"), range(6))
    np.testing.assert_array_equal(values, np.zeros(6))


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("kind", ["linear", "exponential"])
def test_warmup_cosine_peak_and_end(kind, jit_compile):
    schedule = warmup_cosine(0.1, total_steps=20, warmup_steps=4, alpha=0.1, kind=kind)
    steps = np.arange(24)
    values = evaluate(schedule, steps, jit_compile)
    assert schedule.warmup_steps == 4
    assert values[4] == pytest.approx(0.1) and values.max() == pytest.approx(0.1)
    assert values[20:] == pytest.approx([0.01] * 4)
    cosine = 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * (steps[4:20] - 4) / 16)) + 0.1)
    np.testing.assert_allclose(values[4:20], cosine, rtol=1e-5)
    assert np.all(np.diff(values[:5]) > 0)


def test_warmup_cosine_without_warmup_is_a_cosine():
    values = evaluate(warmup_cosine(0.1, total_steps=10, warmup_steps=0), range(12))
    np.testing.assert_allclose(values, evaluate(CosineDecay(0.1, 10), range(12)), rtol=1e-6)


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: WarmUp(0.1, -1), "warmup_steps"),
        (lambda: WarmUp(0.1, 5, kind="cosine"), "kind"),
        (lambda: WarmUp(0.1, 5, kind="exponential", init_learning_rate=0.0), "init_learning_rate"),
        (lambda: WarmUp(0.1, 5, init_learning_rate=-0.1), "init_learning_rate"),
        (lambda: WarmUp("cosine", 5), "schedule"),
        (lambda: WarmUp(lambda step: 0.1, 5), "schedule"),
        (lambda: warmup_cosine(0.1, total_steps=10, warmup_steps=10), "warmup_steps"),
        (lambda: warmup_cosine(-0.1, total_steps=10, warmup_steps=2), "peak_learning_rate"),
        (lambda: warmup_cosine(0.1, total_steps=10, warmup_steps=2, alpha=2.0), "alpha"),
    ],
)
def test_bad_arguments_raise(factory, argument):
    with pytest.raises(ValueError, match=f"Argument {argument}"):
        factory()
