"""The pictures of the `nnperf fit` report, and the captions that say what they show.

`add_figures` draws, in the report's order:

* **Results on the validation rows.** Classification: the confusion matrix (counts, and each
  true class's row as shares) and ROC and precision-recall curves (binary: the positive class;
  multiclass: one-vs-rest for the `MAX_CURVE_CLASSES` most frequent classes). Regression: the
  prediction against the truth, with the diagonal, and the residuals, in the target's own units.
* **Training.** The learning and validation curves in the units the metrics use (regression:
  the MSE loss of the standardized target converted back to RMSE in target units), the LR range
  test, and the schedule applied.
* **Inside the network.** Gradient norms and activation histograms per layer and epoch, with a
  caption that is true for the activation each layer uses.

Every figure is a `keras_nnperf.report.NotebookFigure` (`new_figure`), so the functions here
also show once, as images, in Jupyter.
"""

from __future__ import annotations

import numpy as np

from keras_nnperf.recipe.metrics import score
from keras_nnperf.report import new_figure, plot_history, plot_schedule, plot_unit_fractions

#: At most this many classes get ROC and precision-recall curves (the most frequent ones).
MAX_CURVE_CLASSES = 8
#: A confusion matrix shows at most this many classes (the most frequent), the rest as "other".
MAX_MATRIX_CLASSES = 20
#: Cells are annotated with their numbers up to this many classes.
MAX_ANNOTATED_CLASSES = 12
#: A class name on a matrix's axis is shortened to this many characters.
MAX_LABEL_CHARS = 18


def add_figures(report, model, data, choice, run, search_result) -> None:
    """Add every picture of the run to `report`, each with a caption true for this run.

    Args:
        report: A `keras_nnperf.report.Report`.
        model: The trained model (its validation predictions are drawn).
        data: The `TabularData` it was trained on.
        choice: The `LearningRateChoice`, or `None` for a tuned model.
        run: The `TrainingRun`, or `None` for a tuned model.
        search_result: The `SearchResult` of `--tune`, or `None`.
    """
    pre = data.preprocessor
    outputs = np.asarray(model.predict(data.x_val, batch_size=256, verbose=0), dtype=float)
    report.add_text("Results on the validation rows", "")
    if pre.task == "regression":
        y_true = _original_units(pre, data.y_val)
        y_pred = pre.prediction_from_model(outputs)
        logged = bool(getattr(pre, "target_log", False))
        shift = float(getattr(pre, "target_shift", 0.0))
        report.add_figure(
            "predicted_vs_true",
            plot_predicted_vs_true(y_true, y_pred, pre.target, log_scale=logged, log_shift=shift),
            f"Predicted against true `{pre.target}` on the {len(y_true)} validation rows, in "
            "its original units"
            + (" on log axes (--log-target)" if logged else "")
            + (f", plus {shift:.3g} so that its zeros show" if logged and shift else "")
            + "; points on the diagonal are exact. Right: "
            + (
                "true / predicted, the factor each prediction is off by"
                if logged
                else "the residuals (true - predicted)"
            )
            + "; a slope or a funnel there is structure the network missed.",
        )
    else:
        y_true = np.asarray(data.y_val).reshape(-1).astype(int)
        probabilities = _class_probabilities(outputs)
        names = [str(c) for c in pre.classes]
        report.add_figure(
            "confusion_matrix",
            plot_confusion_matrix(y_true, probabilities.argmax(axis=1), names),
            f"Confusion matrix of the {len(y_true)} validation rows: counts (left) and each true "
            "class's row as shares of it (right: the diagonal is each class's recall)"
            + (" at the 0.5 threshold" if pre.task == "binary" else "")
            + ".",
        )
        report.add_figure(
            "roc_pr", plot_roc_pr(y_true, probabilities, names), _curves_caption(names)
        )
    report.add_text("Training", "")
    if run is not None:
        history, labels = history_in_metric_units(run.history, pre)
        stopper = run.callbacks["early_stopping"]
        start_label = "kept: trivial baseline"
        report.add_figure(
            "training_curves",
            plot_history(history, stopper.best_epoch, labels, start_label=start_label),
            "Training and validation curves"
            + (
                f" of `{pre.logged_target}`, what the network is trained on (--log-target; RMSE "
                "from the MSE loss of the standardized logarithm, times its standard deviation; "
                "the training curve includes dropout)"
                if getattr(pre, "target_log", False)
                else f" in `{pre.target}`'s units (RMSE from the MSE loss of the standardized "
                "target, times its standard deviation; the training curve includes dropout)"
                if pre.task == "regression"
                else " (loss: cross-entropy in nats, the log loss of the table above)"
            )
            + (
                "; the dashed line at epoch 0 marks the trivial baseline, which the run kept "
                "because no epoch's validation loss beat it."
                if stopper.best_epoch == -1
                else "; the dashed line marks the epoch whose weights were kept."
            )
            + _first_member_note(model),
        )
    if choice is not None and choice.finder is not None:
        report.add_figure(
            "lr_finder", choice.finder.plot(), "LR range test: loss against learning rate"
        )
    if run is not None:
        recorder = run.callbacks["schedule"]
        ran = ~np.isnan(recorder.learning_rates)
        momenta = recorder.momenta[ran]
        report.add_figure(
            "schedule",
            plot_schedule(
                recorder.learning_rates[ran],
                None if np.all(np.isnan(momenta)) else momenta,
                recorder.attribute or "momentum",
            ),
            "Learning rate and momentum applied at each step (warm-up, 1Cycle, annealing)",
        )
        report.add_text("Inside the network", "")
        gradients = run.callbacks["gradients"]
        report.add_figure("gradient_norms", gradients.plot(), gradient_caption(gradients))
        activations = run.callbacks["activations"]
        # The monitor's own network: with --ensemble, `model` averages several.
        caption = activation_caption(activations, activations.model)
        report.add_figure("activations", activations.plot(), caption)
        fractions = plot_unit_fractions(activations.history, activations.epochs)
        if fractions is not None:
            report.add_figure(
                "dead_units",
                fractions,
                "Dead units (zero on every probe row) and saturated outputs per layer and epoch",
            )
    if search_result is not None:
        report.add_figure("tuner_trials", search_result.plot(), "Architecture search: trials")


