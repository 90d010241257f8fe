"""Join schedules one after another at given steps (optax's `join_schedules`).

Step convention (the same in every schedule of this package): `step` is the optimizer's
`iterations`, 0-based; the k-th update uses `schedule(k)`. Each joined schedule sees the steps
counted from its own start, so any schedule can be reused as a phase of a longer one.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.schedules._coerce import to_schedule
from keras_nnperf.schedules._validation import check_boundaries


def join_schedules(step, schedules, boundaries):
    """Schedule `i` from step `boundaries[i-1]` on, fed `t - boundaries[i-1]`.

    `lr(t) = schedules[i](t - boundaries[i-1])` for `boundaries[i-1] <= t < boundaries[i]`
    (with `boundaries[-1] = 0`).

    Args:
        step: The optimizer's `iterations` (0-based).
        schedules: Callables `step -> value`, one more than `boundaries`.
        boundaries: Strictly increasing steps at which the next schedule takes over.

    Returns:
        A float32 tensor.
    """
    step = ops.cast(step, "float32")
    value = ops.cast(schedules[0](step), "float32")
    for boundary, schedule in zip(boundaries, schedules[1:], strict=True):
        # Every phase is evaluated (no data-dependent branch in the graph); clamping its local
        # step at 0 keeps the phases that are not active yet finite.
        local_step = ops.maximum(step - boundary, 0.0)
        value = ops.where(step >= boundary, ops.cast(schedule(local_step), "float32"), value)
    return value


@register("schedule")
class Join(keras.optimizers.schedules.LearningRateSchedule):
    """Run schedules one after another, each restarted from its own step 0.

    `lr(t) = schedules[i](t - boundaries[i-1])` for `boundaries[i-1] <= t < boundaries[i]`
    (with `boundaries[-1] = 0`): schedule `i + 1` takes over *at* step `boundaries[i]` and sees
    `t - boundaries[i]` (optax `join_schedules` semantics).

    `step` is the optimizer's `iterations` (0-based: the k-th update uses `schedule(k)`).

    Args:
        schedules: A list of `LearningRateSchedule`s, learning rates (floats, made `Constant`)
            or serialized schedule configs; exactly `len(boundaries) + 1` of them.
        boundaries: Strictly increasing integer steps, each > 0.

    Returns:
        Calling the schedule with a step returns a float32 scalar tensor.

    Raises:
        ValueError: if the lengths do not match (no silent truncation), boundaries are not
            strictly increasing positive integers, or an element is not a schedule.

    Example:
    ```python
    # 500 steps of linear warm-up to 1e-3, then a cosine decay over the next 9500 steps.
    schedule = Join([Linear(0.0, 1e-3, 500), CosineDecay(1e-3, 9500)], boundaries=[500])
    ```

    Reference:
        Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour"
        (warm-up as a phase before the main schedule).
    """

    def __init__(self, schedules, boundaries):
        if isinstance(schedules, (str, bytes, dict)) or not hasattr(schedules, "__iter__"):
            raise ValueError(
                f"Argument schedules must be a list of schedules. Received: schedules={schedules!r}"
            )
        self.boundaries = check_boundaries("boundaries", boundaries)
        self.schedules = [to_schedule("schedules", schedule) for schedule in schedules]
        if len(self.schedules) != len(self.boundaries) + 1:
            raise ValueError(
                "Argument schedules must have exactly one more element than boundaries. "
                f"Received: {len(self.schedules)} schedules, boundaries={boundaries!r}"
            )

    def __call__(self, step):
        return join_schedules(step, self.schedules, self.boundaries)

    def get_config(self):
        return {
            "schedules": [
                keras.optimizers.schedules.serialize(schedule) for schedule in self.schedules
            ],
            "boundaries": list(self.boundaries),
        }

    @classmethod
    def from_config(cls, config):
        """Rebuild the schedule, deserializing the nested schedules."""
        config = dict(config)
        config["schedules"] = [
            keras.optimizers.schedules.deserialize(schedule) for schedule in config["schedules"]
        ]
        return cls(**config)


def join(schedules, boundaries) -> Join:
    """Join schedules one after another at `boundaries` (see `Join`).

    Args:
        schedules: Schedules, floats or serialized configs, `len(boundaries) + 1` of them.
        boundaries: Strictly increasing integer steps, each > 0.

    Returns:
        A serializable `Join` schedule.

    Raises:
        ValueError: as `Join`.

    Example:
    ```python
    schedule = join([Linear(0.0, 1e-3, 500), CosineDecay(1e-3, 9500)], [500])
    ```

    Reference:
        optax `join_schedules`; Goyal et al., 2017 (warm-up phases).
    """
    return Join(schedules, boundaries)
