"""The Markdown sections of the `nnperf fit` report."""

from __future__ import annotations

import numpy as np

from keras_nnperf.recipe.metrics import clips_linear
from keras_nnperf.tabular.dates import SPELLING_EXAMPLES
from keras_nnperf.tabular.names import name_list, names_by_value

# What each of the calendar's cycles (`tabular.calendar_cycles`) is, in the report's words.
_CYCLE_WORDS = {"year": "season", "week": "weekday", "day": "hour of day"}

#: Differences of accuracy or R2 up to this are reported as "about even".
TIE_MARGIN = 0.01

#: A log loss at least this fraction below a baseline's is a better probabilistic model.
LOG_LOSS_MARGIN = 0.01


def findings_markdown(diagnosis) -> str:
    """The doctor's findings as a bullet list."""
    findings = list(diagnosis)
    if not findings:
        return "No problems found."
    lines = []
    for f in findings:
        lines.append(f"- **{f.severity}** `{f.code}`: {f.title}")
        if f.fix:
            lines.append(f"  - fix: {f.fix}")
    return "\n".join(lines)


def data_markdown(data, data_path: str | None) -> str:
    """What was read and how it was encoded."""
    pre = data.preprocessor
    numeric = [f["name"] for f in pre.features if f["kind"] == "numeric"]
    dates = [_date_text(f) for f in pre.features if f.get("date") and f.get("spelling") != "time"]
    times = [_date_text(f) for f in pre.features if f.get("spelling") == "time"]
    indicators = [f["name"] for f in pre.features if f.get("indicator")]
    one_hot = [f["name"] for f in pre.features if f.get("encoding") == "one_hot"]
    embedded = [
        f"{f['name']} ({len(f['categories'])} levels, width {f['output_dim']})"
        for f in pre.features
        if f.get("encoding") == "embedding"
    ]
    lines = [
        f"- file: `{data_path}`" if data_path else "",
        f"- target: `{pre.target}`, task: **{pre.task}**"
        + (f", classes: {', '.join(map(str, pre.classes))}" if pre.classes else ""),
        f"- rows: {len(data.x_train)} training, {len(data.x_val)} validation"
        + (" (stratified)" if pre.classes else ""),
        (
            f"- {len(numeric)} numeric column(s), standardized with training-split statistics"
            + (f" (dates as days since 1970-01-01: {'; '.join(dates)})" if dates else "")
            + (f" (times of day as fractions of a day: {'; '.join(times)})" if times else "")
            if numeric
            else ""
        ),
        # A table of numbers only has no such line (it read "0 categorical column(s)").
        f"- {len(one_hot)} categorical column(s), one-hot encoded: {', '.join(one_hot)}"
        if one_hot
        else "",
        (
            f"- {len(embedded)} high-cardinality categorical column(s), learned embeddings: "
            + ", ".join(embedded)
            if embedded
            else ""
        ),
        (
            f"- missing-value indicator columns added for: {', '.join(indicators)}"
            if indicators
            else ""
        ),
        f"- ID column `{pre.id_column}`: not a feature, carried into the predictions"
        if getattr(pre, "id_column", None)
        else "",
        f"- dropped on request: {', '.join(pre.dropped)}" if getattr(pre, "dropped", None) else "",
        "- left out: "
        + "; ".join(
            f"{name_list(names, quote=lambda n: f'`{n}`')} ({why})"
            for why, names in names_by_value(pre.excluded).items()
        )
        if getattr(pre, "excluded", None)
        else "",
        f"- {pre.num_features} input features to the network",
    ]
    if pre.task == "regression" and getattr(pre, "target_log", False):
        shift = getattr(pre, "target_shift", 0.0)
        zeros = (
            f" (with zeros: `{pre.logged_target}`, {shift:.3g} the 1st percentile of its "
            "positive values)"
            if shift
            else ""
        )
        lines.append(
            f"- the target is trained as its natural logarithm{zeros}, standardized (mean "
            f"{pre.target_mean:.4g}, standard deviation {pre.target_std:.4g}, --log-target); "
            f"predictions are exp of the model's output{f' minus {shift:.3g}' if shift else ''}, "
            "and the metrics and pictures below are in the target's original units (the "
            "training curves in its logarithm's; `r2_log` is the R² of the logarithms)"
        )
    elif pre.task == "regression":
        lines.append(
            f"- the target is standardized for training (mean {pre.target_mean:.4g}, standard "
            f"deviation {pre.target_std:.4g}); the metrics and pictures below are in its "
            "original units"
        )
    if pre.task == "regression" and getattr(pre, "target_range", None) is not None:
        low, high = pre.target_range
        linear = (
            "the linear model's too: fit on the logarithm, its extrapolations grow exponentially"
            if clips_linear(pre)
            else "the linear model's are scikit-learn's, not clipped"
        )
        lines.append(
            f"- the network's predictions are clipped to the training range, {low:.4g} to "
            f"{high:.4g} ({linear})"
        )
    return "\n".join(line for line in lines if line)


