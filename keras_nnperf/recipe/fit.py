"""The end-to-end recipe behind `nnperf fit` and `nnperf demo`.

    (tune) -> diagnose -> learning rate -> train -> evaluate -> save -> report

* **Model**: `build_model`, its output layer started at the trivial baseline.
* **Tune** (only with `tune_trials`): search `HyperMLP` architectures and recipes, then keep the
  best trial's model and weights as they are (retraining would throw away the tuned recipe).
* **Diagnose**: `diagnose` checks data and model before any training.
* **Learning rate**: given (`--lr`), or `lr_find`'s robust rule; the report says which.
* **Train**: warm-up + 1Cycle that jumps to its annealing phase when the validation loss stops
  improving and ends once annealed; `EarlyStopping` keeps the best weights and stops divergence.
  On up to 1,500 training rows three networks from successive seeds train so, and the model
  is the mean of their outputs (`keras_nnperf.recipe.ensemble`, `ensemble=N` to choose).
* **Save**: `model.keras` and `preprocessing.json` in the report folder; `predict_csv` reads them.
* **K-fold** (`load_folds`, `train_folds`, `nnperf fit --folds K`): the same recipe on each
  fold, the LR range test once (fold 1), out-of-fold metrics for the network and the baselines,
  `fold_k.keras` files that `predict_csv` averages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import keras
import numpy as np

from keras_nnperf.progress import Stages
from keras_nnperf.recipe import report_text
from keras_nnperf.recipe.ensemble import average_outputs
from keras_nnperf.recipe.figures import add_figures
from keras_nnperf.recipe.metrics import (
    baseline_metrics,
    clips_linear,
    linear_metrics,
    validation_metrics,
)
from keras_nnperf.recipe.model import build_model, compile_for_task
from keras_nnperf.recipe.predict import FOLDS_FILE, MODEL_FILE, PREPROCESSING_FILE
from keras_nnperf.recipe.training import (
    EPOCHS,
    choose_learning_rate,
    default_ensemble,
    default_epochs,
    effective_batch_size,
    train_with_recipe,
)
from keras_nnperf.report import Report, plotting_available
from keras_nnperf.tabular import TabularData
from keras_nnperf.tabular.codes import code_like_columns


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
        members: How many networks the model averages (`ensemble`; history, best epoch and
            stop reason are the first's).
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
    members: int = 1

    def summary(self) -> str:
        """The lines `nnperf fit` prints at the end."""
        shown = ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items())
        lines = [f"Validation: {shown}"]
        for label, values in self.baselines.items():
            lines.append(f"  {label}: {_headline(values)}")
        if self.search is not None and self.learning_rate is None:
            lines.append("Kept the best tuning trial's model and weights (its own tuned recipe)")
        else:
            epochs = len(next(iter(self.history.values()), []))
            kept = "" if self.best_epoch is None else f", kept epoch {self.best_epoch + 1}"
            if self.best_epoch == -1:
                kept = ", kept the trivial baseline: no epoch beat it"
            source = "given with --lr" if self.lr_rule == "given" else f"rule: {self.lr_rule}"
            trained = f"Trained {epochs} epoch(s)"
            if self.members > 1:
                trained = f"Averaged {self.members} networks; the first trained {epochs} epoch(s)"
            lines.append(
                f"{trained} (stop: {self.stop_reason}{kept}), "
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
    resume: bool = False,
):
    """Search `HyperMLP` architectures and recipes; return the search result and its template.

    `result.best_model` holds the best trial's model at its best epoch's weights. With `resume`,
    a search of the same data and template left in `out_dir/tuner` (an interrupted run)
    continues: its completed trials are kept, an interrupted one is retried. Otherwise the
    folder is emptied first. Ctrl-C ends the search with the trials completed so far
    (`result.interrupted`), as `search(keep_on_interrupt=True)` does.

    Raises:
        PipelineError: when no trial completed.
        KeyboardInterrupt: on Ctrl-C before any trial completed.
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
        embeddings=pre.embedding_columns,
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
        # The project's name holds the search's fingerprint: a resume on other data or another
        # template starts a new project beside the old one instead of mixing them.
        overwrite=not resume,
        seed=seed,
        # An hour of search is not lost to one key: Ctrl-C keeps the completed trials.
        keep_on_interrupt=True,
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
    epochs: int | None = None,
    batch_size: int | None = None,
    lr_find_steps: int = 100,
    tune_trials: int | None = None,
    workers: int = 1,
    seed: int = 0,
    data_path: str | None = None,
    verbose: int = 1,
    learning_rate: float | None = None,
    resume: bool = False,
    ensemble: int | None = None,
) -> PipelineResult:
    """Run the whole recipe on `data` and write model, preprocessing and report to `out_dir`.

    Ctrl-C (`KeyboardInterrupt`) during training, once an epoch has ended, ends training only:
    the best epoch so far is evaluated, saved and reported (`stop_reason="interrupted"`), as
    Lightning's `Trainer` does. Anywhere else, and before the first epoch ends, it propagates.

    Args:
        data: From `keras_nnperf.tabular.load_training_data`.
        out_dir: The folder to write to, created if missing.
        epochs: At most this many training epochs (and epochs per trial when tuning); `None`
            for `default_epochs(task)` (50, or 100 for regression), 50 when tuning.
        batch_size: Batch size, or `None` for `effective_batch_size`'s default.
        lr_find_steps: Steps of the LR range test.
        tune_trials: Search this many architectures first, or `None` for the default network.
        workers: Parallel trials when tuning.
        seed: Seed of the default network's initializers.
        data_path: Shown in the report.
        verbose: 0 silent, 1 stages, findings and progress bars.
        learning_rate: The peak rate, or `None` to take the LR range test's suggestion.
        resume: When tuning, continue the search an interrupted run left in `out_dir` (see
            `tune_architecture`).
        ensemble: Train this many default networks, from seeds `seed`, `seed + 1`, ..., with
            the same rate, and save the mean of their outputs as the model
            (`keras_nnperf.recipe.ensemble`); 1 for one network; `None` for
            `default_ensemble(training rows)` (3 up to 1,500 rows, else 1), or 1 when tuning.
            Not above 1 with `tune_trials`.

    Returns:
        A `PipelineResult`.
    """
    from keras_nnperf.diagnostics.doctor import diagnose

    tuned = bool(tune_trials)
    ensemble = _check_ensemble(ensemble, tuned, len(data.x_train))
    stages = Stages(total=4 if tuned else 5, verbose=verbose)
    report = Report(out_dir, "nnperf training report")
    pre = data.preprocessor
    if epochs is None:
        # Searches keep 50: the budget of 100 was measured on the default network only.
        epochs = EPOCHS if tuned else default_epochs(pre.task)
    batch_size = effective_batch_size(batch_size, len(data.x_train))
    report.add_text("Data", report_text.data_markdown(data, data_path))
    search_result = None
    if tuned:
        with stages.stage(f"Searching {tune_trials} architecture(s) and recipe(s) (HyperMLP)"):
            search_result, template = tune_architecture(
                data, out_dir, tune_trials, epochs, workers, seed, verbose, resume
            )
        if search_result.interrupted:
            stages.print(
                f"      interrupted: the search ends with {len(search_result.completed)} of "
                f"{tune_trials} trial(s) completed; keeping the best (Ctrl-C again to stop now; "
                "rerun with --resume to search the rest)"
            )
        model = search_result.best_model
        # A model restored from a trial checkpoint has an unbuilt optimizer; building it saves
        # every optimizer variable, so loading model.keras later warns about none missing.
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        probe = template.build(search_result.best_hyperparameters)
        if template.start_at_baseline:  # as every trial started: the doctor sees that start
            from keras_nnperf.initializers.baseline import initialize_at_baseline

            initialize_at_baseline(probe, data.y_train)
    else:
        model = default_model(pre, seed, data.y_train)
        probe = model

    # The doctor judges the batch size the run trains with (its noise-scale advice names it):
    # on a 31,857-row table it said "the batch size 32 is 14x below the noise scale" of a run
    # that trained at 128.
    run_batch = batch_size
    if tuned:
        run_batch = int(search_result.best_hyperparameters.values.get("batch_size", batch_size))
    with stages.stage("Diagnosing data and model"):
        diagnosis = diagnose(
            probe,
            data.x_train,
            data.y_train,
            run_lr_finder=False,
            batch_size=run_batch,
            stops_early=True,  # every run of the recipe keeps its best validation epoch
        )
    stages.print(str(diagnosis))
    report.add_text("What the doctor found", report_text.findings_markdown(diagnosis))

    choice = run = None
    member_metrics = []
    if not tuned:
        title = "Learning rate given with --lr" if learning_rate else "LR range test"
        with stages.stage(f"{title} ({lr_find_steps} steps)" if not learning_rate else title):
            choice = choose_learning_rate(model, data, batch_size, learning_rate, lr_find_steps)
        stages.print(f"      peak learning rate: {choice.rate:.3g} ({choice.source})")
        if choice.finder is not None:
            stages.print(f"      {choice.reason}")
        title = f"at most {epochs} epochs: warm-up, 1Cycle annealed on plateau"
        if ensemble > 1:
            title = f"{ensemble} networks, seeds {seed}-{seed + ensemble - 1}, each {title}"
        with stages.stage(f"Training ({title})"):
            run = train_with_recipe(
                model, data, epochs, batch_size, choice.rate, verbose, keep_on_interrupt=True
            )
            members, interrupted = _train_more_members(
                model, run, data, ensemble, epochs, batch_size, choice.rate, seed, verbose
            )
        if len(members) > 1:
            model = average_outputs(members)
            compile_for_task(model, pre.task)  # for users who `evaluate` it
            # Built now, so model.keras holds every variable of it and loads without warnings.
            model.optimizer.build(model.trainable_variables)
        if ensemble > 1 and not run.interrupted:
            member_metrics = [validation_metrics(m, data) for m in members]
            if len(members) > 1:
                stages.print(f"      {report_text.members_line(member_metrics)}")
        if interrupted and not run.interrupted:
            kept = "the first network" if len(members) == 1 else f"the mean of {len(members)}"
            stages.print(
                f"      interrupted: saving {kept} of the {ensemble} networks, each at its "
                "best epoch (Ctrl-C again to stop now)"
            )
        elif interrupted:
            kept = run.callbacks["early_stopping"].best_epoch
            kept = "the trivial baseline" if kept == -1 else f"epoch {kept + 1}"
            stages.print(
                f"      interrupted after {len(run.history['loss'])} epoch(s): saving {kept}, "
                "the best so far (Ctrl-C again to stop now)"
            )

    with stages.stage("Evaluating and saving"):
        remove_stale_outputs(out_dir, folds=False)
        metrics = validation_metrics(model, data)
        baselines = _baselines(data)
        model.save(os.path.join(out_dir, MODEL_FILE))
        pre.save(os.path.join(out_dir, PREPROCESSING_FILE))

    with stages.stage("Writing the report"):
        steps_per_epoch = -(-len(data.x_train) // batch_size)
        if tuned:
            best = search_result.best_hyperparameters.values
            searched = f"- Searched {tune_trials} architecture(s) and recipe(s)"
            if search_result.interrupted:
                searched = (
                    f"- Searched {len(search_result.completed)} of {tune_trials} architecture(s) "
                    "and recipe(s): interrupted by Ctrl-C (rerun the same command with "
                    "`--resume` to search the rest)"
                )
            done = (
                f"{searched}; best: `{best}`.\n"
                "- Kept the best trial's model with the weights of its best epoch: retraining "
                "with another recipe would throw away what the search found."
            )
        else:
            done = report_text.training_markdown(choice, run, batch_size, epochs, steps_per_epoch)
            if member_metrics:
                done += "\n" + report_text.ensemble_markdown(
                    member_metrics, metrics, seed, ensemble, interrupted
                )
        done += (
            f"\n- Saved `{MODEL_FILE}` and `{PREPROCESSING_FILE}`; predict new rows with "
            f"`nnperf predict {out_dir} NEW.csv --out predictions.csv`."
        )
        report.add_text("What was done", done)
        report.add_text(
            "Validation metrics, beside baselines on the same split",
            report_text.comparison_markdown(
                metrics, baselines, rows=len(data.y_val), codes=code_like_columns(pre)
            ),
        )
        if plotting_available():
            add_figures(report, model, data, choice, run, search_result)
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
        members=max(1, len(member_metrics)),
    )


