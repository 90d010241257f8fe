"""Contract tests run over every schedule the package exports, and in a real `fit`."""

import contextlib

import keras
import numpy as np
import pytest

import keras_nnperf.schedules as schedules
from keras_nnperf import registry
from keras_nnperf.optimizers.gradient_hooks import unscaled_optimizer
from keras_nnperf.schedules.curves import evaluate
from keras_nnperf.testing import two_cpu_strategy

# (factory, shape of the curve, step from which the value is held or None if it never ends)
CASES = {
    "constant": (lambda: schedules.Constant(0.1), "flat", 0),
    "linear": (lambda: schedules.Linear(0.1, 0.001, 20), "decreasing", 20),
    "exponential_decay": (lambda: schedules.ExponentialDecay(0.1, 10), "decreasing", None),
    "power_decay": (lambda: schedules.PowerDecay(0.1, 5, power=0.5), "decreasing", None),
    "piecewise_constant": (
        lambda: schedules.PiecewiseConstant([5, 15], [0.1, 0.05, 0.01]),
        "decreasing",
        15,
    ),
    "polynomial_decay": (lambda: schedules.PolynomialDecay(0.1, 20, 0.01, 0.9), "decreasing", 20),
    "cosine_decay": (lambda: schedules.CosineDecay(0.1, 20, alpha=0.05), "decreasing", 20),
    "cosine_restarts": (lambda: schedules.CosineRestarts(0.1, 4, m_mul=0.7), "cyclic", None),
    "triangular": (lambda: schedules.Triangular(0.01, 0.1, 4, "triangular2"), "cyclic", None),
    "one_cycle": (lambda: schedules.OneCycle(0.1, 20, anneal="linear"), "up_down", 19),
    "one_cycle_momentum": (lambda: schedules.OneCycleMomentum(20), "down_up", 19),
    "join": (
        lambda: schedules.join(
            [schedules.Linear(0.0, 0.1, 5), schedules.CosineDecay(0.1, 15)], [5]
        ),
        "up_down",
        20,
    ),
    "warm_up": (lambda: schedules.WarmUp(schedules.CosineDecay(0.1, 20), 5), "up_down", 20),
    "warmup_cosine": (lambda: schedules.warmup_cosine(0.1, 20, 5, alpha=0.1), "up_down", 20),
}
STEPS = np.arange(30)


def test_every_exported_schedule_class_is_a_case_and_registered():
    exported = {
        name: obj
        for name, obj in vars(schedules).items()
        if isinstance(obj, type)
        and issubclass(obj, keras.optimizers.schedules.LearningRateSchedule)
    }
    built = {type(factory()) for factory, _, _ in CASES.values()}
    assert set(exported.values()) <= built
    for name, cls in exported.items():
        assert registry.lookup("schedule", registry.snake_case(name)) is cls
        assert keras.saving.get_registered_object(f"keras_nnperf>{name}") is cls


@pytest.mark.parametrize("case", CASES)
def test_config_round_trip_gives_the_same_schedule(case):
    schedule = CASES[case][0]()
    via_schedules = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    via_saving = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(schedule)
    )
    expected = evaluate(schedule, STEPS)
    for restored in (via_schedules, via_saving, type(schedule).from_config(schedule.get_config())):
        # Our CosineDecay etc. share Keras's class names: the registered name must win.
        assert type(restored) is type(schedule)
        assert restored.get_config() == schedule.get_config()
        np.testing.assert_array_equal(evaluate(restored, STEPS), expected)


