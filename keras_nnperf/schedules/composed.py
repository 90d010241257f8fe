"""The learning rate our callbacks drive together: the user's rate, cycle, warm-up, multiplier.

One schedule per optimizer, with one fixed formula, so the rate that training applies does not
depend on the order of the callbacks list:

    S(t)  = cycle(t) if the cycle is on else base(t)          (OneCycle)
    W(t)  = warm-up overlay of S at t                          (WarmUp)
    lr(t) = max(m * W(t), min(W(t), min_lr))                   (PerformanceScheduler)

A schedule builds only the parts of the formula its `parts` name (`ALL_PARTS`: every part); the
callbacks name the slots they claim, so a step with OneCycle alone carries no warm-up.

`base` is what the optimizer held before any callback (a float or a schedule). Every other number
the formula reads is a *parameter*: a float, or a scalar variable that a callback assigns between
steps (the callbacks use optimizer-owned variables, so every backend's compiled step reads their
current value and a new cycle or a jump costs an assignment, not a retrace). With every slot off
(the defaults below) `lr(t) = base(t)` exactly.

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`.

Each function of the formula takes an array namespace `xp`: `keras.ops` (the default, in-graph
at every step) or `NUMPY_OPS`, the same few functions in NumPy float32. The callbacks log the
rate once per epoch through `ComposedLearningRate.host_value`, which evaluates this one formula
on the host: eagerly with `keras.ops` it is about a hundred small backend ops (8 ms of CPU per
call on TensorFlow, 3 on JAX, measured), in NumPy from one read of its variables 0.7 and 0.4 ms.
"""

from __future__ import annotations

import math
import numbers
import types
import weakref

import keras
import numpy as np
from keras import ops

from keras_nnperf import device_arrays
from keras_nnperf.registry import register

Schedule = keras.optimizers.schedules.LearningRateSchedule

# Parameter name -> value that switches its slot off. Steps are absolute `iterations`.
CYCLE_PARAMETERS = {
    "cycle_on": 0.0,
    "cycle_start": 0.0,  # step of the cycle's first update
    "cycle_peak": 1.0,  # step at which the rise reaches `cycle_max`
    "cycle_fall_start": 1.0,  # step at which the fall begins (the peak, or a jump)
    "cycle_end": 2.0,  # step at which the fall reaches `cycle_floor` (held after)
    "cycle_initial": 0.0,
    "cycle_max": 0.0,
    "cycle_fall_from": 0.0,  # the rate where the fall begins (`cycle_max`, or the rate at a jump)
    "cycle_floor": 0.0,
    "cycle_cosine": 1.0,  # 1: half-cosine interpolation, 0: linear
}
WARMUP_PARAMETERS = {
    "warmup_on": 0.0,
    "warmup_start": 0.0,
    "warmup_steps": 1.0,
    "warmup_init": 0.0,  # init = warmup_init + warmup_init_fraction * target
    "warmup_init_fraction": 0.0,
    "warmup_kind": 0.0,  # 0 linear, 1 exponential, 2 gradient-adaptive
    "warmup_progress": 0.0,  # kind 2: stable steps so far
}
SCALE_PARAMETERS = {"multiplier": 1.0, "min_lr": 0.0}
MOMENTUM_PARAMETERS = {
    "momentum_user": 0.9,  # the optimizer's own value, used while the cycle is off
    "momentum_max": 0.95,
    "momentum_base": 0.85,
    "momentum_fall_from": 0.85,
}
PARAMETERS = {
    "base": 0.0,
    **CYCLE_PARAMETERS,
    **WARMUP_PARAMETERS,
    **SCALE_PARAMETERS,
}
WARMUP_KINDS = ("linear", "exponential", "gradient")


def _float32_cast(xp):
    """`x -> xp.cast(x, "float32")`: how every input of the formula enters it."""
    return lambda x: xp.cast(x, "float32")


# The `keras.ops` functions the formula uses, in NumPy float32: evaluating the formula with it
# on host values (`ComposedLearningRate.host_value`) gives what the compiled step computes.
# NumPy >= 2 keeps float32 when a Python float meets a float32 array, as the backends do.
NUMPY_OPS = types.SimpleNamespace(
    cast=lambda value, dtype: np.asarray(value, dtype=dtype),
    clip=np.clip,
    sin=np.sin,
    square=np.square,
    maximum=np.maximum,
    minimum=np.minimum,
    power=np.power,
    where=np.where,
)


