"""One composed learning rate per optimizer; WarmUp, OneCycle and PerformanceScheduler fill slots.

The first of these callbacks to start training installs a `ComposedLearningRate` on the optimizer
(through the public `optimizer.learning_rate = schedule`), holding what the optimizer held before
(the user's float or schedule) and the parameters of its formula in optimizer-owned variables:
one vector holding them all (`PackedParameters`: one read per step), and a scalar for the one
the step itself writes (the gradient warm-up's progress). Each callback then *claims a slot* and
assigns its parameters:

* `"cycle"`: OneCycle (and, with `"momentum"`, the optimizer's `momentum` / `beta_1`);
* `"warmup"`: WarmUp (linear, exponential or gradient-adaptive);
* `"multiplier"`: PerformanceScheduler (a multiplier with a floor).

The applied rate is `lr(t) = max(m * W(S(t)), min(W(S(t)), min_lr))` whatever the order of the
callbacks list (see `keras_nnperf.schedules.composed`). Two callbacks claiming one slot raise a
`ValueError` naming both. A new cycle, a jump to the annealing phase, a reduction or a second
`fit` only assign variables; the train function is rebuilt only when the installed structure
changes (install, momentum scheduling, a gradient hook, removal, the set of claimed slots: the
step builds only the claimed slots' parts of the formula, see `Composition.update_parts`).

When the last claim is released (`on_train_end`), or when `fit` ends by an exception (through
`keras_nnperf.optimizers.fit_guard`), everything goes: the optimizer holds the user's own
learning rate and momentum again, our variables leave `optimizer.variables`, our hooks leave the
optimizer, so a model saved afterwards loads anywhere and a plain `fit` behaves as if we had never
been there.
"""

from __future__ import annotations

import importlib.util
import weakref

import keras
from keras import ops

from keras_nnperf.callbacks.hyperparameters import (
    ScheduledHyperparameter,
    held_learning_rate,
    momentum_attribute,
    restore_learning_rate,
    set_untracked_attribute,
    variable_index,
)
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)
from keras_nnperf.optimizers.training_state import release_state, state_variable
from keras_nnperf.schedules.composed import (
    ALL_PARTS,
    MOMENTUM_PARAMETERS,
    PARAMETERS,
    ComposedLearningRate,
    PackedParameters,
)

Schedule = keras.optimizers.schedules.LearningRateSchedule

PREFIX = "learning_rate/"
GUARD_KEY = "keras_nnperf.learning_rate"
# Written inside the train step (by the gradient warm-up's hook), so a scalar variable of its own.
IN_STEP_PARAMETERS = ("warmup_progress",)
# `warmup_target` follows from the others: the schedule computes it on the host (see
# `ComposedLearningRate.packed`), so the step does not evaluate the cycle twice.
DERIVED_PARAMETERS = {"warmup_target": 0.0}
PACKED_PARAMETERS = tuple(
    name
    for name in {**PARAMETERS, **MOMENTUM_PARAMETERS, **DERIVED_PARAMETERS}
    if name not in IN_STEP_PARAMETERS
)
SLOTS = {
    "cycle": "the learning-rate cycle",
    "warmup": "the warm-up",
    "multiplier": "the plateau multiplier",
    "momentum": "the scheduled momentum",
}

# inner optimizer -> Composition; outside the optimizer so nothing of ours is tracked or saved.
_COMPOSITIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# inner optimizer -> the last ComposedLearningRate installed on it, reused by the next `fit`.
_SCHEDULES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fit_guard():
    # `fit_guard` is shared infrastructure that may not be installed in every checkout yet.
    if importlib.util.find_spec("keras_nnperf.optimizers.fit_guard") is None:
        return None
    from keras_nnperf.optimizers import fit_guard

    return fit_guard


