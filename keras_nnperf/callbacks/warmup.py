"""Learning-rate warm-up for whatever the optimizer holds, added with one callback.

The callback only wraps the optimizer's learning rate (a float or any schedule) once, in
`on_train_begin`; the ramp itself is a schedule evaluated in-graph at every step. The adaptive
kind advances through a gradient hook that runs inside the compiled train step.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.callbacks._learning_rate import (
    CopyByConfig,
    StepOffset,
    install_schedule,
    learning_rate_as_schedule,
    log_hyperparameters,
)
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)
from keras_nnperf.registry import register

WARMUP_KINDS = ("linear", "exponential", "gradient")


@register("schedule")
class AdaptiveWarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Warm-up driven by a progress variable: `lr(t) = init + (schedule(t) - init) * min(p/w, 1)`.

    `p` (a non-trainable variable, `self.progress`) is advanced by `WarmUp(kind="gradient")`'s
    gradient hook only on stable steps; once `p >= w` this is exactly `schedule(t)`.

    Args:
        schedule: The schedule to warm up.
        warmup_steps: `w`, the number of stable steps the ramp needs, > 0.
        init_learning_rate: The rate at `p = 0`, >= 0.
        progress: Initial value of `p`.

    Raises:
        ValueError: for a non-schedule, `warmup_steps <= 0`, or a negative rate or progress.

    Example:
    ```python
    schedule = AdaptiveWarmUp(keras_nnperf.schedules.Constant(1e-3), warmup_steps=100)
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour".
    """

    def __init__(self, schedule, warmup_steps: int, init_learning_rate: float = 0.0, progress=0.0):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                f"Argument schedule must be a LearningRateSchedule. Received: schedule={schedule!r}"
            )
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps <= 0:
            raise ValueError(
                f"Argument warmup_steps must be > 0. Received: warmup_steps={warmup_steps!r}"
            )
        for name, value in (("init_learning_rate", init_learning_rate), ("progress", progress)):
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"Argument {name} must be >= 0. Received: {name}={value!r}")
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.init_learning_rate = float(init_learning_rate)
        self.progress = keras.Variable(
            float(progress),
            dtype="float32",
            trainable=False,
            name="warmup_progress",
            aggregation="only_first_replica",
        )

    def __call__(self, step):
        target = ops.cast(self.schedule(step), "float32")
        fraction = ops.minimum(ops.cast(self.progress, "float32") / self.warmup_steps, 1.0)
        return self.init_learning_rate + (target - self.init_learning_rate) * fraction

    def is_warming_up(self) -> bool:
        """True until `warmup_steps` stable steps were seen (one host read)."""
        return float(ops.convert_to_numpy(self.progress)) < self.warmup_steps

    def get_config(self):
        return {
            "schedule": keras.optimizers.schedules.serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "init_learning_rate": self.init_learning_rate,
            "progress": float(ops.convert_to_numpy(self.progress)),
        }


def _global_norm(grads):
    squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads if g is not None]
    return ops.sqrt(ops.sum(ops.stack(squares))) if squares else ops.zeros((), "float32")