def _check_ensemble(ensemble, tuned: bool, rows: int) -> int:
    from keras_nnperf.validation import check_integer

    if ensemble is None:
        return 1 if tuned else default_ensemble(rows)
    ensemble = check_integer("ensemble", ensemble, low=1)
    if tuned and ensemble > 1:
        raise ValueError(
            "Argument ensemble must be 1 with tune_trials: the search keeps its best trial's "
            f"model. Received: ensemble={ensemble!r}"
        )
    return ensemble


def _train_more_members(first, run, data, ensemble, epochs, batch_size, rate, seed, verbose):
    """`[first]` and up to `ensemble - 1` more default networks (seeds `seed + 1`, ...), trained.

    Every member trains with the same recipe and peak rate (the LR range test ran once, on the
    first). Ctrl-C ends the ensemble: a member interrupted after an epoch is kept at its best
    epoch, one interrupted before has nothing to keep and is left out.

    Returns:
        The members, and whether Ctrl-C ended training.
    """
    members = [first]
    if run.interrupted:
        return members, True
    pre = data.preprocessor
    for i in range(1, ensemble):
        keras.utils.set_random_seed(seed + i)
        member = default_model(pre, seed + i, data.y_train)
        try:
            member_run = train_with_recipe(
                member, data, epochs, batch_size, rate, verbose, keep_on_interrupt=True
            )
        except KeyboardInterrupt:
            return members, True
        members.append(member)
        if member_run.interrupted:
            return members, True
    return members, False


