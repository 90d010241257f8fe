"""The learning-rate range test: ramp the rate exponentially, watch the loss, put everything back.

`lr_find(model, x, y)` trains for at most `num_steps` steps while the learning rate grows from
`min_lr` to `max_lr` (a schedule, in-graph), records the loss of every step, stops when the
smoothed loss diverges, and then restores the model's weights, the optimizer's variables
(including `iterations`) and the learning rate it held, bit for bit. The result suggests a rate
by three rules and can plot the curve. The result is also kept for the model, so
`OneCycle(max_lr=None)` can use its suggestion.
"""

from __future__ import annotations

import math
import weakref

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks._learning_rate import CopyByConfig, StepOffset
from keras_nnperf.callbacks.lr_finder_result import SUGGESTION_RULES, LRFinderResult
from keras_nnperf.optimizers.gradient_hooks import refresh_train_function, unscaled_optimizer
from keras_nnperf.registry import register

# The last result per model, for `OneCycle(max_lr=None)`; weak, so it never keeps a model alive.
_LAST_RESULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def last_lr_find(model) -> LRFinderResult | None:
    """The result of the last `lr_find` (or `LRFinder` run) on `model`, or `None`."""
    return _LAST_RESULTS.get(model)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"Argument {name} must be > 0. Received: {name}={value!r}")


@register("callback")
class LRFinder(CopyByConfig, keras.callbacks.Callback):
    """The callback behind `lr_find`: exponential ramp, smoothed loss, divergence stop, restore.

    Step `i` (counted from the optimizer's `iterations` when training starts) uses
    `lr_i = min_lr * (max_lr / min_lr) ** (i / (num_steps - 1))`. The smoothed loss is the
    bias-corrected moving average `a_i = s * a_{i-1} + (1 - s) * loss_i`,
    `smooth_i = a_i / (1 - s ** (i + 1))` (fastai). Training stops once `num_steps` steps ran or
    `smooth_i > stop_factor * min(smooth)` or the loss is not finite. At the end the model's
    weights, every optimizer variable and the optimizer's learning rate are restored exactly.
    With `steps_per_execution = k` it records one point per `k` steps (their mean loss, at the
    geometric-mean rate).

    Run it with `fit(..., epochs=1, steps_per_epoch=num_steps)` on repeating data, or simply call
    `lr_find`, which does that.

    Args:
        min_lr: Rate of the first step, > 0.
        max_lr: Rate of step `num_steps - 1`, > `min_lr`.
        num_steps: Number of steps of the ramp, >= 5.
        smoothing: `s`, in [0, 1).
        stop_factor: Divergence threshold, > 1.
        suggestion: `"steepest"`, `"minimum/10"` or `"valley"`: the rule for `result.suggestion`.

    Raises:
        ValueError: for a bad argument.

    Example:
    ```python
    finder = LRFinder(num_steps=100)
    model.fit(dataset.repeat(), epochs=1, steps_per_epoch=100, callbacks=[finder])
    finder.result.suggestion
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates for Training Neural Networks" (the LR range test).
    """

    def __init__(
        self,
        min_lr: float = 1e-7,
        max_lr: float = 10.0,
        num_steps: int = 100,
        smoothing: float = 0.98,
        stop_factor: float = 4.0,
        suggestion: str = "steepest",
    ):
        super().__init__()
        _check_positive("min_lr", min_lr)
        _check_positive("max_lr", max_lr)
        if not max_lr > min_lr:
            raise ValueError(
                f"Argument max_lr must be > min_lr. Received: max_lr={max_lr!r}, min_lr={min_lr!r}"
            )
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 5:
            raise ValueError(
                f"Argument num_steps must be an integer >= 5. Received: num_steps={num_steps!r}"
            )
        if not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
            raise ValueError(
                f"Argument smoothing must be in [0, 1). Received: smoothing={smoothing!r}"
            )
        if not isinstance(stop_factor, (int, float)) or not stop_factor > 1:
            raise ValueError(
                f"Argument stop_factor must be > 1. Received: stop_factor={stop_factor!r}"
            )
        if suggestion not in SUGGESTION_RULES:
            raise ValueError(
                f"Argument suggestion must be one of {list(SUGGESTION_RULES)}. "
                f"Received: suggestion={suggestion!r}"
            )
        self._config = dict(
            min_lr=min_lr,
            max_lr=max_lr,
            num_steps=num_steps,
            smoothing=smoothing,
            stop_factor=stop_factor,
            suggestion=suggestion,
        )
        self.min_lr, self.max_lr, self.num_steps = float(min_lr), float(max_lr), num_steps
        self.smoothing, self.stop_factor, self.suggestion = smoothing, stop_factor, suggestion
        self.result = None

    def learning_rate_at(self, step):
        """The ramp's rate at `step` steps into the test (host-side NumPy, no tensor read)."""
        fraction = np.asarray(step, "float64") / (self.num_steps - 1)
        return self.min_lr * (self.max_lr / self.min_lr) ** fraction

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        inner = unscaled_optimizer(optimizer)
        self._weights = self.model.get_weights()
        self._optimizer_values = [np.array(ops.convert_to_numpy(v)) for v in optimizer.variables]
        self._learning_rate = inner._learning_rate
        self._start = int(ops.convert_to_numpy(inner.iterations))
        ramp = keras.optimizers.schedules.ExponentialDecay(
            self.min_lr, self.num_steps - 1, self.max_lr / self.min_lr
        )
        # Swapped in privately (not through the setter, which untracks a float learning-rate
        # variable) so the optimizer's variable list is untouched and restores one-to-one.
        inner._learning_rate = StepOffset(ramp, -self._start) if self._start else ramp
        refresh_train_function(self.model)
        self._lrs, self._raw, self._smooth = [], [], []
        self._average, self._best, self._done = 0.0, math.inf, 0

    def on_train_batch_end(self, batch, logs=None):
        # A diagnostic run: one host read of the loss per call is the point of it.
        loss = float((logs or {}).get("loss", math.nan))
        done = int(ops.convert_to_numpy(self.model.optimizer.iterations)) - self._start
        # Keras reports the running mean over the epoch; reset so the next call sees fresh steps.
        self.model.reset_metrics()
        first, self._done = self._done, done
        # Loss-scaled steps that overflowed did not advance `iterations`: use the current rate.
        steps = range(first, max(done, first + 1))
        self._lrs.append(float(np.exp(np.mean(np.log(self.learning_rate_at(steps))))))
        self._raw.append(loss)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smooth = self._average / (1 - self.smoothing ** len(self._raw))
        self._smooth.append(smooth)
        if not math.isfinite(smooth) or (
            len(self._smooth) > 1 and smooth > self.stop_factor * self._best
        ):
            self.model.stop_training = True
        self._best = min(self._best, smooth) if math.isfinite(smooth) else self._best
        if done >= self.num_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        optimizer = self.model.optimizer
        self.model.set_weights(self._weights)
        for variable, value in zip(optimizer.variables, self._optimizer_values, strict=True):
            variable.assign(value)
        unscaled_optimizer(optimizer)._learning_rate = self._learning_rate
        self.model.stop_training = False
        refresh_train_function(self.model)
        self.result = LRFinderResult(
            lrs=np.asarray(self._lrs),
            losses=np.asarray(self._smooth),
            raw_losses=np.asarray(self._raw),
            rule=self.suggestion,
        )
        _LAST_RESULTS[self.model] = self.result


