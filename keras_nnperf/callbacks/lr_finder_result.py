"""What an LR range test found: the curve, three suggestion rules, and a plot."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SUGGESTION_RULES = ("steepest", "minimum/10", "valley")


def steepest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate where the smoothed loss falls fastest against `log(lr)`, before its minimum.

    Points after the minimum are ignored (past it the loss is diverging), and so is the first
    tenth of the curve, where the moving average still follows single batches.
    """
    end = int(np.nanargmin(losses)) + 1
    start = len(losses) // 10
    if end - start < 3:
        return float(lrs[max(end - 1, 0)])
    slopes = np.gradient(losses[start:end], np.log(lrs[start:end]))
    return float(lrs[start + int(np.nanargmin(slopes))])


def minimum_over_ten(lrs: np.ndarray, losses: np.ndarray) -> float:
    """A tenth of the rate at the minimum of the smoothed loss (Smith 2017; fastai's `minimum`)."""
    return float(lrs[int(np.nanargmin(losses))] / 10.0)


def valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """Fastai's `valley`: inside the longest decreasing run of the loss, a point ~1/2 of the way.

    The longest strictly decreasing subsequence ending at each point is found in O(n^2); on the
    longest one, split in thirds, the suggestion is at `start + third + third / 2`.
    """
    n = len(losses)
    longest = np.ones(n, dtype=int)
    best_start, best_end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
        if longest[best_end] < longest[i]:
            best_end = i
            best_start = best_end - longest[best_end]
    sections = (best_end - best_start) / 3
    index = best_start + int(sections) + int(sections / 2)
    return float(lrs[min(max(index, 0), n - 1)])


_RULES = {"steepest": steepest, "minimum/10": minimum_over_ten, "valley": valley}


@dataclass
class LRFinderResult:
    """The curve of an LR range test and the rates it suggests.

    Attributes:
        lrs: Learning rate of each recorded point.
        losses: Bias-corrected smoothed loss of each point.
        raw_losses: Loss of each point as training reported it.
        rule: The rule behind `suggestion`.
        suggestions: The rate of every rule: `"steepest"` (fastest fall of the smoothed loss
            against `log(lr)` before its minimum), `"minimum/10"` (a tenth of the rate at the
            minimum) and `"valley"` (fastai's longest-valley rule).
        suggestion: `suggestions[rule]`.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    rule: str = "steepest"
    suggestions: dict = field(init=False)
    suggestion: float = field(init=False)

    def __post_init__(self):
        if self.rule not in _RULES:
            raise ValueError(
                f"Argument rule must be one of {list(SUGGESTION_RULES)}. "
                f"Received: rule={self.rule!r}"
            )
        finite = np.isfinite(self.losses)
        if not finite.any():
            raise ValueError(
                "The LR range test recorded no finite loss; lower min_lr. "
                f"Received: losses={self.losses!r}"
            )
        lrs, losses = self.lrs[finite], self.losses[finite]
        self.suggestions = {name: rule(lrs, losses) for name, rule in _RULES.items()}
        self.suggestion = self.suggestions[self.rule]

    def plot(self, ax=None, skip_start: int = 0):
        """Plot the smoothed (and raw) loss against the rate, log x axis, suggestion marked.

        Args:
            ax: A matplotlib `Axes` to draw into; a new figure when `None`.
            skip_start: Leave out this many first points (the flat start), >= 0.

        Returns:
            The matplotlib `Figure`.

        Raises:
            ImportError: if matplotlib is missing (install the `plot` extra).
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:
            raise ImportError(
                "LRFinderResult.plot needs matplotlib: pip install 'keras-nnperf[plot]'"
            ) from err
        if ax is None:
            figure, ax = plt.subplots(figsize=(6, 4))
        else:
            figure = ax.figure
        lrs, keep = self.lrs[skip_start:], slice(skip_start, None)
        ax.plot(lrs, self.raw_losses[keep], color="0.75", linewidth=1, label="loss")
        ax.plot(lrs, self.losses[keep], color="C0", linewidth=2, label="smoothed loss")
        ax.axvline(
            self.suggestion,
            color="C3",
            linestyle="--",
            label=f"suggestion ({self.rule}): {self.suggestion:.2e}",
        )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        finite = self.losses[keep][np.isfinite(self.losses[keep])]
        if finite.size:
            low, high = finite.min(), min(finite.max(), 4 * finite.min() + 1e-12)
            ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low) + 1e-12)
        ax.legend()
        return figure