def _date_text(feature: dict) -> str:
    """`when, written like 2012/01/31, with its season and weekday` (the cycles it kept)."""
    cycles = [_CYCLE_WORDS[c] for c in feature.get("cycles", ())]
    kept = f", with its {' and '.join(cycles)}" if cycles else ""
    spelling = SPELLING_EXAMPLES[feature.get("spelling", "iso")]
    return f"{feature['name']}, written like {spelling}{kept}"


def schedule_summary(learning_rates, steps_per_epoch: int) -> dict:
    """Peak, final rate and where the fall began, from the rates applied at each step."""
    rates = np.asarray(learning_rates, dtype=float)
    rates = rates[~np.isnan(rates)]
    if rates.size == 0:
        return {}
    peak_step = int(np.argmax(rates))
    return {
        "peak": float(rates[peak_step]),
        "final": float(rates[-1]),
        "fall_epoch": peak_step // max(steps_per_epoch, 1) + 1,
        "steps": int(rates.size),
    }


def training_markdown(choice, run, batch_size: int, epochs: int, steps_per_epoch: int) -> str:
    """What the schedule and the stopper did, in sentences."""
    stopper = run.callbacks["early_stopping"]
    ran = len(run.history.get("loss", []))
    kept = (stopper.best_epoch or 0) + 1
    summary = schedule_summary(run.callbacks["schedule"].learning_rates, steps_per_epoch)
    # A rate given with --lr has no reason beyond its source: say it once.
    said = choice.source if choice.reason == choice.source else f"{choice.source}: {choice.reason}"
    lines = [f"- Peak learning rate {choice.rate:.3g}, {said}."]
    if run.schedule == "1cycle" and summary:
        ratio = summary["final"] / summary["peak"] if summary["peak"] > 0 else float("nan")
        lines.append(
            f"- Warm-up, then 1Cycle planned over {epochs} epoch(s) of {steps_per_epoch} step(s) "
            f"(batch size {batch_size}); the rate fell from epoch {summary['fall_epoch']} on "
            f"and ended at {summary['final']:.3g} ({ratio:.1e} of the peak). When the "
            "validation loss stops improving the cycle jumps to its annealing phase and training "
            "ends once it has annealed."
        )
        if summary["peak"] < 0.99 * choice.rate:
            lines[-1] += (
                f" This run jumped while the rate was still rising: the highest rate applied was "
                f"{summary['peak']:.3g}, {summary['peak'] / choice.rate:.0%} of the planned peak."
            )
    else:
        lines.append(
            f"- The run has {run.planned_steps} step(s) (batch size {batch_size}), too few for a "
            "1Cycle: it trained at the peak rate after a short warm-up."
        )
    if stopper.best_epoch == -1:
        lines.append(
            f"- {ran} epoch(s) run (stop: `{stopper.stop_reason}`); no epoch's validation loss "
            f"beat the trivial baseline's ({stopper.start_value:.4g}), so the network was set "
            "to it: its output kernel is zero, and it predicts the training mean or class "
            "shares for every row. The columns may say little about this target."
        )
    else:
        lines.append(
            f"- {ran} epoch(s) run (stop: `{stopper.stop_reason}`); the weights of epoch {kept}, "
            "the best validation loss, were kept."
        )
    if run.interrupted:
        line = f"- **Training was interrupted (Ctrl-C) after {ran} of at most {epochs} epoch(s)**"
        share = summary["final"] / summary["peak"] if summary and summary["peak"] > 0 else 0
        if share > 0.01:
            line += (
                f", before the rate had annealed (it was still {share:.0%} of its peak): the "
                "model is the best epoch so far. Run again without "
                "interrupting for the annealed result."
            )
        else:
            line += ", once the rate had annealed: the model is the best epoch so far."
        lines.append(line)
    return "\n".join(lines)


