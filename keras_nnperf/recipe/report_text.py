"""The Markdown sections of the `nnperf fit` report."""

from __future__ import annotations

import numpy as np

#: Differences of accuracy or R2 up to this are reported as "about even".
TIE_MARGIN = 0.01


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
    categorical = [f["name"] for f in pre.features if f["kind"] == "categorical"]
    lines = [
        f"- file: `{data_path}`" if data_path else "",
        f"- target: `{pre.target}`, task: **{pre.task}**"
        + (f", classes: {', '.join(map(str, pre.classes))}" if pre.classes else ""),
        f"- rows: {len(data.x_train)} training, {len(data.x_val)} validation"
        + (" (stratified)" if pre.classes else ""),
        f"- {len(numeric)} numeric column(s), standardized with training-split statistics",
        f"- {len(categorical)} categorical column(s), one-hot encoded"
        + (f": {', '.join(categorical)}" if categorical else ""),
        f"- {pre.num_features} input features to the network",
    ]
    if pre.task == "regression":
        lines.append(
            "- the target is standardized for training (loss curves are in standard deviations "
            f"of `{pre.target}`: 1.0 is what predicting the mean scores); the metrics below are "
            "in its original units"
        )
    return "\n".join(line for line in lines if line)


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
    lines = [f"- Peak learning rate {choice.rate:.3g}, {choice.source}: {choice.reason}."]
    if run.schedule == "1cycle" and summary:
        ratio = summary["final"] / summary["peak"] if summary["peak"] > 0 else float("nan")
        lines.append(
            f"- Warm-up, then 1Cycle planned over {epochs} epoch(s) of {steps_per_epoch} step(s) "
            f"(batch size {batch_size}); the rate fell from epoch {summary['fall_epoch']} on "
            f"and ended at {summary['final']:.3g} ({ratio:.1e} of the peak). When the "
            "validation loss stops improving the cycle jumps to its annealing phase and training "
            "ends once it has annealed."
        )
    else:
        lines.append(
            f"- The run has {run.planned_steps} step(s) (batch size {batch_size}), too few for a "
            "1Cycle: it trained at the peak rate after a short warm-up."
        )
    lines.append(
        f"- {ran} epoch(s) run (stop: `{stopper.stop_reason}`); the weights of epoch {kept}, the "
        "best validation loss, were kept."
    )
    return "\n".join(lines)


def comparison_markdown(metrics: dict, baselines: dict) -> str:
    """A table of the network's validation metrics beside the baselines', and a verdict."""
    names = list(metrics)
    header = "| model | " + " | ".join(names) + " |"
    rows = [header, "|---|" + "---|" * len(names)]

    def row(label, values):
        shown = [f"{values[n]:.4g}" if n in values else "" for n in names]
        return f"| {label} | " + " | ".join(shown) + " |"

    rows.append(row("**this network**", metrics))
    for label, values in baselines.items():
        rows.append(row(label, values))
    key = "r2" if "r2" in metrics else "accuracy"
    gaps = {name: values[key] - metrics[key] for name, values in baselines.items() if key in values}
    lost = [label for label, gap in gaps.items() if gap > TIE_MARGIN]
    even = [label for label, gap in gaps.items() if 0 < gap <= TIE_MARGIN]
    if lost:
        rows.append(
            f"\n**The network loses:** its {key} is below the {' and the '.join(lost)}. It has "
            "not learned more than that baseline on this split: try `--lr`, more `--epochs` or "
            "`--tune`, and prefer the simpler model until it wins."
        )
    elif even:
        rows.append(
            f"\nThe network's {key} is within {TIE_MARGIN} of the {' and the '.join(even)}: "
            "about even on this split."
        )
    else:
        rows.append(f"\nThe network's {key} is at or above every baseline on this split.")
    return "\n".join(rows)
