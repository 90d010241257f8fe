"""Training callbacks: schedules installed in-graph, monitors, early stopping.

Every callback here is usable by adding it to `model.fit(callbacks=[...])`, survives
`copy.deepcopy` (keras-tuner copies callbacks for every trial) and does its per-step work inside
the compiled train step.
"""

from keras_nnperf.callbacks.activation_monitor import ActivationMonitor
from keras_nnperf.callbacks.alerts import ActivationAlert, GradientAlert, TrainingAlert
from keras_nnperf.callbacks.early_stopping import EarlyStopping
from keras_nnperf.callbacks.ema import EMA
from keras_nnperf.callbacks.gradient_monitor import GradientMonitor
from keras_nnperf.callbacks.gradient_noise_scale import GradientNoiseScale
from keras_nnperf.callbacks.lr_finder import LRFinder, last_lr_find, lr_find
from keras_nnperf.callbacks.lr_finder_result import LRFinderResult
from keras_nnperf.callbacks.monitor import MetricMonitor, infer_mode
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler
from keras_nnperf.callbacks.swa import SWA
from keras_nnperf.callbacks.time_stopping import TimeStopping
from keras_nnperf.callbacks.warmup import WarmUp

__all__ = [
    "ActivationAlert",
    "ActivationMonitor",
    "EMA",
    "EarlyStopping",
    "GradientAlert",
    "GradientMonitor",
    "GradientNoiseScale",
    "LRFinder",
    "LRFinderResult",
    "MetricMonitor",
    "OneCycle",
    "PerformanceScheduler",
    "SWA",
    "TimeStopping",
    "TrainingAlert",
    "WarmUp",
    "infer_mode",
    "last_lr_find",
    "lr_find",
]