def lr_range_test(data: TabularData, out_dir: str, batch_size: int | None = None, steps=100):
    """Run `lr_find` on the default network (started at the baseline); save `lr_finder.png`.

    Returns:
        `(result, png_path or None)`: the `LRFinderResult` (`suggestion`, `rule`, `reason`).
    """
    pre = data.preprocessor
    model = default_model(pre, y_train=data.y_train)
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


def diagnose_data(data: TabularData, batch_size: int | None = None, steps=100):
    """Diagnose the default network on `data` (with its LR range test); return the report.

    The range test has `nnperf fit`'s and `nnperf lr-find`'s steps (100), not the doctor's
    default 50: with 50 the doctor suggested 0.023 on a table where the other two say 0.010.
    """
    from keras_nnperf.diagnostics.doctor import diagnose

    pre = data.preprocessor
    model = default_model(pre, y_train=data.y_train)
    batch_size = effective_batch_size(batch_size, len(data.x_train))
    return diagnose(
        model,
        data.x_train,
        data.y_train,
        run_lr_finder=True,
        lr_finder_steps=steps,
        batch_size=batch_size,
        stops_early=True,
    )


def load_folds(path: str, target: str, task: str, folds: int, seed: int = 0, **load_options):
    """Read `path` once and encode it for each of `folds` K-fold splits.

    `read_training_table` applies every data rule once (and warns once); each fold's
    preprocessing (standardization, medians, indicators, categories) is then fitted on that
    fold's training rows only, as `load_training_data` does for one split. The folds are
    stratified for classification.

    Args:
        path: The CSV file, or a pandas `DataFrame` (read as its CSV: `read_csv`).
        target: The target column.
        task: `"auto"`, `"binary"`, `"multiclass"` or `"regression"`.
        folds: Number of folds, >= 2.
        seed: Seed of the fold assignment.
        **load_options: `drop`, `id_column`, `keep`: as for `load_training_data`.

    Returns:
        `(datasets, validation_rows)`: a `TabularData` per fold and the rows each validates
        (indices into the rows that have a target).

    Raises:
        DataError: for input the data rules cannot handle, or too few rows for `folds`. A
            class so rare that a fold's training rows lack it is no error: each fold encodes
            the whole table's classes, and that fold's model gives it the floor probability.
    """
    from keras_nnperf.tabular import DataError, read_training_table

    prepared = read_training_table(path, target, task, **load_options)
    datasets, validation_rows = [], []
    for k, (train, validation) in enumerate(prepared.folds(folds, seed)):
        try:
            # Every fold encodes the whole table's classes, those its training rows lack too.
            data = prepared.encode(train, validation, warn=k == 0)
        except DataError as err:  # a column with no usable value in this fold's training rows
            raise DataError(f"fold {k + 1} of {folds}: {err}; use fewer --folds") from None
        datasets.append(data)
        validation_rows.append(np.asarray(validation))
    return datasets, validation_rows


