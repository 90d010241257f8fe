"""The end-to-end recipe behind `nnperf fit` and `nnperf demo`.

    (tune) -> diagnose -> LR range test -> train -> evaluate -> save -> report

* **Tune** (only with `tune_trials`): search `HyperMLP` architectures, then take the best one
  through the same recipe, so the tuned model is trained with the LR the finder picks.
* **Diagnose**: `diagnose` checks data and model before any training.
* **LR range test**: `lr_find` suggests the peak learning rate; `OneCycle(max_lr=None)` uses it.
* **Train**: `OneCycle` (learning rate up then annealed, momentum inverted) under a short linear
  `WarmUp`, with `GradientMonitor` and `ActivationMonitor` watching, and `EarlyStopping` keeping
  the best weights.
* **Save**: `model.keras` and `preprocessing.json` in the report folder; `predict_csv` reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import keras
import numpy as np

from keras_nnperf.progress import EpochProgress, Stages
from keras_nnperf.report import (
    Report,
    plot_history,
    plot_schedule,
    plot_unit_fractions,
    plotting_available,
)
from keras_nnperf.tabular import DataError, TabularData, TabularPreprocessor, read_csv

MODEL_FILE = "model.keras"
PREPROCESSING_FILE = "preprocessing.json"


class PipelineError(RuntimeError):
    """The recipe could not finish (for example every tuning trial failed); one line for users."""


def build_model(num_features: int, task: str, num_classes: int | None = None, seed: int = 0):
    """The default network: two Dense(64, mish) layers, dropout between, He-initialized, AdamW.

    Args:
        num_features: Width of the input.
        task: `"binary"`, `"multiclass"` or `"regression"`.
        num_classes: Number of classes for `"multiclass"`.
        seed: Seed of the initializers and dropout.

    Returns:
        A compiled `keras.Model`.

    Raises:
        ValueError: for an unknown task or a missing `num_classes`.
    """
    from keras_nnperf import get_activation
    from keras_nnperf.initializers.for_activation import for_activation

    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(
            f"Argument task must be binary, multiclass or regression. Received: {task}"
        )
    if task == "multiclass" and not (num_classes and num_classes >= 2):
        raise ValueError(
            f"Argument num_classes must be >= 2. Received: num_classes={num_classes!r}"
        )
    inputs = keras.Input((num_features,), name="features")
    x = inputs
    for i in range(2):
        x = keras.layers.Dense(
            64,
            activation=get_activation("mish"),
            kernel_initializer=for_activation("mish", seed=seed + i),
            name=f"dense_{i}",
        )(x)
        if i == 0:  # between the blocks only: dropout right before the output just adds noise
            x = keras.layers.Dropout(0.1, seed=seed, name="dropout")(x)
    head = {"binary": (1, "sigmoid"), "multiclass": (num_classes, "softmax")}
    units, activation = head.get(task, (1, None))
    outputs = keras.layers.Dense(units, activation=activation, name="output")(x)
    model = keras.Model(inputs, outputs, name="nnperf_mlp")
    compile_for_task(model, task)
    return model


def compile_for_task(model, task: str, learning_rate: float = 1e-3) -> None:
    """Compile with AdamW and the loss and metrics that fit `task`."""
    loss, metrics = {
        "binary": ("binary_crossentropy", ["accuracy", keras.metrics.AUC(name="auc")]),
        "multiclass": ("sparse_categorical_crossentropy", ["accuracy"]),
        "regression": ("mse", ["mae"]),
    }[task]
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=1e-4),
        loss=loss,
        metrics=metrics,
    )


def _auc(y_true, score) -> float:
    # Mann-Whitney U: the probability that a random positive outranks a random negative.
    y_true = np.asarray(y_true).reshape(-1) > 0.5
    score = np.asarray(score, dtype=float).reshape(-1)
    order = score.argsort()
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for value in np.unique(score):  # ties share their mean rank
        ranks[score == value] = ranks[score == value].mean()
    positives, negatives = y_true.sum(), (~y_true).sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    return float((ranks[y_true].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def validation_metrics(model, data: TabularData) -> dict:
    """Metrics on the validation split, regression errors in the target's original units."""
    pre = data.preprocessor
    outputs = model.predict(data.x_val, batch_size=256, verbose=0)
    if pre.task == "regression":
        y = data.y_val.reshape(-1) * pre.target_std + pre.target_mean
        p = outputs.reshape(-1) * pre.target_std + pre.target_mean
        residual = y - p
        return {
            "rmse": float(np.sqrt(np.mean(residual**2))),
            "mae": float(np.mean(np.abs(residual))),
            "r2": float(1.0 - np.sum(residual**2) / max(np.sum((y - y.mean()) ** 2), 1e-12)),
        }
    if pre.task == "binary":
        p = np.clip(outputs.reshape(-1), 1e-7, 1 - 1e-7)
        y = data.y_val.reshape(-1)
        return {
            "accuracy": float(np.mean((p >= 0.5) == (y > 0.5))),
            "auc": _auc(y, p),
            "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        }
    p = np.clip(outputs, 1e-7, 1.0)
    y = data.y_val.reshape(-1).astype(int)
    return {
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "log_loss": float(-np.mean(np.log(p[np.arange(len(y)), y]))),
    }


@dataclass
class PipelineResult:
    """What `train_tabular` did and produced."""

    model: keras.Model
    metrics: dict
    diagnosis: object
    learning_rate: float
    history: dict
    best_epoch: int | None
    stop_reason: str | None
    out_dir: str
    search: object = None
    figures: list = field(default_factory=list)

    def summary(self) -> str:
        """The lines `nnperf fit` prints at the end."""
        shown = ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items())
        epochs = len(next(iter(self.history.values()), []))
        kept = "" if self.best_epoch is None else f", kept epoch {self.best_epoch + 1}"
        return "\n".join(
            [
                f"Validation: {shown}",
                f"Trained {epochs} epoch(s) (stop: {self.stop_reason}{kept}), "
                f"peak learning rate {self.learning_rate:.3g}",
                f"Report: {os.path.join(self.out_dir, 'report.md')}",
                f"Model:  {os.path.join(self.out_dir, MODEL_FILE)} "
                f"(nnperf predict {self.out_dir} DATA.csv)",
            ]
        )


