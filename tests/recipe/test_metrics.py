"""The recipe's metrics in the target's units, and the baselines they are compared with."""

from types import SimpleNamespace

import numpy as np

from keras_nnperf.recipe.metrics import baseline_outputs, in_target_units
from keras_nnperf.tabular import TabularPreprocessor


def test_the_trivial_baseline_of_a_log_target_is_the_mean_in_the_units():
    pre = TabularPreprocessor(
        "y", "regression", [], target_mean=1.0, target_std=2.0, target_log=True
    )
    raw = np.array([1.0, 10.0, 1000.0])
    data = SimpleNamespace(
        preprocessor=pre, y_train=pre.target_to_model(raw), y_val=np.zeros((2, 1))
    )
    # The arithmetic mean (337), not exp of the logarithm's mean (21.5).
    np.testing.assert_allclose(in_target_units(pre, baseline_outputs(data)), [337.0, 337.0])