def default_model(pre, seed: int = 0, y_train=None):
    """`build_model` for the preprocessor's encoding (its width, task, classes, embeddings)."""
    return build_model(
        pre.num_features,
        pre.task,
        pre.num_classes,
        seed,
        y_train,
        embeddings=pre.embedding_columns or None,
    )


@dataclass
class FoldsResult(PipelineResult):
    """What `train_folds` did.

    Attributes:
        metrics: Out-of-fold metrics: every row predicted by the model that did not train on it.
        fold_metrics: One dict of metrics per fold (on its validation rows).
        folds_planned: The K asked for; fewer folds were trained when `interrupted`.
        interrupted: Whether Ctrl-C ended the run: the folds trained so far were kept (the
            last at its best epoch), and `metrics` are out-of-fold on their rows.
        baselines: The baselines' out-of-fold metrics (fitted on the same folds).
    """

    fold_metrics: list = field(default_factory=list)
    folds_planned: int | None = None
    interrupted: bool = False

    def summary(self) -> str:
        """The lines `nnperf fit --folds` prints at the end."""
        k = len(self.fold_metrics)
        if self.interrupted:
            lines = [
                f"Out-of-fold on the rows of folds 1-{k} of {self.folds_planned} (interrupted; "
                "each row predicted once by a model that never saw it):"
            ]
        else:
            lines = [
                f"Out-of-fold ({k} folds, every row predicted once by a model that never saw it):"
            ]
        for name, value in self.metrics.items():
            mean, spread = _mean_and_spread(self.fold_metrics, name)
            lines.append(f"  {name} {value:.4f} (per fold: {mean:.4f} +/- {spread:.4f})")
        for label, values in self.baselines.items():
            lines.append(f"  {label}: {_headline(values)}")
        source = "given with --lr" if self.lr_rule == "given" else f"rule: {self.lr_rule}, fold 1"
        lines += [
            f"Peak learning rate {self.learning_rate:.3g} ({source}), used for every fold",
            f"Report: {os.path.join(self.out_dir, 'report.md')}",
            f"Models: {k} in {self.out_dir} (fold_1.keras ...); nnperf predict {self.out_dir} "
            "DATA.csv averages them",
        ]
        return "\n".join(lines)


