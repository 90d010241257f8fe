"""The learning-rate range test: ramp the rate exponentially, watch the loss, put everything back.

`lr_find(model, x, y)` trains with Keras's own `fit` (any input `fit` takes, on any backend) for at
most `num_steps` steps while the learning rate grows from `min_lr` to `max_lr`, records the loss of
every step, stops when the smoothed loss diverges, and then restores the model's variables, every
optimizer variable (including `iterations`) and the exact learning-rate object the optimizer held,
also when it ends by an exception (`KeyboardInterrupt` included). When the curve cannot be trusted
(flat, too short, still falling at `max_lr`) it re-runs with a wider range, at most `retries`
times. The result (`LRFinderResult`) suggests a rate, says which rule chose it and why, and is kept
for the model, so `OneCycle(max_lr=None)` uses the same number.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
import warnings
import weakref

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks.lr_finder_result import (
    DEFAULT_RULE,
    SUGGESTION_RULES,
    LRFinderResult,
)
from keras_nnperf.optimizers.gradient_hooks import refresh_train_function, unscaled_optimizer
from keras_nnperf.registry import register
from keras_nnperf.validation import check_choice, check_integer, check_number

# The last result per model, for `OneCycle(max_lr=None)`; weak, so it never keeps a model alive.
_LAST_RESULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: Rate used when no rule can be trusted and the optimizer's class has no default rate.
FALLBACK_LR = 1e-3
#: A retry never widens the range beyond these rates.
_LOWEST_LR, _HIGHEST_LR = 1e-12, 1e4
#: A retry never runs more than this many times the steps asked for.
_MAX_STEP_GROWTH = 3


def last_lr_find(model) -> LRFinderResult | None:
    """The result of the last `lr_find` (or `LRFinder` run) on `model`, or `None`."""
    return _LAST_RESULTS.get(model)


def fallback_learning_rate(optimizer) -> float:
    """Keras's default `learning_rate` for the optimizer's class: the rate used when no rule holds.

    1e-3 for Adam, AdamW, Nadam, Adamax, RMSprop, Lion and most others, 1e-2 for SGD: the rate
    Keras itself trains with when none is given. A class without a numeric default gets 1e-3.
    """
    inner = unscaled_optimizer(optimizer)
    try:
        default = inspect.signature(type(inner).__init__).parameters["learning_rate"].default
    except (KeyError, TypeError, ValueError):
        return FALLBACK_LR
    if isinstance(default, (int, float)) and not isinstance(default, bool) and default > 0:
        return float(default)
    return FALLBACK_LR


def _held_learning_rate(optimizer):
    """The object the optimizer holds as its rate: a float variable, a schedule or a callable.

    Keras has no public getter for it (`optimizer.learning_rate` evaluates a schedule), and giving
    the user back their exact object needs it, so it is read here and only here;
    `test_held_learning_rate_is_where_keras_keeps_it` fails if Keras moves it.
    """
    return unscaled_optimizer(optimizer)._learning_rate


def _sync_training_state(model) -> None:
    """Write the trainer's in-flight state into the model's variables (JAX only).

    JAX's `fit` carries weights, optimizer and metric state outside the variables for a whole
    epoch; its public `model.jax_state_sync()` writes them back and makes the next step re-read
    the variables, so values assigned between steps take effect. TensorFlow and PyTorch train the
    variables themselves and have no such method: nothing to do.
    """
    sync = getattr(model, "jax_state_sync", None)
    if callable(sync):
        sync()


def _values(variables) -> list:
    return [np.array(ops.convert_to_numpy(v)) for v in variables]


class _Snapshot:
    """What the range test changes, captured before it and put back exactly afterwards."""

    def __init__(self, model):
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        self.model = model
        # Captured with their variables: callbacks running beside the finder may add (and
        # remove) optimizer state variables during the test, so restore by identity, not order.
        self.model_variables = list(model.variables)  # weights, and random-seed states
        self.model_values = _values(self.model_variables)
        self.optimizer_variables = list(optimizer.variables)
        self.optimizer_values = _values(self.optimizer_variables)
        self.learning_rate = _held_learning_rate(optimizer)
        self.rate_value = (
            np.array(ops.convert_to_numpy(self.learning_rate))
            if isinstance(self.learning_rate, keras.Variable)
            else None
        )
        self.history = getattr(model, "history", None)

    def restore(self) -> None:
        """Put everything back: idempotent, and safe after an exception anywhere in `fit`."""
        self.restore_values()
        self.restore_learning_rate()

    def restore_values(self) -> None:
        """The values of the model's and the optimizer's variables, bit for bit."""
        model = self.model
        # First flush JAX's in-flight state, or a later sync would overwrite what is restored.
        _sync_training_state(model)
        for variable, value in zip(self.model_variables, self.model_values, strict=True):
            variable.assign(value)
        for variable, value in zip(self.optimizer_variables, self.optimizer_values, strict=True):
            variable.assign(value)
        model.stop_training = False
        model.reset_metrics()
        if self.history is not None:
            model.history = self.history

    def restore_learning_rate(self) -> None:
        """The very learning-rate object the optimizer held, and a float rate's value."""
        model, optimizer = self.model, self.model.optimizer
        _sync_training_state(model)
        if self.rate_value is not None:
            self.learning_rate.assign(self.rate_value)
        if _held_learning_rate(optimizer) is not self.learning_rate:
            # Only a schedule or a callable was ever swapped (a float rate is assigned in place),
            # and the public setter swaps those back without touching `optimizer.variables`.
            unscaled_optimizer(optimizer).learning_rate = self.learning_rate
            # A real retrace on every backend (on JAX a plain `make_train_function(force=True)`
            # gets back the cached trace that has the ramp in it).
            refresh_train_function(model, force=True)