def interpolation_weights(step, begin, finish, cosine, xp=ops):
    """The weights `(w, 1 - w)` of the start and end values at `step` (see `interpolate_between`).

    `f = clip((t - begin) / (finish - begin), 0, 1)`; cosine: `w = 0.5 (1 + cos(pi f))`, linear:
    `w = 1 - f`. `cosine` is a flag (a number or tensor, > 0.5 for cosine) read at every
    evaluation, or a Python bool fixed when the formula is built (only that branch is built).
    `xp` is the array namespace: `keras.ops` or `NUMPY_OPS` (every function of this module
    takes it).

    The cosine weights are computed as `w = sin(pi (1 - f) / 2)^2` and
    `1 - w = sin(pi f / 2)^2`, with `1 - f` from `finish - t`: equal in exact arithmetic, but
    `1 + cos(pi f)` cancels near the end of a fall (a one-ulp difference in `cos` between two
    implementations gave 4e-6 relative error at 1% of the peak), while these keep full float32
    precision, so every backend and NumPy agree to a few ulps.
    """
    value = _float32_cast(xp)
    length = xp.maximum(value(finish) - value(begin), 1.0)
    fraction = xp.clip((value(step) - value(begin)) / length, 0.0, 1.0)
    remaining = xp.clip((value(finish) - value(step)) / length, 0.0, 1.0)
    if cosine is False:
        return remaining, fraction
    half_cosine = xp.square(xp.sin(0.5 * math.pi * remaining))
    complement = xp.square(xp.sin(0.5 * math.pi * fraction))
    if cosine is True:
        return half_cosine, complement
    cosine = value(cosine) > 0.5
    return xp.where(cosine, half_cosine, remaining), xp.where(cosine, complement, fraction)


def interpolate_between(step, start, end, begin, finish, cosine, xp=ops):
    """`start` at step `begin` to `end` at step `finish` (held outside), all tensors allowed.

    `start * w + end * (1 - w)` with the weights of `interpolation_weights` (exact at both ends).
    """
    value = _float32_cast(xp)
    weight, complement = interpolation_weights(step, begin, finish, cosine, xp)
    return value(start) * weight + value(end) * complement


def _cycle_weights(step, parameters, xp, cosine=None):
    """`(falling, w, 1 - w)`: the cycle's phase at `step` and its interpolation weights.

    The rise runs `cycle_start -> cycle_peak` and the fall `cycle_fall_start -> cycle_end`; the
    phase is chosen first, so one interpolation serves both (and the rate and the momentum share
    its endpoints' steps): half the operations of interpolating both phases and selecting.
    `cosine`: a Python bool fixed at build time, or `None` to read `cycle_cosine`.
    """
    p = parameters
    value = _float32_cast(xp)
    falling = value(step) >= value(p["cycle_fall_start"])
    begin = xp.where(falling, value(p["cycle_fall_start"]), value(p["cycle_start"]))
    finish = xp.where(falling, value(p["cycle_end"]), value(p["cycle_peak"]))
    cosine = p["cycle_cosine"] if cosine is None else cosine
    weight, complement = interpolation_weights(step, begin, finish, cosine, xp)
    return falling, weight, complement


def cycle_learning_rate(step, parameters, xp=ops, cosine=None, weights=None):
    """The 1cycle rate: rise `initial -> max` until the fall starts, then `fall_from -> floor`.

    `weights`: `_cycle_weights` at `step` if already computed (the momentum shares them).
    """
    p = parameters
    value = _float32_cast(xp)
    falling, weight, complement = weights or _cycle_weights(step, p, xp, cosine)
    start = xp.where(falling, value(p["cycle_fall_from"]), value(p["cycle_initial"]))
    end = xp.where(falling, value(p["cycle_floor"]), value(p["cycle_max"]))
    return start * weight + end * complement


def cycle_momentum(step, parameters, xp=ops, cosine=None, weights=None):
    """The mirrored momentum: `max -> base` while the rate rises, `fall_from -> max` after.

    While the cycle is off it is the optimizer's own value, `momentum_user`.
    """
    p = parameters
    value = _float32_cast(xp)
    falling, weight, complement = weights or _cycle_weights(step, p, xp, cosine)
    start = xp.where(falling, value(p["momentum_fall_from"]), value(p["momentum_max"]))
    end = xp.where(falling, value(p["momentum_max"]), value(p["momentum_base"]))
    cycled = start * weight + end * complement
    return xp.where(value(p["cycle_on"]) > 0.5, cycled, value(p["momentum_user"]))


