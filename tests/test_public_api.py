"""Every public object is registered and survives `.keras` save/load with no custom_objects.

The examples below must cover every class in the registry: adding a public class without an
example here fails `test_every_registered_class_has_an_example`.
"""

import keras
import numpy as np
import pytest

import keras_nnperf as nnp
from keras_nnperf import registry
from keras_nnperf.schedules.adaptive_warmup import AdaptiveWarmUp
from keras_nnperf.schedules.scaled import ScaledSchedule
from keras_nnperf.schedules.step_offset import StepOffset

SERIALIZABLE_KINDS = (
    "activation",
    "layer",
    "initializer",
    "constraint",
    "schedule",
    "optimizer",
    "model",
)

LAYER_EXAMPLES = {
    "PReLU": lambda: nnp.layers.PReLU(mode="channel"),
    "RReLU": lambda: nnp.layers.RReLU(seed=3),
    "Mish": lambda: nnp.layers.Mish(),
    "PSwish": lambda: nnp.layers.PSwish(mode="channel"),
    "PELU": lambda: nnp.layers.PELU(),
    "MCDropout": lambda: nnp.layers.MCDropout(0.2, seed=1),
    "TabularEmbedding": lambda: nnp.tabular.TabularEmbedding([1, 3], [4, 6], [2, 3], seed=0),
}

INITIALIZER_EXAMPLES = {"HeForSlope": lambda: nnp.initializers.HeForSlope(0.25, seed=1)}

CONSTRAINT_EXAMPLES = {
    "ClipRange": lambda: nnp.constraints.ClipRange(-0.5, 0.5),
    "MinValue": lambda: nnp.constraints.MinValue(0.1),
}

_cosine = lambda: nnp.schedules.CosineDecay(0.1, 100)  # noqa: E731

SCHEDULE_EXAMPLES = {
    "Constant": lambda: nnp.schedules.Constant(0.1),
    "Linear": lambda: nnp.schedules.Linear(0.1, 0.01, 100),
    "ExponentialDecay": lambda: nnp.schedules.ExponentialDecay(0.1, 50),
    "PowerDecay": lambda: nnp.schedules.PowerDecay(0.1, 50, power=0.5),
    "PiecewiseConstant": lambda: nnp.schedules.PiecewiseConstant([10, 40], [0.1, 0.05, 0.01]),
    "PolynomialDecay": lambda: nnp.schedules.PolynomialDecay(0.1, 100, 0.001, power=2.0),
    "CosineDecay": _cosine,
    "CosineRestarts": lambda: nnp.schedules.CosineRestarts(0.1, 20),
    "Triangular": lambda: nnp.schedules.Triangular(0.001, 0.1, 10, mode="triangular2"),
    "OneCycle": lambda: nnp.schedules.OneCycle(0.1, 100),
    "OneCycleMomentum": lambda: nnp.schedules.OneCycleMomentum(100),
    "Join": lambda: nnp.schedules.join([nnp.schedules.Constant(0.1), _cosine()], [10]),
    "WarmUp": lambda: nnp.schedules.WarmUp(_cosine(), 10, kind="exponential"),
    # Installed by the callbacks; saved with the optimizer when a model is saved after fit.
    "StepOffset": lambda: StepOffset(_cosine(), offset=-20),
    "ScaledSchedule": lambda: ScaledSchedule(_cosine(), multiplier=0.25, min_learning_rate=1e-3),
    "AdaptiveWarmUp": lambda: AdaptiveWarmUp(_cosine(), 30, progress=12.0),
    # What WarmUp, OneCycle and PerformanceScheduler install together on the optimizer.
    "ComposedLearningRate": lambda: nnp.schedules.composed.ComposedLearningRate(
        _cosine(), {"multiplier": 0.5, "min_lr": 1e-5}
    ),
}

OPTIMIZER_EXAMPLES = {
    "AdaptiveGradientClipping": lambda: nnp.optimizers.AdaptiveGradientClipping(
        keras.optimizers.SGD(0.05, momentum=0.9), clip_factor=0.02
    ),
    "AutoClip": lambda: nnp.optimizers.AutoClip(keras.optimizers.Adam(1e-3), percentile=25),
    "Lookahead": lambda: nnp.optimizers.Lookahead(keras.optimizers.Adam(1e-3), sync_period=3),
}

EXAMPLES = {
    "layer": LAYER_EXAMPLES,
    "initializer": INITIALIZER_EXAMPLES,
    "constraint": CONSTRAINT_EXAMPLES,
    "schedule": SCHEDULE_EXAMPLES,
    "optimizer": OPTIMIZER_EXAMPLES,
}


def _registered(kind):
    return {name: registry.lookup(kind, name) for name in registry.names(kind)}


@pytest.mark.parametrize("kind", SERIALIZABLE_KINDS)
def test_registered_objects_are_known_to_keras_serialization(kind):
    for name, obj in _registered(kind).items():
        assert keras.saving.get_registered_name(obj) == f"keras_nnperf>{obj.__name__}", name
        assert keras.saving.get_registered_object(f"keras_nnperf>{obj.__name__}") is obj


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_registered_class_has_an_example(kind):
    classes = {obj.__name__ for obj in _registered(kind).values() if isinstance(obj, type)}
    assert classes == set(EXAMPLES[kind]), "add an example for each new public class"


def _save_and_load(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.models.load_model(path)


def _data(features=6):
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, features)).astype("float32"), rng.normal(size=(32, 1))


@pytest.mark.parametrize("name", sorted(LAYER_EXAMPLES))
def test_layers_round_trip(name, tmp_path):
    x, y = _data()
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(5), LAYER_EXAMPLES[name](), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    loaded = _save_and_load(model, tmp_path)
    assert type(loaded.layers[1]) is type(model.layers[1])
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
    if name != "MCDropout":  # stays stochastic at inference by design
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", registry.names("activation"))
def test_every_activation_name_works_in_dense_and_round_trips(name, tmp_path):
    x, y = _data()
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4, activation=nnp.activation(name))]
    )
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    loaded = _save_and_load(model, tmp_path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kind, name",
    [("initializer", n) for n in INITIALIZER_EXAMPLES]
    + [("constraint", n) for n in CONSTRAINT_EXAMPLES],
)
def test_initializers_and_constraints_round_trip(kind, name, tmp_path):
    obj = EXAMPLES[kind][name]()
    argument = "kernel_initializer" if kind == "initializer" else "kernel_constraint"
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, **{argument: obj})])
    loaded = _save_and_load(model, tmp_path)
    restored = getattr(loaded.layers[0], argument)
    assert type(restored) is type(obj)
    assert restored.get_config() == obj.get_config()


@pytest.mark.parametrize("name", sorted(SCHEDULE_EXAMPLES))
def test_schedules_round_trip_inside_the_optimizer(name, tmp_path):
    schedule = SCHEDULE_EXAMPLES[name]()
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=schedule), "mse")
    loaded = _save_and_load(model, tmp_path)
    restored = loaded.optimizer._learning_rate
    assert type(restored) is type(schedule)
    steps = np.array([0, 1, 7, 33, 99, 250], dtype="float32")
    np.testing.assert_allclose(
        nnp.schedules.evaluate(restored, steps), nnp.schedules.evaluate(schedule, steps)
    )


@pytest.mark.parametrize("name", sorted(OPTIMIZER_EXAMPLES))
def test_optimizer_wrappers_round_trip(name, tmp_path):
    x, y = _data()
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(OPTIMIZER_EXAMPLES[name](), "mse")
    model.fit(x, y, epochs=1, verbose=0)
    loaded = _save_and_load(model, tmp_path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