# -- results ------------------------------------------------------------------------------------


def _original_units(pre, values) -> np.ndarray:
    # The network predicts the standardized target (tabular.preprocessor: `decode`).
    return pre.target_from_model(values)


def _class_probabilities(outputs) -> np.ndarray:
    """`(n, classes)` probabilities from a sigmoid `(n, 1)` or softmax `(n, classes)` output."""
    outputs = np.asarray(outputs, dtype=float).reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        return np.concatenate([1.0 - outputs, outputs], axis=1)
    return outputs


def tick_labels(names, width: int = MAX_LABEL_CHARS) -> list[str]:
    """`names` shortened to `width` characters with an ellipsis, still telling them apart.

    Long class names squeezed the matrix out of its picture (palmerpenguins' raw table names
    its species `Chinstrap penguin (Pygoscelis antarctica)`: 41 characters, rotated, left a
    strip of the matrix). A name is cut at the end; names that the cut makes equal keep their
    start and their end instead (`Group of long na…a`), and failing that, their number.
    """
    names = [str(n) for n in names]
    head = [n if len(n) <= width else n[: width - 1].rstrip() + "\u2026" for n in names]
    if len(set(head)) == len(head):
        return head
    half = (width - 1) // 2
    ends = [n if len(n) <= width else n[:half] + "\u2026" + n[-(width - 1 - half) :] for n in names]
    if len(set(ends)) == len(ends):
        return ends
    return [
        f"{i + 1}: {n[: width - 4]}\u2026" if len(n) > width else n for i, n in enumerate(names)
    ]