def warmup_overlay(step, rate, parameters, xp=ops, kind=None, current=None):
    """The warm-up of `rate` (a callable `step -> value`) at `step`.

    With `t0 = warmup_start`, `w = warmup_steps`, `target = rate(t0 + w)` and
    `init = warmup_init + warmup_init_fraction * target`:
    linear `init + (target - init) (t - t0) / w` and exponential
    `init (target / init) ** ((t - t0) / w)` for `t < t0 + w`, then `rate(t)`; gradient-adaptive
    `init + (rate(t) - init) min(progress / w, 1)`. Off: `rate(t)`.

    `kind`: one of `WARMUP_KINDS`, fixed when the formula is built (only its branch is built),
    or `None` to read `warmup_kind` at every evaluation. `current`: `rate(step)` if already
    computed.

    `target` is read from `parameters["warmup_target"]` when the mapping has it (the callbacks
    compute it on the host whenever a parameter changes, see `ComposedLearningRate`): in-graph
    it is a second evaluation of `rate`, a third of the step's operations.
    """
    p = parameters
    value = _float32_cast(xp)
    t = value(step)
    current = value(rate(t)) if current is None else current
    begin, length = value(p["warmup_start"]), xp.maximum(value(p["warmup_steps"]), 1.0)
    if "warmup_target" in p:
        target = value(p["warmup_target"])
    else:
        target = warmup_target(rate, p, xp)
    init = value(p["warmup_init"]) + value(p["warmup_init_fraction"]) * target

    def timed(ramp):
        return xp.where(t < begin + length, ramp, current)

    def linear():
        fraction = xp.clip((t - begin) / length, 0.0, 1.0)
        return init * (1.0 - fraction) + target * fraction

    def exponential():
        fraction = xp.clip((t - begin) / length, 0.0, 1.0)
        # A zero target gives a zero default init; keep that ramp at 0 instead of 0 / 0.
        has_init = init > 0.0
        ratio = xp.where(has_init, target / xp.where(has_init, init, 1.0), 0.0)
        return init * xp.power(ratio, fraction)

    def adaptive():
        progress = xp.minimum(value(p["warmup_progress"]) / length, 1.0)
        return init + (current - init) * progress

    if kind is None:
        code = value(p["warmup_kind"])
        warmed = xp.where(
            code > 1.5, adaptive(), timed(xp.where(code > 0.5, exponential(), linear()))
        )
    elif kind == "gradient":
        warmed = adaptive()
    else:
        warmed = timed(exponential() if kind == "exponential" else linear())
    return xp.where(value(p["warmup_on"]) > 0.5, warmed, current)


def warmup_target(rate, parameters, xp=ops):
    """`rate(warmup_start + max(warmup_steps, 1))`: where the warm-up ends, in float32."""
    value = _float32_cast(xp)
    begin = value(parameters["warmup_start"])
    return value(rate(begin + xp.maximum(value(parameters["warmup_steps"]), 1.0)))


def _user_rate(base, parameters, xp):
    """The user's rate as a callable `t -> float32 value` (`base`, or the parameter `base`)."""
    value = _float32_cast(xp)
    if base is not None:
        return lambda t: value(base(t))
    return lambda t: value(parameters["base"]) + 0.0 * value(t)


def scheduled_rate(base, parameters, xp=ops, cosine=None):
    """`S`: the callable `t -> cycle(t)` while the cycle is on, else the user's rate `base(t)`.

    `base` is a callable `step -> value`, or `None` to read `parameters["base"]`. The callable
    takes the cycle's weights at `t` as an optional second argument (`_cycle_weights`), when
    they are already computed. `cosine`: see `_cycle_weights`.
    """
    p = parameters
    value = _float32_cast(xp)
    user_rate = _user_rate(base, p, xp)

    def scheduled(t, weights=None):
        cycled = cycle_learning_rate(t, p, xp, cosine, weights)
        return xp.where(value(p["cycle_on"]) > 0.5, cycled, user_rate(t))

    return scheduled


