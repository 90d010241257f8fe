"""What an LR range test found: the curve, a verdict on it, the rules' rates, and a plot.

The default rule, `"auto"`, is built so that its rate is never absurd:

1. **Trim like fastai.** The rules read the curve from step `num_steps // 10` (before that the
   moving average still follows single batches) to five points before a divergence (the
   blow-up), cut at the first non-finite loss.
2. **Judge the curve.** The start level `L0` is the mean raw loss of the first fifth (on the
   default ramp, rates up to 4e-6 that move no weight in a few steps): a mean, like the moving
   average it is compared with (a median sits below it on a skewed loss). The noise `sigma` is
   the spread of one batch's loss from successive differences of the raw loss, the larger of
   `1.4826 * MAD / sqrt(2)` (the bulk) and `sd / sqrt(2)` (what a mean varies by when the loss
   is heavy-tailed). The curve has really fallen when
   `L0 - min(smoothed) > max(z * sigma_diff, rel * |L0|)`, the minimum taken on the trimmed
   curve (its first points are single batches) past the head (a dip among the rates `L0` is
   measured on is its noise), with `sigma_diff` the standard error of that difference,
   `sigma * sqrt(1 / n_head + var(moving average at the minimum))`.
   Verdicts: `"flat"` (it never fell: the range ends too low, or the model cannot learn),
   `"too_short"` (it diverged within a few points), `"open"` (still falling at `max_lr`) or
   `"ok"`. `lr_find` widens the range and re-runs on all but `"ok"`. A curve whose raw loss
   reaches zero (at most `FLOOR` of `L0`) and stays there to the end is read only up to that
   point and is not "open": beyond it the moving average falls by its delay alone.
3. **Let the rules agree.** On an `"ok"` or `"open"` curve the candidates are `valley`,
   `steepest` and `minimum/10` on the trimmed curve; a candidate counts only where the loss
   really falls: at or above `lr_fall / LAG` (`lr_fall`, the rate on the trimmed curve from
   which the smoothed loss stays below `L0` by the margin, its first rate if it is below
   throughout; `LAG` allows for the moving average's delay) and below the rate of the minimum.
   The suggestion is the geometric median of the candidates that count.
4. **Fall back, and say so.** When the curve cannot be trusted or no candidate counts, the
   suggestion is `fallback_lr` (Keras's default rate for the optimizer: 1e-3 for the Adam family)
   and `reason` says why; `lr_find` also warns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: The rules by name. `"auto"` is the default; the named ones can be asked for explicitly.
SUGGESTION_RULES = ("auto", "steepest", "minimum/10", "valley")
DEFAULT_RULE = "auto"
#: The rules whose agreement `"auto"` looks for.
CANDIDATE_RULES = ("valley", "steepest", "minimum/10")

#: The curve has fallen when its drop exceeds `Z_SCORE` standard errors...
Z_SCORE = 2.5
#: ...and `MIN_RELATIVE_DROP` of the start level.
MIN_RELATIVE_DROP = 0.02
#: A candidate may lie this factor below the first rate where the smoothed loss has fallen: the
#: moving average (s = 0.98) reacts tens of steps late, about a decade on the default ramp.
LAG = 10.0
#: Fewer points than this in the trimmed curve: too short to judge.
MIN_POINTS = 10
#: Points cut before a divergence (fastai's `[:-5]`).
TAIL = 5
#: A raw loss at most this fraction of the start level from some point to the end of a curve
#: that did not diverge is a floor: the network has fit its training batches there.
FLOOR = 0.01


def steepest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate where the smoothed loss falls fastest against `log(lr)`, before its minimum.

    Points after the minimum are ignored (past it the loss is diverging). Apply it to a trimmed
    curve: on the whole curve the first points, a moving average of a few batches, are noise.
    """
    end = int(np.nanargmin(losses)) + 1
    if end < 3:
        return float(lrs[max(end - 1, 0)])
    slopes = np.gradient(losses[:end], np.log(lrs[:end]))
    return float(lrs[int(np.nanargmin(slopes))])