def _repeating_dataset(x, y, batch_size):
    # `tf.data` is TensorFlow's: repeating arbitrary inputs for exactly `num_steps` needs it.
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        return x.repeat()
    data = x if y is None else (x, y)
    count = len(keras.tree.flatten(x)[0])
    dataset = tf.data.Dataset.from_tensor_slices(data)
    return dataset.shuffle(count, seed=0).batch(batch_size).repeat()


def lr_find(
    model,
    x,
    y=None,
    batch_size: int = 32,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.98,
    stop_factor: float = 4.0,
    suggestion: str = "steepest",
    verbose: int = 0,
) -> LRFinderResult:
    """Run the learning-rate range test on a compiled model and leave the model as it was.

    See `LRFinder` for the ramp, the smoothing and the stop rule; the three suggestion rules are
    described on `LRFinderResult`. Arrays are shuffled, batched and repeated; a `tf.data.Dataset`
    (already batched) is repeated, so the test always has `num_steps` steps.

    Args:
        model: A compiled, built Keras model.
        x: Inputs (arrays, or a dict/tuple of arrays) or a batched `tf.data.Dataset`.
        y: Targets for array inputs; `None` with a dataset.
        batch_size: Batch size for array inputs, > 0.
        min_lr: First rate, > 0.
        max_lr: Last rate, > `min_lr`.
        num_steps: Steps of the ramp, >= 5.
        smoothing: Moving-average factor of the smoothed loss, in [0, 1).
        stop_factor: Stop once the smoothed loss exceeds `stop_factor` times its minimum, > 1.
        suggestion: `"steepest"`, `"minimum/10"` or `"valley"`.
        verbose: Passed to `fit` (0, 1 or 2).

    Returns:
        An `LRFinderResult`, also stored for `OneCycle(max_lr=None)`.

    Raises:
        ValueError: for a bad argument, an uncompiled or unbuilt model, or `y` with a dataset.

    Example:
    ```python
    result = lr_find(model, x_train, y_train, num_steps=100)
    print(result.suggestion, result.suggestions)
    result.plot()
    ```

    Reference:
        Smith, 2017, "Cyclical Learning Rates for Training Neural Networks"; Howard & Gugger,
        2020, "fastai: A Layered API for Deep Learning" (smoothing and suggestion rules).
    """
    import tensorflow as tf

    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"Argument model must be compiled with an optimizer. Received: model={model!r}"
        )
    if not model.built:
        raise ValueError(
            "Argument model must be built (give it an Input or call it once) so its weights can "
            f"be saved and restored. Received: model={model!r}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"Argument batch_size must be > 0. Received: batch_size={batch_size!r}")
    if isinstance(x, tf.data.Dataset) and y is not None:
        raise ValueError(f"Argument y must be None when x is a dataset. Received: y={y!r}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"Argument verbose must be 0, 1 or 2. Received: verbose={verbose!r}")
    finder = LRFinder(min_lr, max_lr, num_steps, smoothing, stop_factor, suggestion)
    steps_per_execution = max(1, int(getattr(model, "steps_per_execution", 1) or 1))
    model.fit(
        _repeating_dataset(x, y, batch_size),
        epochs=1,
        steps_per_epoch=-(-num_steps // steps_per_execution) * steps_per_execution,
        callbacks=[finder],
        verbose=verbose,
        # The dataset is already shuffled (arrays) or deliberately left in order (tf.data).
        shuffle=False,
    )
    return finder.result
