"""In-graph, serializable learning-rate schedules: pure step functions wrapped as Keras objects.

Step convention, the same for every schedule here: `step` is the optimizer's `iterations`,
0-based. Keras reads the learning rate before it increments `iterations`, so the k-th update
(k = 0, 1, ...) uses `schedule(k)`. Schedules with an end hold their final value after it.
Warm-up is a composition (`WarmUp(schedule, ...)`, `join`), never a flag of one schedule.

The schedules the callbacks install are registered but not exported here: `composed`
(`ComposedLearningRate`, what WarmUp, OneCycle and PerformanceScheduler drive together),
`step_offset` (`StepOffset`), `scaled` (`ScaledSchedule`) and `adaptive_warmup` (`AdaptiveWarmUp`).
"""

from keras_nnperf.schedules.basic import (
    Constant,
    Linear,
    PiecewiseConstant,
    constant,
    linear,
    piecewise_constant,
)
from keras_nnperf.schedules.cosine import CosineDecay, CosineRestarts, cosine_decay, cosine_restarts
from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.schedules.cyclical import Triangular, triangular
from keras_nnperf.schedules.decay import (
    ExponentialDecay,
    PolynomialDecay,
    PowerDecay,
    exponential_decay,
    polynomial_decay,
    power_decay,
)
from keras_nnperf.schedules.one_cycle_policy import (
    OneCycle,
    OneCycleMomentum,
    interpolate,
    one_cycle,
    one_cycle_momentum,
)
from keras_nnperf.schedules.sequence import Join, join, join_schedules
from keras_nnperf.schedules.warmup import WarmUp, apply_warmup, warmup_cosine

__all__ = [
    "Constant",
    "CosineDecay",
    "CosineRestarts",
    "ExponentialDecay",
    "Join",
    "Linear",
    "OneCycle",
    "OneCycleMomentum",
    "PiecewiseConstant",
    "PolynomialDecay",
    "PowerDecay",
    "Triangular",
    "WarmUp",
    "constant",
    "cosine_decay",
    "cosine_restarts",
    "evaluate",
    "exponential_decay",
    "interpolate",
    "join",
    "join_schedules",
    "linear",
    "one_cycle",
    "one_cycle_momentum",
    "piecewise_constant",
    "polynomial_decay",
    "power_decay",
    "triangular",
    "apply_warmup",
    "warmup_cosine",
]