@pytest.mark.not_on_torch("evaluate(jit_compile=True) needs XLA")
@pytest.mark.parametrize("case", CASES)
def test_curve_is_float32_compilable_and_has_its_shape(case):
    factory, shape, end = CASES[case]
    schedule = factory()
    values = evaluate(schedule, STEPS)
    np.testing.assert_allclose(evaluate(schedule, STEPS, jit_compile=True), values, rtol=1e-5)
    assert values.dtype == np.float32 and np.all(np.isfinite(values)) and np.all(values >= 0)
    # A scalar step, as the optimizer feeds it, gives a float32 scalar.
    for step, dtype in ((0, "int64"), (7, "int32"), (25, "int64")):
        value = schedule(keras.ops.convert_to_tensor(step, dtype))
        assert keras.ops.shape(value) == () and keras.ops.dtype(value) == "float32"
        assert float(value) == pytest.approx(float(values[step]), rel=1e-6)
    if end is not None:
        np.testing.assert_array_equal(values[end:], values[end])  # holds its final value
    diffs = np.diff(values[: end if end else None])
    turn = int(np.argmax(values) if shape == "up_down" else np.argmin(values))
    if shape == "decreasing":
        assert np.all(diffs <= 0) and values[0] > values[-1]
    elif shape == "up_down":
        assert np.all(diffs[:turn] > 0) and np.all(diffs[turn:] < 0)
    elif shape == "down_up":
        assert np.all(diffs[:turn] < 0) and np.all(diffs[turn:] > 0)
    elif shape == "cyclic":
        assert np.sum(diffs > 0) >= 2 and np.sum(diffs < 0) >= 2
    else:
        assert np.all(diffs == 0)


@pytest.mark.parametrize("case", CASES)
def test_warmup_composes_with_every_schedule(case):
    schedule = CASES[case][0]()
    original = evaluate(schedule, STEPS)
    for kind, start in (("linear", 0.0), ("exponential", original[6] / 100)):
        values = evaluate(schedules.WarmUp(schedule, warmup_steps=6, kind=kind), STEPS)
        np.testing.assert_array_equal(values[6:], original[6:])  # untouched after the warm-up
        ramp = values[:7]  # ends at the target schedule(6): continuous at the boundary
        assert np.all(np.diff(ramp) > 0)
        assert ramp[0] == pytest.approx(start)


def fit_unit_gradient_model(schedule, mode, steps):
    """Train w in y = w * x on |100 - w| with x = 1: the gradient is -1, so w = sum of the rates."""
    strategy = two_cpu_strategy() if mode == "mirrored" else None
    if mode == "mixed_float16":
        keras.config.set_dtype_policy("mixed_float16")
    replicas = strategy.num_replicas_in_sync if strategy else 1
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = keras.Sequential(
            [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
        )
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=schedule),
            loss="mae",
            jit_compile=mode == "jit",
            steps_per_execution=2 if mode == "jit" else 1,
        )
    x = np.ones((steps * replicas, 1), "float32")
    model.fit(x, 100 * x, batch_size=replicas, epochs=1, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize(
    "case, mode",
    [
        ("one_cycle", "eager"),
        ("warmup_cosine", "jit"),
        ("triangular", "mixed_float16"),
        pytest.param(
            "join",
            "mirrored",
            marks=pytest.mark.tensorflow_only("tf.distribute.MirroredStrategy is TensorFlow's"),
        ),
    ],
)
def test_kth_update_uses_schedule_k_and_the_model_reloads(case, mode, tmp_path):
    schedule = CASES[case][0]()
    steps = 12
    model = fit_unit_gradient_model(schedule, mode, steps)
    weight = float(keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0])
    rates = evaluate(schedule, range(steps + 1))
    assert weight == pytest.approx(float(rates[:steps].sum()), rel=1e-5)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == steps

    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)  # no custom_objects
    config = unscaled_optimizer(restored.optimizer).get_config()["learning_rate"]
    restored_schedule = keras.optimizers.schedules.deserialize(config)
    assert type(restored_schedule) is type(schedule)
    np.testing.assert_array_equal(evaluate(restored_schedule, STEPS), evaluate(schedule, STEPS))
    assert float(restored.optimizer.learning_rate) == pytest.approx(float(rates[steps]))