class Composition:
    """What is installed on one optimizer: the composed schedule, its variables, the claims."""

    def __init__(self, model, optimizer):
        held = held_learning_rate(optimizer)
        if callable(held) and not isinstance(held, (Schedule, keras.Variable)):
            raise ValueError(
                "The learning-rate callbacks compose on a float or a `LearningRateSchedule`; "
                f"the optimizer holds a plain callable. Received: learning_rate={held!r}"
            )
        self.model = model
        self.optimizer = optimizer
        self.held = held
        self.held_index = (
            variable_index(optimizer, held) if isinstance(held, keras.Variable) else None
        )
        self.claims: dict[str, object] = {}
        self.variants: dict[str, str | None] = {}
        self.hooks: list[str] = []
        self.momentum = None  # (attribute, the user's value) while it is scheduled
        base = held if isinstance(held, Schedule) else float(ops.convert_to_numpy(held))
        defaults = {**PARAMETERS, **MOMENTUM_PARAMETERS, **DERIVED_PARAMETERS}
        if not callable(base):
            defaults["base"] = base
        values = [defaults[name] for name in PACKED_PARAMETERS]
        vector = self.variable("parameters", values, shape=(len(values),))
        self.packed = PackedParameters(vector, PACKED_PARAMETERS, values)
        self.parameters = {n: self.variable(n, PARAMETERS[n]) for n in IN_STEP_PARAMETERS}
        self.schedule = _reusable_schedule(optimizer, base, self.parameters, self.packed)
        self.schedule.parts = {}  # nothing claimed yet: the user's rate alone
        optimizer.learning_rate = self.schedule
        if _runs_eagerly():
            schedule = self.schedule
            self.add_hook(
                "eager_rate",
                lambda grads, variables: schedule.hold(optimizer.iterations),
                key=("eager_rate", id(schedule)),
                after=schedule.release,
            )

    def update_parts(self) -> None:
        """Build the formula's parts of the claimed slots only; retrace if they changed.

        A slot nobody claims keeps the parameters that switch it off, so its part changes no
        value: left out, it costs no operation in the step (see `schedules.composed.ALL_PARTS`;
        with the momentum sharing the cycle's weights, WarmUp + OneCycle went from 146 to 84
        TensorFlow operations per trace of a small MLP's step). The parts change when a
        callback claims or releases, between steps, and the same callbacks in the next `fit`
        give the same parts (no retrace).
        """
        parts = {slot: self.variants.get(slot) for slot in self.claims if slot in ALL_PARTS}
        if dict(self.schedule.parts) != parts:
            self.schedule.parts = parts
            refresh_train_function(self.model)

    def variable(self, name: str, initial=0.0, shape=()):
        """The optimizer-owned variable `name` of this composition, created on first use."""
        return state_variable(self.optimizer, PREFIX + name, initial, shape=shape)

    def assign(self, **values) -> None:
        """Assign parameters of the formula (between steps: no retrace; one transfer)."""
        packed = {name: float(v) for name, v in values.items() if name in self.packed.index}
        for name in values.keys() - packed.keys():
            self.parameters[name].assign(float(values[name]))
        if packed:
            self.packed.assign(**packed)

    def read(self, name: str) -> float:
        """The current value of a parameter (from the host copy, or one read)."""
        if name in self.packed.index:
            return self.packed.read(name)
        return float(ops.convert_to_numpy(self.parameters[name]))

    def add_hook(self, name: str, hook, key, after=None) -> None:
        """Run `hook(grads, variables)` in the train step until the composition is removed.

        `key` names everything the traced hook depends on (its variables by identity, Python
        constants): the same key in the next `fit` reuses the traced step. `after()` runs when
        each `apply` returns (see `add_gradient_hook`).
        """
        add_gradient_hook(self.optimizer, PREFIX + name, hook, key=key, after=after)
        if name not in self.hooks:
            self.hooks.append(name)
            refresh_train_function(self.model)

    def remove_hook(self, name: str) -> None:
        """Remove a hook added with `add_hook`."""
        if name in self.hooks:
            self.hooks.remove(name)
            remove_gradient_hook(self.optimizer, PREFIX + name)
            refresh_train_function(self.model)

    def schedule_momentum(self, **values) -> str:
        """Make the optimizer's momentum follow the cycle (`cycle_momentum`), in-graph.

        Returns:
            The attribute now scheduled (`"momentum"` or `"beta_1"`).
        """
        attribute = momentum_attribute(self.optimizer)
        if self.momentum is None:
            held = getattr(self.optimizer, attribute)
            original = held.original if isinstance(held, ScheduledHyperparameter) else float(held)
            values["momentum_user"] = original
            current = self.variable("momentum", original)
            momenta = [values.get(n, MOMENTUM_PARAMETERS[n]) for n in MOMENTUM_PARAMETERS]
            scheduled = ScheduledHyperparameter(current, original, min(momenta), max(momenta))
            schedule, optimizer = self.schedule, self.optimizer

            def update(grads, variables):
                # Runs before the optimizer's update reads the momentum, at the same `iterations`.
                schedule.assign_momentum(optimizer.iterations, scheduled)

            self.momentum = (attribute, original)
            set_untracked_attribute(self.optimizer, attribute, scheduled)
            self.add_hook("momentum", update, key=("momentum", id(self.schedule), id(current)))
        self.assign(**values)
        return attribute

    def close(self) -> None:
        """Give the optimizer back to the user, exactly as it was before the first claim."""
        optimizer = self.optimizer
        for name in list(self.hooks):
            remove_gradient_hook(optimizer, PREFIX + name)
        self.hooks.clear()
        if self.momentum is not None:
            attribute, original = self.momentum
            setattr(optimizer, attribute, original)
            self.momentum = None
        restore_learning_rate(optimizer, self.held, self.held_index)
        release_state(optimizer, PREFIX)
        self.claims.clear()
        self.variants.clear()
        refresh_train_function(self.model)