def members_line(member_metrics: list) -> str:
    """The console's line of a seed ensemble: each network's headline score alone."""
    key = "r2" if "r2" in member_metrics[0] else "accuracy"
    shown = ", ".join(f"{m[key]:.4f}" for m in member_metrics)
    return f"each network alone: {key} {shown}"


def ensemble_markdown(
    member_metrics: list, metrics: dict, seed: int, planned: int, interrupted: bool = False
) -> str:
    """What a seed ensemble did: how many networks, each one's score, the mean's score."""
    key = "r2" if "r2" in metrics else "accuracy"
    n = len(member_metrics)
    if n == 1:
        return (
            f"- **Training was interrupted (Ctrl-C)** before the second of {planned} networks "
            "(a seed ensemble) had trained an epoch: the model is the first network alone."
        )
    alone = [m[key] for m in member_metrics]
    line = (
        f"- The model is the mean of the outputs of {n} networks (a seed ensemble: by default "
        "3 up to 1,500 training rows; `--ensemble N` sets how many, `--ensemble 1` trains one), "
        f"initialized from seeds {seed}-{seed + n - 1} and each trained as above with the same "
        f"peak rate (the schedule and pictures are those of the first). Alone they score "
        f"{key} {', '.join(f'{v:.4f}' for v in alone)} on the validation rows "
        f"(mean {sum(alone) / n:.4f}); their mean output scores {metrics[key]:.4f}."
    )
    if interrupted:
        line += (
            f" **Training was interrupted (Ctrl-C)**: {n} of {planned} networks were kept, "
            "each at its best epoch so far."
        )
    return line


