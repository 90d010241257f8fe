"""Gradual unfreezing (ULMFiT): the top layer groups join training one at a time."""

from __future__ import annotations

from keras_nnperf.registry import register
from keras_nnperf.transfer.discriminative import (
    DiscriminativeLearningRates,
    check_groups,
    check_multipliers,
)
from keras_nnperf.validation import check_integer


@register("callback")
class GradualUnfreezing(DiscriminativeLearningRates):
    """Unfreeze layer groups from the top down, one every `epochs_per_group` epochs.

    With `G` groups (bottom to top) and the head (every layer in no group), at epoch `e` (as
    Keras counts it, so `initial_epoch` resumes the schedule) the top
    `k(e) = min(G, e // epochs_per_group)` groups train, at their `multipliers`, and the others
    are frozen: their weights and optimizer slots do not move at all. Epochs `0 ..
    epochs_per_group - 1` train the head alone. Unfreezing assigns optimizer-owned variables and
    retraces the train step once; the optimizer keeps its state (built once over all layers),
    on every backend, with no recompile. `unfrozen_groups` is written into `logs`.

    Frozen layers are not marked `trainable = False` (that would change the variables the
    optimizer was built with): their gradients are dropped before the optimizer. Keep the
    groups' layers `trainable`, and run reused BatchNormalization layers in inference mode
    (`keras_nnperf.transfer.reuse` does).

    Args:
        groups: Layer groups, bottom to top; each a layer name or a list of layer names.
        epochs_per_group: Epochs between two unfreezings, >= 1.
        multipliers: Learning-rate multiplier of each group once unfrozen (each > 0), or `None`
            for 1 everywhere (pass `ulmfit_multipliers(G)` for ULMFiT's discriminative rates).

    Raises:
        ValueError: for bad arguments; in `fit`, as `DiscriminativeLearningRates`.

    Example:
    ```python
    model = reuse(pretrained, head=5)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=8, callbacks=[GradualUnfreezing(["conv1", "conv2", "dense"], 2)])
    ```

    Reference:
        Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text Classification"
        (gradual unfreezing, section 3.2).
    """

    def __init__(self, groups, epochs_per_group: int = 1, multipliers=None):
        groups = check_groups(groups)
        epochs_per_group = check_integer("epochs_per_group", epochs_per_group, low=1)
        if multipliers is not None:
            multipliers = check_multipliers(multipliers, len(groups))
            if any(m == 0.0 for m in multipliers):
                raise ValueError(
                    "Argument multipliers must be > 0: they are the rates once unfrozen. "
                    f"Received: multipliers={multipliers!r}"
                )
        super().__init__(groups, multipliers or [1.0] * len(groups))
        self._config = dict(
            groups=groups, epochs_per_group=epochs_per_group, multipliers=multipliers
        )
        self.epochs_per_group = epochs_per_group
        self.unfrozen = 0

    def unfrozen_at(self, epoch: int) -> int:
        """How many groups (from the top) train during `epoch`."""
        return min(len(self.groups), epoch // self.epochs_per_group)

    def _multipliers_at(self, epoch: int) -> list[float]:
        count = self.unfrozen_at(epoch)
        first = len(self.groups) - count
        return [m if i >= first else 0.0 for i, m in enumerate(self.multipliers)]

    def on_train_begin(self, logs=None):
        # The first epoch is only known at `on_epoch_begin`; start with everything frozen.
        self.unfrozen = 0
        self._start([0.0] * len(self.groups))

    def on_epoch_begin(self, epoch, logs=None):
        self.unfrozen = self.unfrozen_at(epoch)
        if self.rates is not None:
            self.rates.set_multipliers(self._multipliers_at(epoch))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None:
            logs["unfrozen_groups"] = self.unfrozen