def _runs_eagerly() -> bool:
    """Whether the train step runs eagerly, with nothing traced to share a value within a step.

    PyTorch's Keras trainer runs eagerly unless `jit_compile` (torch.compile); TensorFlow and
    JAX trace the step, where `ComposedLearningRate` shares its evaluation per trace instead.
    """
    return keras.backend.backend() == "torch"


def _reusable_schedule(optimizer, base, parameters, packed) -> ComposedLearningRate:
    """The schedule installed on `optimizer` last time if it reads the same base and variables.

    `training_state` hands back the same variables to the next `fit`; with the same schedule
    object too, a train step traced in the previous `fit` is still valid (no retrace).
    """
    cached = _SCHEDULES.get(optimizer)
    if (
        cached is not None
        and (cached.base is base or (not callable(base) and not callable(cached.base)))
        and cached.parameters.keys() == parameters.keys()
        and all(cached.parameters[name] is parameters[name] for name in parameters)
        and cached.packed is not None
        and cached.packed.variable is packed.variable
        and cached.packed.names == packed.names
    ):
        cached.base = base
        cached.packed = packed  # the same variable, with this fit's host copy
        return cached
    schedule = ComposedLearningRate(base, parameters, packed=packed)
    _SCHEDULES[optimizer] = schedule
    return schedule


def installed(optimizer) -> Composition | None:
    """The composition installed on `optimizer` (or its inner optimizer), if any."""
    return _COMPOSITIONS.get(unscaled_optimizer(optimizer))