def _cycle_momentum(optimizer) -> bool:
    # OneCycle can only move a momentum the optimizer has: Adam's beta_1 or SGD's momentum > 0.
    from keras_nnperf.callbacks._learning_rate import momentum_attribute
    from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer

    attribute = momentum_attribute(optimizer)
    if attribute == "momentum":
        return float(unscaled_optimizer(optimizer).momentum) > 0
    return attribute is not None


def train_with_recipe(model, data: TabularData, epochs: int, batch_size: int, verbose: int = 1):
    """Fit with warm-up + 1Cycle (peak from the last `lr_find`), monitors and early stopping.

    Args:
        model: A compiled model on which `lr_find` already ran.
        data: The arrays.
        epochs: At most this many epochs.
        batch_size: The batch size.
        verbose: 0 (silent) or 1 (one progress bar over the epochs).

    Returns:
        `(history, callbacks)`: `History.history` and a dict of the callbacks by role
        (`"early_stopping"`, `"gradients"`, `"activations"`, `"schedule"`).
    """
    from keras_nnperf.callbacks._recording import AppliedHyperparameters
    from keras_nnperf.callbacks.activation_monitor import ActivationMonitor, activation_name
    from keras_nnperf.callbacks.early_stopping import EarlyStopping
    from keras_nnperf.callbacks.gradient_monitor import GradientMonitor
    from keras_nnperf.callbacks.one_cycle import OneCycle
    from keras_nnperf.callbacks.warmup import WarmUp

    steps_per_epoch = -(-len(data.x_train) // batch_size)
    probe = data.x_train[: min(256, len(data.x_train))]
    # The output layer is left out: a confident sigmoid or softmax is meant to saturate.
    hidden = [
        layer.name
        for layer in model.layers[:-1]
        if layer.trainable_weights or activation_name(layer) not in (None, "linear")
    ]
    roles = {
        "early_stopping": EarlyStopping(patience=max(3, epochs // 5)),
        "gradients": GradientMonitor(every_n_steps=1),
        "activations": ActivationMonitor(probe, layers=hidden),
        "schedule": AppliedHyperparameters(capacity=epochs * steps_per_epoch),
    }
    # OneCycle installs its schedule first; WarmUp then wraps it, so the first steps ramp up
    # from 0 to 1Cycle's starting rate instead of jumping there from freshly initialized weights.
    callbacks = [
        OneCycle(max_lr=None, cycle_momentum=_cycle_momentum(model.optimizer)),
        WarmUp(steps=min(steps_per_epoch, 50)),
        roles["gradients"],
        roles["activations"],
        roles["early_stopping"],
        EpochProgress(epochs, metrics=("loss", "val_loss"), verbose=verbose),
        roles["schedule"],  # last: it records the rate and momentum after every other hook
    ]
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=0,
    )
    return history.history, roles


def _findings_markdown(diagnosis) -> str:
    findings = list(diagnosis)
    if not findings:
        return "No problems found."
    lines = []
    for f in findings:
        lines.append(f"- **{f.severity}** `{f.code}`: {f.title}")
        if f.fix:
            lines.append(f"  - fix: {f.fix}")
    return "\n".join(lines)


def _data_markdown(data: TabularData, data_path: str | None) -> str:
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
    return "\n".join(line for line in lines if line)


def tune_architecture(
    data: TabularData,
    out_dir: str,
    trials: int,
    epochs: int,
    workers: int = 1,
    seed: int = 0,
    verbose: int = 1,
):
    """Search `HyperMLP` architectures; return the search result and the best hypermodel build.

    The best hyperparameters are built into a fresh, compiled model so the caller can train it
    with the full recipe.
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
        tuner="random",
        max_trials=trials,
        epochs=epochs,
        workers=workers,
        directory=os.path.join(out_dir, "tuner"),
        overwrite=True,
        seed=seed,
        verbose=verbose,
    )
    if result.best_hyperparameters is None:
        raise PipelineError(
            f"all {trials} tuning trial(s) failed (keras-tuner printed why above); "
            "try more --epochs or run without --tune"
        )
    return result, template.build(result.best_hyperparameters)


def train_tabular(
    data: TabularData,
    out_dir: str,
    epochs: int = 50,
    batch_size: int = 32,
    lr_find_steps: int = 100,
    tune_trials: int | None = None,
    workers: int = 1,
    seed: int = 0,
    data_path: str | None = None,
    verbose: int = 1,
) -> PipelineResult:
    """Run the whole recipe on `data` and write model, preprocessing and report to `out_dir`.

    Args:
        data: From `keras_nnperf.tabular.load_training_data`.
        out_dir: An existing, writable folder.
        epochs: At most this many training epochs (and epochs per trial when tuning).
        batch_size: Batch size (the tuned one replaces it when tuning).
        lr_find_steps: Steps of the LR range test.
        tune_trials: Search this many architectures first, or `None` for the default network.
        workers: Parallel trials when tuning.
        seed: Seed of the default network's initializers.
        data_path: Shown in the report.
        verbose: 0 silent, 1 stages, findings and progress bars.

    Returns:
        A `PipelineResult`.
    """
    from keras_nnperf.callbacks.lr_finder import lr_find
    from keras_nnperf.diagnostics.doctor import diagnose

    stages = Stages(total=5 + bool(tune_trials), verbose=verbose)
    report = Report(out_dir, "nnperf training report")
    pre = data.preprocessor
    report.add_text("Data", _data_markdown(data, data_path))
    search_result = None
    if tune_trials:
        with stages.stage(f"Searching {tune_trials} architecture(s) (HyperMLP, random search)"):
            search_result, model = tune_architecture(
                data, out_dir, tune_trials, epochs, workers, seed, verbose
            )
        batch_size = int(search_result.best_hyperparameters.values.get("batch_size", batch_size))
    else:
        model = build_model(pre.num_features, pre.task, pre.num_classes, seed)

    with stages.stage("Diagnosing data and model"):
        diagnosis = diagnose(model, data.x_train, data.y_train, run_lr_finder=False)
    stages.print(str(diagnosis))
    report.add_text("What the doctor found", _findings_markdown(diagnosis))

    with stages.stage(f"LR range test ({lr_find_steps} steps)"):
        finder = lr_find(
            model, data.x_train, data.y_train, batch_size=batch_size, num_steps=lr_find_steps
        )
    stages.print(f"      suggested peak learning rate: {finder.suggestion:.3g}")

    with stages.stage(f"Training (at most {epochs} epochs, warm-up + 1Cycle, early stopping)"):
        history, roles = train_with_recipe(model, data, epochs, batch_size, verbose)
    stopper = roles["early_stopping"]

    with stages.stage("Evaluating and saving"):
        metrics = validation_metrics(model, data)
        model.save(os.path.join(out_dir, MODEL_FILE))
        pre.save(os.path.join(out_dir, PREPROCESSING_FILE))

    with stages.stage("Writing the report"):
        done = [
            f"- LR range test over {lr_find_steps} steps suggested a peak learning rate of "
            f"{finder.suggestion:.3g}.",
            f"- Trained with a linear warm-up, then 1Cycle peaking at {finder.suggestion:.3g} "
            f"(batch size {batch_size}), gradient and activation monitors attached.",
            f"- Early stopping on `val_loss`: {len(history.get('loss', []))} epoch(s) run, "
            f"stop reason `{stopper.stop_reason}`, weights of epoch "
            f"{(stopper.best_epoch or 0) + 1} kept.",
            f"- Saved `{MODEL_FILE}` and `{PREPROCESSING_FILE}`; predict new rows with "
            f"`nnperf predict {out_dir} NEW.csv --out predictions.csv`.",
        ]
        if search_result is not None:
            best = search_result.best_hyperparameters.values
            done.insert(0, f"- Searched {tune_trials} architecture(s); best: `{best}`.")
        report.add_text("What was done", "\n".join(done))
        report.add_metrics("Validation metrics", metrics)
        if plotting_available():
            _add_figures(report, finder, history, roles, stopper, search_result)
        report.write()
    return PipelineResult(
        model=model,
        metrics=metrics,
        diagnosis=diagnosis,
        learning_rate=float(finder.suggestion),
        history=history,
        best_epoch=stopper.best_epoch,
        stop_reason=stopper.stop_reason,
        out_dir=out_dir,
        search=search_result,
        figures=list(report.figures),
    )


def _add_figures(report, finder, history, roles, stopper, search_result) -> None:
    recorder = roles["schedule"]
    ran = ~np.isnan(recorder.learning_rates)
    momenta = recorder.momenta[ran]
    report.add_text("Pictures", "")
    report.add_figure("lr_finder", finder.plot(), "LR range test: loss against learning rate")
    report.add_figure(
        "schedule",
        plot_schedule(
            recorder.learning_rates[ran],
            None if np.all(np.isnan(momenta)) else momenta,
            recorder.attribute or "momentum",
        ),
        "Learning rate and momentum applied at each step (warm-up, then 1Cycle)",
    )
    report.add_figure(
        "training_curves",
        plot_history(history, stopper.best_epoch),
        "Training and validation curves; the dashed line marks the weights kept",
    )
    report.add_figure(
        "gradient_norms", roles["gradients"].plot(), "Gradient norm per layer and epoch"
    )
    report.add_figure(
        "activations",
        roles["activations"].plot(),
        "Activation histograms per hidden layer and epoch (bright rows at zero: dead units)",
    )
    fractions = plot_unit_fractions(roles["activations"].history)
    if fractions is not None:
        report.add_figure("dead_units", fractions, "Dead and saturated units per layer and epoch")
    if search_result is not None:
        report.add_figure("tuner_trials", search_result.plot(), "Architecture search: trials")


def lr_range_test(data: TabularData, out_dir: str, batch_size: int = 32, steps: int = 100):
    """Run `lr_find` on the default network; save `lr_finder.png` in `out_dir`.

    Returns:
        `(suggestion, png_path or None)`.
    """
    from keras_nnperf.callbacks.lr_finder import lr_find

    pre = data.preprocessor
    model = build_model(pre.num_features, pre.task, pre.num_classes)
    finder = lr_find(model, data.x_train, data.y_train, batch_size=batch_size, num_steps=steps)
    path = None
    if plotting_available():
        report = Report(out_dir, "nnperf LR range test")
        path = report.add_figure("lr_finder", finder.plot(), "LR range test")
        report.add_text(None, f"Suggested learning rate: {finder.suggestion:.3g}")
        report.write()
    return float(finder.suggestion), path


def diagnose_data(data: TabularData, batch_size: int = 32):
    """Diagnose the default network on `data` (with its LR range test); return the report."""
    from keras_nnperf.diagnostics.doctor import diagnose

    pre = data.preprocessor
    model = build_model(pre.num_features, pre.task, pre.num_classes)
    return diagnose(model, data.x_train, data.y_train, run_lr_finder=True, batch_size=batch_size)


def predict_csv(model_dir: str, path: str) -> dict:
    """Predict every row of the CSV `path` with the model and preprocessing in `model_dir`.

    Returns:
        Columns as `TabularPreprocessor.decode` gives them.

    Raises:
        DataError: for a folder without a model, or data that does not match it.
    """
    model_path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(model_path):
        raise DataError(f"{model_dir} has no {MODEL_FILE}; train one with: nnperf fit --out DIR")
    pre = TabularPreprocessor.load(os.path.join(model_dir, PREPROCESSING_FILE))
    x = pre.transform(read_csv(path))
    try:
        model = keras.models.load_model(model_path)
    except (ValueError, OSError) as err:
        raise DataError(f"cannot load {model_path}: {err}") from None
    return pre.decode(model.predict(x, batch_size=256, verbose=0))


def write_demo_csv(path: str) -> str:
    """Write scikit-learn's breast-cancer data (569 rows, 30 features, `target`) to `path`.

    Raises:
        DataError: if scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError:
        raise DataError(
            "nnperf demo reads scikit-learn's bundled breast-cancer data: "
            "pip install scikit-learn (or run nnperf fit on your own CSV)"
        ) from None
    import csv

    bunch = load_breast_cancer()
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*bunch.feature_names, "target"])
        for row, label in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([*(f"{v:.6g}" for v in row), int(label)])
    return path