def minimum_over_ten(lrs: np.ndarray, losses: np.ndarray) -> float:
    """A tenth of the rate at the minimum of the smoothed loss (Smith 2017; fastai's `minimum`)."""
    return float(lrs[int(np.nanargmin(losses))] / 10.0)


def valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """Fastai's `valley`: on the longest decreasing subsequence of the loss, a point ~1/2 along.

    The longest strictly decreasing subsequence ending at each point is found in O(n^2); its
    span, split in thirds, gives the suggestion at `start + third + third / 2`.
    """
    n = len(losses)
    longest = np.ones(n, dtype=int)
    best_start, best_end = 0, 0
    for i in range(1, n):
        earlier = longest[:i][losses[:i] > losses[i]]
        if earlier.size:
            longest[i] = earlier.max() + 1
        if longest[best_end] < longest[i]:
            best_end = i
            best_start = best_end - longest[best_end]
    sections = (best_end - best_start) / 3
    index = best_start + int(sections) + int(sections / 2)
    return float(lrs[min(max(index, 0), n - 1)])


_RULES = {"steepest": steepest, "minimum/10": minimum_over_ten, "valley": valley}


def _floor_index(raw: np.ndarray, start_loss: float, diverged: bool) -> int | None:
    """Where the raw loss reaches its floor (at most `FLOOR * |L0|` from there to the end).

    `None` for a curve that diverged (its end is not a floor) or whose last `MIN_POINTS // 2`
    losses are not all at the floor.
    """
    if diverged or not len(raw):
        return None
    low = raw <= FLOOR * abs(start_loss)
    run = len(low) if low.all() else int(np.argmin(low[::-1]))  # the trailing run at the floor
    return len(low) - run if run >= MIN_POINTS // 2 and run < len(low) else None


def _smoothing_variance(index: int, smoothing: float) -> float:
    """Variance of the bias-corrected moving average at `index`, per unit variance of a loss."""
    if smoothing == 0:
        return 1.0
    power = smoothing ** (index + 1)
    return (1 - smoothing) / (1 + smoothing) * (1 + power) / (1 - power)


def _batch_noise(steps: np.ndarray) -> float:
    """`sigma` of one batch's loss from successive differences: the larger of two estimates.

    The MAD (`1.4826 * MAD / sqrt(2)`) is the spread of the bulk. The standard deviation
    (`sd / sqrt(2)`) is what the means compared in `_judge` really vary by: on a heavy-tailed
    loss (squared errors of a skewed target, where one batch in twenty holds an outlier row)
    it is several times the MAD's, and with the MAD alone the curve's wanderings read as falls
    (Forbes 2000's market values on PyTorch: a "fall" at 2.4e-7, R^2 0.002).
    """
    if not steps.size:
        return 0.0
    robust = 1.4826 * np.median(np.abs(steps - np.median(steps)))
    return float(max(robust, np.std(steps)) / math.sqrt(2))


def geometric_median(values) -> float:
    """The median in log space (for two values, their geometric mean)."""
    return float(np.exp(np.median(np.log(np.asarray(values, "float64")))))


