import keras
import numpy as np
import pytest

from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.optimizers import AdaptiveGradientClipping, AutoClip, Lookahead

WRAPPERS = [AutoClip, AdaptiveGradientClipping, Lookahead]


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=lambda w: w.__name__)
def test_a_wrapper_reads_and_sets_the_inner_momentum(wrapper):
    adam = wrapper(keras.optimizers.AdamW(1e-3, beta_1=0.9))
    assert float(adam.beta_1) == 0.9
    adam.beta_1 = 0.8
    assert adam.inner_optimizer.beta_1 == 0.8
    sgd = wrapper(keras.optimizers.SGD(0.1, momentum=0.7))
    assert float(sgd.momentum) == 0.7
    assert not hasattr(sgd, "beta_1")  # SGD has none: no made-up value


class ReadMomentum(keras.callbacks.Callback):
    """What a notebook's own callback does: read the momentum as a number, every epoch."""

    def __init__(self):
        super().__init__()
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        self.values.append((float(optimizer.beta_1), float(optimizer.inner_optimizer.beta_1)))


def test_a_wrapped_adam_reads_the_cycled_momentum_during_one_cycle():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(AutoClip(keras.optimizers.Adam(1e-3)), "mse")
    reader = ReadMomentum()
    cycle = OneCycle(max_lr=1e-2, momentum=(0.95, 0.85))
    model.fit(x, y, batch_size=16, epochs=4, callbacks=[cycle, reader], verbose=0)
    wrapped, inner = np.array(reader.values).T
    np.testing.assert_array_equal(wrapped, inner)
    assert np.all((0.85 <= wrapped) & (wrapped <= 0.95)) and np.ptp(wrapped) > 0.01
    assert float(model.optimizer.beta_1) == 0.9  # after fit: Adam's own value, put back