# The parts of the formula a schedule builds, by slot, each with its variant fixed when the
# formula is built, or `None` to read it from its parameter at every evaluation:
# "cycle": "cos" or "linear" (else `cycle_cosine`); "warmup": a name of `WARMUP_KINDS` (else
# `warmup_kind`); "multiplier": `None`. A slot left out is off: its parameters keep the values
# that switch it off (see `PARAMETERS`), so leaving its part out changes no value; it only
# saves its operations in every step. These are every part, variants read: the general formula.
ALL_PARTS = types.MappingProxyType({"cycle": None, "warmup": None, "multiplier": None})
CYCLE_VARIANTS = {"cos": True, "linear": False, None: None}


def composed_learning_rate(step, base, parameters, xp=ops, parts=None, cycle_weights=None):
    """`lr(t) = max(m W(S(t)), min(W(S(t)), min_lr))`; see the module docstring.

    Args:
        step: The optimizer's `iterations` (0-based).
        base: The user's rate: a callable `step -> value`, or `None` to read `parameters["base"]`.
        parameters: A mapping with every name of `PARAMETERS` (floats or scalar variables;
            host values with `NUMPY_OPS`).
        xp: The array namespace, `keras.ops` (default) or `NUMPY_OPS`.
        parts: The parts to build (see `ALL_PARTS`); `None` for all.
        cycle_weights: `_cycle_weights` at `step`, if already computed (the momentum's).

    Returns:
        A float32 tensor (a NumPy float32 value with `NUMPY_OPS`).
    """
    p = parameters
    parts = ALL_PARTS if parts is None else parts
    value = _float32_cast(xp)
    t = value(step)
    if "cycle" in parts:
        rate = scheduled_rate(base, p, xp, CYCLE_VARIANTS[parts["cycle"]])
        current = rate(t, cycle_weights)
    else:
        rate = _user_rate(base, p, xp)
        current = rate(t)
    warmed = current
    if "warmup" in parts:
        warmed = warmup_overlay(t, rate, p, xp, parts["warmup"], current)
    if "multiplier" not in parts:
        return warmed
    floor = xp.minimum(warmed, value(p["min_lr"]))
    return xp.maximum(value(p["multiplier"]) * warmed, floor)


def host_scalars(values) -> np.ndarray:
    """The scalars `values` (variables, tensors or numbers) as a float32 NumPy vector.

    The variables and tensors come to the host in one transfer (`_fetch`), not one each.
    Integers (a step count) become float32, as the formula of this module casts them.
    """
    result = np.zeros(len(values), "float32")
    remote = {}  # position -> tensor
    for index, value in enumerate(values):
        if isinstance(value, keras.Variable):
            remote[index] = value.value
        elif isinstance(value, numbers.Number):
            result[index] = value
        else:
            remote[index] = value
    if remote:
        result[list(remote)] = _fetch(list(remote.values()))
    return result


def eager_host_reads(variable) -> bool:
    """Whether an eager step evaluates the formula on the host: PyTorch, `variable` on the CPU.

    Backend-specific, because the cost is. PyTorch runs the step eagerly, and the formula's
    ~35 `keras.ops` calls a step (each converting and checking its inputs) were the whole
    overhead of WarmUp + OneCycle on a small MLP: 1.43x a bare second fit, 0.96x with the
    formula replaced by constants (`benchmarks/overhead.py`'s model, 9 pairs). A CPU tensor
    is host memory, so reading the step and the warm-up's progress costs a copy; on a GPU the
    read would wait for the step (a sync per batch), so there, and on the backends that compile
    the formula into their step, it stays in `keras.ops`.
    """
    if keras.backend.backend() != "torch":
        return False
    tensor = getattr(variable, "value", variable)
    return getattr(getattr(tensor, "device", None), "type", None) == "cpu"


def _host_floats(values) -> np.ndarray:
    """Host scalars (torch CPU tensors, variables or numbers) as float32, one `.item()` each."""
    return np.asarray([float(getattr(value, "value", value)) for value in values], "float32")


