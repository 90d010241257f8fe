"""Smith's 1cycle policy as a callback: learning rate up then down, momentum down then up.

The callback installs `keras_nnperf.schedules.OneCycle` as the learning rate and makes the
optimizer read its momentum (`momentum` for SGD, `beta_1` for Adam, AdamW, Nadam, Adamax and Lamb)
from `OneCycleMomentum` at every step, in-graph. Nothing is assigned per batch.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.callbacks._learning_rate import (
    CopyByConfig,
    ScheduledHyperparameter,
    StepOffset,
    install_schedule,
    log_hyperparameters,
    momentum_attribute,
    restore_get_config,
    save_as_float_in_config,
)
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)
from keras_nnperf.registry import register

ANNEAL_KINDS = ("cos", "linear")


@register("callback")
class OneCycle(CopyByConfig, keras.callbacks.Callback):
    """The 1cycle policy: one learning-rate cycle over the run, with the mirrored momentum cycle.

    Over `T` steps starting at the optimizer's current `iterations` (see
    `keras_nnperf.schedules.OneCycle` for the exact curve): the rate goes from
    `max_lr / div_factor` up to `max_lr` at step `int(pct_start * T)`, then anneals to
    `max_lr / div_factor / final_div_factor` at step `T - 1`; the momentum goes from
    `momentum[0]` down to `momentum[1]` at the peak and back to `momentum[0]`.

    `T` defaults to `epochs * steps per epoch` of the `fit` call. A cycle spans fits until it
    ends: calling `fit` again with the same callback continues an unfinished cycle, and starts a
    new one (with `T` inferred from the new `fit`) once the last cycle is over. `learning_rate` and
    the moved momentum (`momentum` or `beta_1`) are written into `logs` at every epoch end. At the
    end of training the optimizer's momentum goes back to its original float (so the model saves
    as usual); the learning rate stays the `OneCycle` schedule.

    Args:
        max_lr: Peak learning rate, > 0. `None` takes the suggestion of the last
            `keras_nnperf.callbacks.lr_finder.lr_find` run on the same model.
        steps: Cycle length `T` in optimizer steps (>= 3), or `None` to infer it from `fit`.
        pct_start: Fraction of the cycle spent increasing the rate, in (0, 1).
        div_factor: Initial rate is `max_lr / div_factor`, > 0.
        final_div_factor: Final rate is the initial rate / `final_div_factor`, > 0.
        anneal: `"cos"` or `"linear"`.
        cycle_momentum: Whether to cycle the momentum (needs SGD with momentum > 0, an
            Adam-family optimizer or Lamb).
        momentum: `(max_momentum, base_momentum)`, each in [0, 1).
        verbose: 0 or 1: print the cycle when it is installed.

    Raises:
        ValueError: for a bad argument; in `fit`, when `max_lr=None` and no `lr_find` ran on the
            model, when the steps per epoch are unknown and `steps=None`, or when the optimizer
            has no momentum to cycle and `cycle_momentum=True`.

    Example:
    ```python
    result = lr_find(model, x, y)
    model.fit(x, y, epochs=5, callbacks=[OneCycle()])  # max_lr from result.suggestion
    ```

    Reference:
        Smith, 2018, "A disciplined approach to neural network hyper-parameters: Part 1 --
        learning rate, batch size, momentum, and weight decay"; Smith & Topin, 2019,
        "Super-Convergence".
    """

    def __init__(
        self,
        max_lr: float | None = None,
        steps: int | None = None,
        pct_start: float = 0.25,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cos",
        cycle_momentum: bool = True,
        momentum: tuple[float, float] = (0.95, 0.85),
        verbose: int = 0,
    ):
        super().__init__()
        if max_lr is not None and (not isinstance(max_lr, (int, float)) or not max_lr > 0):
            raise ValueError(f"Argument max_lr must be > 0 or None. Received: max_lr={max_lr!r}")
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps < 3
        ):
            raise ValueError(f"Argument steps must be an integer >= 3. Received: steps={steps!r}")
        if not isinstance(pct_start, (int, float)) or not 0 < pct_start < 1:
            raise ValueError(
                f"Argument pct_start must be in (0, 1). Received: pct_start={pct_start!r}"
            )
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Argument {name} must be > 0. Received: {name}={value!r}")
        if anneal not in ANNEAL_KINDS:
            raise ValueError(
                f"Argument anneal must be one of {list(ANNEAL_KINDS)}. Received: anneal={anneal!r}"
            )
        if not isinstance(cycle_momentum, bool):
            raise ValueError(
                "Argument cycle_momentum must be a bool. "
                f"Received: cycle_momentum={cycle_momentum!r}"
            )
        if (
            not isinstance(momentum, (tuple, list))
            or len(momentum) != 2
            or not all(isinstance(m, (int, float)) and 0 <= m < 1 for m in momentum)
        ):
            raise ValueError(
                "Argument momentum must be a pair (max_momentum, base_momentum) in [0, 1). "
                f"Received: momentum={momentum!r}"
            )
        if verbose not in (0, 1):
            raise ValueError(f"Argument verbose must be 0 or 1. Received: verbose={verbose!r}")
        self._config = dict(
            max_lr=max_lr,
            steps=steps,
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            anneal=anneal,
            cycle_momentum=cycle_momentum,
            momentum=tuple(momentum),
            verbose=verbose,
        )
        self.schedule = None
        self.momentum_schedule = None
        self.attribute = None
        self._end_step = None
        self._original_momentum = None
        self._momentum_value = None

    def _resolve_max_lr(self) -> float:
        if self._config["max_lr"] is not None:
            return float(self._config["max_lr"])
        from keras_nnperf.callbacks.lr_finder import last_lr_find

        result = last_lr_find(self.model)
        if result is None:
            raise ValueError(
                "OneCycle(max_lr=None) takes the peak rate from a previous lr_find(model, ...) on "
                "the same model, and none ran. Run lr_find first or pass max_lr. "
                "Received: max_lr=None"
            )
        return float(result.suggestion)

    def _resolve_steps(self) -> int:
        if self._config["steps"] is not None:
            return self._config["steps"]
        params = self.params or {}
        if not params.get("steps") or not params.get("epochs"):
            raise ValueError(
                "OneCycle(steps=None) infers the cycle length as epochs * steps per epoch, which "
                "fit does not know for this dataset. Pass steps=. Received: steps=None"
            )
        return int(params["epochs"]) * int(params["steps"])

    def _new_cycle(self, optimizer, start: int) -> None:
        from keras_nnperf.schedules import OneCycle as OneCycleSchedule
        from keras_nnperf.schedules import OneCycleMomentum

        total = self._resolve_steps()
        config = self._config
        schedule = OneCycleSchedule(
            self._resolve_max_lr(),
            total,
            pct_start=config["pct_start"],
            div_factor=config["div_factor"],
            final_div_factor=config["final_div_factor"],
            anneal=config["anneal"],
        )
        momentum = OneCycleMomentum(
            total,
            pct_start=config["pct_start"],
            max_momentum=config["momentum"][0],
            base_momentum=config["momentum"][1],
            anneal=config["anneal"],
        )
        if start:
            schedule, momentum = StepOffset(schedule, -start), StepOffset(momentum, -start)
        self.schedule, self.momentum_schedule = schedule, momentum
        self._end_step = start + total
        install_schedule(optimizer, schedule)
        if config["verbose"]:
            print(f"OneCycle: cycle of {total} steps from step {start} installed.")

    def _check_momentum(self, optimizer) -> str | None:
        if not self._config["cycle_momentum"]:
            return None
        attribute = momentum_attribute(optimizer)
        if attribute is None:
            raise ValueError(
                f"OneCycle cycles SGD's momentum or beta_1 of Adam, AdamW, Nadam, Adamax and Lamb; "
                f"{type(optimizer).__name__} has neither. Pass cycle_momentum=False. "
                "Received: cycle_momentum=True"
            )
        # SGD creates its momentum slots at build time only when momentum != 0.
        if attribute == "momentum" and optimizer.built and not optimizer.momentums:
            raise ValueError(
                "OneCycle cannot cycle the momentum of an SGD built with momentum=0. Use "
                "SGD(momentum=0.9) or pass cycle_momentum=False. Received: cycle_momentum=True"
            )
        return attribute

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        self.attribute = self._check_momentum(optimizer)
        start = int(ops.convert_to_numpy(optimizer.iterations))
        continuing = (
            self.schedule is not None
            and optimizer._learning_rate is self.schedule
            and start < self._end_step
        )
        if not continuing:
            self._new_cycle(optimizer, start)
        if self.attribute is not None:
            held = getattr(optimizer, self.attribute)
            # An interrupted fit may have left our lazy value in place; keep the true original.
            if not isinstance(held, ScheduledHyperparameter):
                self._original_momentum = held
            self._install_momentum(optimizer)
        refresh_train_function(self.model)

    @property
    def _hook_name(self) -> str:
        return f"one_cycle_momentum_{id(self)}"

    def _install_momentum(self, optimizer):
        if self._momentum_value is None:
            with self.model.distribute_strategy.scope():
                self._momentum_value = keras.Variable(
                    self._config["momentum"][0],
                    dtype="float32",
                    trainable=False,
                    name="one_cycle_momentum",
                    aggregation="only_first_replica",
                )
        value, schedule = self._momentum_value, self.momentum_schedule

        def update(grads, variables):
            # Runs before the optimizer's update reads the momentum, at the same `iterations`.
            value.assign(ops.cast(schedule(optimizer.iterations), "float32"))

        add_gradient_hook(optimizer, self._hook_name, update)
        setattr(optimizer, self.attribute, ScheduledHyperparameter(value))
        save_as_float_in_config(optimizer, self.attribute)

    def on_epoch_end(self, epoch, logs=None):
        log_hyperparameters(self.model.optimizer, logs, self.attribute)

    def on_train_end(self, logs=None):
        if self.attribute is not None:
            optimizer = unscaled_optimizer(self.model.optimizer)
            setattr(optimizer, self.attribute, self._original_momentum)
            restore_get_config(optimizer)
            remove_gradient_hook(optimizer, self._hook_name)
            refresh_train_function(self.model)