def _headline(values: dict) -> str:
    """A baseline's headline score: R2 (and that of the logarithms) or accuracy."""
    keys = ["r2", "r2_log"] if "r2" in values else ["accuracy"]
    return ", ".join(f"{key} {values[key]:.4f}" for key in keys if key in values)


def _mean_and_spread(fold_metrics: list, name: str) -> tuple[float, float]:
    values = np.asarray([m[name] for m in fold_metrics], dtype=float)
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def fold_file(k: int, kind: str) -> str:
    """The file name of fold `k` (1-based): `fold_k.keras` or `fold_k_preprocessing.json`."""
    return f"fold_{k}.keras" if kind == "model" else f"fold_{k}_preprocessing.json"


def remove_stale_outputs(out_dir: str, folds: bool) -> None:
    """Remove model files an earlier run left in `out_dir`, so `predict_csv` never uses them.

    A single-split run removes `folds.json` and the `fold_*` files; a K-fold run removes those
    and `model.keras` and `preprocessing.json` (it writes its own fold files afterwards).
    """
    import re

    fold_file_name = re.compile(r"fold_\d+(\.keras|_preprocessing\.json)$")
    single = (MODEL_FILE, PREPROCESSING_FILE) if folds else ()
    for name in os.listdir(out_dir):
        if name == FOLDS_FILE or name in single or fold_file_name.match(name):
            os.remove(os.path.join(out_dir, name))