def comparison_markdown(
    metrics: dict,
    baselines: dict,
    rows: int | None = None,
    folds: int | None = None,
    codes: list[str] | tuple = (),
) -> str:
    """A table of the network's validation metrics beside the baselines', and a verdict.

    The verdict compares the headline metric (accuracy, or R2 for regression), the first
    baseline being the trivial one (majority class or mean) and any other a real model (the
    linear one). Differences up to `TIE_MARGIN` are "about even". Losing to the trivial baseline
    means the network learned nothing usable; losing to the linear model means the simpler
    model is the better choice on this table until the network wins. Each verdict says what
    to try. When the network loses or ties in accuracy but its log loss is at least
    `LOG_LOSS_MARGIN` (1%) below that baseline's, the verdict says so: accuracy counts only
    whether each row's most probable class is its own, and with a rare class (Caravan's 6%
    buyers) a network whose AUC is 0.75 can tie the majority class in accuracy while its
    probabilities are far better.

    Args:
        metrics: The network's metrics by name.
        baselines: Label -> metrics of each baseline, on the same rows; the trivial one first.
        rows: Validation rows behind the numbers; with it, the verdict says how large a
            difference of accuracy one row makes.
        folds: The number of folds when the numbers are out-of-fold (`--folds`), else `None`.
        codes: Whole-number columns read as numbers whose names read as codes
            (`tabular.codes.code_like_columns`); a losing verdict suggests `--categorical`.

    Returns:
        Markdown: the table, then a paragraph.
    """
    names = list(metrics)
    header = "| model | " + " | ".join(names) + " |"
    lines = [header, "|---|" + "---|" * len(names)]

    def row(label, values):
        shown = [f"{values[n]:.4g}" if n in values else "" for n in names]
        return f"| {label} | " + " | ".join(shown) + " |"

    lines.append(row("**this network**", metrics))
    for label, values in baselines.items():
        lines.append(row(label, values))
    key = "r2" if "r2" in metrics else "accuracy"
    if key not in metrics:
        return "\n".join(lines)
    ours = metrics[key]
    gaps = {label: values[key] - ours for label, values in baselines.items() if key in values}
    trivial = next(iter(gaps), None)
    lost = [label for label, gap in gaps.items() if gap > TIE_MARGIN]
    even = [label for label, gap in gaps.items() if 0 < gap <= TIE_MARGIN]
    noise = ""
    if rows and key == "accuracy":
        noise = f" One of the {rows} validation rows is {1 / rows:.2g} of accuracy."
    if trivial in lost:
        constant = "the mean" if key == "r2" else "the majority class"
        models = [label for label in gaps if label != trivial]
        # Every real model at or below the constant too (a market, volunteering from sex
        # and two scores): the columns, not the training, are what falls short.
        none_better = models and all(gaps[label] <= gaps[trivial] for label in models)
        lines.append(
            f"\n**The network loses to the trivial baseline:** its {key} {ours:.4g} is below the "
            f"{baselines[trivial][key]:.4g} of always predicting {constant}. "
            + (
                "In accuracy it has learned nothing usable (see its log loss below). "
                if key == "accuracy" and _better_log_loss(metrics, baselines, [trivial])
                else "It has learned nothing usable. "
            )
            + (
                "Neither does "
                + " nor ".join(f"the {label}: {baselines[label][key]:.4g}" for label in models)
                + ". The columns may say little about the target. Check that it is the column "
                "you mean and that no warning above says the data was mangled; more rows or "
                "other columns will help more than another learning rate."
                if none_better
                else "Check that the target column is the one you mean and that no warning "
                "above says the data was mangled; then try another learning rate (`--lr`, a "
                "few times smaller or larger than the peak used) and more `--epochs`."
            )
            + noise
        )
    elif lost:
        best = max(lost, key=lambda label: gaps[label])
        lines.append(
            f"\n**The network loses to the {best}:** its {key} {ours:.4g} is "
            f"{gaps[best]:.3g} below the {baselines[best][key]:.4g} of that simpler model on the "
            "same rows. Prefer the simpler model here until the network wins. To give the "
            "network a fair chance: `--tune 20` (search architectures and recipes), another "
            "`--lr` (a few times smaller or larger than the peak used)"
            + (
                f"; the gap is out-of-fold over {folds} folds, so it is not the noise of one "
                "small split."
                if folds
                else ", and `--folds 5` to see whether the gap is larger than the noise of one "
                "small validation split."
            )
            + noise
        )
    elif even:
        lines.append(
            f"\nThe network's {key} is within {TIE_MARGIN} of the {' and the '.join(even)}: "
            "about even on this split, so the simpler model does as well." + noise
        )
    if lost and codes:
        shown = " ".join(codes)
        lines[-1] += (
            f" Whole numbers read as quantities, whose names read as codes: "
            f"{name_list(list(codes), quote=lambda n: f'`{n}`')}; if their numbers name things "
            f"(a brand, a city) rather than count them, `--categorical {shown}` reads them as "
            "categories."
        )
    behind = [label for label, gap in gaps.items() if gap > 0]
    if not behind:
        lines.append(f"\nThe network's {key} is at or above every baseline on this split." + noise)
    elif key == "accuracy":
        lines[-1] += _better_log_loss(metrics, baselines, behind)
    return "\n".join(lines)


def _better_log_loss(metrics: dict, baselines: dict, behind: list) -> str:
    """A sentence when the log loss beats baselines that the accuracy ties or loses to."""
    ours = metrics.get("log_loss")
    beaten = [
        label
        for label in behind
        if ours is not None
        and "log_loss" in baselines[label]
        and ours <= (1 - LOG_LOSS_MARGIN) * baselines[label]["log_loss"]
    ]
    if not beaten:
        return ""
    against = " and ".join(f"{baselines[label]['log_loss']:.4g} ({label})" for label in beaten)
    auc = f", AUC {metrics['auc']:.3g}" if "auc" in metrics else ""
    return (
        f" Its log loss, though, is lower: {ours:.4g}{auc}, against {against}. Its "
        "probabilities are the better ones; accuracy only counts whether each row's most "
        "probable class is its own, and a rare class can keep every row on the majority's side "
        "(its probabilities rise, yet stay below the majority's). If a threshold "
        "of your own, ranking or costs that differ by class matter, judge by log loss and AUC."
    )