@register("callback")
class WarmUp(CopyByConfig, keras.callbacks.Callback):
    """Warm up whatever learning rate the optimizer holds (a float or any schedule).

    The optimizer's learning rate `s(t)` is wrapped once, at the start of training, so that the
    `w` steps from the optimizer's current `iterations` `t0` ramp up to it (overlay semantics:
    `s` keeps counting through the warm-up):

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

    The warm-up is installed once per callback: a second `fit` with the same callback continues
    (and does not warm up again); pass a new `WarmUp` to warm up again. `learning_rate` is
    written into `logs` at every epoch end.

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

    Raises:
        ValueError: for a bad argument, or (in `fit`) `epochs` when the steps per epoch are
            unknown.

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
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0
        ):
            raise ValueError(f"Argument steps must be an integer > 0. Received: steps={steps!r}")
        if epochs is not None and (not isinstance(epochs, (int, float)) or not epochs > 0):
            raise ValueError(f"Argument epochs must be > 0. Received: epochs={epochs!r}")
        if kind not in WARMUP_KINDS:
            raise ValueError(
                f"Argument kind must be one of {list(WARMUP_KINDS)}. Received: kind={kind!r}"
            )
        if init_lr is not None and (
            not isinstance(init_lr, (int, float))
            or not init_lr >= 0
            or (kind == "exponential" and init_lr == 0)
        ):
            raise ValueError(
                f"Argument init_lr must be >= 0 (> 0 for kind='exponential'). Received: "
                f"init_lr={init_lr!r}"
            )
        if not isinstance(tolerance, (int, float)) or not tolerance > 0:
            raise ValueError(f"Argument tolerance must be > 0. Received: tolerance={tolerance!r}")
        if not isinstance(average_decay, (int, float)) or not 0 <= average_decay < 1:
            raise ValueError(
                "Argument average_decay must be in [0, 1). "
                f"Received: average_decay={average_decay!r}"
            )
        if not isinstance(backoff, (int, float)) or not backoff >= 0:
            raise ValueError(f"Argument backoff must be >= 0. Received: backoff={backoff!r}")
        if verbose not in (0, 1):
            raise ValueError(f"Argument verbose must be 0 or 1. Received: verbose={verbose!r}")
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
        self.schedule = None
        self.warmup_steps = None
        self._average = None

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

    def _build_schedule(self, optimizer):
        target = learning_rate_as_schedule(optimizer)
        start = int(ops.convert_to_numpy(optimizer.iterations))
        init = self._config["init_lr"]
        if self.kind == "gradient":
            with self.model.distribute_strategy.scope():
                return AdaptiveWarmUp(target, self.warmup_steps, init or 0.0)
        from keras_nnperf.schedules import WarmUp as WarmUpSchedule

        if start == 0:
            return WarmUpSchedule(target, self.warmup_steps, self.kind, init)
        # Start the ramp at `start`: evaluate the warm-up on a clock shifted back by `start`, and
        # the wrapped schedule on the optimizer's own clock.
        ramp = WarmUpSchedule(StepOffset(target, start), self.warmup_steps, self.kind, init)
        return StepOffset(ramp, -start)

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        if self.schedule is None or optimizer._learning_rate is not self.schedule:
            self.warmup_steps = self._resolve_steps()
            self.schedule = self._build_schedule(optimizer)
            install_schedule(optimizer, self.schedule)
            if self._config["verbose"]:
                print(f"WarmUp: {self.kind} warm-up over {self.warmup_steps} steps installed.")
        if self.kind == "gradient" and self.schedule.is_warming_up():
            self._add_hook(optimizer)
        refresh_train_function(self.model)

    def _add_hook(self, optimizer):
        schedule = self.schedule
        if self._average is None:
            with self.model.distribute_strategy.scope():
                # -1 marks "no step seen yet": the first norm seeds the average.
                self._average = keras.Variable(
                    -1.0,
                    dtype="float32",
                    trainable=False,
                    name="warmup_gradient_norm_average",
                    aggregation="only_first_replica",
                )
        average, progress = self._average, schedule.progress
        limit_factor = 1.0 + self._config["tolerance"]
        decay, backoff = self._config["average_decay"], self._config["backoff"]
        steps = float(self.warmup_steps)

        def advance(grads, variables):
            norm = _global_norm(grads)
            first = average < 0.0
            finite = ops.isfinite(norm)
            limit = limit_factor * average
            stable = ops.logical_and(finite, ops.logical_or(first, norm <= limit))
            progress.assign(
                ops.where(
                    stable,
                    ops.minimum(progress + 1.0, steps),
                    ops.maximum(progress - backoff, 0.0),
                )
            )
            updated = decay * average + (1.0 - decay) * ops.minimum(norm, limit)
            seeded = ops.where(finite, norm, average)
            average.assign(ops.where(first, seeded, ops.where(finite, updated, average)))

        add_gradient_hook(optimizer, self._hook_name, advance)

    @property
    def _hook_name(self) -> str:
        return f"gradient_warmup_{id(self)}"

    def on_epoch_end(self, epoch, logs=None):
        log_hyperparameters(self.model.optimizer, logs)

    def on_train_end(self, logs=None):
        if self.kind == "gradient":
            remove_gradient_hook(self.model.optimizer, self._hook_name)
            refresh_train_function(self.model)