class _Ramp(keras.optimizers.schedules.LearningRateSchedule):
    """`min_lr * (max_lr / min_lr) ** min((step - start) / (num_steps - 1), 1)`, in-graph.

    Installed only while the optimizer holds a schedule or a callable, which has no variable to
    assign between steps; never saved (the user's object is back before `fit` returns).
    """

    def __init__(self, min_lr, max_lr, num_steps, start):
        self.min_lr, self.max_lr, self.num_steps, self.start = min_lr, max_lr, num_steps, start

    def __call__(self, step):
        fraction = ops.cast(step - self.start, "float32") / float(self.num_steps - 1)
        fraction = ops.clip(fraction, 0.0, 1.0)
        return self.min_lr * ops.exp(fraction * math.log(self.max_lr / self.min_lr))

    def get_config(self):
        return dict(
            min_lr=self.min_lr, max_lr=self.max_lr, num_steps=self.num_steps, start=self.start
        )


def _fit_guard(model, snapshot: _Snapshot) -> bool:
    """Have `fit_guard` undo the test if a user's `fit` running `LRFinder` raises.

    The ramp always goes; the weights are put back only right at the exception, not at the
    start of a later `fit` (the user may have changed them since). `lr_find` itself needs none
    of this: its own `try`/`finally` restores everything.
    """
    try:
        from keras_nnperf.optimizers import fit_guard
    except ImportError:
        return False
    fit_guard.guard_fit(model, "lr_finder/learning_rate", snapshot.restore_learning_rate)
    fit_guard.guard_fit(model, "lr_finder/values", snapshot.restore_values, stale=False)
    return True


def _fit_unguard(model) -> None:
    from keras_nnperf.optimizers import fit_guard

    fit_guard.unguard_fit(model, "lr_finder/values")
    fit_guard.unguard_fit(model, "lr_finder/learning_rate")