def plot_confusion_matrix(y_true, y_pred, class_names):
    """Counts and row-normalized shares of true (rows) against predicted (columns) classes.

    Classes beyond the `MAX_MATRIX_CLASSES` most frequent true ones are merged into "other".

    Args:
        y_true: True class indices into `class_names`.
        y_pred: Predicted class indices.
        class_names: One name per class.

    Returns:
        A `NotebookFigure` with two panels.
    """
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_pred = np.asarray(y_pred).reshape(-1).astype(int)
    names = [str(n) for n in class_names]
    merged = len(names) > MAX_MATRIX_CLASSES
    if merged:
        keep = np.argsort(-np.bincount(y_true, minlength=len(names)), kind="stable")
        keep = np.sort(keep[: MAX_MATRIX_CLASSES - 1])
        index = np.full(len(names), len(keep))
        index[keep] = np.arange(len(keep))
        y_true, y_pred = index[y_true], index[y_pred]
        names = [names[i] for i in keep] + ["other"]
    k = len(names)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    totals = counts.sum(axis=1, keepdims=True)
    # A class with no validation rows has no recall: blank, not a row of 0% that reads as one.
    shares = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)
    labels = tick_labels(names)
    # Room for the labels beside and under each panel, so its title clears the colour bar.
    side = min(6.5, max(3.6, 1.6 + 0.42 * k)) + 0.05 * max(len(n) for n in labels)
    figure = new_figure(2 * side + 0.8, side)
    from matplotlib import colormaps  # after new_figure, which says when matplotlib is missing

    left, right = figure.subplots(1, 2)
    count_title, count_limits = "Counts", None
    if merged and counts[:-1, :-1].max() > 0:
        # "other" sums many classes: on its scale the named classes' counts were all pale
        # (40 classes, 60 rows each, "other" 220).
        count_limits = (0, int(counts[:-1, :-1].max()))
        count_title = f"Counts ('other': {len(class_names) - k + 1} classes, off the scale)"
    panels = (
        (left, counts, count_title, "Blues", count_limits),
        (right, shares, "Share of each true class", "Greens", (0.0, 1.0)),
    )
    for ax, values, title, cmap, limits in panels:
        colours = colormaps[cmap].with_extremes(bad="0.92")
        image = ax.imshow(
            values, cmap=colours, vmin=limits and limits[0], vmax=limits and limits[1]
        )
        ax.set_title(title)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        rotation = 45 if max(len(n) for n in labels) > 3 else 0
        ax.set_xticks(range(k), labels, rotation=rotation, ha="right" if rotation else "center")
        ax.set_yticks(range(k), labels)
        figure.colorbar(image, ax=ax, shrink=0.8).set_label(
            "rows" if values is counts else "share of the true class"
        )
        if k <= MAX_ANNOTATED_CLASSES:
            peak = np.nanmax(values) or 1
            for i in range(k):
                if values is not counts and np.isnan(values[i, 0]):
                    ax.text((k - 1) / 2, i, "no validation rows", ha="center", va="center")
                    continue
                for j in range(k):
                    text = f"{values[i, j]}" if values is counts else f"{values[i, j]:.0%}"
                    dark = values[i, j] > 0.55 * peak
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=9,
                        color="white" if dark else "black",
                    )
    return figure


