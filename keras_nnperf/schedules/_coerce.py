"""Turn what a user may pass as "a schedule" into a `LearningRateSchedule`."""

from __future__ import annotations

import numbers

import keras

from keras_nnperf.schedules.basic import Constant


def to_schedule(name: str, value) -> keras.optimizers.schedules.LearningRateSchedule:
    """Accept a schedule, a constant learning rate, or a serialized schedule config.

    A number becomes `Constant(value)`; a dict is deserialized with
    `keras.optimizers.schedules.deserialize` (our schedules are registered, so no
    `custom_objects` are needed).

    Raises:
        ValueError: for anything else (a plain callable cannot be saved with the model).
    """
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Constant(value)
    if isinstance(value, dict):
        schedule = keras.optimizers.schedules.deserialize(value)
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            return schedule
    raise ValueError(
        f"Argument {name} must be a LearningRateSchedule, a learning rate (float) or a serialized "
        f"schedule config. Received: {name}={value!r}"
    )
