"""Discriminative learning rates: one rate multiplier per layer group, in-graph (a 0 freezes).

Lower layers of a pretrained network hold general features and should move slower than the
new head (Howard & Ruder, 2018). Each group `i` of layers gets the rate `m_i * lr(t)`, where
`lr(t)` is whatever the optimizer applies at step `t` (a float, any schedule, our WarmUp,
OneCycle or PerformanceScheduler composition: `optimizer.learning_rate` read in the step). The
multipliers are optimizer-owned variables, so changing one costs no retrace. Layers in no group
(the head) train at `lr(t)`.

**How.** Scaling the *gradient* does not scale the step of Adam, RMSprop or any optimizer that
normalizes by gradient statistics, so the rate itself must change per variable. Keras's
optimizers read the rate once per step and hand it to `update_step(gradient, variable,
learning_rate)`, their public per-variable update. A gradient hook
(`keras_nnperf.optimizers.add_gradient_hook`, in the compiled step, on every backend) calls
`update_step` for each grouped variable with `m_i * lr(t)`, after the optimizer's own
weight decay (scaled likewise, as a per-group rate does in PyTorch) and per-variable clipping,
followed by the variable's constraint, then hands Keras `None` for those gradients, so Keras's
`apply` skips them and updates the rest (and the step counter) as usual. The result is the
update of an optimizer whose rate for that group is `m_i * lr(t)`, slots (momenta) included;
`tests/transfer/test_discriminative.py` checks it against a NumPy Adam and AdamW with one rate
per group (constant and decaying), eagerly, compiled, under XLA and with `steps_per_execution`.

We chose this over a wrapper optimizer, which would replace `model.optimizer`, change what the
user's code and saved model see, and would need the same per-variable `update_step` calls
inside anyway; and over rebuilding the optimizer when the groups change, which loses its
state. A group whose multiplier is exactly 0 is **frozen**: its gradients are dropped before
the optimizer sees them, so its weights, its momenta and its weight decay do not move at all
(a zero rate is not enough: SGD's velocity would still move the weights). Which groups are
frozen is part of the traced step, so freezing or unfreezing retraces once (through
`refresh_train_function`, with optimizer state kept); every other multiplier change is free.

Keras warns "Gradients do not exist for variables ..." whenever gradients are `None`; while a
grouping is installed that warning is filtered out (it is expected here), and only then.

Limits: `global_clipnorm` and `gradient_accumulation_steps` are refused (the norm and the
accumulators span variables Keras no longer sees); BatchNormalization layers in a frozen group
still update their moving statistics if they run in training mode: build the model with
`keras_nnperf.transfer.reuse`, which runs the reused BatchNormalization layers in inference mode.

Reference:
    Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text Classification"
    (discriminative fine-tuning, `lr^{l-1} = lr^l / 2.6`).
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Sequence

import keras
from keras import ops

from keras_nnperf.callbacks.copy_by_config import CopyByConfig
from keras_nnperf.optimizers.fit_guard import guard_fit, unguard_fit
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)
from keras_nnperf.optimizers.training_state import release_state, state_variable
from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_number

HOOK = "transfer/layer_rates"
PREFIX = "transfer/multiplier_"
_MISSING_GRADIENTS = r"Gradients do not exist for variables"

# optimizer -> the LayerRates installed on it; at most one grouping per optimizer.
_INSTALLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_groups(groups) -> list[list[str]]:
    """`groups` as a list (bottom to top) of lists of layer names; each entry a name or a list."""
    if isinstance(groups, str) or not isinstance(groups, Sequence) or len(groups) == 0:
        raise ValueError(
            "Argument groups must be a non-empty list of layer groups, bottom to top, each a "
            f"layer name or a list of layer names. Received: groups={groups!r}"
        )
    result = []
    for group in groups:
        names = [group] if isinstance(group, str) else group
        if (
            not isinstance(names, Sequence)
            or len(names) == 0
            or not all(isinstance(n, str) and n for n in names)
        ):
            raise ValueError(
                "Argument groups must hold layer names or non-empty lists of layer names. "
                f"Received: groups={groups!r}"
            )
        result.append(list(names))
    flat = [n for names in result for n in names]
    if len(set(flat)) != len(flat):
        raise ValueError(f"Each layer may be in one group only. Received: groups={groups!r}")
    return result


def check_multipliers(multipliers, count: int, name: str = "multipliers") -> list[float]:
    """A list of `count` finite numbers >= 0."""
    if isinstance(multipliers, str) or not isinstance(multipliers, Sequence):
        raise ValueError(
            f"Argument {name} must be a list of {count} numbers >= 0, one per group. "
            f"Received: {name}={multipliers!r}"
        )
    if len(multipliers) != count:
        raise ValueError(
            f"Argument {name} must have one number per group ({count}). "
            f"Received: {name}={multipliers!r}"
        )
    return [check_number(name, m, low=0.0) for m in multipliers]


def ulmfit_multipliers(count: int, factor: float = 2.6) -> list[float]:
    """`factor ** -(count - i)` for group `i` (bottom first): each group `factor` x slower."""
    return [factor ** -(count - i) for i in range(count)]


def even_multipliers(count: int, lowest: float) -> list[float]:
    """Rates like fastai's `slice(lr * lowest, lr)`: geometric, from `lowest` up to the head's 1.

    The head (outside the groups) is the last of `count + 1` evenly spaced points in log space.
    """
    return [lowest ** (1.0 - i / count) for i in range(count)]


def layer_groups(model, names, count: int) -> list[list[str]]:
    """Split the layers `names` of `model` that have trainable weights into `count` groups.

    Contiguous, bottom to top, sizes as equal as they can be (lower groups get the remainder);
    layers without weights (pooling, flatten) are left out. Fewer groups come back when there
    are fewer such layers than `count`.

    Example:
    ```python
    layer_groups(model, ["conv1", "pool", "conv2", "dense"], 2)  # [["conv1", "conv2"], ["dense"]]
    ```
    """
    count = check_integer("count", count, low=1)
    weighted = []
    for name in names:
        layer = find_layer(model, name)
        if layer is None:
            raise ValueError(f"Layer {name!r} is not in the model. Received: names={names!r}")
        if layer.trainable_weights:
            weighted.append(name)
    if not weighted:
        raise ValueError(f"None of the layers has trainable weights. Received: names={names!r}")
    count = min(count, len(weighted))
    size, extra = divmod(len(weighted), count)
    groups, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        groups.append(weighted[start:end])
        start = end
    return groups


def find_layer(model, name: str):
    """The layer called `name` in `model` or in a model nested in it (public `.layers` only)."""
    for layer in model.layers:
        if layer.name == name:
            return layer
        if hasattr(layer, "layers"):
            found = find_layer(layer, name)
            if found is not None:
                return found
    return None


def _clip(optimizer, gradient):
    """Keras's own per-variable clipping (`clipnorm`, `clipvalue`) of one gradient.

    `_clip_gradients` is private, used here only; `test_discriminative.py` fails if Keras moves
    it. (`global_clipnorm` is refused up front: it spans all variables.)
    """
    return optimizer._clip_gradients([gradient])[0]


def _uses_weight_decay(optimizer, variable) -> bool:
    """Whether Keras decays `variable` (honours `exclude_from_weight_decay`).

    `_use_weight_decay` is private, used here only; `test_discriminative.py` fails if Keras
    moves it.
    """
    return optimizer._use_weight_decay(variable)


class LayerRates:
    """One installed grouping on a model's optimizer: the hook, the multipliers, the frozen set.

    Used by `DiscriminativeLearningRates`, `GradualUnfreezing` and `layer_rates`. Install,
    uninstall and `set_multipliers` between epochs or between fits (`on_epoch_begin` at the
    latest): JAX's trainer writes its state back to the variables only at epoch ends, and reads
    them again at the first step of an epoch.
    """

    def __init__(self, model, groups, multipliers):
        self.model = model
        self.groups = check_groups(groups)
        self.values = check_multipliers(multipliers, len(self.groups))
        self.optimizer = None
        self.variables = []
        self.frozen = ()
        self._index = {}

    def install(self) -> None:
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None or not getattr(model, "compiled", False):
            raise ValueError(
                f"Layer groups need a compiled model with an optimizer. Received: model={model!r}"
            )
        target = unscaled_optimizer(optimizer)
        if getattr(target, "global_clipnorm", None) or getattr(
            target, "gradient_accumulation_steps", None
        ):
            raise ValueError(
                "Layer groups cannot be combined with global_clipnorm or "
                "gradient_accumulation_steps (both span variables the groups update apart); use "
                "clipnorm, clipvalue or keras_nnperf.optimizers.AdaptiveGradientClipping. "
                f"Received: global_clipnorm={target.global_clipnorm!r}, "
                f"gradient_accumulation_steps={target.gradient_accumulation_steps!r}"
            )
        if target in _INSTALLED:
            raise ValueError(
                "Layer groups are already installed on this optimizer (two of "
                "DiscriminativeLearningRates, GradualUnfreezing, fine_tune or layer_rates at "
                f"once). Use one. Received: model={model!r}"
            )
        self._index = self._resolve()
        if not optimizer.built:
            # Over every layer, once (as Keras's trainer would at the first fit): frozen groups
            # stay trainable so their slots exist when they are unfrozen. The model's optimizer
            # is built, not `target`: a LossScaleOptimizer builds its inner one itself.
            optimizer.build(model.trainable_variables)
        self.optimizer = target
        self.variables = [
            state_variable(target, f"{PREFIX}{i}", value) for i, value in enumerate(self.values)
        ]
        for variable, value in zip(self.variables, self.values, strict=True):
            variable.assign(value)
        _INSTALLED[target] = self
        warnings.filterwarnings("ignore", message=_MISSING_GRADIENTS)
        self._install_hook()

    def _resolve(self) -> dict:
        """Map `id(variable)` -> group index for the trainable variables of every group."""
        trainable = {id(v) for v in self.model.trainable_variables}
        index = {}
        for i, names in enumerate(self.groups):
            found = 0
            for name in names:
                layer = find_layer(self.model, name)
                if layer is None:
                    raise ValueError(
                        f"Layer {name!r} of group {i} is not in the model. Layers: "
                        f"{[layer.name for layer in self.model.layers]}. "
                        f"Received: groups={self.groups!r}"
                    )
                for variable in layer.trainable_weights:
                    if id(variable) in trainable:
                        index[id(variable)] = i
                        found += 1
            if not found:
                raise ValueError(
                    f"Group {i} ({names}) has no trainable weights. Layer groups freeze and "
                    "slow layers themselves: leave their `trainable` True. "
                    f"Received: groups={self.groups!r}"
                )
        if len(index) == len(trainable):
            raise ValueError(
                "Some trainable layers (the head) must stay outside the groups: they train at "
                f"the optimizer's own rate. Received: groups={self.groups!r}"
            )
        return index

    def _install_hook(self) -> None:
        self.frozen = tuple(i for i, value in enumerate(self.values) if value == 0.0)
        # Ids, not variables: hook keys compare with `==`, which Keras variables do elementwise.
        variables = tuple(id(v) for v in self.variables)
        key = (HOOK, tuple(sorted(self._index.items())), self.frozen, variables)
        add_gradient_hook(self.optimizer, HOOK, self._hook(), key=key)
        refresh_train_function(self.model)

    def _hook(self):
        optimizer, index, frozen = self.optimizer, dict(self._index), set(self.frozen)
        multipliers = list(self.variables)

        def hook(grads, variables):
            grads = list(grads)
            # Read once per step, as Keras's own `apply` does, after every schedule callback.
            rate = optimizer.learning_rate
            scale = optimizer.loss_scale_factor
            for position, (gradient, variable) in enumerate(zip(grads, variables, strict=True)):
                group = index.get(id(variable))
                if group is None or gradient is None:
                    continue
                if getattr(variable, "overwrite_with_gradient", False):
                    continue  # float8 scales: Keras assigns the gradient itself
                grads[position] = None
                if group in frozen:
                    continue
                if scale is not None:
                    gradient = gradient / scale
                gradient = _clip(optimizer, gradient)
                group_rate = ops.cast(rate, variable.dtype) * ops.cast(
                    multipliers[group], variable.dtype
                )
                if optimizer.weight_decay is not None and _uses_weight_decay(optimizer, variable):
                    decay = ops.cast(optimizer.weight_decay, variable.dtype)
                    variable.assign(variable - variable * decay * group_rate)
                optimizer.update_step(gradient, variable, group_rate)
                if variable.constraint is not None:
                    variable.assign(variable.constraint(variable))
            return grads

        return hook

    def set_multipliers(self, multipliers) -> None:
        """Assign new multipliers; freezing or unfreezing a group retraces the step once."""
        values = check_multipliers(multipliers, len(self.groups))
        frozen_before = self.frozen
        self.values = values
        for variable, value in zip(self.variables, values, strict=True):
            variable.assign(value)
        if tuple(i for i, v in enumerate(values) if v == 0.0) != frozen_before:
            self._install_hook()

    def uninstall(self) -> None:
        """Take everything off the optimizer (idempotent)."""
        optimizer = self.optimizer
        if optimizer is None:
            return
        self.optimizer = None
        remove_gradient_hook(optimizer, HOOK)
        release_state(optimizer, PREFIX)
        _INSTALLED.pop(optimizer, None)
        _remove_filter()
        refresh_train_function(self.model)


def _remove_filter() -> None:
    """Drop the one filter `install` added (an `ignore` filter caches nothing in the registry)."""
    for entry in list(warnings.filters):
        pattern = getattr(entry[1], "pattern", None)
        if entry[0] == "ignore" and pattern == _MISSING_GRADIENTS:
            warnings.filters.remove(entry)
            return


@contextlib.contextmanager
def layer_rates(model, groups, multipliers):
    """Within the block, `model`'s layer `groups` train at `multipliers` x the optimizer's rate.

    For code that runs `fit` (or `lr_find`) several times under one grouping; inside one `fit`,
    use `DiscriminativeLearningRates`. Everything is taken off the optimizer on exit, whatever
    the exit.

    Example:
    ```python
    with layer_rates(model, [["conv1"], ["conv2"]], [0.0, 0.0]):  # head only
        result = lr_find(model, x, y)
        model.fit(x, y, epochs=2)
    ```
    """
    rates = LayerRates(model, groups, multipliers)
    rates.install()
    try:
        yield rates
    finally:
        rates.uninstall()


@register("callback")
class DiscriminativeLearningRates(CopyByConfig, keras.callbacks.Callback):
    """Train each layer group at its own multiple of the optimizer's learning rate.

    Group `i` (bottom to top) is updated with rate `m_i * lr(t)`, where `lr(t)` is the rate the
    optimizer applies at step `t` (any float, schedule or LR callback), so the groups follow
    every schedule together. With `multipliers=None`, `m_i = factor ** -(G - i)` for `G` groups
    (ULMFiT: each group `factor` times slower than the one above, the head at 1). A multiplier of
    0 freezes the group exactly (weights and optimizer slots untouched). The update of group `i`
    is the optimizer's own `update_step` with the scaled rate, in the compiled step; see the
    module docstring for how, and what it refuses.

    `learning_rate_multipliers` (the list) is written into `logs` at every epoch end.

    Args:
        groups: Layer groups, bottom to top; each a layer name or a list of layer names.
            Layers in no group (the head) train at the optimizer's rate.
        multipliers: One number >= 0 per group, or `None` for the ULMFiT ladder.
        factor: Ratio between neighbouring groups when `multipliers=None`, >= 1.

    Raises:
        ValueError: for bad arguments; in `fit`, for a layer not in the model, a group without
            trainable weights, no layer left outside the groups, or an optimizer with
            `global_clipnorm` or gradient accumulation.

    Example:
    ```python
    model.fit(x, y, epochs=5, callbacks=[
        DiscriminativeLearningRates([["conv1"], ["conv2"], ["dense"]]),
        OneCycle(max_lr=1e-2),
    ])
    ```

    Reference:
        Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text Classification".
    """

    def __init__(self, groups, multipliers=None, factor: float = 2.6):
        super().__init__()
        groups = check_groups(groups)
        factor = check_number("factor", factor, low=1.0)
        if multipliers is not None:
            multipliers = check_multipliers(multipliers, len(groups))
        self._config = dict(groups=groups, multipliers=multipliers, factor=factor)
        self.groups = groups
        self.multipliers = (
            multipliers if multipliers is not None else ulmfit_multipliers(len(groups), factor)
        )
        self.rates = None

    def _start(self, multipliers) -> None:
        self.rates = LayerRates(self.model, self.groups, multipliers)
        self.rates.install()
        guard_fit(self.model, HOOK, self._stop)

    def _stop(self) -> None:
        if self.rates is not None:
            self.rates.uninstall()
            self.rates = None

    def on_train_begin(self, logs=None):
        self._start(self.multipliers)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.rates is not None:
            logs["learning_rate_multipliers"] = list(self.rates.values)

    def on_train_end(self, logs=None):
        self._stop()
        unguard_fit(self.model, HOOK)