def claim(model, slot: str, owner, variant: str | None = None) -> Composition:
    """Install the composition on `model.optimizer` if needed and give `slot` to `owner`.

    `variant`: for `"cycle"`, `"cos"` or `"linear"` (the `cycle_cosine` the owner assigns); for
    `"warmup"`, its kind; `None` to read them at every step. Fixed for the claim: the traced
    formula builds that variant alone.

    Raises:
        ValueError: if another callback holds `slot` (the optimizer is handed back first).
    """
    if slot not in SLOTS:
        raise ValueError(f"Argument slot must be one of {list(SLOTS)}. Received: slot={slot!r}")
    optimizer = unscaled_optimizer(model.optimizer)
    composition = _COMPOSITIONS.get(optimizer)
    if composition is None:
        composition = Composition(model, optimizer)
        _COMPOSITIONS[optimizer] = composition
        guard = _fit_guard()
        if guard is not None:
            guard.guard_fit(model, GUARD_KEY, lambda: close(model))
        refresh_train_function(model)
    holder = composition.claims.get(slot)
    if holder is not None and holder is not owner:
        close(model)
        raise ValueError(
            f"Two callbacks drive {SLOTS[slot]} of one optimizer: {type(holder).__name__} and "
            f"{type(owner).__name__}. Pass only one of them in callbacks. Received: "
            f"callbacks=[..., {type(holder).__name__}, ..., {type(owner).__name__}, ...]"
        )
    composition.claims[slot] = owner
    composition.variants[slot] = variant
    composition.update_parts()
    return composition


def release(model, owner) -> None:
    """Drop every slot `owner` holds; the last release hands the optimizer back."""
    composition = installed(model.optimizer)
    if composition is None:
        return
    for slot in [s for s, holder in composition.claims.items() if holder is owner]:
        del composition.claims[slot]
        composition.variants.pop(slot, None)
    if not composition.claims:
        close(model)
    else:
        composition.update_parts()


def close(model) -> None:
    """Remove the composition from `model.optimizer` now, whoever holds slots (interrupts)."""
    optimizer = unscaled_optimizer(model.optimizer)
    composition = _COMPOSITIONS.pop(optimizer, None)
    if composition is None:
        return
    composition.close()
    guard = _fit_guard()
    if guard is not None:
        guard.unguard_fit(model, GUARD_KEY)


def _schedule_warming_up(schedule, step: int) -> bool:
    """True while a warm-up inside a user's schedule is still ramping at `step` (host check).

    Understands `keras_nnperf.schedules.WarmUp` (`warmup_steps`), anything with
    `is_warming_up()`, `StepOffset`, and schedules holding others in attributes (`Join` segments
    are checked with their own clock).
    """
    if not isinstance(schedule, Schedule):
        return False
    if hasattr(schedule, "is_warming_up"):
        return bool(schedule.is_warming_up())
    offset = getattr(schedule, "offset", None)
    if type(schedule).__name__ == "StepOffset":
        return _schedule_warming_up(schedule.schedule, max(step + offset, 0))
    if type(schedule).__name__ == "WarmUp" and step < int(getattr(schedule, "warmup_steps", 0)):
        return True
    children = [
        child
        for value in vars(schedule).values()
        for child in (value if isinstance(value, (list, tuple)) else [value])
        if isinstance(child, Schedule)
    ]
    boundaries = list(getattr(schedule, "boundaries", []) or [])
    if boundaries and len(children) == len(boundaries) + 1:
        # optax `join` semantics: segment i sees the step relative to its start boundary.
        starts = [0, *boundaries]
        index = sum(step >= boundary for boundary in boundaries)
        return _schedule_warming_up(children[index], step - starts[index])
    return any(_schedule_warming_up(child, step) for child in children)


def warming_up(optimizer) -> bool:
    """True while a warm-up is still ramping: the WarmUp slot, or one in the user's schedule."""
    inner = unscaled_optimizer(optimizer)
    step = int(ops.convert_to_numpy(inner.iterations))
    composition = _COMPOSITIONS.get(inner)
    held = composition.held if composition is not None else held_learning_rate(inner)
    if _schedule_warming_up(held, step):
        return True
    if composition is None or composition.read("warmup_on") < 0.5:
        return False
    length = composition.read("warmup_steps")
    if composition.read("warmup_kind") > 1.5:
        return composition.read("warmup_progress") < length
    return step < composition.read("warmup_start") + length
