"""The training recipe both templates tune: optimizer, learning rate, schedule, batch size.

Also gradient clipping and early stopping.

`RecipeHyperModel` is a keras-tuner `HyperModel` base class. A template builds its network and
ends `build` with `self.compile_with_recipe(hp, model, loss, metrics)`, which declares every
recipe hyperparameter (so the space is complete after one `build`, and conditional ones are
reported only when used) and compiles the model. `fit` then reads the trial's values and builds
the callbacks that need the run's length: a schedule's `total_steps` is only known once the data
size, the batch size and the epochs are (`total_steps = ceil(n_train / batch_size) * (epochs -
initial_epoch)`, warm-up included, counted by `optimizer.iterations`).

| `lr_schedule` | what runs | where |
|---|---|---|
| `constant` | `learning_rate` throughout | optimizer variable |
| `warmup_cosine` | linear warm-up for `warmup_fraction * total_steps`, cosine to 0 | in-graph |
| `one_cycle` | 1Cycle peaking at `learning_rate`, momentum cycled inversely | callback + in-graph |
| `performance` | multiply by `plateau_factor` after `plateau_patience` flat epochs | callback |
"""

from __future__ import annotations

import dataclasses
import math

import keras
import keras_tuner

from keras_nnperf.callbacks.early_stopping import EarlyStopping
from keras_nnperf.tuning._validation import check_auto_or_bool, check_choices, prefer
from keras_nnperf.validation import check_bool, check_choice

OPTIMIZERS = ("adam", "adamw", "nadam", "rmsprop", "sgd", "lamb")
LR_SCHEDULES = ("constant", "warmup_cosine", "one_cycle", "performance")
BATCH_SIZES = (16, 32, 64, 128, 256)
JIT_COMPILE = ("auto", True, False)

# Everything the recipe may declare, for contract tests and docs.
RECIPE_HYPERPARAMETERS = (
    "optimizer",
    "learning_rate",
    "momentum",
    "nesterov",
    "weight_decay",
    "clip_gradients",
    "global_clipnorm",
    "lr_schedule",
    "warmup_fraction",
    "one_cycle_pct_start",
    "plateau_factor",
    "plateau_patience",
    "batch_size",
    "early_stopping_patience",
)