def train_folds(
    datasets: list,
    validation_rows: list,
    out_dir: str,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr_find_steps: int = 100,
    seed: int = 0,
    data_path: str | None = None,
    verbose: int = 1,
    learning_rate: float | None = None,
) -> FoldsResult:
    """K-fold cross-validation with the recipe: one model per fold, out-of-fold metrics.

    Fold 1 is diagnosed and runs the LR range test (unless `learning_rate` is given); its rate
    is reused for every fold (the folds differ by a fifth of their rows or less, and the test
    costs as much as several epochs). Each fold then trains with `train_with_recipe` on its
    training rows, validated on its held-out rows. Every row is predicted once, by the model
    that did not train on it: the out-of-fold predictions give one set of metrics on all rows,
    for the network and for the baselines (fitted on the same folds). Writes `fold_k.keras`,
    `fold_k_preprocessing.json`, `folds.json` and the report (pictures of fold 1).

    Ctrl-C (`KeyboardInterrupt`) during a fold's training ends the run, not the work done: the
    folds trained so far are kept (a fold interrupted after an epoch at its best epoch, one
    interrupted before has nothing to keep), `folds.json` lists them, so `nnperf predict`
    averages them, and the metrics and the report are out-of-fold on their rows. Ctrl-C
    before fold 1's first epoch ended raises.

    Args:
        datasets: One `TabularData` per fold, from `load_folds`.
        validation_rows: The rows each fold validates, from `load_folds`.
        out_dir: The folder to write to, created if missing.
        epochs: At most this many training epochs per fold; `None` for
            `default_epochs(task)` (50, or 100 for regression).
        batch_size: Batch size, or `None` for `effective_batch_size`'s default.
        lr_find_steps: Steps of the LR range test on fold 1.
        seed: Fold `k` (0-based) initializes its network with `seed + k`.
        data_path: Shown in the report.
        verbose: 0 silent, 1 stages, findings and progress bars.
        learning_rate: The peak rate, or `None` to take the LR range test's suggestion.

    Returns:
        A `FoldsResult`.
    """
    import json

    from keras_nnperf.diagnostics.doctor import diagnose
    from keras_nnperf.recipe.metrics import (
        baseline_outputs,
        in_target_units,
        linear_outputs,
        scores_for,
        true_in_target_units,
    )

    k = len(datasets)
    stages = Stages(total=3 + k, verbose=verbose)
    first = datasets[0]
    pre = first.preprocessor
    epochs = default_epochs(pre.task) if epochs is None else epochs
    n = sum(len(rows) for rows in validation_rows)
    width = 1 if pre.task == "regression" else pre.num_classes
    shape = (n,) if width == 1 else (n, width)
    truth = np.zeros(n)
    predicted = {"network": np.zeros(shape), "trivial": np.zeros(shape), "linear": np.zeros(shape)}
    fold_metrics, runs, files = [], [], []
    choice = diagnosis = None
    interrupted = False
    os.makedirs(out_dir, exist_ok=True)  # as documented; only the command made it before
    remove_stale_outputs(out_dir, folds=True)
    for i, (data, rows) in enumerate(zip(datasets, validation_rows, strict=True)):
        fold_pre = data.preprocessor
        fold_batch = effective_batch_size(batch_size, len(data.x_train))
        keras.utils.set_random_seed(seed + i)
        model = default_model(fold_pre, seed + i, data.y_train)
        if i == 0:
            with stages.stage("Diagnosing data and model (fold 1)"):
                diagnosis = diagnose(
                    model,
                    data.x_train,
                    data.y_train,
                    run_lr_finder=False,
                    batch_size=fold_batch,
                    stops_early=True,
                )
            stages.print(str(diagnosis))
            title = "Learning rate given with --lr" if learning_rate else "LR range test"
            if not learning_rate:
                title += f" on fold 1 ({lr_find_steps} steps)"
            with stages.stage(title):
                choice = choose_learning_rate(model, data, fold_batch, learning_rate, lr_find_steps)
            stages.print(f"      peak learning rate: {choice.rate:.3g} ({choice.source})")
        with stages.stage(
            f"Fold {i + 1}/{k}: training on {len(data.x_train)} rows, "
            f"validating on {len(data.x_val)}"
        ):
            try:
                run = train_with_recipe(
                    model, data, epochs, fold_batch, choice.rate, verbose, keep_on_interrupt=True
                )
            except KeyboardInterrupt:  # before this fold's first epoch ended: nothing of it
                if not runs:
                    raise
                interrupted = True
                break
            outputs = model.predict(data.x_val, batch_size=256, verbose=0)
            truth[rows] = true_in_target_units(fold_pre, data.y_val)
            for name, out in (
                ("network", outputs),
                ("trivial", baseline_outputs(data)),
                ("linear", linear_outputs(data)),
            ):
                if out is None:
                    predicted.pop(name, None)
                elif name in predicted:
                    # The linear model as `linear_metrics` scores it (`clips_linear`).
                    clip = name != "linear" or clips_linear(fold_pre)
                    units = in_target_units(fold_pre, out, clip=clip)
                    predicted[name][rows] = _squeeze(units, width)
            fold_metrics.append(scores_for(fold_pre, truth[rows], predicted["network"][rows]))
            model.save(os.path.join(out_dir, fold_file(i + 1, "model")))
            fold_pre.save(os.path.join(out_dir, fold_file(i + 1, "preprocessing")))
            files.append(
                {
                    "model": fold_file(i + 1, "model"),
                    "preprocessing": fold_file(i + 1, "preprocessing"),
                }
            )
        shown = ", ".join(f"{name} {v:.4f}" for name, v in fold_metrics[-1].items())
        stages.print(f"      fold {i + 1}: {shown}")
        runs.append(run)
        if i == 0:
            first_model = model
        if run.interrupted:  # kept at its best epoch, as a single run is
            interrupted = True
            break

    if interrupted:
        stages.print(
            f"      interrupted: keeping the {len(runs)} of {k} folds trained, each at its best "
            "epoch; the metrics are out-of-fold on their rows (Ctrl-C again to stop now)"
        )
    planned, k = k, len(runs)
    validation_rows = validation_rows[:k]
    covered = np.concatenate(validation_rows)
    n = len(covered)
    truth = truth[covered]
    predicted = {name: values[covered] for name, values in predicted.items()}
    metrics = scores_for(pre, truth, predicted["network"])
    baselines = {
        "trivial baseline (majority class or mean)": scores_for(pre, truth, predicted["trivial"])
    }
    if "linear" in predicted:
        baselines["linear model (logistic or ridge regression)"] = scores_for(
            pre, truth, predicted["linear"]
        )
    with open(os.path.join(out_dir, FOLDS_FILE), "w", encoding="utf-8") as f:
        json.dump({"task": pre.task, "target": pre.target, "folds": files}, f, indent=1)

    with stages.stage("Writing the report"):
        cut = f", interrupted: {k} folds trained" if interrupted else ""
        report = Report(out_dir, f"nnperf training report ({planned}-fold cross-validation{cut})")
        sizes = sorted({len(rows) for rows in validation_rows})
        report.add_text(
            "Data",
            report_text.data_markdown(first, data_path)
            + f"\n- {planned} folds of {' or '.join(map(str, sizes))} rows; the row counts above "
            "are fold 1's, and "
            + (
                f"Ctrl-C ended the run: the metrics below are on the {n} rows of folds 1-{k}"
                + (", the last kept at its best epoch so far" if runs[-1].interrupted else "")
                if interrupted
                else "every row is validated once"
            ),
        )
        report.add_text("What the doctor found (fold 1)", report_text.findings_markdown(diagnosis))
        steps = -(-len(first.x_train) // effective_batch_size(batch_size, len(first.x_train)))
        done = (
            f"- {planned}-fold cross-validation"
            + (" (stratified: each class spread evenly over the folds)" if pre.classes else "")
            + f": {k} network(s)"
            + (f" of {planned} (interrupted)" if interrupted else "")
            + f", each validated on its own fold and trained on the other {planned - 1}; "
            "the preprocessing of each is fitted on its own training rows only.\n"
            + "- The peak learning rate was chosen once, on fold 1, and used for every fold.\n"
            + report_text.training_markdown(
                choice, runs[0], effective_batch_size(batch_size, len(first.x_train)), epochs, steps
            )
            + f"\n- Saved `fold_1.keras` ... `fold_{k}.keras` with their preprocessing files and "
            f"`{FOLDS_FILE}`; `nnperf predict {out_dir} NEW.csv` averages the {k} models "
            "(probabilities, or regression outputs in the target's units)."
        )
        report.add_text("What was done", done)
        report.add_text(
            "Out-of-fold metrics, beside baselines on the same folds",
            "Every row is predicted once, by the model whose training never saw it.\n\n"
            + report_text.comparison_markdown(
                metrics, baselines, rows=n, folds=k, codes=code_like_columns(first.preprocessor)
            ),
        )
        report.add_text("Metrics per fold", _folds_table(fold_metrics, validation_rows))
        if plotting_available():
            add_figures(report, first_model, first, choice, runs[0], None)
        report.write()

    stopper = runs[0].callbacks["early_stopping"]
    return FoldsResult(
        folds_planned=planned,
        interrupted=interrupted,
        model=first_model,
        metrics=metrics,
        diagnosis=diagnosis,
        learning_rate=choice.rate,
        history=runs[0].history,
        best_epoch=stopper.best_epoch,
        stop_reason=stopper.stop_reason,
        out_dir=out_dir,
        figures=list(report.figures),
        lr_rule=choice.rule,
        lr_reason=choice.reason,
        baselines=baselines,
        fold_metrics=fold_metrics,
    )


def _squeeze(values, width: int):
    return values.reshape(-1) if width == 1 else values


def _folds_table(fold_metrics: list, validation_rows: list) -> str:
    names = list(fold_metrics[0])
    lines = ["| fold | rows | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for i, (m, rows) in enumerate(zip(fold_metrics, validation_rows, strict=True)):
        lines.append(
            f"| {i + 1} | {len(rows)} | " + " | ".join(f"{m[n]:.4g}" for n in names) + " |"
        )
    summary = [_mean_and_spread(fold_metrics, n) for n in names]
    lines.append(
        "| mean +/- sd | | " + " | ".join(f"{mean:.4g} +/- {sd:.2g}" for mean, sd in summary) + " |"
    )
    return "\n".join(lines)