def _fetch(tensors) -> np.ndarray:
    """Scalar tensors as one float32 NumPy vector, in one device-to-host transfer.

    Backend-specific only for speed, measured on CPU with 25 scalar variables: on TensorFlow
    one `stack` and one read take a twentieth of 25 reads; on JAX, `jax.device_get` of the list
    batches the copies and dispatches no stacking kernel (a quarter of the time of `stack`).
    """
    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.device_get(tensors), "float32")
    # A cast is one more eager op each: only those not in float32 (a step count) get one.
    float32 = [
        t if keras.backend.standardize_dtype(t.dtype) == "float32" else ops.cast(t, "float32")
        for t in tensors
    ]
    return ops.convert_to_numpy(ops.stack(float32))


class PackedParameters:
    """Scalar parameters of the formula kept in one float32 vector variable, mirrored on the host.

    Why: a traced step reads every scalar variable on its own. With one variable per parameter
    the formula's ~25 parameters were ~44 read operations per step on TensorFlow (each parameter
    read where it is used, each costing the executor about a microsecond) and 25 more arrays in
    and out of every compiled step on JAX. Packed, it is one read and one unstack per step.

    The host copy is the authority: `assign` writes it and then the variable in one transfer,
    so reading a parameter on the host (`read`, `ComposedLearningRate.host_value`) needs no
    device read. Nothing else may assign the variable (ours are left out of saved optimizers,
    so loading a checkpoint does not either).

    Args:
        variable: A float32 variable of shape `(len(names),)`.
        names: The parameter names, in the variable's order.
        values: Their current values (what the variable holds).
    """

    def __init__(self, variable, names, values):
        self.variable = variable
        self.names = tuple(names)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.host = np.array(values, dtype="float32").reshape(len(self.names))
        # `derive(self)`: run on the host copy after every change, before the transfer (the
        # schedule computes parameters that follow from others there, e.g. `warmup_target`).
        self.derive = None

    def assign(self, **values) -> None:
        """Set parameters by name: the host copy, then the variable (one assignment)."""
        for name, value in values.items():
            self.host[self.index[name]] = value
        if self.derive is not None:
            self.derive(self)
        self.variable.assign(device_arrays.to_device(self.host.copy()))

    def read(self, name: str) -> float:
        """A parameter's current value, from the host copy."""
        return float(self.host[self.index[name]])

    def host_values(self) -> dict:
        """Every parameter as a NumPy float32 scalar, by name."""
        return dict(zip(self.names, self.host, strict=True))

    def tensors(self) -> dict:
        """Every parameter as a scalar tensor, by name: one read of the variable, one unstack."""
        values = ops.unstack(self.variable.value, num=len(self.names))
        return dict(zip(self.names, values, strict=True))


# The last traced evaluation of each schedule, `(trace key, value)`: see `__call__`. Kept off the
# instance so that copying or serializing a schedule never meets a symbolic tensor.
_LAST_TRACED = weakref.WeakKeyDictionary()
_TF_ASSIGN_OPS = frozenset({"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"})


def trace_key(step, parameters):
    """What identifies "the same traced evaluation" of the formula, or `None` (evaluate afresh).

    Backend-specific, because "traced" is:
    * TensorFlow: the graph being built (a `tf.function`, or one branch of a `tf.cond` or
      `tf.while_loop`, each its own graph), with its operation count; `same_trace` then also
      requires that no scalar variable was assigned in that graph since (the step counter's
      increment, WarmUp's in-step progress: an unrolled multi-step graph or a hook's write
      starts a new evaluation; non-scalar weights assigned by weight decay do not).
    * JAX: the tracers of the step and of every parameter in the current trace: an assignment
      inside the step gives a variable a new tracer, hence a new key.
    * PyTorch (eager) and eager calls: `None`.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            return None
        graph = tf.compat.v1.get_default_graph()
        return ("tensorflow", graph, step, len(graph.get_operations()))
    if backend == "jax":
        import jax

        def current(value):
            return value.value if isinstance(value, keras.Variable) else value

        values = (current(step), *(current(parameters[name]) for name in sorted(parameters)))
        if not any(isinstance(value, jax.core.Tracer) for value in values):
            return None
        return ("jax", values)
    return None


def settled_trace_key(key):
    """`key` as stored after the evaluation: on TensorFlow, with the graph's new op count."""
    if key[0] == "tensorflow":
        _, graph, step, _ = key
        return ("tensorflow", graph, step, len(graph.get_operations()))
    return key


