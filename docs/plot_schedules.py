"""Draw every schedule's curve, and the warm-up variants, into docs/images/schedules/*.png.

Run from the repository root: `python docs/plot_schedules.py`. The curves are computed with
`keras_nnperf.schedules.evaluate`, i.e. by the same code that runs in the train step.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_nnperf import schedules  # noqa: E402

OUT = Path(__file__).parent / "images" / "schedules"
TOTAL = 1000
STEPS = np.arange(TOTAL + 100)

# name -> list of (label, schedule); all drawn on the same axes.
CURVES = {
    "constant": [("Constant(1e-2)", schedules.Constant(1e-2))],
    "linear": [("Linear(1e-2, 1e-4, 1000)", schedules.Linear(1e-2, 1e-4, TOTAL))],
    "exponential_decay": [
        ("decay_rate=0.1, decay_steps=500", schedules.ExponentialDecay(1e-2, 500)),
        ("staircase=True", schedules.ExponentialDecay(1e-2, 250, 0.5, staircase=True)),
    ],
    "power_decay": [
        ("power=1", schedules.PowerDecay(1e-2, 100)),
        ("power=0.5", schedules.PowerDecay(1e-2, 100, power=0.5)),
    ],
    "piecewise_constant": [
        ("[400, 800]", schedules.PiecewiseConstant([400, 800], [1e-2, 1e-3, 1e-4])),
    ],
    "polynomial_decay": [
        ("power=1", schedules.PolynomialDecay(1e-2, TOTAL, 1e-4)),
        ("power=2", schedules.PolynomialDecay(1e-2, TOTAL, 1e-4, power=2.0)),
        ("power=0.5", schedules.PolynomialDecay(1e-2, TOTAL, 1e-4, power=0.5)),
    ],
    "cosine_decay": [
        ("alpha=0", schedules.CosineDecay(1e-2, TOTAL)),
        ("alpha=0.1", schedules.CosineDecay(1e-2, TOTAL, alpha=0.1)),
    ],
    "cosine_restarts": [
        ("t_mul=2, m_mul=1", schedules.CosineRestarts(1e-2, 100)),
        ("t_mul=1, m_mul=0.8", schedules.CosineRestarts(1e-2, 250, t_mul=1.0, m_mul=0.8)),
    ],
    "triangular": [
        ("triangular", schedules.Triangular(1e-3, 1e-2, 125)),
        ("triangular2", schedules.Triangular(1e-3, 1e-2, 125, mode="triangular2")),
        ("exp_range", schedules.Triangular(1e-3, 1e-2, 125, mode="exp_range", gamma=0.998)),
    ],
    "one_cycle": [
        ("anneal='cos'", schedules.OneCycle(1e-2, TOTAL)),
        ("anneal='linear'", schedules.OneCycle(1e-2, TOTAL, anneal="linear")),
    ],
    "one_cycle_momentum": [
        ("anneal='cos'", schedules.OneCycleMomentum(TOTAL)),
        ("anneal='linear'", schedules.OneCycleMomentum(TOTAL, anneal="linear")),
    ],
    "join": [
        (
            "join([Linear(0, 1e-2, 100), CosineDecay(1e-2, 900)], [100])",
            schedules.join(
                [schedules.Linear(0.0, 1e-2, 100), schedules.CosineDecay(1e-2, 900)], [100]
            ),
        )
    ],
    "warmup": [
        ("CosineDecay (no warm-up)", schedules.CosineDecay(1e-2, TOTAL)),
        ("WarmUp(..., 200, 'linear')", schedules.WarmUp(schedules.CosineDecay(1e-2, TOTAL), 200)),
        (
            "WarmUp(..., 200, 'exponential')",
            schedules.WarmUp(schedules.CosineDecay(1e-2, TOTAL), 200, kind="exponential"),
        ),
    ],
    "warmup_cosine": [
        ("warmup_cosine(1e-2, 1000, 200)", schedules.warmup_cosine(1e-2, TOTAL, 200)),
        (
            "WarmUp(CosineDecay(1e-2, 1000), 200)",
            schedules.WarmUp(schedules.CosineDecay(1e-2, TOTAL), 200),
        ),
    ],
    "warmup_variants": [
        ("WarmUp(ExponentialDecay)", schedules.WarmUp(schedules.ExponentialDecay(1e-2, 500), 100)),
        (
            "WarmUp(PiecewiseConstant)",
            schedules.WarmUp(schedules.PiecewiseConstant([400, 800], [1e-2, 1e-3, 1e-4]), 100),
        ),
        ("WarmUp(CosineRestarts)", schedules.WarmUp(schedules.CosineRestarts(1e-2, 300, 1.5), 100)),
    ],
}


def plot(name: str, curves) -> Path:
    """Draw one figure; the dashed line marks `total_steps`."""
    figure, axes = plt.subplots(figsize=(6.0, 3.0), dpi=100)
    for label, schedule in curves:
        axes.plot(STEPS, schedules.evaluate(schedule, STEPS), label=label, linewidth=1.6)
    axes.axvline(TOTAL, color="grey", linestyle="--", linewidth=0.8)
    axes.set_xlabel("step (optimizer.iterations)")
    axes.set_ylabel("momentum" if name == "one_cycle_momentum" else "learning rate")
    axes.set_title(name)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="best")
    figure.tight_layout()
    path = OUT / f"{name}.png"
    figure.savefig(path)
    plt.close(figure)
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, curves in CURVES.items():
        print(plot(name, curves))


if __name__ == "__main__":
    main()
