"""Smith's 1cycle policy as a callback: learning rate up then down, momentum down then up.

The callback fills the cycle slot of the optimizer's composed learning rate
(`keras_nnperf.callbacks.learning_rate_slots`) and makes the optimizer read its momentum
(`momentum` for SGD, `beta_1` for Adam, AdamW, Nadam, Adamax and Lamb) from the mirrored cycle,
in-graph. Nothing is assigned per batch. With `patience`, the cycle always anneals: a plateau of
the monitored metric sends it straight to the annealing phase, and training stops at the floor.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks import learning_rate_slots as slots
from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.callbacks.hyperparameters import log_hyperparameters, momentum_attribute
from keras_nnperf.callbacks.monitor import MetricMonitor
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.registry import register
from keras_nnperf.schedules.composed import NUMPY_OPS, cycle_learning_rate, cycle_momentum
from keras_nnperf.schedules.one_cycle_policy import peak_step
from keras_nnperf.validation import check_bool, check_choice, check_integer, check_number

ANNEAL_KINDS = ("cos", "linear")


@register("callback")
class OneCycle(CopyByConfig, keras.callbacks.Callback):
    """The 1cycle policy: one learning-rate cycle over the run, with the mirrored momentum cycle.

    Over `T` steps starting at the optimizer's current `iterations` `t0`, with
    `p = int(pct_start * T)`, `lr_start = max_lr / div_factor` and
    `lr_end = lr_start / final_div_factor`: the rate goes from `lr_start` at `t0` up to `max_lr`
    at `t0 + p`, then anneals to `lr_end` at step `t0 + T - 1`, the last update of the cycle
    (held after); the momentum goes from `momentum[0]` down to `momentum[1]` at the peak and back
    to `momentum[0]`. Each phase is half a cosine (`anneal="cos"`) or a line (`"linear"`). This is
    `keras_nnperf.schedules.OneCycle(max_lr, T)` shifted to start at `t0`.

    Compared with other libraries, for the same `T`:

    * PyTorch `OneCycleLR(total_steps=T)` peaks one step earlier, at `pct_start * T - 1`; both
      reach `lr_end` on the last update. Its curve is `OneCycle(steps=T,
      pct_start=(pct_start * T - 1) / T)` when `pct_start * T` is an integer;
    * fastai `fit_one_cycle(N)` (`div=25`, `div_final=1e5`) is `OneCycle(steps=N + 1,
      final_div_factor=4000)` run for `N` updates (exact when `N / 4` is an integer): its last
      update never reaches the floor;
    * optax `cosine_onecycle_schedule(T)` is `OneCycle(steps=T + 1)`.

    `T` defaults to `epochs * steps per epoch` of the `fit` call. A cycle spans fits until it
    ends: calling `fit` again with the same callback continues an unfinished cycle, and starts a
    new one (with `T` inferred from the new `fit`) once the last cycle is over. `learning_rate` and
    the moved momentum (`momentum` or `beta_1`) are written into `logs` at every epoch end. When
    `fit` ends (normally or by an exception) the optimizer holds its own learning rate and
    momentum again.

    **A cycle that always anneals** (`patience` set): the callback watches `monitor` (direction
    from `keras_nnperf.callbacks.MetricMonitor`). After `patience` epochs without improvement,
    before the annealing phase is over, it jumps to the annealing phase: from the current rate
    (and momentum) down to `lr_end` over `anneal_epochs` epochs, if that ends sooner than the
    planned anneal. Once the cycle (jumped or not) has reached `lr_end`, it sets
    `model.stop_training = True`. So every run stops annealed, at `lr_end <= max_lr / 100`
    (`div_factor * final_div_factor >= 100` is required). Pair it with
    `EarlyStopping(restore_best_weights=True, patience=large)` to keep the best weights.

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
        patience: Epochs without improvement of `monitor` before jumping to the annealing
            phase, >= 1; `None` (default) follows the planned cycle and never stops training.
        monitor: The metric watched when `patience` is set. Defaults to `"val_loss"`.
        mode: `"auto"`, `"min"` or `"max"` for `monitor`.
        min_delta: Smallest change of `monitor` that counts as an improvement, >= 0.
        anneal_epochs: Length of the annealing phase after a jump, in epochs (> 0, may be
            fractional). `None`: `max(2, round(0.25 * epochs of the cycle so far))`.
        verbose: 0 or 1: print the cycle when it is installed, and the jump and the stop.

    Attributes:
        schedule: The planned cycle as a `keras_nnperf.schedules.OneCycle`, counted from
            `start_step`.
        start_step: The optimizer step at which the current cycle began.
        jumped_epoch: The epoch after which the cycle jumped to its annealing phase, or `None`.
        stopped_epoch: The epoch after which training was stopped at the floor, or `None`.

    Raises:
        ValueError: for a bad argument; in `fit`, when `max_lr=None` and no `lr_find` ran on the
            model, when the steps per epoch are unknown and `steps=None`, when the optimizer
            has no momentum to cycle and `cycle_momentum=True`, or when another callback drives
            the cycle of the same optimizer.

    Example:
    ```python
    result = lr_find(model, x, y)
    model.fit(x, y, epochs=50, validation_split=0.2, callbacks=[OneCycle(patience=3)])
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
        patience: int | None = None,
        monitor: str = "val_loss",
        mode: str = "auto",
        min_delta: float = 0.0,
        anneal_epochs: float | None = None,
        verbose: int = 0,
    ):
        super().__init__()
        max_lr = check_number("max_lr", max_lr, low=0.0, low_open=True, allow_none=True)
        steps = check_integer("steps", steps, low=3, allow_none=True)
        pct_start = check_number("pct_start", pct_start, low=0.0, high=1.0, low_open=True,
                                 high_open=True)  # fmt: skip
        div_factor = check_number("div_factor", div_factor, low=0.0, low_open=True)
        final_div_factor = check_number(
            "final_div_factor", final_div_factor, low=0.0, low_open=True
        )
        check_choice("anneal", anneal, ANNEAL_KINDS)
        cycle_momentum = check_bool("cycle_momentum", cycle_momentum)
        if not isinstance(momentum, (tuple, list)) or len(momentum) != 2:
            raise ValueError(
                "Argument momentum must be a pair (max_momentum, base_momentum) in [0, 1). "
                f"Received: momentum={momentum!r}"
            )
        momentum = tuple(
            check_number("momentum", m, low=0.0, high=1.0, high_open=True) for m in momentum
        )
        patience = check_integer("patience", patience, low=1, allow_none=True)
        anneal_epochs = check_number(
            "anneal_epochs", anneal_epochs, low=0.0, low_open=True, allow_none=True
        )
        check_choice("verbose", verbose, (0, 1))
        if patience is not None and div_factor * final_div_factor < 100:
            raise ValueError(
                "With patience set, OneCycle promises to anneal to at most max_lr / 100, so "
                "div_factor * final_div_factor must be >= 100. Received: "
                f"div_factor={div_factor!r}, final_div_factor={final_div_factor!r}"
            )
        self._config = dict(
            max_lr=max_lr,
            steps=steps,
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            anneal=anneal,
            cycle_momentum=cycle_momentum,
            momentum=momentum,
            patience=patience,
            monitor=monitor,
            mode=mode,
            min_delta=min_delta,
            anneal_epochs=anneal_epochs,
            verbose=verbose,
        )
        # Validates monitor, mode and min_delta now, whether or not the policy is on.
        self._monitor = MetricMonitor(monitor=monitor, mode=mode, min_delta=min_delta)
        self.patience = patience
        self.schedule = None
        self.start_step = None
        self.attribute = None
        self.jumped_epoch = None
        self.stopped_epoch = None
        self._cycle = None  # absolute-step parameters of the current cycle
        self._optimizer = None
        self._reset_policy()

    def _reset_policy(self):
        self.best = self._monitor.worst_value
        self.wait = 0
        self.jumped_epoch = None
        self.stopped_epoch = None
        self._cycle_epochs = 0

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

    def _plan_cycle(self, start: int) -> dict:
        from keras_nnperf.schedules import OneCycle as OneCycleSchedule

        config = self._config
        total = self._resolve_steps()
        max_lr = self._resolve_max_lr()
        self.schedule = OneCycleSchedule(
            max_lr,
            total,
            pct_start=config["pct_start"],
            div_factor=config["div_factor"],
            final_div_factor=config["final_div_factor"],
            anneal=config["anneal"],
        )
        peak = start + peak_step(total, config["pct_start"])
        initial = max_lr / config["div_factor"]
        high, low = config["momentum"]
        if config["verbose"]:
            print(f"OneCycle: cycle of {total} steps from step {start}, peak {max_lr:.3g}.")
        return {
            "cycle_on": 1.0,
            "cycle_start": start,
            "cycle_peak": peak,
            "cycle_fall_start": peak,
            "cycle_end": start + total - 1,
            "cycle_initial": initial,
            "cycle_max": max_lr,
            "cycle_fall_from": max_lr,
            "cycle_floor": initial / config["final_div_factor"],
            "cycle_cosine": 1.0 if config["anneal"] == "cos" else 0.0,
            "momentum_max": high,
            "momentum_base": low,
            "momentum_fall_from": low,
        }

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
        # SGD creates its momentum slots at build time only when momentum != 0, and tests
        # `momentum != 0` in Python (on TensorFlow, inside the traced step when it builds
        # there): an SGD without momentum, or a cycle through 0, cannot be cycled.
        momentum = getattr(optimizer, "momentum", None)
        plain = isinstance(momentum, (int, float)) and momentum == 0
        if attribute == "momentum" and (
            plain
            or (optimizer.built and not optimizer.momentums)
            or min(self._config["momentum"]) == 0
        ):
            raise ValueError(
                "OneCycle cannot cycle the momentum of an SGD with momentum=0, or through 0. "
                "Use SGD(momentum=0.9) and momenta > 0, or pass cycle_momentum=False. "
                "Received: cycle_momentum=True"
            )
        return attribute

    def on_train_begin(self, logs=None):
        optimizer = unscaled_optimizer(self.model.optimizer)
        self.attribute = self._check_momentum(optimizer)
        start = int(ops.convert_to_numpy(optimizer.iterations))
        continuing = (
            self._cycle is not None
            and self._optimizer is optimizer
            and start <= self._cycle["cycle_end"]
        )
        if not continuing:
            self._cycle = self._plan_cycle(start)
            self.start_step = start
            self._reset_policy()
        # Claimed once every argument is resolved: an error above leaves the optimizer untouched.
        composition = slots.claim(self.model, "cycle", self, variant=self._config["anneal"])
        self._optimizer = optimizer
        self._fit_start = start
        self._fit_epochs = 0
        if self.attribute is None:
            lr_parameters = {k: v for k, v in self._cycle.items() if not k.startswith("momentum")}
            composition.assign(**lr_parameters)
        else:
            # One assignment for the rate's and the momentum's parameters: each is a transfer
            # and a host evaluation of the warm-up's target (~0.2 ms of a 50 ms second fit).
            slots.claim(self.model, "momentum", self)
            composition.schedule_momentum(**self._cycle)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            log_hyperparameters(self.model.optimizer, logs, self.attribute)
        self._fit_epochs += 1
        self._cycle_epochs += 1
        if self.patience is None or self.stopped_epoch is not None:
            return
        step = int(ops.convert_to_numpy(unscaled_optimizer(self.model.optimizer).iterations))
        # `step` updates are done: the last one used the rate of step `step - 1`.
        if step - 1 >= self._cycle["cycle_end"]:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            if self._config["verbose"]:
                print(f"\nEpoch {epoch + 1}: OneCycle reached its floor; stopping training.")
            return
        current = self._monitor.get_monitor_value(logs)
        if current is None:
            return
        if self._monitor.is_improvement(current, self.best):
            self.best, self.wait = current, 0
            return
        self.wait += 1
        if self.wait >= self.patience and self.jumped_epoch is None:
            self._jump(epoch, step)

    def _anneal_steps(self, step: int) -> int:
        anneal_epochs = self._config["anneal_epochs"]
        if anneal_epochs is None:
            # Half the cycle so far (at least 3) was a wash in `nnperf fit` on 38 real-table
            # splits (5 wins, 5 losses; benchmarks/recipe_ablation.py): a quarter is as good
            # and shorter.
            anneal_epochs = max(2, round(0.25 * self._cycle_epochs))
        per_epoch = (step - self._fit_start) / max(self._fit_epochs, 1)
        return max(2, round(anneal_epochs * per_epoch))

    def _jump(self, epoch: int, step: int) -> None:
        """Start annealing now, from the current rate and momentum, if that ends sooner."""
        end = step + self._anneal_steps(step) - 1
        if end >= self._cycle["cycle_end"]:
            return
        now = np.asarray(step, "float32")
        rate = float(cycle_learning_rate(now, self._cycle, NUMPY_OPS))
        momentum = float(cycle_momentum(now, {**self._cycle, "momentum_user": 0.0}, NUMPY_OPS))
        jump = {
            "cycle_fall_start": step,
            "cycle_end": end,
            "cycle_fall_from": rate,
            "momentum_fall_from": momentum,
        }
        self._cycle.update(jump)
        composition = slots.installed(self.model.optimizer)
        composition.assign(**jump)
        self.jumped_epoch = epoch
        if self._config["verbose"]:
            print(
                f"\nEpoch {epoch + 1}: OneCycle: no improvement of {self._monitor.monitor} for "
                f"{self.wait} epochs; annealing from {rate:.3g} over {end - step + 1} steps."
            )

    def on_train_end(self, logs=None):
        slots.release(self.model, self)