@register("callback")
class LRFinder(keras.callbacks.Callback):
    """The callback behind `lr_find`: exponential ramp, smoothed loss, divergence stop, restore.

    Step `i` (counted from the optimizer's `iterations` when training starts) uses
    `lr_i = min_lr * (max_lr / min_lr) ** (i / (num_steps - 1))`. The smoothed loss is the
    bias-corrected moving average `a_i = s * a_{i-1} + (1 - s) * loss_i`,
    `smooth_i = a_i / (1 - s ** (i + 1))` (fastai). Training stops once `num_steps` steps ran or
    `smooth_i > stop_factor * min(smooth_j, j >= max(2, num_steps // 10) - 1) > 0` (fastai
    takes the minimum from `j = 0`, where one outlier batch reads as a divergence) or the loss
    is not finite. At the end the model's variables, every optimizer variable and the
    optimizer's learning-rate object are restored exactly. With `steps_per_execution = k` it
    records one point per `k` steps (their mean loss).

    How the ramp reaches the train step, on every backend, through public API only: a float rate
    (a variable the optimizer owns) is assigned between steps, so nothing is added to the
    optimizer and no retrace happens; a schedule or callable is swapped for an in-graph ramp of
    `iterations` through the public `learning_rate` setter and swapped back at the end.

    Run it with `fit(..., epochs=E)` where the `E` epochs hold at least `num_steps` steps, or
    simply call `lr_find`, which does that, retries on a curve it cannot trust and restores also
    when `fit` raises.

    Args:
        min_lr: Rate of the first step, > 0.
        max_lr: Rate of step `num_steps - 1`, > `min_lr`.
        num_steps: Number of steps of the ramp, >= 5.
        smoothing: `s`, in [0, 1); `None` (default): `min(0.98, 1 - 2 / num_steps)`, fastai's
            0.98 on 100 steps, and the same delay, in decades, on a shorter ramp.
        stop_factor: Divergence threshold, > 1.
        suggestion: `"auto"` (the default, robust rule) or one of the named rules
            `"steepest"`, `"minimum/10"`, `"valley"`: see `LRFinderResult`.
        fallback_lr: Rate suggested when no rule can be trusted, > 0; `None` takes Keras's
            default rate for the optimizer's class (`fallback_learning_rate`).

    Raises:
        ValueError: for a bad argument.

    Example:
    ```python
    finder = LRFinder(num_steps=100)
    model.fit(x, y, epochs=20, callbacks=[finder])  # stops by itself after 100 steps
    finder.result.suggestion, finder.result.rule, finder.result.reason
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates for Training Neural Networks" (the LR range test).
    """

    def __init__(
        self,
        min_lr: float = 1e-7,
        max_lr: float = 10.0,
        num_steps: int = 100,
        smoothing: float | None = None,
        stop_factor: float = 4.0,
        suggestion: str = DEFAULT_RULE,
        fallback_lr: float | None = None,
    ):
        super().__init__()
        min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr = _check(
            min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr
        )
        self._config = dict(
            min_lr=min_lr,
            max_lr=max_lr,
            num_steps=num_steps,
            smoothing=smoothing,
            stop_factor=stop_factor,
            suggestion=suggestion,
            fallback_lr=fallback_lr,
        )
        if smoothing is None:
            smoothing = min(0.98, 1.0 - 2.0 / num_steps)
        self.min_lr, self.max_lr, self.num_steps = min_lr, max_lr, num_steps
        self.smoothing, self.stop_factor, self.suggestion = smoothing, stop_factor, suggestion
        self.fallback_lr = fallback_lr
        self.result = None
        self._snapshot = None
        self._guarded = False

    def get_config(self) -> dict:
        """The constructor arguments."""
        return dict(self._config)

    def __deepcopy__(self, memo):
        # keras-tuner deep-copies callbacks for every trial: a fresh, unbound copy.
        return type(self)(**self.get_config())

    def learning_rate_at(self, step):
        """The ramp's rate at `step` steps into the test (host-side NumPy, no tensor read)."""
        fraction = np.clip(np.asarray(step, "float64") / (self.num_steps - 1), 0.0, 1.0)
        return self.min_lr * (self.max_lr / self.min_lr) ** fraction

    def _iterations(self) -> int:
        return int(ops.convert_to_numpy(unscaled_optimizer(self.model.optimizer).iterations))

    def on_train_begin(self, logs=None):
        model = self.model
        self._snapshot = _Snapshot(model)
        self._guarded = _fit_guard(model, self._snapshot)
        inner = unscaled_optimizer(model.optimizer)
        self._start = self._iterations()
        self._assigned = isinstance(self._snapshot.learning_rate, keras.Variable)
        if self._assigned:
            inner.learning_rate = self.min_lr  # assigns the optimizer's own variable
        else:
            inner.learning_rate = _Ramp(self.min_lr, self.max_lr, self.num_steps, self._start)
            refresh_train_function(model, force=True)  # the old schedule is in the trace
        self._applied = self.min_lr
        self._lrs, self._raw, self._smooth = [], [], []
        self._average, self._best, self._done, self._diverged = 0.0, math.inf, 0, False

    def on_train_batch_end(self, batch, logs=None):
        # A diagnostic run: one host read of the loss per call is the point of it.
        _sync_training_state(self.model)
        loss = float(np.mean(ops.convert_to_numpy((logs or {}).get("loss", math.nan))))
        done = self._iterations() - self._start
        # Keras reports the running mean over the epoch; reset so the next call sees fresh steps.
        self.model.reset_metrics()
        first, self._done = self._done, done
        if self._assigned:
            self._lrs.append(self._applied)
        else:  # Loss-scaled steps that overflowed did not advance `iterations`.
            steps = np.arange(first, max(done, first + 1))
            self._lrs.append(float(np.exp(np.mean(np.log(self.learning_rate_at(steps))))))
        self._raw.append(loss)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smooth = self._average / (1 - self.smoothing ** len(self._raw))
        self._smooth.append(smooth)
        # The first tenth of the ramp sets no reference for divergence: there the average is of
        # a few batches, as heavy-tailed as they are. One batch holding an outlier of a skewed
        # target (Forbes 2000's market values) read as a divergence at a rate of 1e-12.
        settled = len(self._smooth) >= max(2, self.num_steps // 10)
        diverged = not math.isfinite(smooth) or (
            self._best > 0 and smooth > self.stop_factor * self._best
        )
        if settled and math.isfinite(smooth):
            self._best = min(self._best, smooth)
        self._diverged = self._diverged or diverged
        if diverged or done >= self.num_steps:
            self.model.stop_training = True
        elif self._assigned:
            self._applied = float(self.learning_rate_at(done))
            unscaled_optimizer(self.model.optimizer).learning_rate = self._applied

    def on_train_end(self, logs=None):
        self._snapshot.restore()
        if self._guarded:
            _fit_unguard(self.model)
        self.result = LRFinderResult(
            lrs=np.asarray(self._lrs, "float64"),
            losses=np.asarray(self._smooth, "float64"),
            raw_losses=np.asarray(self._raw, "float64"),
            rule=self.suggestion,
            num_steps=self.num_steps,
            smoothing=self.smoothing,
            fallback_lr=self.fallback_lr or fallback_learning_rate(self.model.optimizer),
            min_lr=self.min_lr,
            max_lr=self.max_lr,
            diverged=self._diverged,
        )
        _LAST_RESULTS[self.model] = self.result
        _warn_on_fallback(self.result)


def _warn_on_fallback(result: LRFinderResult) -> None:
    if result.rule == "fallback":
        warnings.warn(
            f"lr_find could not trust its curve, so it suggests the fallback rate "
            f"{result.suggestion:.3g}: {result.reason}",
            stacklevel=3,
        )


def _check(min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr):
    min_lr = check_number("min_lr", min_lr, low=0.0, low_open=True)
    max_lr = check_number("max_lr", max_lr, low=0.0, low_open=True)
    if not max_lr > min_lr:
        raise ValueError(
            f"Argument max_lr must be > min_lr. Received: max_lr={max_lr!r}, min_lr={min_lr!r}"
        )
    num_steps = check_integer("num_steps", num_steps, low=5)
    smoothing = check_number(
        "smoothing", smoothing, low=0.0, high=1.0, high_open=True, allow_none=True
    )
    stop_factor = check_number("stop_factor", stop_factor, low=1.0, low_open=True)
    suggestion = check_choice("suggestion", suggestion, SUGGESTION_RULES)
    fallback_lr = check_number("fallback_lr", fallback_lr, low=0.0, low_open=True, allow_none=True)
    return min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr


def _is_dataset(x) -> bool:
    """A batched input that `fit` iterates itself (tf.data, PyDataset, a generator, a loader)."""
    if isinstance(x, keras.utils.PyDataset):
        return True
    tf = sys.modules.get("tensorflow")  # never imported here: only its datasets matter
    if tf is not None and isinstance(x, tf.data.Dataset):
        return True
    leaves = keras.tree.flatten(x)
    return (
        len(leaves) == 1 and leaves[0] is x and not hasattr(x, "shape") and hasattr(x, "__iter__")
    )


def _epochs_for(x, batch_size: int, steps: int) -> int:
    """Enough epochs for `steps` steps (the finder stops the run itself)."""
    if _is_dataset(x):
        # Each pass yields at least one batch; an infinite dataset never ends its first epoch.
        return steps
    count = len(keras.tree.flatten(x)[0])
    return max(1, -(-steps // max(1, -(-count // batch_size))))


def _whole_batches(x, y, batch_size: int):
    """Array inputs cut to a multiple of `batch_size` rows: no partial batch in the range test.

    Each epoch of `fit` ends in a batch of `rows % batch_size` rows; its loss, the mean of a few
    samples, is a spike the moving average carries for tens of steps (a saw-tooth at every epoch
    start) and it inflates the noise estimate the verdict rests on (2x on a 3,137-row table with
    a 1-row remainder). Dropping the last `rows % batch_size` rows (fewer than one batch; the
    arrays are sliced, not copied) leaves only full batches, which `fit` still shuffles every
    epoch. Datasets are batched by their owner: left as they are.
    """
    if _is_dataset(x):
        return x, y
    count = len(keras.tree.flatten(x)[0])
    whole = count - count % batch_size
    if whole == 0 or whole == count:
        return x, y

    def cut(data):
        return None if data is None else keras.tree.map_structure(lambda a: a[:whole], data)

    return cut(x), cut(y)


def _next_range(
    result: LRFinderResult, min_lr: float, max_lr: float, num_steps: int, asked: int | None = None
):
    """The range of the retry that can fix what `result.verdict` says, or `None`.

    * `"flat"` after running the whole ramp, or `"open"` (still falling at `max_lr`): the range
      ends too low; raise `max_lr` 100x, with steps for the same points per decade.
    * `"flat"` after a divergence past the middle of the ramp: the fall was too fast to see
      above the noise; the same range, ending just past the divergence, with the most steps
      allowed (`_MAX_STEP_GROWTH` times those asked for), so each rate gets more of them.
    * `"flat"` after an earlier divergence (the loss rose and never fell), or after the dense
      retry, or `"too_short"` (diverged within a few points): the fall, if any, lies below the
      range; end the range just past the divergence, start it 1000x lower, double the steps.
    """
    if result.verdict == "ok":
        return None
    decades = math.log10(max_lr / min_lr)
    if result.verdict == "open" or (result.verdict == "flat" and not result.diverged):
        new_max = min(max_lr * 100.0, _HIGHEST_LR)
        if new_max <= max_lr:
            return None
        steps = round(num_steps * math.log10(new_max / min_lr) / decades)
        return min_lr, new_max, min(steps, _MAX_STEP_GROWTH * num_steps)
    new_max = min(max_lr, float(result.lrs[-1]) * 10.0)
    most = _MAX_STEP_GROWTH * (asked or num_steps)
    if result.verdict == "flat" and 2 * len(result.lrs) >= num_steps and num_steps < most:
        # The ramp went through most of its range before the loss rose: it passed the rates
        # that train too fast for their fall to show above the batch noise (measured on real
        # tables with a rare class and batches of 32). The same range, ending past the
        # divergence, with the most steps allowed: each rate that trains gets more of them.
        return min_lr, new_max, most
    new_min = max(min(min_lr, new_max) / 1000.0, _LOWEST_LR)
    if new_min >= min_lr and new_max >= max_lr:
        return None
    return new_min, new_max, min(2 * num_steps, _MAX_STEP_GROWTH * num_steps)


@contextlib.contextmanager
def _restored(model):
    """Put the model back as it was however the block ends (`KeyboardInterrupt` included)."""
    snapshot = _Snapshot(model)
    try:
        yield
    finally:
        snapshot.restore()


def lr_find(
    model,
    x,
    y=None,
    batch_size: int = 32,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float | None = None,
    stop_factor: float = 4.0,
    suggestion: str = DEFAULT_RULE,
    retries: int = 2,
    fallback_lr: float | None = None,
    verbose: int = 0,
) -> LRFinderResult:
    """Run the learning-rate range test on a compiled model and leave the model as it was.

    See `LRFinder` for the ramp, the smoothing and the stop rule, and `LRFinderResult` for the
    rules. The test runs through Keras's own `fit`, so `x` can be anything `fit` takes on the
    current backend (arrays, dicts of arrays, a `tf.data.Dataset`, a `keras.utils.PyDataset`, a
    generator); arrays are shuffled by `fit` and passed over as often as the steps need, cut to
    a multiple of `batch_size` rows (the last `rows % batch_size` rows are left out) so that
    no step sees a partial batch, whose loss would be a spike in the curve.

    When the curve cannot be trusted, the test runs again on a wider range, at most `retries`
    times (each run starts from the same weights): a flat curve or one still falling at `max_lr`
    gets a 100x higher `max_lr`; a curve that diverged within a few points, or rose without
    falling, gets a range that starts 1000x lower and ends just past the divergence, with twice
    the steps. If no run gives a trustworthy curve, `suggestion` is `fallback_lr` and a warning
    says why.

    Whatever happens, `KeyboardInterrupt` and any exception raised in a layer or in the data
    included, the model's variables, every optimizer variable and the exact learning-rate object
    the optimizer held are restored, and nothing is left on the optimizer.

    Args:
        model: A compiled, built Keras model.
        x: Inputs, as `fit` takes them.
        y: Targets for array inputs; `None` with a dataset.
        batch_size: Batch size for array inputs, > 0.
        min_lr: First rate, > 0.
        max_lr: Last rate, > `min_lr`.
        num_steps: Steps of the ramp, >= 5.
        smoothing: Moving-average factor of the smoothed loss, in [0, 1); `None` (default):
            `min(0.98, 1 - 2 / num_steps)`.
        stop_factor: Stop once the smoothed loss exceeds `stop_factor` times its minimum, > 1.
        suggestion: `"auto"` (default) or `"steepest"`, `"minimum/10"`, `"valley"`.
        retries: Further runs allowed on an untrustworthy curve, >= 0. Defaults to 2.
        fallback_lr: Rate suggested when nothing can be trusted, > 0; `None` takes Keras's
            default rate for the optimizer's class (1e-3 for the Adam family, 1e-2 for SGD).
        verbose: Passed to `fit` (0, 1 or 2).

    Returns:
        An `LRFinderResult` (`suggestion`, `rule`, `reason`, `attempts`), also stored for
        `OneCycle(max_lr=None)` and `last_lr_find`.

    Raises:
        ValueError: for a bad argument, an uncompiled or unbuilt model, or `y` with a dataset.

    Example:
    ```python
    result = lr_find(model, x_train, y_train)
    print(result.suggestion, result.rule, result.reason)
    result.plot()
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates for Training Neural Networks"; Howard & Gugger,
        2020, "fastai: A Layered API for Deep Learning" (smoothing and the `valley` rule).
    """
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"Argument model must be compiled with an optimizer. Received: model={model!r}"
        )
    if not model.built:
        raise ValueError(
            "Argument model must be built (give it an Input or call it once) so its weights can "
            f"be saved and restored. Received: model={model!r}"
        )
    batch_size = check_integer("batch_size", batch_size, low=1)
    retries = check_integer("retries", retries, low=0)
    verbose = check_choice("verbose", verbose, (0, 1, 2))
    if _is_dataset(x) and y is not None:
        raise ValueError(f"Argument y must be None when x is a dataset. Received: y={y!r}")
    config = _check(min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr)
    min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr = config
    fallback_lr = fallback_lr or fallback_learning_rate(model.optimizer)
    x, y = _whole_batches(x, y, batch_size)
    attempts = []
    with _restored(model):
        for attempt in range(retries + 1):
            finder = LRFinder(
                min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion, fallback_lr
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a fallback is only final after the retries
                model.fit(
                    x,
                    y,
                    batch_size=None if _is_dataset(x) else batch_size,
                    epochs=_epochs_for(x, batch_size, num_steps),
                    callbacks=[finder],
                    verbose=verbose,
                )
            result = finder.result
            attempts.append(
                dict(
                    min_lr=min_lr,
                    max_lr=max_lr,
                    num_steps=num_steps,
                    points=len(result.lrs),
                    verdict=result.verdict,
                )
            )
            retry = (
                _next_range(result, min_lr, max_lr, num_steps, attempts[0]["num_steps"])
                if attempt < retries
                else None
            )
            if retry is None:
                break
            min_lr, max_lr, num_steps = retry
    result.attempts = attempts
    if len(attempts) > 1:
        tried = "; ".join(
            f"{a['min_lr']:.0e}..{a['max_lr']:.0e} x{a['num_steps']}: {a['verdict']}"
            for a in attempts
        )
        result.reason = f"{result.reason} [ranges tried: {tried}]"
    _LAST_RESULTS[model] = result
    _warn_on_fallback(result)
    return result
