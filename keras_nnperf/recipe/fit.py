"""The end-to-end recipe behind `nnperf fit` and `nnperf demo`.

    (tune) -> diagnose -> learning rate -> train -> evaluate -> save -> report

* **Model**: `build_model`, its output layer started at the trivial baseline.
* **Tune** (only with `tune_trials`): search `HyperMLP` architectures and recipes, then keep the
  best trial's model and weights as they are (retraining would throw away the tuned recipe).
* **Diagnose**: `diagnose` checks data and model before any training.
* **Learning rate**: given (`--lr`), or `lr_find`'s robust rule; the report says which.
* **Train**: warm-up + 1Cycle that jumps to its annealing phase when the validation loss stops
  improving and ends once annealed; `EarlyStopping` keeps the best weights and stops divergence.
* **Save**: `model.keras` and `preprocessing.json` in the report folder; `predict_csv` reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import keras
import numpy as np

from keras_nnperf.progress import Stages
from keras_nnperf.recipe import report_text
from keras_nnperf.recipe.metrics import baseline_metrics, linear_metrics, validation_metrics
from keras_nnperf.recipe.model import build_model
from keras_nnperf.recipe.predict import MODEL_FILE, PREPROCESSING_FILE
from keras_nnperf.recipe.training import (
    choose_learning_rate,
    effective_batch_size,
    train_with_recipe,
)
from keras_nnperf.report import (
    Report,
    plot_history,
    plot_schedule,
    plot_unit_fractions,
    plotting_available,
)
from keras_nnperf.tabular import TabularData


class PipelineError(RuntimeError):
    """The recipe could not finish (for example every tuning trial failed); one line for users."""


@dataclass
class PipelineResult:
    """What `train_tabular` did and produced.

    Attributes:
        learning_rate: The peak rate (`None` when a tuned model was kept as it was).
        lr_rule: `"given"`, the LR range test's rule, or `"tuned"`.
        lr_reason: One sentence: why this rate.
        baselines: Metrics of the trivial (and, with scikit-learn, linear) baselines.
    """

    model: keras.Model
    metrics: dict
    diagnosis: object
    learning_rate: float | None
    history: dict
    best_epoch: int | None
    stop_reason: str | None
    out_dir: str
    search: object = None
    figures: list = field(default_factory=list)
    lr_rule: str = ""
    lr_reason: str = ""
    baselines: dict = field(default_factory=dict)

    def summary(self) -> str:
        """The lines `nnperf fit` prints at the end."""
        shown = ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items())
        lines = [f"Validation: {shown}"]
        key = "r2" if "r2" in self.metrics else "accuracy"
        for label, values in self.baselines.items():
            lines.append(f"  {label}: {key} {values[key]:.4f}")
        if self.search is not None and self.learning_rate is None:
            lines.append("Kept the best tuning trial's model and weights (its own tuned recipe)")
        else:
            epochs = len(next(iter(self.history.values()), []))
            kept = "" if self.best_epoch is None else f", kept epoch {self.best_epoch + 1}"
            source = "given with --lr" if self.lr_rule == "given" else f"rule: {self.lr_rule}"
            lines.append(
                f"Trained {epochs} epoch(s) (stop: {self.stop_reason}{kept}), "
                f"peak learning rate {self.learning_rate:.3g} ({source})"
            )
        lines += [
            f"Report: {os.path.join(self.out_dir, 'report.md')}",
            f"Model:  {os.path.join(self.out_dir, MODEL_FILE)} "
            f"(nnperf predict {self.out_dir} DATA.csv)",
        ]
        return "\n".join(lines)


def tune_architecture(
    data: TabularData,
    out_dir: str,
    trials: int,
    epochs: int,
    workers: int = 1,
    seed: int = 0,
    verbose: int = 1,
):
    """Search `HyperMLP` architectures and recipes; return the search result and its template.

    `result.best_model` holds the best trial's model at its best epoch's weights.

    Raises:
        PipelineError: when no trial completed.
    """
    from keras_nnperf.tuning.hyper_mlp import HyperMLP
    from keras_nnperf.tuning.recipe import BATCH_SIZES
    from keras_nnperf.tuning.search import search

    pre = data.preprocessor
    # At least 8 steps per epoch: larger batches leave a small table too few steps to schedule.
    batch_sizes = [b for b in BATCH_SIZES if b <= max(BATCH_SIZES[0], len(data.x_train) // 8)]
    template = HyperMLP(
        num_features=pre.num_features,
        task=pre.task,
        num_classes=pre.num_classes if pre.task == "multiclass" else None,
        batch_sizes=batch_sizes,
        max_layers=4,
    )
    result = search(
        template,
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        max_trials=trials,
        epochs=epochs,
        workers=workers,
        directory=os.path.join(out_dir, "tuner"),
        overwrite=True,
        seed=seed,
        verbose=verbose,
    )
    if result.best_hyperparameters is None or result.best_model is None:
        raise PipelineError(
            f"all {trials} tuning trial(s) failed (keras-tuner printed why above); "
            "try more --epochs or run without --tune"
        )
    return result, template


def _baselines(data) -> dict:
    found = {"trivial baseline (majority class or mean)": baseline_metrics(data)}
    linear = linear_metrics(data)
    if linear is not None:
        found["linear model (logistic or ridge regression)"] = linear
    return found


def train_tabular(
    data: TabularData,
    out_dir: str,
    epochs: int = 50,
    batch_size: int | None = None,
    lr_find_steps: int = 100,
    tune_trials: int | None = None,
    workers: int = 1,
    seed: int = 0,
    data_path: str | None = None,
    verbose: int = 1,
    learning_rate: float | None = None,
) -> PipelineResult:
    """Run the whole recipe on `data` and write model, preprocessing and report to `out_dir`.

    Args:
        data: From `keras_nnperf.tabular.load_training_data`.
        out_dir: An existing, writable folder.
        epochs: At most this many training epochs (and epochs per trial when tuning).
        batch_size: Batch size, or `None` for `effective_batch_size`'s default.
        lr_find_steps: Steps of the LR range test.
        tune_trials: Search this many architectures first, or `None` for the default network.
        workers: Parallel trials when tuning.
        seed: Seed of the default network's initializers.
        data_path: Shown in the report.
        verbose: 0 silent, 1 stages, findings and progress bars.
        learning_rate: The peak rate, or `None` to take the LR range test's suggestion.

    Returns:
        A `PipelineResult`.
    """
    from keras_nnperf.diagnostics.doctor import diagnose

    tuned = bool(tune_trials)
    stages = Stages(total=4 if tuned else 5, verbose=verbose)
    report = Report(out_dir, "nnperf training report")
    pre = data.preprocessor
    batch_size = effective_batch_size(batch_size, len(data.x_train))
    report.add_text("Data", report_text.data_markdown(data, data_path))
    search_result = None
    if tuned:
        with stages.stage(f"Searching {tune_trials} architecture(s) and recipe(s) (HyperMLP)"):
            search_result, template = tune_architecture(
                data, out_dir, tune_trials, epochs, workers, seed, verbose
            )
        model = search_result.best_model
        # A model restored from a trial checkpoint has an unbuilt optimizer; building it saves
        # every optimizer variable, so loading model.keras later warns about none missing.
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        probe = template.build(search_result.best_hyperparameters)
    else:
        model = build_model(pre.num_features, pre.task, pre.num_classes, seed, data.y_train)
        probe = model

    with stages.stage("Diagnosing data and model"):
        diagnosis = diagnose(probe, data.x_train, data.y_train, run_lr_finder=False)
    stages.print(str(diagnosis))
    report.add_text("What the doctor found", report_text.findings_markdown(diagnosis))

    choice = run = None
    if not tuned:
        title = "Learning rate given with --lr" if learning_rate else "LR range test"
        with stages.stage(f"{title} ({lr_find_steps} steps)" if not learning_rate else title):
            choice = choose_learning_rate(model, data, batch_size, learning_rate, lr_find_steps)
        stages.print(f"      peak learning rate: {choice.rate:.3g} ({choice.source})")
        if choice.finder is not None:
            stages.print(f"      {choice.reason}")
        with stages.stage(
            f"Training (at most {epochs} epochs: warm-up, 1Cycle annealed on plateau)"
        ):
            run = train_with_recipe(model, data, epochs, batch_size, choice.rate, verbose)

    with stages.stage("Evaluating and saving"):
        metrics = validation_metrics(model, data)
        baselines = _baselines(data)
        model.save(os.path.join(out_dir, MODEL_FILE))
        pre.save(os.path.join(out_dir, PREPROCESSING_FILE))

    with stages.stage("Writing the report"):
        steps_per_epoch = -(-len(data.x_train) // batch_size)
        if tuned:
            best = search_result.best_hyperparameters.values
            done = (
                f"- Searched {tune_trials} architecture(s) and recipe(s); best: `{best}`.\n"
                "- Kept the best trial's model with the weights of its best epoch: retraining "
                "with another recipe would throw away what the search found."
            )
        else:
            done = report_text.training_markdown(choice, run, batch_size, epochs, steps_per_epoch)
        done += (
            f"\n- Saved `{MODEL_FILE}` and `{PREPROCESSING_FILE}`; predict new rows with "
            f"`nnperf predict {out_dir} NEW.csv --out predictions.csv`."
        )
        report.add_text("What was done", done)
        report.add_text(
            "Validation metrics, beside baselines on the same split",
            report_text.comparison_markdown(metrics, baselines),
        )
        if plotting_available():
            _add_figures(report, choice, run, search_result)
        report.write()
    stopper = run.callbacks["early_stopping"] if run is not None else None
    return PipelineResult(
        model=model,
        metrics=metrics,
        diagnosis=diagnosis,
        learning_rate=None if choice is None else choice.rate,
        history={} if run is None else run.history,
        best_epoch=None if stopper is None else stopper.best_epoch,
        stop_reason=None if stopper is None else stopper.stop_reason,
        out_dir=out_dir,
        search=search_result,
        figures=list(report.figures),
        lr_rule="tuned" if choice is None else choice.rule,
        lr_reason="the best tuning trial's" if choice is None else choice.reason,
        baselines=baselines,
    )


def _add_figures(report, choice, run, search_result) -> None:
    report.add_text("Pictures", "")
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
        stopper = run.callbacks["early_stopping"]
        report.add_figure(
            "training_curves",
            plot_history(run.history, stopper.best_epoch),
            "Training and validation curves; the dashed line marks the weights kept",
        )
        report.add_figure(
            "gradient_norms", run.callbacks["gradients"].plot(), "Gradient norm per layer and epoch"
        )
        report.add_figure(
            "activations",
            run.callbacks["activations"].plot(),
            "Activation histograms per hidden layer and epoch",
        )
        fractions = plot_unit_fractions(run.callbacks["activations"].history)
        if fractions is not None:
            report.add_figure(
                "dead_units", fractions, "Dead and saturated units per layer and epoch"
            )
    if search_result is not None:
        report.add_figure("tuner_trials", search_result.plot(), "Architecture search: trials")


def lr_range_test(data: TabularData, out_dir: str, batch_size: int | None = None, steps=100):
    """Run `lr_find` on the default network (started at the baseline); save `lr_finder.png`.

    Returns:
        `(result, png_path or None)`: the `LRFinderResult` (`suggestion`, `rule`, `reason`).
    """
    pre = data.preprocessor
    model = build_model(pre.num_features, pre.task, pre.num_classes, y_train=data.y_train)
    batch_size = effective_batch_size(batch_size, len(data.x_train))
    choice = choose_learning_rate(model, data, batch_size, None, steps)
    finder = choice.finder
    path = None
    if plotting_available():
        report = Report(out_dir, "nnperf LR range test")
        path = report.add_figure("lr_finder", finder.plot(), "LR range test")
        report.add_text(
            None,
            f"Suggested learning rate: {finder.suggestion:.3g} ({finder.rule}: {finder.reason})",
        )
        report.write()
    return finder, path


def diagnose_data(data: TabularData, batch_size: int | None = None):
    """Diagnose the default network on `data` (with its LR range test); return the report."""
    from keras_nnperf.diagnostics.doctor import diagnose

    pre = data.preprocessor
    model = build_model(pre.num_features, pre.task, pre.num_classes, y_train=data.y_train)
    batch_size = effective_batch_size(batch_size, len(data.x_train))
    return diagnose(model, data.x_train, data.y_train, run_lr_finder=True, batch_size=batch_size)