class RecipeHyperModel(keras_tuner.HyperModel):
    """Base class of the templates: tunes the training recipe around any network.

    Subclasses implement `build(hp)`, build the network, and return
    `self.compile_with_recipe(hp, model, loss, metrics)`.

    Args:
        optimizers: Restrict the `optimizer` choices to these names (from `OPTIMIZERS`).
        lr_schedules: Restrict the `lr_schedule` choices (from `LR_SCHEDULES`).
        batch_sizes: The `batch_size` choices, positive integers. Defaults to 16-256.
        jit_compile: Passed to `model.compile`: `"auto"`, `True` or `False`.
        start_at_baseline: Before training a fresh trial, set the output layer so the first
            loss is the trivial baseline's
            (`keras_nnperf.initializers.baseline.initialize_at_baseline` with the training
            targets). Needs a sigmoid, softmax or linear `Dense` output and array targets.
        name: Optional name of the hypermodel.
        tunable: Whether the hyperparameters defined here are tunable.

    Raises:
        ValueError: for an unsupported name in `optimizers` or `lr_schedules` (the message names
            it), a non-positive batch size, or an invalid `jit_compile`.

    Example:
    ```python
    class TinyMLP(RecipeHyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            return self.compile_with_recipe(hp, model, "mse", ["mae"])
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD" (warm-up); Loshchilov & Hutter,
        2017, "SGDR" (cosine); Smith, 2018, "A disciplined approach to neural network
        hyper-parameters" (1Cycle); Prechelt, 1998, "Early Stopping - But When?".
    """

    def __init__(
        self,
        optimizers=None,
        lr_schedules=None,
        batch_sizes=None,
        jit_compile="auto",
        start_at_baseline=False,
        name=None,
        tunable=True,
    ):
        super().__init__(name=name, tunable=tunable)
        self.start_at_baseline = check_bool("start_at_baseline", start_at_baseline)
        self.optimizers = check_choices("optimizers", optimizers, OPTIMIZERS)
        self.lr_schedules = check_choices("lr_schedules", lr_schedules, LR_SCHEDULES)
        if batch_sizes is None:
            batch_sizes = list(BATCH_SIZES)
        if (
            isinstance(batch_sizes, (str, bytes))
            or not batch_sizes
            or any(not isinstance(b, int) or isinstance(b, bool) or b <= 0 for b in batch_sizes)
        ):
            raise ValueError(
                "Argument batch_sizes must be a non-empty list of integers > 0. "
                f"Received: batch_sizes={batch_sizes!r}"
            )
        self.batch_sizes = sorted(set(batch_sizes))
        self.jit_compile = check_auto_or_bool("jit_compile", jit_compile)

    #: Whether `declare_hyperparameters` declares the whole space (every conditional branch),
    #: so a search can skip keras-tuner's exploratory builds (one model per conditional branch).
    declares_complete_space = False

    @property
    def objective(self) -> str:
        """The metric `search` optimises by default; subclasses refine it by task."""
        return "val_loss"

    #: While a search runs its trials, the names of the metrics its objective reads (`search`
    #: sets this, then restores `None`): `compile_with_recipe` compiles only those, since a
    #: trial's other metrics are computed at every step and never read. `None`: all metrics.
    search_metrics: tuple | None = None

    def compile_with_recipe(self, hp, model, loss, metrics):
        """Declare the recipe's hyperparameters and compile `model` with its optimizer.

        During a search's trials (`search_metrics` set) only the metrics the objective reads are
        compiled (see `objective_metrics`); `best_model` and later builds get all of them.

        Args:
            hp: The trial's `keras_tuner.HyperParameters`.
            model: The built (uncompiled) Keras model.
            loss: The loss for `model.compile`.
            metrics: The metrics for `model.compile`.

        Returns:
            `model`, compiled.
        """
        self.declare_recipe(hp)
        recipe = TrainingRecipe.from_values(hp.values)
        if self.search_metrics is not None:
            metrics = objective_metrics(metrics, self.search_metrics)
        model.compile(
            optimizer=recipe.make_optimizer(),
            loss=loss,
            metrics=metrics,
            jit_compile=self.jit_compile,
        )
        return model

    def declare_recipe(self, hp):
        """Declare every recipe hyperparameter on `hp` (conditional ones under their scope)."""
        hp.Choice("optimizer", self.optimizers, default=prefer(self.optimizers, "adam"))
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log", default=1e-3)
        with hp.conditional_scope("optimizer", ["sgd"]):
            hp.Float("momentum", 0.5, 0.99, default=0.9)
            hp.Boolean("nesterov", default=True)
        with hp.conditional_scope("optimizer", ["adamw", "lamb"]):
            hp.Float("weight_decay", 1e-5, 1e-1, sampling="log", default=1e-4)
        hp.Boolean("clip_gradients", default=False)
        with hp.conditional_scope("clip_gradients", [True]):
            hp.Choice("global_clipnorm", [0.5, 1.0, 5.0], default=1.0)
        schedules = self.lr_schedules
        hp.Choice("lr_schedule", schedules, default=prefer(schedules, "warmup_cosine"))
        with hp.conditional_scope("lr_schedule", ["warmup_cosine"]):
            hp.Float("warmup_fraction", 0.0, 0.2, step=0.05, default=0.05)
        with hp.conditional_scope("lr_schedule", ["one_cycle"]):
            hp.Float("one_cycle_pct_start", 0.1, 0.4, step=0.05, default=0.25)
        with hp.conditional_scope("lr_schedule", ["performance"]):
            hp.Choice("plateau_factor", [0.1, 0.2, 0.5], default=0.5)
            hp.Int("plateau_patience", 1, 5, default=2)
        hp.Choice("batch_size", self.batch_sizes, default=_closest(self.batch_sizes, 32))
        hp.Int("early_stopping_patience", 2, 10, default=5)

    def fit(self, hp, model, *args, **kwargs):
        """Train `model` with the trial's batch size, schedule and early stopping.

        Takes `model.fit` arguments; `epochs` (and `initial_epoch`, for Hyperband) set the run's
        length. The batch size comes from the `batch_size` hyperparameter (pin it with
        `hp.Fixed`), so passing `batch_size` here is an error.

        Returns:
            The `History` of `model.fit`.

        Raises:
            ValueError: if `batch_size` is passed, or the number of steps cannot be inferred.
        """
        if "batch_size" in kwargs:
            raise ValueError(
                "The batch size is a hyperparameter of the template; pin it with "
                "hp.Fixed('batch_size', ...) instead of passing it to fit. "
                f"Received: batch_size={kwargs['batch_size']!r}"
            )
        recipe = TrainingRecipe.from_values(hp.values)
        x = args[0] if args else kwargs.get("x")
        is_dataset = hasattr(x, "cardinality")
        steps = kwargs.get("steps_per_epoch") or _steps_per_epoch(
            x, recipe.batch_size, kwargs.get("validation_split", 0.0)
        )
        epochs = kwargs.get("epochs", 1) - kwargs.get("initial_epoch", 0)
        total_steps = max(3, steps * max(epochs, 1))
        callbacks = list(kwargs.pop("callbacks", None) or [])
        callbacks.extend(recipe.callbacks(model, total_steps))
        y = args[1] if len(args) > 1 else kwargs.get("y")
        # A Hyperband continuation (initial_epoch > 0) starts from trained weights: keep them.
        if self.start_at_baseline and not kwargs.get("initial_epoch") and hasattr(y, "shape"):
            from keras_nnperf.initializers.baseline import initialize_at_baseline

            initialize_at_baseline(model, y)
        if not is_dataset:
            kwargs["batch_size"] = recipe.batch_size
        build_training_state(model, x, y)
        return model.fit(*args, callbacks=callbacks, **kwargs)

    def recipe_callbacks(self, values, model, total_steps):
        """Install the schedule on `model.optimizer` and return the callbacks it needs.

        The same as `TrainingRecipe.from_values(values).callbacks(model, total_steps)`.

        Args:
            values: The trial's hyperparameter values (`hp.values`).
            model: The compiled model.
            total_steps: The optimizer updates in this run, warm-up included.

        Returns:
            A list of callbacks: early stopping plus the schedule's callback, if any.
        """
        return TrainingRecipe.from_values(values).callbacks(model, total_steps)


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    """How one trial trained: optimizer, rate, schedule, batch size, epochs, early stopping.

    `TrainingRecipe.from_values(hp.values)` reads it from a trial's hyperparameters (or
    `SearchResult.best_recipe()` from the best trial, with its epochs). Training a fresh model of
    the same architecture with `model.compile(optimizer=recipe.make_optimizer(), ...)` and
    `model.fit(..., batch_size=recipe.batch_size, epochs=recipe.epochs,
    callbacks=recipe.callbacks(model, steps_per_epoch * recipe.epochs))` repeats the trial's
    training: the same optimizer and settings, the same schedule over the same number of steps
    (`total_steps`, warm-up included, counted by `optimizer.iterations`), the same early stopping.

    Attributes:
        optimizer: `"adam"`, `"adamw"`, `"nadam"`, `"rmsprop"`, `"sgd"` or `"lamb"`.
        learning_rate: The constant rate, or the schedule's peak.
        schedule: `"constant"`, `"warmup_cosine"`, `"one_cycle"` or `"performance"`.
        batch_size: The batch size.
        epochs: The epochs the trial was planned for (the schedule's length), or `None` when
            unknown (`from_values` without `epochs`).
        best_epoch: The trial's best epoch, 1-based, or `None`.
        early_stopping_patience: Patience of the `val_loss` early stopping.
        options: The branch-only settings that apply: `momentum`, `nesterov` (SGD),
            `weight_decay` (AdamW, Lamb), `global_clipnorm` (clipping on), `warmup_fraction`,
            `one_cycle_pct_start`, `plateau_factor`, `plateau_patience` (by schedule).

    Example:
    ```python
    recipe = TrainingRecipe.from_values({"optimizer": "adam", "learning_rate": 3e-3,
                                         "lr_schedule": "constant", "batch_size": 64})
    model.compile(optimizer=recipe.make_optimizer(), loss="mse")
    ```
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    batch_size: int = 32
    epochs: int | None = None
    best_epoch: int | None = None
    early_stopping_patience: int = 5
    options: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_values(cls, values, epochs=None, best_epoch=None):
        """The recipe of a trial from its hyperparameter values (`hp.values`).

        Args:
            values: A dict of hyperparameter values; missing recipe entries take the
                template's defaults (Adam at 1e-3, constant, batch 32, patience 5).
            epochs: The trial's planned epochs, or `None`.
            best_epoch: The trial's best epoch (1-based), or `None`.

        Returns:
            A `TrainingRecipe`.

        Raises:
            ValueError: for an unknown optimizer or schedule name.
        """
        optimizer = check_choice("optimizer", values.get("optimizer", "adam"), OPTIMIZERS)
        schedule = check_choice("lr_schedule", values.get("lr_schedule", "constant"), LR_SCHEDULES)
        options = {}
        if optimizer == "sgd":
            options["momentum"] = float(values.get("momentum", 0.9))
            options["nesterov"] = bool(values.get("nesterov", True))
        if optimizer in ("adamw", "lamb"):
            options["weight_decay"] = float(values.get("weight_decay", 1e-4))
        if values.get("clip_gradients", False):
            options["global_clipnorm"] = float(values.get("global_clipnorm", 1.0))
        if schedule == "warmup_cosine":
            options["warmup_fraction"] = float(values.get("warmup_fraction", 0.05))
        elif schedule == "one_cycle":
            options["one_cycle_pct_start"] = float(values.get("one_cycle_pct_start", 0.25))
        elif schedule == "performance":
            options["plateau_factor"] = float(values.get("plateau_factor", 0.5))
            options["plateau_patience"] = int(values.get("plateau_patience", 2))
        return cls(
            optimizer=optimizer,
            learning_rate=float(values.get("learning_rate", 1e-3)),
            schedule=schedule,
            batch_size=int(values.get("batch_size", 32)),
            epochs=None if epochs is None else int(epochs),
            best_epoch=None if best_epoch is None else int(best_epoch),
            early_stopping_patience=int(values.get("early_stopping_patience", 5)),
            options=options,
        )

    def make_optimizer(self) -> keras.optimizers.Optimizer:
        """A new optimizer with this recipe's settings, at `learning_rate` (the schedule's peak)."""
        common = {
            "learning_rate": self.learning_rate,
            "global_clipnorm": self.options.get("global_clipnorm"),
        }
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(
                momentum=self.options["momentum"], nesterov=self.options["nesterov"], **common
            )
        if self.optimizer == "adamw":
            return keras.optimizers.AdamW(weight_decay=self.options["weight_decay"], **common)
        if self.optimizer == "lamb":
            return keras.optimizers.Lamb(weight_decay=self.options["weight_decay"], **common)
        return {
            "adam": keras.optimizers.Adam,
            "nadam": keras.optimizers.Nadam,
            "rmsprop": keras.optimizers.RMSprop,
        }[self.optimizer](**common)

    def callbacks(self, model, total_steps):
        """Install the schedule on `model.optimizer` and return the callbacks the run needs.

        Args:
            model: The model, compiled with `make_optimizer()`.
            total_steps: The optimizer updates in the run, warm-up included
                (`ceil(n_train / batch_size) * epochs`).

        Returns:
            A list: the schedule's callback, if any, then `EarlyStopping(monitor="val_loss",
            restore_best_weights=True)` with the recipe's patience.
        """
        total_steps = max(3, int(total_steps))
        callbacks = []
        if self.schedule == "warmup_cosine":
            from keras_nnperf.schedules.warmup import warmup_cosine

            fraction = self.options["warmup_fraction"]
            warmup_steps = min(int(fraction * total_steps), total_steps - 1)
            model.optimizer.learning_rate = warmup_cosine(
                self.learning_rate, total_steps, warmup_steps
            )
        elif self.schedule == "one_cycle":
            from keras_nnperf.callbacks.one_cycle import OneCycle

            callbacks.append(
                OneCycle(
                    max_lr=self.learning_rate,
                    steps=total_steps,
                    pct_start=self.options["one_cycle_pct_start"],
                    # RMSprop has no momentum term to cycle.
                    cycle_momentum=self.optimizer != "rmsprop",
                )
            )
        elif self.schedule == "performance":
            from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler

            callbacks.append(
                PerformanceScheduler(
                    monitor="val_loss",
                    factor=self.options["plateau_factor"],
                    patience=self.options["plateau_patience"],
                )
            )
        callbacks.append(
            EarlyStopping(
                monitor="val_loss",
                patience=self.early_stopping_patience,
                restore_best_weights=True,
            )
        )
        return callbacks


def objective_metrics(metrics, names):
    """The entries of `metrics` a search objective reads, or `metrics` unchanged if unsure.

    A binary `HyperMLP` compiles accuracy and AUC; a search on `val_accuracy` never reads the
    AUC, whose update (200 thresholds) cost about 20% of a 10-epoch trial's CPU time on breast
    cancer, its test step's trace included. Metrics are matched by name (a string as given, an
    object by its `name`), with the objective's `val_` prefix removed.

    Args:
        metrics: What the template passes to `model.compile`: `None` or a list (a dict or other
            structure, for several outputs, is returned unchanged).
        names: The objective's metric names, e.g. `("val_accuracy",)`; `"loss"` needs no
            metric.

    Returns:
        The metrics the objective needs (`[]` for a loss objective); all of `metrics` when one
        of the names matches none of them (a name Keras derives differently, a custom metric).
    """
    if not isinstance(metrics, (list, tuple)):
        return metrics
    wanted = {name.removeprefix("val_") for name in names} - {"loss"}
    named = [(m if isinstance(m, str) else getattr(m, "name", None), m) for m in metrics]
    kept = [m for name, m in named if name in wanted]
    if len(kept) < len(wanted):
        return metrics
    return kept


def build_training_state(model, x, y=None) -> bool:
    """Create the optimizer's and the metrics' variables before `fit`, so the step traces once.

    On TensorFlow without a distribution strategy, Keras builds the optimizer (its slots) and the
    compiled metrics and loss trackers lazily, inside the first trace of the train step;
    `tf.function` then traces the step a second time, now forbidding variable creation. Each
    trial of a search paid that second trace: 0.3-1.2 CPU seconds, 17-30% of a 10-epoch
    `HyperMLP` trial on breast cancer (see docs/tuning.md). Building them first, from the shapes
    of one batch, leaves one trace. Keras does the same itself before `fit` on JAX and PyTorch
    (and on TensorFlow under a strategy), so only TensorFlow needs this call.

    Keras has no public method for it: `Trainer._symbolic_build` is read here, in one place,
    so a test fails if Keras moves it.

    Args:
        model: A compiled model.
        x: The training inputs: arrays (or a nested structure of them), or a `tf.data.Dataset`
            (its `element_spec` gives the shapes; `y` is then ignored).
        y: The training targets, or `None`.

    Returns:
        Whether the build ran here: `False` on JAX and PyTorch, without an optimizer, and for
        inputs without shapes (generators, `PyDataset`s), which `fit` then builds as before.
    """
    if keras.backend.backend() != "tensorflow" or getattr(model, "optimizer", None) is None:
        return False
    if hasattr(x, "element_spec"):  # a tf.data.Dataset: (x, y[, sample_weight]) specs
        batch = x.element_spec
        if not isinstance(batch, tuple):
            batch = (batch,)
    else:
        batch = (x,) if y is None else (x, y)
    leaves = keras.tree.flatten(batch)
    if not leaves or any(not hasattr(a, "shape") or not hasattr(a, "dtype") for a in leaves):
        return False
    batch = keras.tree.map_structure(_one_row, batch)
    # Under a distribution strategy the variables must be created in its scope (Keras builds
    # them itself there, and this call then finds nothing left to build).
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=batch)
    return True


def _one_row(value):
    # A TensorSpec has a shape and a dtype but cannot be sliced; Keras only reads those two.
    return value if not hasattr(value, "__getitem__") else value[:1]


def _steps_per_epoch(x, batch_size, validation_split):
    if hasattr(x, "cardinality"):
        # A tf.data.Dataset arrives batched; its length is the number of steps.
        cardinality = int(x.cardinality())
        if cardinality <= 0:
            raise ValueError(
                "Cannot infer the number of steps of a dataset of unknown or infinite length; "
                f"pass steps_per_epoch. Received: cardinality={cardinality}"
            )
        return cardinality
    arrays = keras.tree.flatten(x)
    if not arrays:
        raise ValueError(f"Cannot infer the number of samples from x. Received: x={x!r}")
    samples = int(arrays[0].shape[0])
    train = int(math.floor(samples * (1.0 - validation_split))) if validation_split else samples
    return max(1, math.ceil(train / batch_size))


def _closest(values, target):
    return min(values, key=lambda value: (abs(value - target), value))