@dataclass
class LRFinderResult:
    """The curve of an LR range test, what it says, and the rate it suggests.

    Attributes:
        lrs: Learning rate of each recorded point.
        losses: Bias-corrected smoothed loss of each point.
        raw_losses: Loss of each point as training reported it.
        rule: Given: the rule to apply, `"auto"` (default) or a named one. After construction:
            the rule that chose `suggestion`: `"consensus"` (the geometric median of the
            candidates that agree), one candidate's name, `"fallback"`, or the named rule asked
            for.
        num_steps: Steps the ramp was planned for (the trimming uses it); `None`: the points.
        smoothing: The moving-average factor behind `losses`.
        fallback_lr: The rate suggested when nothing can be trusted.
        min_lr: Start of the ramp (for the reason text); `None`: `lrs[0]`.
        max_lr: End of the ramp; `None`: `lrs[-1]`.
        diverged: Whether the test stopped on divergence; `None`: inferred (fewer points than
            `num_steps`, or a non-finite loss).
        suggestions: The rate of every rule, `"auto"` included. The named rules run on the
            trimmed curve: `"steepest"` (fastest fall of the smoothed loss against `log(lr)`,
            before its minimum), `"minimum/10"` (a tenth of the rate at the minimum), `"valley"`
            (fastai's longest-valley rule).
        suggestion: The suggested rate, `suggestions[requested rule]`.
        requested_rule: The rule asked for.
        reason: A short text: why this rate.
        verdict: `"ok"`, `"flat"`, `"too_short"` or `"open"` (see the module docstring).
        start_loss: `L0`, the mean raw loss of the first fifth.
        noise: `sigma`, the spread of one batch's loss (see the module docstring).
        drop: `L0 - min(smoothed)` (the minimum on the trimmed curve); `margin`: the drop the
            curve needed to count as falling.
        window: `(start, end)`, the trimmed curve's indices.
        attempts: The ranges `lr_find` tried (one dict per run), empty for a lone `LRFinder`.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    rule: str = DEFAULT_RULE
    num_steps: int | None = None
    smoothing: float = 0.98
    fallback_lr: float = 1e-3
    min_lr: float | None = None
    max_lr: float | None = None
    diverged: bool | None = None
    suggestions: dict = field(init=False)
    suggestion: float = field(init=False)
    requested_rule: str = field(init=False)
    reason: str = field(init=False)
    verdict: str = field(init=False)
    start_loss: float = field(init=False)
    noise: float = field(init=False)
    drop: float = field(init=False)
    margin: float = field(init=False)
    window: tuple = field(init=False)
    attempts: list = field(init=False, default_factory=list)

    def __post_init__(self):
        if self.rule not in SUGGESTION_RULES:
            raise ValueError(
                f"Argument rule must be one of {list(SUGGESTION_RULES)}. "
                f"Received: rule={self.rule!r}"
            )
        self.lrs = np.asarray(self.lrs, "float64")
        self.losses = np.asarray(self.losses, "float64")
        self.raw_losses = np.asarray(self.raw_losses, "float64")
        if not np.isfinite(self.losses).any():
            raise ValueError(
                "The LR range test recorded no finite loss: the model or the data gives NaN or "
                f"inf before any step could help. Received: losses={self.losses!r}"
            )
        self.requested_rule = self.rule
        self._judge()
        self.suggestions = dict(self._candidates)
        self.suggestions["auto"], auto_rule, self.reason = self._auto()
        if self.requested_rule == "auto":
            self.rule = auto_rule
        else:
            self.reason = f"the {self.rule} rule, asked for by name ({self.verdict} curve)"
        self.suggestion = self.suggestions[self.requested_rule]

    # -- judging the curve ----------------------------------------------------------------------

    def _judge(self):
        finite = np.isfinite(self.losses) & np.isfinite(self.raw_losses)
        valid = int(np.argmin(finite)) if not finite.all() else len(finite)
        planned = self.num_steps or len(self.lrs)
        if self.diverged is None:
            self.diverged = valid < len(self.lrs) or len(self.lrs) < planned
        lrs, losses, raw = self.lrs[:valid], self.losses[:valid], self.raw_losses[:valid]
        start = min(planned // 10, max(valid - 1, 0))
        end = max(valid - TAIL, start + 1) if self.diverged else valid
        head = raw[: max(3, min(planned // 5, valid))]
        # The smoothed curve is a (moving) mean of the batch losses, so its start level is their
        # mean too: on a skewed loss (cross-entropy on a rare class) a median sits below the mean
        # and a real fall would read as none.
        self.start_loss = float(np.mean(head))
        # The minimum is looked for where the moving average has averaged enough batches (from
        # the window's start): its first points are single batches and may dip by chance. And
        # past the head, where the start level is measured: on the default ramp its rates move
        # no weight, so a dip among them is that level's noise, not a fall (a 3-class table
        # whose loss fell at no rate read a 0.055 dip at 9e-7 as one, and trained at 9e-8).
        searched = max(start, len(head)) if len(head) < valid else start
        lowest = searched + int(np.argmin(losses[searched:]))
        # Over the head at least: the start level is its mean, so its spread is part of the
        # noise (a minimum found before the head's outlier batches would leave them out).
        self.noise = _batch_noise(np.diff(raw[: max(lowest + 1, len(head), 3)]))
        # Standard error of (mean of the head) - (moving average at the minimum).
        spread = math.sqrt(1.0 / len(head) + _smoothing_variance(lowest, self.smoothing))
        self.drop = float(self.start_loss - losses[lowest])
        self.margin = max(Z_SCORE * self.noise * spread, MIN_RELATIVE_DROP * abs(self.start_loss))
        # A loss that reaches zero (a target the inputs determine: anes_vote84's governor race
        # from the state) stays there at every higher rate, and past that point the moving
        # average falls only by its delay: on a 138-point ramp to 1e4 it fell from 0.35 to
        # 0.08 over five decades of zero raw losses, read as "still falling", and the rules
        # chose 4.2. The rules read such a curve up to its floor, which is not "open".
        floor = _floor_index(raw[start:valid], self.start_loss, self.diverged)
        if floor is not None:
            floor += start
            end = min(end, floor + 1)
        self.window = (start, end)
        trimmed = slice(start, end)
        self._trimmed = (lrs[trimmed], losses[trimmed])
        self._candidates = {
            name: rule(*self._trimmed) if end - start >= 1 else float(lrs[0])
            for name, rule in _RULES.items()
        }
        # The fall starts where the smoothed loss goes below `L0 - margin` for good (up to the
        # minimum), looked for from the window's start like the minimum. A curve already below
        # there fell no later than the window's start: the fall is placed there, not at the
        # curve's first point (which would let any rate down to `min_lr / LAG` count).
        above = np.flatnonzero(losses[start : lowest + 1] >= self.start_loss - self.margin)
        first = start + (int(above[-1]) + 1 if above.size else 0)
        self._fall_lr = float(lrs[first]) if first <= lowest else math.inf
        self._lowest_lr = float(lrs[lowest])
        self._floor_lr = float(lrs[floor]) if floor is not None else None
        if floor is not None:
            # The raw loss fell at the floor, whatever the lagging average says: candidates
            # count from a decade below it up to it.
            self._fall_lr = min(self._fall_lr, float(lrs[floor]))
            self._lowest_lr = float(lrs[min(floor + 1, valid - 1)])
        if self.drop <= self.margin:
            self.verdict = "flat"
        elif self.diverged and end - start < MIN_POINTS:
            self.verdict = "too_short"
        elif floor is None and not self.diverged and lowest >= valid - max(2, valid // 20):
            self.verdict = "open"
        else:
            self.verdict = "ok"

    def _auto(self) -> tuple[float, str, str]:
        fell = (
            f"the loss fell {self.drop:.3g} below its start {self.start_loss:.3g} "
            f"(needed {self.margin:.3g}; batch noise {self.noise:.2g})"
        )
        low = self.min_lr if self.min_lr is not None else float(self.lrs[0])
        high = self.max_lr if self.max_lr is not None else float(self.lrs[-1])
        if self.verdict == "flat":
            why = (
                f"the smoothed loss never fell below its start {self.start_loss:.3g} by more "
                f"than the noise allows ({self.drop:.3g} <= {self.margin:.3g}) between "
                f"{low:.1e} and {high:.1e}"
            )
            return self._fallback(why)
        if self.verdict == "too_short":
            why = (
                f"the loss diverged after {len(self.lrs)} points (at {self.lrs[-1]:.1e}), too "
                "few to read a fall"
            )
            return self._fallback(why)
        counted = {
            name: rate
            for name, rate in self._candidates.items()
            if self._fall_lr / LAG <= rate < self._lowest_lr
        }
        listed = ", ".join(f"{name} {rate:.2g}" for name, rate in self._candidates.items())
        if not counted:
            why = (
                f"no rule's rate ({listed}) lies where the loss falls "
                f"({self._fall_lr / LAG:.2g} to {self._lowest_lr:.2g})"
            )
            return self._fallback(why)
        rate = geometric_median(list(counted.values()))
        rule = "consensus" if len(counted) > 1 else next(iter(counted))
        left_out = sorted(set(self._candidates) - set(counted))
        text = f"geometric median of {', '.join(f'{k} {v:.2g}' for k, v in counted.items())}"
        if len(counted) == 1:
            text = f"{rule} {rate:.2g}, the only rule inside the falling part"
        if left_out:
            text += f" ({', '.join(left_out)} left out: outside the falling part)"
        text += f"; {fell}"
        if self._floor_lr is not None:
            text += (
                f"; the batch loss reached zero at {self._floor_lr:.2g} and stayed there, so the "
                "curve is read up to that rate (beyond it the average falls only by its delay)"
            )
        if self.verdict == "open":
            text += f"; still falling at {high:.1e}: the range may end too low"
        return rate, rule, text

    def _fallback(self, why: str) -> tuple[float, str, str]:
        return float(self.fallback_lr), "fallback", f"{why}; using the fallback rate"

    # -- the picture ----------------------------------------------------------------------------

    def plot(self, ax=None, skip_start: int = 0):
        """Plot the smoothed (and raw) loss against the rate, the candidates and the choice.

        The title names the rule that chose the rate; the reason is printed under the axes.

        Args:
            ax: A matplotlib `Axes` to draw into; a new figure when `None`.
            skip_start: Leave out this many first points (the flat start), >= 0.

        Returns:
            The matplotlib `Figure`.

        Raises:
            ImportError: if matplotlib is missing (install the `plot` extra).
        """
        from keras_nnperf.report import new_figure  # raises ImportError without matplotlib

        if ax is None:
            figure = new_figure(9, 4.6, layout=None)
            ax = figure.subplots()
        else:
            figure = ax.figure
        lrs, keep = self.lrs[skip_start:], slice(skip_start, None)
        ax.plot(lrs, self.raw_losses[keep], color="0.75", linewidth=1, label="loss")
        ax.plot(lrs, self.losses[keep], color="C0", linewidth=2, label="smoothed loss")
        start, end = self.window
        if end > start:
            ax.axvspan(self.lrs[start], self.lrs[end - 1], color="C0", alpha=0.06)
        ax.axhline(
            self.start_loss - self.margin,
            color="0.5",
            linewidth=0.8,
            linestyle=":",
            label="start - margin (fallen below)",
        )
        markers = {"valley": "v", "steepest": "^", "minimum/10": "s"}
        for name, marker in markers.items():
            rate = self.suggestions[name]
            ax.plot(
                [rate],
                [np.interp(np.log(rate), np.log(self.lrs), self.losses)],
                marker=marker,
                linestyle="none",
                color="0.3",
                label=f"{name}: {rate:.2g}",
            )
        ax.axvline(
            self.suggestion,
            color="C3",
            linestyle="--",
            label=f"suggestion: {self.suggestion:.2e}",
        )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title(f"LR range test: {self.verdict} curve, rate chosen by {self.rule}")
        # Frame the smoothed curve up to its minimum (and the start level); raw spikes may leave.
        smooth = self.losses[keep]
        finite = np.isfinite(smooth)
        if finite.any():
            lowest = int(np.argmin(np.where(finite, smooth, np.inf)))
            low = float(smooth[lowest])
            high = max(
                float(np.nanmax(smooth[: lowest + 1][finite[: lowest + 1]])), self.start_loss
            )
            pad = 0.25 * (high - low) + 1e-12
            ax.set_ylim(low - pad, high + pad)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        reason = self.reason if len(self.reason) < 400 else self.reason[:397] + "..."
        figure.text(0.01, 0.01, _wrap(reason, 140), fontsize=7, va="bottom", ha="left")
        figure.subplots_adjust(bottom=0.24, right=0.74)
        return figure


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
