import numpy as np
import pytest

from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.schedules.one_cycle_policy import OneCycle, OneCycleMomentum


def anneal_reference(start, end, fraction, kind):
    if kind == "cos":
        return end + (start - end) / 2 * (1 + np.cos(np.pi * fraction))
    return start + (end - start) * fraction


def one_cycle_reference(steps, total, pct, start, peak_value, end, kind):
    """fastai/PyTorch OneCycleLR: rise over [0, p], fall over [p, T - 1], then hold."""
    peak = int(pct * total)
    steps = steps.astype(float)
    rise = anneal_reference(start, peak_value, np.clip(steps / peak, 0, 1), kind)
    fall = anneal_reference(
        peak_value, end, np.clip((steps - peak) / (total - 1 - peak), 0, 1), kind
    )
    return np.where(steps < peak, rise, fall)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_matches_reference(anneal, jit_compile):
    schedule = OneCycle(0.1, total_steps=21, pct_start=0.25, anneal=anneal)
    steps = np.arange(25)
    values = evaluate(schedule, steps, jit_compile)
    expected = one_cycle_reference(steps, 21, 0.25, 0.004, 0.1, 0.004 / 1e4, anneal)
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-9)


def test_one_cycle_exact_corners():
    schedule = OneCycle(
        0.1, total_steps=100, pct_start=0.3, div_factor=10.0, final_div_factor=100.0
    )
    assert schedule.peak_step == 30
    values = evaluate(schedule, [0, 15, 29, 30, 31, 99, 100, 150])
    assert values[0] == pytest.approx(0.01)
    assert values[1] == pytest.approx(0.055)  # halfway up a cosine
    assert values[2] < values[3] == pytest.approx(0.1)
    assert values[4] < values[3]
    # The last update of a 100-step run (step 99) uses the floor; it is held afterwards.
    assert values[5:] == pytest.approx([1e-4] * 3)
    assert schedule.initial_learning_rate == pytest.approx(0.01)
    assert schedule.final_learning_rate == pytest.approx(1e-4)


@pytest.mark.parametrize(
    "total_steps, pct_start, expected_peak", [(3, 0.25, 1), (5, 0.1, 1), (10, 0.95, 8)]
)
def test_short_runs_clamp_the_peak_so_both_phases_have_a_step(
    total_steps, pct_start, expected_peak
):
    schedule = OneCycle(0.1, total_steps, pct_start=pct_start)
    assert schedule.peak_step == expected_peak
    values = evaluate(schedule, np.arange(total_steps))
    assert values.argmax() == expected_peak and values[expected_peak] == pytest.approx(0.1)
    assert values[0] < 0.1 and values[-1] < 0.1


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_momentum_mirrors_the_learning_rate(anneal, jit_compile):
    steps = np.arange(24)
    lr = evaluate(OneCycle(0.1, 21, anneal=anneal, div_factor=2.0, final_div_factor=1.0), steps)
    momentum = OneCycleMomentum(21, max_momentum=0.95, base_momentum=0.85, anneal=anneal)
    values = evaluate(momentum, steps, jit_compile)
    expected = one_cycle_reference(steps, 21, 0.25, 0.95, 0.85, 0.95, anneal)
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    # With div 2 and final div 1 the rate goes 0.05 -> 0.1 -> 0.05: an exact mirror image.
    np.testing.assert_allclose((lr - 0.05) / 0.05, (0.95 - values) / 0.1, atol=1e-5)
    assert values[5] == pytest.approx(0.85) and values[20] == pytest.approx(0.95)


@pytest.mark.parametrize(
    "factory, argument",
    [
        (lambda: OneCycle(0.0, 100), "max_learning_rate"),
        (lambda: OneCycle(0.1, 0), "total_steps"),
        (lambda: OneCycle(0.1, 100, pct_start=0.0), "pct_start"),
        (lambda: OneCycle(0.1, 100, pct_start=1.0), "pct_start"),
        (lambda: OneCycle(0.1, 2), "total_steps must be >= 3"),
        (lambda: OneCycle(0.1, 100, div_factor=0.0), "div_factor"),
        (lambda: OneCycle(0.1, 100, final_div_factor=-1.0), "final_div_factor"),
        (lambda: OneCycle(0.1, 100, anneal="cosine"), "anneal"),
        (lambda: OneCycleMomentum(100, max_momentum=1.0), "max_momentum"),
        (lambda: OneCycleMomentum(100, base_momentum=-0.1), "base_momentum"),
        (lambda: OneCycleMomentum(100, max_momentum=0.8, base_momentum=0.9), "base_momentum"),
        (lambda: OneCycleMomentum(100, anneal="exp"), "anneal"),
    ],
)
def test_bad_arguments_raise(factory, argument):
    prefix = "" if argument.startswith("Arguments") else "Argument "
    with pytest.raises(ValueError, match=f"{prefix}{argument}"):
        factory()


def _cos(start, end, fraction):
    return end + (start - end) / 2.0 * (np.cos(np.pi * fraction) + 1)


def pytorch_one_cycle(max_lr, total, pct_start=0.25, div=25.0, final_div=1e4):
    """PyTorch `OneCycleLR` (two phases, cos), transcribed from torch/optim/lr_scheduler.py."""
    initial, floor = max_lr / div, max_lr / div / final_div
    phase_end = float(pct_start * total) - 1
    lrs = []
    for step in range(total):
        if step <= phase_end:
            lrs.append(_cos(initial, max_lr, step / phase_end))
        else:
            lrs.append(_cos(max_lr, floor, (step - phase_end) / (total - 1 - phase_end)))
    return np.array(lrs)


def fastai_one_cycle(max_lr, n, pct_start=0.25, div=25.0, div_final=1e5):
    """fastai `fit_one_cycle(n)`: `combined_cos` at `pos = i / n` for the n updates."""
    lrs = []
    for i in range(n):
        pos = i / n
        if pos < pct_start:
            lrs.append(_cos(max_lr / div, max_lr, pos / pct_start))
        else:
            lrs.append(_cos(max_lr, max_lr / div_final, (pos - pct_start) / (1 - pct_start)))
    return np.array(lrs)


def test_how_to_get_pytorch_and_fastai_curves():
    # The docs' claims, checked against transcriptions of the two libraries' formulas (a run of
    # the real torch.optim.lr_scheduler.OneCycleLR, T=40, agreed with the first to 4e-6).
    total = 40
    torch_curve = pytorch_one_cycle(0.1, total)
    assert np.argmax(torch_curve) == 0.25 * total - 1  # one step before ours
    assert np.argmax(evaluate(OneCycle(0.1, total), range(total))) == 0.25 * total
    ours = evaluate(OneCycle(0.1, total, pct_start=(0.25 * total - 1) / total), range(total))
    np.testing.assert_allclose(ours, torch_curve, rtol=1e-5)
    n = 40
    fastai_curve = fastai_one_cycle(0.1, n)
    ours = evaluate(OneCycle(0.1, n + 1, final_div_factor=4000), range(n))
    np.testing.assert_allclose(ours, fastai_curve, rtol=1e-5)
    assert fastai_curve[-1] > 0.1 / 1e5  # fastai's last update never reaches its floor