def same_trace(stored, key) -> bool:
    """Whether the value stored under `stored` is still the formula's value at `key`."""
    if stored[0] != key[0]:
        return False
    if key[0] == "jax":
        return len(stored[1]) == len(key[1]) and all(
            a is b for a, b in zip(stored[1], key[1], strict=True)
        )
    _, graph, step, count = stored
    if graph is not key[1] or step is not key[2]:
        return False
    for op in graph.get_operations()[count:]:
        if op.type in _TF_ASSIGN_OPS:
            rank = op.inputs[1].shape.rank if len(op.inputs) > 1 else None
            if rank is None or rank == 0:
                return False
    return True


@register("schedule")
class ComposedLearningRate(Schedule):
    """The user's learning rate with a 1cycle, a warm-up and a plateau multiplier composed on it.

    `lr(t) = max(m * W(S(t)), min(W(S(t)), min_lr))`, where `S` is the cycle while it is on and
    the user's rate `base` otherwise, and `W` the warm-up overlay (see `warmup_overlay`). The
    callbacks `WarmUp`, `OneCycle` and `PerformanceScheduler` install one of these per optimizer
    (through `optimizer.learning_rate = schedule`) and assign its parameters; with every slot off
    it equals `base` exactly, and it is replaced by `base` again when training ends.

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        base: The user's rate: a float, a `LearningRateSchedule` or a serialized schedule.
        parameters: Optional mapping from the names in `PARAMETERS` to floats or scalar
            variables; names left out take the value that switches their slot off.
        packed: Optional `PackedParameters`: parameters kept in one vector variable (what the
            callbacks install: one read per step instead of one per parameter). Its names take
            precedence over `parameters`. Saved as plain floats.
        parts: Optional mapping: the parts of the formula to build, each with its variant (see
            `ALL_PARTS`); `None` builds them all. The callbacks set it from the slots they
            claim, so a step traced with OneCycle alone carries no warm-up. Not saved (the
            parts left out are off: the general formula gives the same values).

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: for a `base` that is neither a finite number nor a schedule, or an unknown
            parameter name.

    Example:
    ```python
    schedule = ComposedLearningRate(1e-3, {"multiplier": 0.5, "min_lr": 1e-5})
    float(schedule(0))  # 5e-4
    ```

    Reference:
        Smith, 2018, "A disciplined approach to neural network hyper-parameters"; Goyal et al.,
        2017, "Accurate, Large Minibatch SGD".
    """

    def __init__(self, base, parameters=None, packed=None, parts=None):
        if isinstance(base, dict):
            base = keras.optimizers.schedules.deserialize(base)
        parameters = dict(parameters or {})
        unknown = sorted(set(parameters) - set(PARAMETERS))
        if unknown:
            raise ValueError(
                f"Argument parameters has unknown names {unknown}; known: {sorted(PARAMETERS)}. "
                f"Received: parameters={parameters!r}"
            )
        if packed is not None and not isinstance(packed, PackedParameters):
            raise ValueError(
                f"Argument packed must be a PackedParameters or None. Received: packed={packed!r}"
            )
        if isinstance(base, Schedule):
            self.base = base
        elif (
            isinstance(base, numbers.Real)
            and not isinstance(base, bool)
            and math.isfinite(float(base))
        ):
            self.base = float(base)
            parameters.setdefault("base", float(base))
        else:
            raise ValueError(
                "Argument base must be a finite learning rate or a LearningRateSchedule. "
                f"Received: base={base!r}"
            )
        self.packed = packed
        self.parts = parts
        self._held = None  # {"step", and once known "weights", "rate"} while `hold` is on
        packed_names = set(self.packed.names) if self.packed is not None else set()
        self.parameters = {
            name: value
            for name, value in {**PARAMETERS, **parameters}.items()
            if name not in packed_names
        }

    @property
    def packed(self):
        """The `PackedParameters` this schedule reads, or `None`."""
        return self._packed

    @packed.setter
    def packed(self, packed):
        self._packed = packed
        if packed is not None and "warmup_target" in packed.index:
            packed.derive = self._derive_warmup_target

    @property
    def parts(self):
        """The parts of the formula this schedule builds (see `ALL_PARTS`), a read-only mapping."""
        return self._parts

    @parts.setter
    def parts(self, parts):
        if parts is None:
            self._parts = ALL_PARTS
            return
        parts = dict(parts)
        variants = {"cycle": set(CYCLE_VARIANTS), "warmup": {*WARMUP_KINDS, None}}
        for slot, variant in parts.items():
            if slot not in ALL_PARTS or variant not in variants.get(slot, {None}):
                raise ValueError(
                    f"Argument parts maps a slot of {list(ALL_PARTS)} to its variant "
                    f"(cycle: {sorted(map(str, CYCLE_VARIANTS))}, warmup: {list(WARMUP_KINDS)} or "
                    f"None; multiplier: None). Received: parts={parts!r}"
                )
        self._parts = types.MappingProxyType(parts)

    @property
    def trace_structure(self):
        """What the traced formula fixes in Python (its parts): a retrace is due when it changes.

        `optimizers.gradient_hooks` compares it between the step's trace and now.
        """
        return tuple(sorted(self._parts.items()))

    def _derive_warmup_target(self, packed) -> None:
        """Put `S(warmup_start + warmup_steps)` in the packed `warmup_target` (host, NumPy).

        Evaluated in-graph it would be a second copy of the cycle in every step; it changes
        only when a parameter does, which is when this runs.
        """
        names = list(self.parameters)
        values = host_scalars([self.parameters[name] for name in names])
        parameters = {**dict(zip(names, values, strict=True)), **packed.host_values()}
        base = self._host_base()
        rate = scheduled_rate(base, parameters, NUMPY_OPS)
        with np.errstate(all="ignore"):
            packed.host[packed.index["warmup_target"]] = warmup_target(rate, parameters, NUMPY_OPS)

    def _host_base(self):
        """The user's rate as `t -> NumPy value` for the host formula, or `None` for a float base.

        A schedule base is the one part evaluated with Keras (eagerly): its formula is not ours.
        """
        if not isinstance(self.base, Schedule):
            return None
        return lambda t: ops.convert_to_numpy(self.base(t))

    def parameter_values(self) -> dict:
        """Every parameter of the formula: floats, scalar variables, and the packed ones unstacked.

        In a traced step this reads the packed variable once; the momentum hook uses it too.
        """
        if self.packed is None:
            return self.parameters
        return {**self.parameters, **self.packed.tensors()}

    def _sources(self) -> dict:
        """What the formula reads, for `trace_key`: the parameters and the packed variable."""
        if self.packed is None:
            return self.parameters
        return {**self.parameters, "packed parameters": self.packed.variable}

    def hold(self, step) -> None:
        """Until `release`, the first evaluation at `step` serves every later call at `step`.

        For eager backends (PyTorch), where nothing is traced to share: Keras's PyTorch
        optimizers read the rate twice per step (the update and the weight decay), each an
        eager evaluation of about forty small operations. The composition holds the rate over
        one `apply` (a gradient hook, released when `apply` returns), and the momentum hook's
        cycle weights serve the rate too. The first evaluation comes when the optimizer reads
        the rate, after every hook (the gradient warm-up's advances its progress first). Only
        with a float base (a schedule base may keep state).
        """
        if not isinstance(self.base, Schedule):
            self._held = {"step": step, "host": eager_host_reads(step)}

    def release(self) -> None:
        """End `hold`."""
        self._held = None

    def __call__(self, step):
        held = self._held
        if held is not None and held["step"] is step:
            if "rate" not in held and held["host"]:
                t, values = self._host_parameters(step)
                with np.errstate(all="ignore"):  # as in-graph: an overflow is inf
                    held["rate"] = float(
                        composed_learning_rate(
                            t, None, values, NUMPY_OPS, self._parts, held.get("weights")
                        )
                    )
            if "rate" not in held:
                held["rate"] = composed_learning_rate(
                    step,
                    None,
                    self.parameter_values(),
                    parts=self._parts,
                    cycle_weights=held.get("weights"),
                )
            return held["rate"]
        base = self.base if isinstance(self.base, Schedule) else None
        # Keras's weight decay (AdamW, the recipe's optimizer; Lion, Lamb...) reads
        # `optimizer.learning_rate` once per variable, so without this a traced step held one
        # copy of the formula per weight: measured 2x the time per step of a bare AdamW fit on
        # TensorFlow, and 3x its first fit. Within one traced step, while nothing the formula
        # reads has been assigned, every read is the same value: the first one serves the rest.
        # A schedule `base` may keep state of its own, so only a float base is shared.
        key = trace_key(step, self._sources()) if base is None else None
        if key is not None:
            last = _LAST_TRACED.get(self)
            if last is not None and same_trace(last[0], key):
                return last[1]
        value = composed_learning_rate(step, base, self.parameter_values(), parts=self._parts)
        if key is not None:
            _LAST_TRACED[self] = (settled_trace_key(key), value)
        return value

    def assign_momentum(self, step, variable) -> None:
        """Assign `variable` the cycled momentum at `step` (`cycle_momentum`), inside the step.

        The rate of the same step needs the same cycle weights: with a float base it is
        computed here from them and kept as this traced step's evaluation (see `__call__`), so
        the optimizer's read of the rate that follows costs nothing. One evaluation of the
        cycle per step serves both (two before: 50 more TensorFlow operations per step).

        Args:
            step: The optimizer's `iterations`.
            variable: What the optimizer reads its momentum (or `beta_1`) from: a scalar
                variable, or anything with its `assign` (a `ScheduledHyperparameter`).
        """
        cosine = CYCLE_VARIANTS[self._parts.get("cycle")]
        held = self._held
        if held is not None and held["step"] is step and held["host"]:
            t, values = self._host_parameters(step)
            with np.errstate(all="ignore"):
                weights = _cycle_weights(t, values, NUMPY_OPS, cosine)
                variable.assign(float(cycle_momentum(t, values, NUMPY_OPS, weights=weights)))
            if "cycle" in self._parts:
                held["weights"] = weights  # the rate's read reuses them, as below
            return
        parameters = self.parameter_values()
        weights = _cycle_weights(step, parameters, ops, cosine)
        variable.assign(cycle_momentum(step, parameters, weights=weights))
        if held is not None and held["step"] is step and "cycle" in self._parts:
            # Eager: the rate, evaluated at the optimizer's read, reuses them (they read no
            # parameter a hook writes in the step).
            held["weights"] = weights
        if isinstance(self.base, Schedule):
            return
        # The key is taken after the assignment: that assignment does not change the rate.
        key = trace_key(step, self._sources())
        if key is None:
            return
        value = composed_learning_rate(
            step, None, parameters, parts=self._parts, cycle_weights=weights
        )
        _LAST_TRACED[self] = (settled_trace_key(key), value)

    def _host_parameters(self, step, read_scalars=_host_floats) -> tuple:
        """`(step, parameters)` as host float32 values, read now.

        `read_scalars`: `_host_floats` in an eager step on the CPU (`eager_host_reads`), at the
        optimizer's read of the rate, after every hook (the gradient warm-up's progress,
        advanced in the step, is its current value); `host_scalars` (one transfer) elsewhere.
        The packed ones come from their host copy, written only from the host.
        """
        names = list(self.parameters)
        read = read_scalars([step, *(self.parameters[name] for name in names)])
        values = dict(zip(names, read[1:], strict=True))
        if self.packed is not None:
            values.update(self.packed.host_values())
        return read[0], values

    def host_value(self, step) -> float:
        """`self(step)` evaluated on the host in NumPy float32, from one transfer of its variables.

        What the compiled step computes (the same formula, in float32), without the hundred
        small eager backend ops that `self(step)` costs outside the step. The packed parameters
        come from their host copy. A `base` that is a schedule is the one part still evaluated
        with Keras (twice: at `step` and at the end of the warm-up), since its formula is not
        ours to translate.

        Args:
            step: The step (an int, or a variable such as the optimizer's `iterations`, read
                with the parameters).

        Returns:
            A Python float.
        """
        step, parameters = self._host_parameters(step, host_scalars)
        base = self._host_base()
        with np.errstate(all="ignore"):  # as in-graph: an overflow is inf, not a warning
            return float(composed_learning_rate(step, base, parameters, NUMPY_OPS))

    def get_config(self):
        base = (
            keras.optimizers.schedules.serialize(self.base)
            if isinstance(self.base, Schedule)
            else self.base
        )
        # A save during `fit` (ModelCheckpoint) keeps the curve as it is at that moment.
        parameters = {
            name: float(ops.convert_to_numpy(value)) for name, value in self.parameters.items()
        }
        if self.packed is not None:
            values = self.packed.host_values()
            parameters.update({n: float(v) for n, v in values.items() if n in PARAMETERS})
        return {"base": base, "parameters": parameters}