def roc_curve(y_true, score):
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1).

    Returns:
        `(fpr, tpr)`, or `None` when `y_true` has no positives or no negatives.
    """
    tps, fps = _cumulative_counts(y_true, score)
    if tps is None:
        return None
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def precision_recall_curve(y_true, score):
    """Recall (increasing) and precision at every distinct threshold, from recall 0.

    As scikit-learn's `precision_recall_curve` (1.9, reversed): it starts at (recall 0,
    precision 1) and ends at the lowest threshold, where every row is called positive.

    Returns:
        `(recall, precision)`, or `None` when `y_true` has no positives or no negatives.
    """
    tps, fps = _cumulative_counts(y_true, score)
    if tps is None:
        return None
    return np.r_[0.0, tps / tps[-1]], np.r_[1.0, tps / (tps + fps)]


def average_precision(recall, precision) -> float:
    """`sum_k (R_k - R_(k-1)) P_k`, the step-wise area under the precision-recall curve.

    Reference:
        Zhu, 2004, "Recall, precision and average precision"; scikit-learn's
        `average_precision_score` uses the same sum.
    """
    return float(np.sum(np.diff(recall) * precision[1:]))


def _cumulative_counts(y_true, score):
    # True and false positives when the threshold sits at each distinct score, highest first.
    positive = np.asarray(y_true).reshape(-1).astype(bool)
    score = np.asarray(score, dtype=float).reshape(-1)
    if positive.all() or not positive.any():
        return None, None
    order = np.argsort(-score, kind="mergesort")
    score, positive = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(positive)[last].astype(float)
    return tps, (last + 1) - tps


def _auc(x, y) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def plot_roc_pr(y_true, probabilities, class_names):
    """ROC and precision-recall curves: the positive class, or one-vs-rest per class.

    Binary (two classes): the curves of the second class's probability. Multiclass: one curve
    per class for the `MAX_CURVE_CLASSES` most frequent classes, each class against the rest.
    The legend gives the ROC AUC and the average precision, and for a multiclass task each
    class's validation rows (a class of one or two rows draws a step, and its AUC is noise);
    the dotted lines are chance (the diagonal, and the positive share for a binary task).

    Args:
        y_true: True class indices.
        probabilities: `(n, classes)` class probabilities.
        class_names: One name per class.

    Returns:
        A `NotebookFigure` with two panels.
    """
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    names = [str(n) for n in class_names]
    if len(names) == 2:
        shown = [1]
    else:
        frequent = np.argsort(-np.bincount(y_true, minlength=len(names)), kind="stable")
        shown = sorted(frequent[:MAX_CURVE_CLASSES])
    figure = new_figure(11.0, 4.4)
    roc_ax, pr_ax = figure.subplots(1, 2)
    for c in shown:
        positive = y_true == c
        roc = roc_curve(positive, probabilities[:, c])
        if roc is None:  # the class is absent from (or is all of) the validation rows
            continue
        recall, precision = precision_recall_curve(positive, probabilities[:, c])
        # Each class's validation rows beside it: a curve of one row is a step, its AUC noise.
        count = int(positive.sum())
        rows = f"{count} row{'s' if count != 1 else ''}"
        label = f"{names[c]}, {rows}" if len(names) > 2 else f"positive class: {names[c]}"
        roc_ax.plot(*roc, label=f"{label} (AUC {_auc(*roc):.3f})")
        ap = average_precision(recall, precision)
        # Past the first threshold at full recall the curve only falls along recall = 1.
        full = int(np.argmax(recall >= 1.0)) + 1
        pr_ax.step(recall[:full], precision[:full], where="pre", label=f"{label} (AP {ap:.3f})")
        if len(names) == 2:
            pr_ax.axhline(positive.mean(), color="black", linestyle=":", label="chance")
    roc_ax.plot([0, 1], [0, 1], color="black", linestyle=":", label="chance")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate (recall)")
    pr_ax.set(xlabel="recall", ylabel="precision")
    subtitle = "" if len(names) == 2 else ", one class vs the rest"
    roc_ax.set_title("ROC curve" + subtitle)
    pr_ax.set_title("Precision-recall curve" + subtitle)
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is roc_ax else "lower left")
    return figure


def _curves_caption(names) -> str:
    if len(names) == 2:
        return (
            f"ROC (left) and precision-recall (right) curves of the validation rows for the "
            f"positive class `{names[1]}`; AUC and average precision (AP) in the legend, "
            "dotted: chance."
        )
    more = len(names) > MAX_CURVE_CLASSES
    return (
        "ROC (left) and precision-recall (right) curves of the validation rows, each class "
        "against the rest"
        + (f" (the {MAX_CURVE_CLASSES} most frequent of {len(names)} classes)" if more else "")
        + "; AUC and average precision (AP) in the legend."
    )


def plot_predicted_vs_true(
    y_true, y_pred, target: str = "target", log_scale: bool = False, log_shift: float = 0.0
):
    """Predicted against true values with the diagonal, and residuals against predictions.

    Args:
        y_true: True values, in the target's units.
        y_pred: Predictions, in the same units.
        target: The target's name, for the axes.
        log_scale: Log axes, and the ratio true / predicted for the residuals (a `--log-target`
            run, every value positive): on linear axes, mglearn's RAM prices (0.0037 to 4.1e8)
            were one dot at the top and a pile at zero.
        log_shift: `c` of a log target with zeros (`log(y + c)`): the log axes show `y + c`,
            so the zeros are on them (at `c`).

    Returns:
        A `NotebookFigure` with two panels; the titles give R2, RMSE and MAE (and, on log
        axes, the R2 of the logarithms).
    """
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    residual = y_true - y_pred
    shift = float(log_shift) if log_scale else 0.0
    shown_true, shown_pred = y_true + shift, y_pred + shift  # what the axes show
    if log_scale and not (np.all(shown_true > 0) and np.all(shown_pred > 0)):
        log_scale, shift = False, 0.0  # a log axis cannot show zero or a negative value
        shown_true, shown_pred = y_true, y_pred
    scores = score("regression", y_true, y_pred, log_target=log_scale, log_shift=shift)
    shown = f"{target} + {shift:.3g}" if shift else target
    alpha = float(np.clip(300.0 / max(len(y_true), 1), 0.15, 0.8))
    figure = new_figure(11.0, 4.6)
    scatter, residuals = figure.subplots(1, 2)
    scatter.scatter(shown_true, shown_pred, s=14, alpha=alpha, edgecolors="none")
    low = float(min(shown_true.min(), shown_pred.min()))
    high = float(max(shown_true.max(), shown_pred.max()))
    if log_scale:  # a pad of 10% of the span in log space
        pad = (high / low) ** 0.03
        limits = (low / pad, high * pad)
    else:
        pad = 0.03 * (high - low or 1.0)
        limits = (low - pad, high + pad)
    scatter.plot(limits, limits, color="C3", linestyle="--", label="predicted = true")
    if log_scale:
        scatter.set_xscale("log")
        scatter.set_yscale("log")
    scatter.set_xlim(*limits)
    scatter.set_ylim(*limits)
    scatter.set_aspect("equal")
    scatter.set(xlabel=f"true {shown}", ylabel=f"predicted {shown}")
    # Over orders of magnitude, R2 in the units is that of the largest values: give the logs'.
    of_logs = f", of the logs {scores['r2_log']:.3f}" if log_scale else ""
    scatter.set_title(  # smaller with the logs' R2: at the default size it ran off the panel
        f"Predicted vs true (R2 {scores['r2']:.3f}{of_logs}, RMSE {scores['rmse']:.4g})",
        fontsize=10 if log_scale else None,
    )
    scatter.legend(loc="upper left", fontsize=8)
    mae = scores["mae"]
    if log_scale:
        ratio = shown_true / shown_pred
        residuals.scatter(shown_pred, ratio, s=14, alpha=alpha, edgecolors="none")
        residuals.axhline(1.0, color="C3", linestyle="--")
        residuals.set_xscale("log")
        residuals.set_yscale("log")
        residuals.set(xlabel=f"predicted {shown}", ylabel=f"true / predicted ({shown})")
        factor = float(np.exp(np.median(np.abs(np.log(ratio)))))
        residuals.set_title(f"Ratios (median factor {factor:.3g}; MAE {mae:.4g})")
    else:
        residuals.scatter(y_pred, residual, s=14, alpha=alpha, edgecolors="none")
        residuals.axhline(0.0, color="C3", linestyle="--")
        residuals.set(xlabel=f"predicted {target}", ylabel=f"residual: true - predicted {target}")
        residuals.set_title(f"Residuals (MAE {mae:.4g})")
    for ax in (scatter, residuals):
        ax.grid(alpha=0.3)
    return figure


# -- training -----------------------------------------------------------------------------------


def history_in_metric_units(history: dict, pre) -> tuple[dict, dict]:
    """The curves in the units of the report's metrics, and an axis label for each.

    Regression: the MSE loss of the standardized target becomes `rmse = sqrt(loss) * std` and
    the MAE `mae * std`, both in the target's units (what the metrics table shows).
    Classification keeps the cross-entropy (the log loss of the metrics table) and accuracy.

    Returns:
        `(history, labels)` for `keras_nnperf.report.plot_history`.
    """
    if pre.task != "regression":
        loss = "binary" if pre.task == "binary" else "categorical"
        labels = {
            "loss": f"log loss ({loss} cross-entropy, nats)",
            "accuracy": "accuracy",
            "auc": "ROC AUC",
        }
        return dict(history), labels
    converted, labels = {}, {}
    for prefix in ("", "val_"):
        if f"{prefix}loss" in history:
            mse = np.asarray(history[f"{prefix}loss"], dtype=float)
            converted[f"{prefix}rmse"] = list(np.sqrt(np.maximum(mse, 0.0)) * pre.target_std)
        if f"{prefix}mae" in history:
            mae = np.asarray(history[f"{prefix}mae"], dtype=float)
            converted[f"{prefix}mae"] = list(mae * pre.target_std)
    labels = {"rmse": f"RMSE ({pre.target} units)", "mae": f"MAE ({pre.target} units)"}
    if getattr(pre, "target_log", False):  # trained on the logarithm: its errors, not the units'
        converted = {name.replace("rmse", "rmse_log"): v for name, v in converted.items()}
        labels = {"rmse_log": f"RMSE of {pre.logged_target}", "mae": f"MAE of {pre.logged_target}"}
    return converted, labels


# -- inside the network -------------------------------------------------------------------------


def gradient_caption(monitor) -> str:
    """What `gradient_norms.png` shows, with the last epoch's first-to-last layer ratio.

    The ratio is the one the vanishing check reads: embedding tables, which it leaves out
    (`gradient_monitor.is_lookup`), are left out of it too, and the caption says so.

    Args:
        monitor: The fitted `GradientMonitor`; its alert thresholds say what is vanishing or
            exploding.
    """
    from keras_nnperf.callbacks.gradient_monitor import lookup_layer_names

    lookups = lookup_layer_names(monitor.model, monitor.layers)
    checked = [name for name in monitor.layer_names if name not in lookups]
    norms = [monitor.history[f"grad_norm/{name}"][-1] for name in checked]
    text = (
        "Gradient norm of each layer's weights (all its variables together), mean over the "
        "epoch's steps, on a log10 colour scale; layers from the input (top) to the output."
    )
    if len(norms) >= 2 and norms[0] > 0 and norms[-1] > 0:
        vanishing = monitor.thresholds["vanishing_ratio"]
        exploding = monitor.thresholds["exploding_ratio"]
        first = (
            "the first layer's norm after the embedding tables (a lookup's gradient reaches only "
            "the rows a batch used, so the check leaves them out)"
            if lookups
            else "the first layer's norm"
        )
        text += (
            f" In the last epoch {first} was {norms[0] / norms[-1]:.2g}x the last "
            f"layer's; the monitor calls below {vanishing:g}x vanishing and above "
            f"{exploding:g}x exploding."
        )
    return text


def _first_member_note(model) -> str:
    from keras_nnperf.recipe.ensemble import members_of

    n = len(members_of(model))
    if n == 1:
        return ""
    return (
        f" These are the first of the {n} networks the model averages (`--ensemble`); the "
        "others trained the same way from other seeds, and so do the pictures below."
    )


def activation_caption(monitor, model) -> str:
    """What `activations.png` shows, true for each layer's activation.

    A bright band at zero means different things: outputs at exactly zero for the ReLU family
    (a unit zero on every probe row is dead); the squeezed negative side for Mish, Swish or
    GELU (smooth, their gradient there is not zero, so no unit is dead); for sigmoid and tanh,
    bands at the bounds are saturation.

    Args:
        monitor: The fitted `ActivationMonitor`.
        model: Its model, to look up each monitored layer's activation.
    """
    from keras_nnperf.callbacks.activation_monitor import (
        DYING_ACTIVATIONS,
        SATURATION_TESTS,
        activation_name,
    )

    by_activation: dict[str, list[str]] = {}
    for name in monitor.layer_names:
        activation = activation_name(model.get_layer(name)) or "linear"
        by_activation.setdefault(activation, []).append(name)
    import keras

    rows = len(keras.tree.flatten(monitor.x_probe)[0])  # inputs may be a dict or a list
    parts = [
        f"Distribution of each hidden layer's outputs on a fixed probe batch of {rows} "
        "training rows, per epoch; colour: log(1 + count)."
    ]
    for activation, layers in by_activation.items():
        where = ", ".join(f"`{layer}`" for layer in layers) + f" ({activation})"
        if activation in DYING_ACTIVATIONS:
            parts.append(
                f"{where}: the band at 0 is outputs at exactly zero; a unit at zero on every "
                "probe row is dead (see the dead-unit plot)."
            )
        elif activation in SATURATION_TESTS:
            parts.append(
                f"{where}: bands at the bounds are saturated outputs, whose gradient is near zero."
            )
        elif activation != "linear":
            floor = negative_floor(activation)
            if floor is not None and -np.inf < floor < 0:
                squeezed = floor > -0.5  # Mish, Swish, GELU; not ELU or SELU
                parts.append(
                    f"{where}: every negative input maps into [{floor:.3g}, 0)"
                    + (", so those outputs pile up in the bright band at zero" if squeezed else "")
                    + "; unlike ReLU's zeros they still pass gradient: these are not dead units."
                )
            elif floor == -np.inf:
                parts.append(
                    f"{where}: negative inputs are scaled down, never zeroed: no unit is dead."
                )
    return " ".join(parts)


def negative_floor(activation: str) -> float | None:
    """The minimum of `activation` over [-20, 20]: `-inf` when unbounded below, `None` unknown.

    Computed, not tabulated, so it holds for any registered or Keras activation (Mish -0.309,
    Swish -0.278, GELU -0.170, ELU -1, SELU -1.758, softplus 0).
    """
    import keras

    from keras_nnperf import get_activation

    try:
        function = get_activation(activation)
    except (ValueError, TypeError):
        return None
    if isinstance(function, keras.layers.Layer) or not callable(function):
        return None  # a parametric activation: its shape depends on learned weights
    x = np.linspace(-20.0, 20.0, 4001, dtype="float32")
    y = keras.ops.convert_to_numpy(function(keras.ops.convert_to_tensor(x)))
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(y)):
        return None
    lowest = int(np.argmin(y))
    # Still falling at the left edge of the grid: unbounded below (leaky ReLU, linear).
    return -np.inf if lowest == 0 and y[0] < y[1] else float(y[lowest])
