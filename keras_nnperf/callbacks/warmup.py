"""Learning-rate warm-up for whatever the optimizer holds, added with one callback.

The callback fills the warm-up slot of the optimizer's composed learning rate
(`keras_nnperf.callbacks.learning_rate_slots`) in `on_train_begin`; the ramp itself is evaluated
in-graph at every step. The adaptive kind advances through a gradient hook that runs inside the
compiled train step.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.callbacks import learning_rate_slots as slots
from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.callbacks.hyperparameters import log_hyperparameters
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.registry import register
from keras_nnperf.schedules.adaptive_warmup import AdaptiveWarmUp
from keras_nnperf.schedules.composed import WARMUP_KINDS
from keras_nnperf.validation import check_choice, check_integer, check_number

__all__ = ["AdaptiveWarmUp", "WarmUp"]


def _global_norm(grads):
    squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads if g is not None]
    return ops.sqrt(ops.sum(ops.stack(squares))) if squares else ops.zeros((), "float32")


@register("callback")
class WarmUp(CopyByConfig, keras.callbacks.Callback):
    """Warm up whatever learning rate the optimizer holds (a float or any schedule).

    With `s(t)` the rate the optimizer would apply without the warm-up (its own float or
    schedule, or the cycle of a `OneCycle` in the same `fit`), the `w` steps from the optimizer's
    current `iterations` `t0` ramp up to it (overlay semantics: `s` keeps counting through the
    warm-up):

    * `"linear"`: `lr(t) = init + (s(t0 + w) - init) * (t - t0) / w` for `t < t0 + w`, then `s(t)`.
    * `"exponential"`: `lr(t) = init * (s(t0 + w) / init) ** ((t - t0) / w)`, then `s(t)`.
    * `"gradient"` (adaptive): `lr(t) = init + (s(t) - init) * min(p / w, 1)`, where the progress
      `p` advances only while training is stable. At each step, with `g` the global gradient norm
      and `a` its running average (`a = g` on the first step): the step is *stable* if `g` is
      finite and `g <= (1 + tolerance) * a`; then `p <- min(p + 1, w)`, else (a spike)
      `p <- max(p - backoff, 0)`. Then `a <- d * a + (1 - d) * min(g, (1 + tolerance) * a)` with
      `d = average_decay` (spikes enter the average clipped, so a lasting rise in the gradient
      norm is still absorbed). `p` is updated before the step's learning rate is read, so a spike
      step never uses a larger rate than the step before it.

    A `PerformanceScheduler` multiplier applies on top (`keras_nnperf.callbacks.learning_rate_slots`
    has the whole formula); the result does not depend on the order of the callbacks. A second
    `fit` with the same callback continues (and does not warm up again); pass a new `WarmUp` to
    warm up again. `learning_rate` is written into `logs` at every epoch end. When `fit` ends
    (normally or by an exception) the optimizer holds its own learning rate again.

    Args:
        steps: Warm-up length in optimizer steps, > 0. Exactly one of `steps` and `epochs`.
        epochs: Warm-up length in epochs (> 0, may be fractional), converted with the steps per
            epoch that `fit` reports.
        kind: `"linear"`, `"exponential"` or `"gradient"`. Defaults to `"linear"`.
        init_lr: The starting rate, >= 0 (> 0 for `"exponential"`). Defaults to 0 for linear and
            gradient, `target / 100` for exponential.
        tolerance: `"gradient"` only: how far above its running average the gradient norm may go
            and still count as stable, > 0. Defaults to 1.0 (twice the average).
        average_decay: `"gradient"` only: decay `d` of the running average, in [0, 1).
        backoff: `"gradient"` only: progress steps lost on a spike, >= 0 (0 holds).
        verbose: 0 or 1: print when the warm-up is installed.

    Attributes:
        warmup_steps: `w`, once training began.
        progress: `"gradient"`: the stable steps seen so far (a float; `w` when done).

    Raises:
        ValueError: for a bad argument, or (in `fit`) `epochs` when the steps per epoch are
            unknown, or another callback warming up the same optimizer.

    Example:
    ```python
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="mse")
    model.fit(x, y, epochs=10, callbacks=[WarmUp(epochs=1)])
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """

    def __init__(
        self,
        steps: int | None = None,
        epochs: float | None = None,
        kind: str = "linear",
        init_lr: float | None = None,
        tolerance: float = 1.0,
        average_decay: float = 0.9,
        backoff: float = 0.0,
        verbose: int = 0,
    ):
        super().__init__()
        if (steps is None) == (epochs is None):
            raise ValueError(
                "Pass exactly one of steps and epochs. "
                f"Received: steps={steps!r}, epochs={epochs!r}"
            )
        steps = check_integer("steps", steps, low=1, allow_none=True)
        epochs = check_number("epochs", epochs, low=0.0, low_open=True, allow_none=True)
        check_choice("kind", kind, WARMUP_KINDS)
        init_lr = check_number(
            "init_lr", init_lr, low=0.0, low_open=kind == "exponential", allow_none=True
        )
        tolerance = check_number("tolerance", tolerance, low=0.0, low_open=True)
        average_decay = check_number(
            "average_decay", average_decay, low=0.0, high=1.0, high_open=True
        )
        backoff = check_number("backoff", backoff, low=0.0)
        check_choice("verbose", verbose, (0, 1))
        self._config = dict(
            steps=steps,
            epochs=epochs,
            kind=kind,
            init_lr=init_lr,
            tolerance=tolerance,
            average_decay=average_decay,
            backoff=backoff,
            verbose=verbose,
        )
        self.kind = kind
        self.warmup_steps = None
        self.progress = 0.0
        self._plan = None
        self._average = -1.0  # the gradient-norm average; -1 until the first step
        self._optimizer = None

    def _resolve_steps(self) -> int:
        if self._config["steps"] is not None:
            return self._config["steps"]
        per_epoch = (self.params or {}).get("steps")
        if not per_epoch:
            raise ValueError(
                "WarmUp(epochs=...) needs the number of steps per epoch, which fit does not know "
                "for this dataset. Pass steps= instead (or steps_per_epoch to fit). "
                f"Received: epochs={self._config['epochs']!r}"
            )
        return max(1, round(self._config["epochs"] * per_epoch))

    def _new_plan(self, start: int) -> dict:
        init = self._config["init_lr"]
        self.warmup_steps = self._resolve_steps()
        self.progress = 0.0
        self._average = -1.0
        if self._config["verbose"]:
            print(f"WarmUp: {self.kind} warm-up over {self.warmup_steps} steps from step {start}.")
        return {
            "warmup_on": 1.0,
            "warmup_start": start,
            "warmup_steps": self.warmup_steps,
            "warmup_init": init or 0.0,
            # Exponential from 0 is impossible: its default start is 1/100 of the target.
            "warmup_init_fraction": 0.01 if self.kind == "exponential" and init is None else 0.0,
            "warmup_kind": float(WARMUP_KINDS.index(self.kind)),
        }

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        if self._plan is None or self._optimizer is not optimizer:
            self._plan = self._new_plan(int(ops.convert_to_numpy(optimizer.iterations)))
            self._optimizer = optimizer
        composition = slots.claim(self.model, "warmup", self, variant=self.kind)
        composition.assign(**self._plan, warmup_progress=self.progress)
        if self.kind == "gradient" and self.progress < self.warmup_steps:
            self._add_hook(composition)

    def _add_hook(self, composition):
        progress = composition.parameters["warmup_progress"]
        average = composition.variable("warmup_gradient_norm_average", -1.0)
        average.assign(self._average)
        limit_factor = 1.0 + self._config["tolerance"]
        decay, backoff = self._config["average_decay"], self._config["backoff"]
        steps = float(self.warmup_steps)

        def advance(grads, variables):
            # Tensors, not variables, go into `ops.where` (JAX cannot abstract a variable there).
            mean, done = ops.cast(average, "float32"), ops.cast(progress, "float32")
            norm = _global_norm(grads)
            first = mean < 0.0
            finite = ops.isfinite(norm)
            limit = limit_factor * mean
            stable = ops.logical_and(finite, ops.logical_or(first, norm <= limit))
            progress.assign(
                ops.where(stable, ops.minimum(done + 1.0, steps), ops.maximum(done - backoff, 0.0))
            )
            updated = decay * mean + (1.0 - decay) * ops.minimum(norm, limit)
            seeded = ops.where(finite, norm, mean)
            average.assign(ops.where(first, seeded, ops.where(finite, updated, mean)))

        self._average_variable = average
        key = ("warmup_gradient", id(progress), id(average), limit_factor, decay, backoff, steps)
        composition.add_hook("warmup_gradient", advance, key=key)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            log_hyperparameters(self.model.optimizer, logs)

    def on_train_end(self, logs=None):
        composition = slots.installed(self.model.optimizer)
        if composition is not None and self.kind == "gradient":
            self.progress = composition.read("warmup_progress")
            if "warmup_gradient" in composition.hooks:
                self._average = float(ops.convert_to_numpy(self._average_variable))
        slots.release(self.model, self)
