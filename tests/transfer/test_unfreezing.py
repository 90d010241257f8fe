"""GradualUnfreezing: top groups join one at a time; frozen ones do not move; state is kept."""

import copy

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.transfer import GradualUnfreezing


def _setup(optimizer=None):
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(5, activation="tanh", name="low"),
            keras.layers.Dense(5, activation="tanh", name="high"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(optimizer or keras.optimizers.Adam(0.01), "mse")
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1))


class _Snapshots(keras.callbacks.Callback):
    def __init__(self, names):
        super().__init__()
        self.names = names
        self.weights = []

    def on_train_begin(self, logs=None):
        self._record()

    def on_epoch_end(self, epoch, logs=None):
        self._record()

    def _record(self):
        self.weights.append(
            {n: self.model.get_layer(n).get_weights()[0].copy() for n in self.names}
        )


def _moved(snapshots, name, epoch):
    return not np.array_equal(snapshots.weights[epoch][name], snapshots.weights[epoch + 1][name])


@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum"])
def test_groups_unfreeze_from_the_top(optimizer):
    opt = keras.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd_momentum" else None
    model, x, y = _setup(opt)
    snapshots = _Snapshots(["low", "high", "head"])
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=4,
        verbose=0,
        callbacks=[GradualUnfreezing(["low", "high"], epochs_per_group=1), snapshots],
    )
    assert history.history["unfrozen_groups"] == [0, 1, 2, 2]
    assert [_moved(snapshots, "head", e) for e in range(4)] == [True] * 4
    assert [_moved(snapshots, "high", e) for e in range(4)] == [False, True, True, True]
    assert [_moved(snapshots, "low", e) for e in range(4)] == [False, False, True, True]


def test_optimizer_state_is_kept_across_unfreezing():
    model, x, y = _setup()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # builds Adam over all layers
    variables = list(model.optimizer.variables)
    head_slots = [v for v in variables if "head" in v.path and "kernel" in v.path]
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[GradualUnfreezing(["low", "high"])],
    )
    assert [id(v) for v in model.optimizer.variables] == [id(v) for v in variables]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 16
    assert all(np.any(np.array(v) != 0) for v in head_slots)


def test_initial_epoch_resumes_the_schedule():
    model, x, y = _setup()
    snapshots = _Snapshots(["low", "high"])
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=6,
        initial_epoch=4,
        verbose=0,
        callbacks=[GradualUnfreezing(["low", "high"], epochs_per_group=2), snapshots],
    )
    assert history.history["unfrozen_groups"] == [2, 2]
    assert _moved(snapshots, "low", 0)


def test_config_registry_deepcopy_and_bad_arguments():
    callback = GradualUnfreezing([["low"], "high"], 2, multipliers=[0.5, 1.0])
    config = callback.get_config()
    assert config == dict(groups=[["low"], ["high"]], epochs_per_group=2, multipliers=[0.5, 1.0])
    assert copy.deepcopy(callback).get_config() == config
    assert registry.lookup("callback", "gradual_unfreezing") is GradualUnfreezing
    assert callback.unfrozen_at(0) == 0 and callback.unfrozen_at(3) == 1
    assert callback.unfrozen_at(99) == 2
    for kwargs in (
        dict(groups=["a"], epochs_per_group=0),
        dict(groups=["a"], epochs_per_group=1.5),
        dict(groups=["a"], multipliers=[0.0]),
        dict(groups=["a"], multipliers=[1.0, 1.0]),
        dict(groups=[]),
    ):
        with pytest.raises(ValueError, match="Argument|one group"):
            GradualUnfreezing(**kwargs)
