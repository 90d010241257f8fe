"""`SearchResult`: what a search found, read from the oracle's own trial files."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from keras_nnperf.tuning.tuner import TIMING_FILE


@dataclass(repr=False)
class SearchResult:
    """The outcome of `keras_nnperf.tuning.search`.

    `best_model` is the best trial's own model, rebuilt and loaded with the weights of that
    trial's best epoch (the epoch whose objective is the trial's score): evaluated on the search's
    validation data it scores what the search recorded, not a retrained approximation.
    `best_recipe()` gives how that trial trained (optimizer, rate, schedule, batch size,
    epochs), to train the same architecture again, e.g. on more data.

    Attributes:
        best_model: The best trial's model with its best epoch's weights, or `None` when no trial
            completed (or on a distributed worker, which does not own the results).
        best_hyperparameters: The best trial's `keras_tuner.HyperParameters`, or `None`.
        results: One dict per trial, in trial order: `trial_id`, `status` (`"COMPLETED"`,
            `"FAILED"`, `"INVALID"`, `"RUNNING"`), `score`, `best_step`, `hyperparameters`
            (the values used), `elapsed_seconds`, `stopped_at` (the rung epoch at which
            successive halving stopped the trial, else `None`), and `error` (the last line of
            the failure's message, else `None`).
        objective: The objective's name.
        direction: `"max"` or `"min"`.
        tuner: The keras-tuner tuner, for anything else (`None` for a distributed search).
        best_trial_id: The best trial's id, or `None`.
        epochs: The epochs per trial the search was given (Hyperband trials record their own).
        elapsed_seconds: The search call's wall-clock seconds, or `None`.
        project_dir: The keras-tuner project directory, or `None`.
        interrupted: Whether Ctrl-C ended the search (`search(keep_on_interrupt=True)`): the
            results hold the trials completed by then, and the one running is dropped.

    `print(result)` (and `repr`) gives a few lines: trials completed and failed, time, the best
    score and the best hyperparameters in short.

    Example:
    ```python
    result = search(HyperMLP(num_features=30), x, y, max_trials=10)
    result.results_frame().sort_values("score")
    result.plot().savefig("search.png")
    ```
    """

    best_model: Any
    best_hyperparameters: Any
    results: list[dict] = field(default_factory=list)
    objective: str = "val_loss"
    direction: str = "min"
    tuner: Any = None
    best_trial_id: str | None = None
    epochs: int | None = None
    elapsed_seconds: float | None = None
    project_dir: str | None = None
    interrupted: bool = False

    def __repr__(self) -> str:
        counts = {}
        for result in self.results:
            counts[result["status"]] = counts.get(result["status"], 0) + 1
        statuses = ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()))
        took = "" if self.elapsed_seconds is None else f" in {self.elapsed_seconds:.1f} s"
        ended = ", interrupted (Ctrl-C)" if self.interrupted else ""
        lines = [
            f"SearchResult: {len(self.results)} trial(s) ({statuses or 'none'}){took}{ended}, "
            f"objective {self.objective} ({self.direction})"
        ]
        best = self.best_trial
        if best is None:
            lines.append("  no trial completed")
        else:
            lines.append(f"  best: trial {best['trial_id']}, {self.objective}={best['score']:.4g}")
            lines.append(f"  hyperparameters: {_compact(best['hyperparameters'])}")
        if self.project_dir:
            lines.append(f"  project: {self.project_dir}")
        return "\n".join(lines)

    __str__ = __repr__

    @property
    def best_trial(self) -> dict | None:
        """The best trial's result dict (see `results`), or `None` when no trial completed."""
        for result in self.results:
            if result["trial_id"] == self.best_trial_id:
                return result
        return None

    def best_recipe(self):
        """How the best trial trained, as a `keras_nnperf.tuning.recipe.TrainingRecipe`.

        Its `epochs` is the length the trial's schedule was planned for (Hyperband's
        `tuner/epochs` for a Hyperband trial, else the search's `epochs`) and `best_epoch` the
        1-based epoch whose weights `best_model` holds.

        Raises:
            ValueError: when no trial completed.
        """
        from keras_nnperf.tuning.recipe import TrainingRecipe

        best = self.best_trial
        if best is None:
            raise ValueError(
                "No trial completed, so there is no best recipe. "
                f"Received: {len(self.results)} trial(s), none COMPLETED with a score"
            )
        values = best["hyperparameters"]
        epochs = values.get("tuner/epochs", self.epochs)
        best_step = best["best_step"]
        return TrainingRecipe.from_values(
            values, epochs=epochs, best_epoch=None if best_step is None else best_step + 1
        )

    @property
    def completed(self) -> list[dict]:
        """The trials that completed with a score."""
        return [r for r in self.results if r["status"] == "COMPLETED" and r["score"] is not None]

    def results_frame(self):
        """The results as a pandas `DataFrame`, one row per trial, hyperparameters as columns.

        Raises:
            ImportError: if pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError("results_frame() needs pandas: pip install pandas") from err
        rows = []
        for result in self.results:
            row = {k: v for k, v in result.items() if k != "hyperparameters"}
            row.update(result["hyperparameters"])
            rows.append(row)
        return pd.DataFrame(rows)

    def plot(self, max_hyperparameters: int = 8):
        """Plot the objective per trial and its relation to each hyperparameter.

        The first panel shows every completed trial's score in trial order with the running best;
        the others show the score against each hyperparameter that varied (a scatter on a log axis
        where the values span more than a decade for numbers, a box per value for choices), with
        the best trial marked.

        Args:
            max_hyperparameters: Plot at most this many hyperparameters (those that varied most).

        Returns:
            A matplotlib `Figure`.

        Raises:
            ImportError: if matplotlib is not installed.
        """
        try:
            import matplotlib.pyplot as plt

            from keras_nnperf.report import new_figure
        except ImportError as err:
            raise ImportError("plot() needs matplotlib: pip install matplotlib") from err
        done = self.completed
        varied = _varied_hyperparameters(done)[:max_hyperparameters]
        columns = min(3, 1 + len(varied))
        rows = math.ceil((1 + len(varied)) / columns)
        size = (4.2 * columns, 3.2 * rows)
        figure = new_figure(*size, layout=None)  # displays once in Jupyter; no pyplot state
        axes = figure.subplots(rows, columns, squeeze=False)
        axes = axes.ravel()
        scores = [r["score"] for r in done]
        best = max if self.direction == "max" else min
        running = [best(scores[: i + 1]) for i in range(len(scores))]
        axes[0].plot(range(len(scores)), scores, "o", label="trial")
        axes[0].plot(range(len(scores)), running, "-", label="best so far")
        axes[0].set(xlabel="completed trial", ylabel=self.objective, title="Objective per trial")
        axes[0].legend(fontsize=8)
        best_values = self.best_hyperparameters.values if self.best_hyperparameters else {}
        for axis, name in zip(axes[1 : 1 + len(varied)], varied, strict=True):
            pairs = [(r["hyperparameters"].get(name), r["score"]) for r in done]
            pairs = [(v, s) for v, s in pairs if v is not None]
            if all(_is_number(v) for v, _ in pairs):
                axis.plot([v for v, _ in pairs], [s for _, s in pairs], "o", alpha=0.7)
                positive = [v for v, _ in pairs if v > 0]
                if positive and len(positive) == len(pairs) and max(positive) > 10 * min(positive):
                    axis.set_xscale("log")
                    # Minor-tick labels on a short log range overlap into noise.
                    axis.xaxis.set_minor_formatter(plt.NullFormatter())
                if name in best_values and best_values[name] is not None:
                    axis.axvline(best_values[name], color="C3", linestyle="--", label="best")
                    axis.legend(fontsize=8)
            else:
                labels = sorted({str(v) for v, _ in pairs})
                groups = [[s for v, s in pairs if str(v) == label] for label in labels]
                axis.boxplot(groups)
                axis.set_xticks(range(1, len(labels) + 1), labels, rotation=30, fontsize=8)
            axis.set(xlabel=name, ylabel=self.objective)
        for axis in axes[1 + len(varied) :]:
            axis.set_visible(False)
        figure.tight_layout()
        return figure


def trial_results(trials: dict, project_dir: str) -> list[dict]:
    """One result dict per trial (`{trial_id: keras_tuner Trial}`), in trial order."""
    results = []
    for trial_id in sorted(trials, key=trial_order):
        trial = trials[trial_id]
        message = (trial.message or "").strip()
        results.append(
            {
                "trial_id": trial_id,
                "status": str(trial.status),
                "score": None if trial.score is None else float(trial.score),
                "best_step": trial.best_step,
                "hyperparameters": dict(trial.hyperparameters.values),
                "elapsed_seconds": _timing(project_dir, trial_id).get("elapsed_seconds"),
                "stopped_at": _timing(project_dir, trial_id).get("stopped_at"),
                "error": error_line(message),
            }
        )
    return results


def trial_order(trial_id: str):
    """Sort key putting trial ids in numeric order (`"9"` before `"10"`, `"08"` after `"1"`).

    keras-tuner pads ids to the width of `max_trials`, which changes when a resumed search
    raises `max_trials` (`0`, `1`, ..., then `08`, `09`, `10`): string order mixes them up.
    """
    return (0, int(trial_id), trial_id) if trial_id.isdigit() else (1, 0, trial_id)


def load_trials(project_dir: str) -> dict:
    """The trials saved in a keras-tuner project directory, read from their `trial.json` files."""
    from keras_tuner.engine.trial import Trial

    trials = {}
    for name in sorted(os.listdir(project_dir)) if os.path.isdir(project_dir) else []:
        path = os.path.join(project_dir, name, "trial.json")
        if name.startswith("trial_") and os.path.exists(path):
            trial = Trial.load(path)
            trials[trial.trial_id] = trial
    return trials


def error_line(message: str) -> str | None:
    """The exception line of a failure's message (`ValueError: ...`), else its last line.

    JAX appends a note after the exception line ("For simplicity, JAX has removed its internal
    frames ..."), so the last line alone is not the error on every backend.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else None


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exhausted|Interrupt)\b")


def _timing(project_dir, trial_id) -> dict:
    path = os.path.join(project_dir, f"trial_{trial_id}", TIMING_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        return json.load(file)


def _compact(values: dict, limit: int = 10) -> str:
    """`name=value, ...` for the first `limit` hyperparameters, numbers to 3 significant digits."""
    shown = [
        f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in values.items()
        if not name.startswith("tuner/")
    ]
    more = len(shown) - limit
    return ", ".join(shown[:limit]) + (f", ... (+{more} more)" if more > 0 else "")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _varied_hyperparameters(results) -> list[str]:
    counts = {}
    for result in results:
        for name, value in result["hyperparameters"].items():
            if not name.startswith("tuner/"):
                counts.setdefault(name, set()).add(str(value))
    varied = [name for name, values in counts.items() if len(values) > 1]
    return sorted(varied, key=lambda name: -len(counts[name]))
