import itertools

import keras
import numpy as np
import pytest

from keras_nnperf.schedules import Constant, CosineDecay, OneCycle, OneCycleMomentum, evaluate
from keras_nnperf.schedules import composed as composed_module
from keras_nnperf.schedules.composed import (
    MOMENTUM_PARAMETERS,
    NUMPY_OPS,
    PARAMETERS,
    WARMUP_KINDS,
    ComposedLearningRate,
    PackedParameters,
    cycle_learning_rate,
    cycle_momentum,
    host_scalars,
)

STEPS = np.arange(40)


def cycle(total=30, start=5, max_lr=0.1, pct=0.25, div=25.0, final=1e4):
    peak = start + int(pct * total)
    return {
        "cycle_on": 1.0,
        "cycle_start": start,
        "cycle_peak": peak,
        "cycle_fall_start": peak,
        "cycle_end": start + total - 1,
        "cycle_initial": max_lr / div,
        "cycle_max": max_lr,
        "cycle_fall_from": max_lr,
        "cycle_floor": max_lr / div / final,
        "cycle_cosine": 1.0,
    }


@pytest.mark.parametrize("base", [0.03, CosineDecay(0.05, 20)])
def test_every_slot_off_is_the_users_rate(base):
    expected = evaluate(base if callable(base) else Constant(base), STEPS)
    np.testing.assert_array_equal(evaluate(ComposedLearningRate(base), STEPS), expected)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_cycle_is_the_shifted_one_cycle_schedule(jit_compile):
    schedule = ComposedLearningRate(0.5, cycle())
    pure = evaluate(OneCycle(0.1, 30), np.maximum(STEPS - 5, 0))
    np.testing.assert_allclose(evaluate(schedule, STEPS, jit_compile)[5:], pure[5:], rtol=1e-5)
    momentum = {**cycle(), "momentum_user": 0.9, "momentum_max": 0.95}
    momentum.update(momentum_base=0.85, momentum_fall_from=0.85)
    values = np.asarray(cycle_momentum(STEPS, momentum))
    pure = evaluate(OneCycleMomentum(30), np.maximum(STEPS - 5, 0))
    np.testing.assert_allclose(values[5:], pure[5:], rtol=1e-5)


def test_warmup_multiplier_and_floor_formula():
    parameters = {
        **cycle(start=0),
        "warmup_on": 1.0,
        "warmup_start": 0.0,
        "warmup_steps": 6.0,
        "warmup_kind": 1.0,  # exponential, from 1/100 of the target
        "warmup_init_fraction": 0.01,
        "multiplier": 0.25,
        "min_lr": 0.01,
    }
    values = evaluate(ComposedLearningRate(0.5, parameters), STEPS).astype("float64")
    s = np.asarray(cycle_learning_rate(STEPS, parameters), "float64")
    target = s[6]
    warmed = np.where(STEPS < 6, 0.01 * target * 100.0 ** (STEPS / 6), s)
    expected = np.maximum(0.25 * warmed, np.minimum(warmed, 0.01))
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-10)


def test_a_jump_anneals_from_the_current_rate():
    parameters = cycle(start=0)
    at = 10
    now = float(cycle_learning_rate(np.float32(at), parameters))
    parameters.update(cycle_fall_start=at, cycle_fall_from=now, cycle_end=at + 5)
    values = evaluate(ComposedLearningRate(0.5, parameters), STEPS)
    assert values[at] == pytest.approx(now)
    assert values[at + 5] == pytest.approx(0.1 / 25 / 1e4)
    assert np.all(np.diff(values[at : at + 6]) < 0)


def test_config_round_trip_freezes_the_variables():
    variables = {name: keras.Variable(value) for name, value in PARAMETERS.items()}
    variables["multiplier"].assign(0.5)
    schedule = ComposedLearningRate(CosineDecay(0.1, 10), variables)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    np.testing.assert_allclose(evaluate(restored, STEPS), evaluate(schedule, STEPS), rtol=1e-6)
    assert restored.get_config()["parameters"]["multiplier"] == 0.5


@pytest.mark.parametrize("base", [float("nan"), float("inf"), True, "0.1"])
def test_bad_base(base):
    with pytest.raises(ValueError, match="base"):
        ComposedLearningRate(base)


def test_unknown_parameter():
    with pytest.raises(ValueError, match="parameters"):
        ComposedLearningRate(0.1, {"cycle_length": 3.0})


def warmup(kind, start=3, steps=6):
    return {
        "warmup_on": 1.0,
        "warmup_start": start,
        "warmup_steps": steps,
        "warmup_init": 1e-3 if kind != 1 else 0.0,
        "warmup_init_fraction": 0.01 if kind == 1 else 0.0,  # exponential: from target / 100
        "warmup_kind": float(kind),
        "warmup_progress": 2.0 if kind == 2 else 0.0,  # adaptive: 2 of 6 stable steps so far
    }


# Every slot on and off: cycle, warm-up (off, linear, exponential, gradient), multiplier/floor.
SLOTS = list(itertools.product([False, True], [None, 0, 1, 2], [False, True]))


def slot_parameters(cycle_on, warmup_kind, scaled):
    parameters = {}
    if cycle_on:
        parameters.update(cycle(start=2, total=25, max_lr=0.2))
    if warmup_kind is not None:
        parameters.update(warmup(warmup_kind))
    if scaled:
        parameters.update(multiplier=0.25, min_lr=0.004)
    return parameters


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("base", ["float", "schedule"])
@pytest.mark.parametrize("cycle_on, warmup_kind, scaled", SLOTS)
def test_host_value_is_the_in_graph_value(cycle_on, warmup_kind, scaled, base, jit_compile):
    parameters = slot_parameters(cycle_on, warmup_kind, scaled)
    # Variables, as the callbacks install them: `host_value` reads them, the step captures them.
    variables = {name: keras.Variable(float(v), dtype="float32") for name, v in parameters.items()}
    user = 0.05 if base == "float" else CosineDecay(0.05, 30, alpha=0.1)
    schedule = ComposedLearningRate(user, variables)
    in_graph = evaluate(schedule, STEPS, jit_compile)
    iterations = keras.Variable(0, dtype="int32", trainable=False)
    host = []
    for step in STEPS:
        iterations.assign(step)
        host.append(schedule.host_value(iterations))
    np.testing.assert_allclose(np.asarray(host, "float32"), in_graph, rtol=1e-6, atol=0)
    # A plain int step reads the same.
    assert schedule.host_value(int(STEPS[7])) == host[7]


def packed_schedule(base, parameters):
    """`parameters` as the callbacks install them: packed in one vector, the progress apart."""
    names = [n for n in PARAMETERS if n != "warmup_progress"]
    values = [float(parameters.get(n, PARAMETERS[n])) for n in names]
    if not callable(base):
        values[names.index("base")] = base
    packed = PackedParameters(keras.Variable(np.asarray(values, "float32")), names, values)
    progress = keras.Variable(float(parameters.get("warmup_progress", 0.0)))
    return ComposedLearningRate(base, {"warmup_progress": progress}, packed=packed), packed


@pytest.mark.parametrize("base", ["float", "schedule"])
@pytest.mark.parametrize("cycle_on, warmup_kind, scaled", SLOTS)
def test_packed_parameters_give_the_same_rate(cycle_on, warmup_kind, scaled, base):
    parameters = slot_parameters(cycle_on, warmup_kind, scaled)
    user = 0.05 if base == "float" else CosineDecay(0.05, 30, alpha=0.1)
    expected = evaluate(ComposedLearningRate(user, parameters), STEPS)
    schedule, _ = packed_schedule(user, parameters)
    np.testing.assert_array_equal(evaluate(schedule, STEPS), expected)
    host = [schedule.host_value(int(step)) for step in STEPS]
    np.testing.assert_allclose(np.asarray(host, "float32"), expected, rtol=1e-6)


def test_packed_assign_writes_the_variable_and_its_host_copy():
    schedule, packed = packed_schedule(0.1, cycle(max_lr=0.2))
    packed.assign(multiplier=0.5, min_lr=0.01)
    held = keras.ops.convert_to_numpy(packed.variable)
    np.testing.assert_array_equal(held, packed.host)
    assert packed.read("multiplier") == 0.5
    assert held[packed.index["min_lr"]] == np.float32(0.01)
    step = 20
    unpacked = ComposedLearningRate(0.1, {**cycle(max_lr=0.2), "multiplier": 0.5, "min_lr": 0.01})
    assert float(schedule(step)) == pytest.approx(float(unpacked(step)), rel=1e-7)
    assert schedule.host_value(step) == pytest.approx(float(unpacked(step)), rel=1e-6)
    # Saved as floats: the restored schedule needs no variable.
    config = schedule.get_config()["parameters"]
    assert config["multiplier"] == 0.5 and set(config) == set(PARAMETERS)
    restored = ComposedLearningRate.from_config(schedule.get_config())
    assert float(restored(step)) == pytest.approx(float(schedule(step)), rel=1e-7)


@pytest.mark.parametrize("base", ["float", "schedule"])
@pytest.mark.parametrize("warmup_kind", [0, 1, 2])
def test_a_derived_warmup_target_follows_every_assignment(base, warmup_kind):
    # As the callbacks install it: the warm-up's target computed on the host, not in the step.
    # WarmUp assigns first (target: the user's rate), then OneCycle (target: the cycle's).
    user = 0.05 if base == "float" else CosineDecay(0.05, 30, alpha=0.1)
    names = [n for n in PARAMETERS if n != "warmup_progress"] + ["warmup_target"]
    values = [float(PARAMETERS.get(n, 0.0)) for n in names]
    if base == "float":
        values[names.index("base")] = 0.05
    packed = PackedParameters(keras.Variable(np.asarray(values, "float32")), names, values)
    progress = keras.Variable(2.0 if warmup_kind == 2 else 0.0)
    schedule = ComposedLearningRate(user, {"warmup_progress": progress}, packed=packed)
    parameters = {**warmup(warmup_kind), "warmup_progress": progress.numpy()}
    packed.assign(**{k: v for k, v in warmup(warmup_kind).items() if k != "warmup_progress"})
    expected = evaluate(ComposedLearningRate(user, parameters), STEPS)
    np.testing.assert_allclose(evaluate(schedule, STEPS), expected, rtol=1e-6)
    packed.assign(**cycle(start=2, total=25, max_lr=0.2))
    parameters.update(cycle(start=2, total=25, max_lr=0.2))
    expected = evaluate(ComposedLearningRate(user, parameters), STEPS)
    np.testing.assert_allclose(evaluate(schedule, STEPS), expected, rtol=1e-6)
    host = [schedule.host_value(int(step)) for step in STEPS]
    np.testing.assert_allclose(np.asarray(host, "float32"), expected, rtol=1e-6)


def test_packed_must_be_packed_parameters():
    with pytest.raises(ValueError, match="packed"):
        ComposedLearningRate(0.1, packed={"multiplier": 0.5})


@pytest.mark.tensorflow_only("counts the operations of a TensorFlow graph")
def test_packed_formula_reads_its_variable_once_per_evaluation():
    # What packing buys: one read of the vector per traced evaluation, not one per use of each
    # parameter (44 reads per step before, each an executor operation).
    import tensorflow as tf

    schedule, packed = packed_schedule(0.1, {**cycle(), **warmup(0)})
    step = keras.Variable(3, dtype="int64", trainable=False)

    @tf.function
    def rate():
        return schedule(step)

    graph = rate.get_concrete_function().graph
    reads = [op for op in graph.get_operations() if op.type == "ReadVariableOp"]
    # The vector, the gradient warm-up's progress, the step.
    assert len(reads) == 3


def test_host_value_sees_assignments_between_calls():
    multiplier = keras.Variable(1.0, dtype="float32")
    schedule = ComposedLearningRate(0.1, {"multiplier": multiplier})
    assert schedule.host_value(0) == pytest.approx(0.1)
    multiplier.assign(0.5)
    assert schedule.host_value(0) == pytest.approx(0.05)


def test_momentum_formula_in_numpy_is_the_keras_one():
    parameters = {**cycle(), **MOMENTUM_PARAMETERS, "momentum_fall_from": 0.87}
    keras_values = keras.ops.convert_to_numpy(cycle_momentum(STEPS, parameters))
    numpy_values = cycle_momentum(STEPS, parameters, NUMPY_OPS)
    assert numpy_values.dtype == np.float32
    np.testing.assert_allclose(numpy_values, keras_values, rtol=1e-6)
    parameters["cycle_on"] = 0.0  # off: the optimizer's own value
    np.testing.assert_array_equal(cycle_momentum(STEPS, parameters, NUMPY_OPS), np.float32(0.9))


def test_host_scalars_reads_variables_tensors_and_numbers():
    step = keras.Variable(7, dtype="int32", trainable=False)
    values = [keras.Variable(2.5), keras.ops.ones(()), 3.0, step, 4]
    scalars = host_scalars(values)
    assert scalars.dtype == np.float32
    np.testing.assert_array_equal(scalars, [2.5, 1.0, 3.0, 7.0, 4.0])
    np.testing.assert_array_equal(host_scalars([0.5, 1]), [0.5, 1.0])


def _train_with_adamw(steps_per_execution, shared):
    """Weights after fitting with AdamW + WarmUp + OneCycle, the per-trace sharing on or off."""
    from unittest import mock

    from keras_nnperf.callbacks.one_cycle import OneCycle as OneCycleCallback
    from keras_nnperf.callbacks.warmup import WarmUp
    from keras_nnperf.schedules import composed

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 5)).astype("float32"), rng.normal(size=(96, 1)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(
        keras.optimizers.AdamW(1e-3, weight_decay=0.1),
        "mse",
        steps_per_execution=steps_per_execution,
    )
    callbacks = [WarmUp(epochs=1), OneCycleCallback(max_lr=0.05)]
    # Off: no per-trace sharing (TensorFlow, JAX) and no eager hold (PyTorch).
    no_trace = mock.patch.object(composed, "trace_key", lambda step, parameters: None)
    no_hold = mock.patch.object(composed.ComposedLearningRate, "hold", lambda self, step: None)
    with no_trace if not shared else mock.MagicMock(), no_hold if not shared else mock.MagicMock():
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False, callbacks=callbacks)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.mark.parametrize(
    "steps_per_execution",
    [1, pytest.param(3, marks=pytest.mark.not_on_torch("Keras runs one step per execution"))],
)
def test_sharing_the_traced_rate_changes_no_update(steps_per_execution):
    # AdamW reads the rate once per weight; one evaluation per traced step must give exactly
    # the updates of one evaluation per read, also with several steps in one traced function.
    shared = _train_with_adamw(steps_per_execution, shared=True)
    fresh = _train_with_adamw(steps_per_execution, shared=False)
    for a, b in zip(shared, fresh, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _train_on_host_or_not(on_host):
    """Weights and the rates and momenta applied, fitting with AdamW, the gradient warm-up and
    a cycled momentum, the eager step's host evaluation on or off."""
    from unittest import mock

    from keras_nnperf.callbacks.one_cycle import OneCycle as OneCycleCallback
    from keras_nnperf.callbacks.warmup import WarmUp
    from keras_nnperf.schedules import composed

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 5)).astype("float32"), rng.normal(size=(96, 1)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(keras.optimizers.AdamW(1e-3, weight_decay=0.1), "mse")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            optimizer = self.model.optimizer
            seen.append((float(optimizer.learning_rate), float(optimizer.beta_1)))

    callbacks = [WarmUp(epochs=1, kind="gradient"), OneCycleCallback(max_lr=0.05), Record()]
    off = mock.patch.object(composed, "eager_host_reads", lambda variable: False)
    with off if not on_host else mock.MagicMock():
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False, callbacks=callbacks)
    return [keras.ops.convert_to_numpy(w) for w in model.weights], np.array(seen)


def test_an_eager_step_on_the_cpu_evaluates_the_formula_on_the_host_with_the_same_updates():
    # PyTorch on the CPU: the formula's ~35 keras.ops calls a step were the whole overhead of
    # WarmUp + OneCycle (1.43x a bare second fit; 0.96x with constants instead). On the host,
    # in NumPy float32, it must give the same updates, the gradient warm-up's in-step progress
    # included. Elsewhere the formula is compiled into the step and stays in keras.ops.
    step = keras.Variable(0, dtype="int64", trainable=False)
    assert composed_module.eager_host_reads(step) == (keras.backend.backend() == "torch")
    if keras.backend.backend() != "torch":
        return
    host_weights, host_seen = _train_on_host_or_not(True)
    ops_weights, ops_seen = _train_on_host_or_not(False)
    np.testing.assert_allclose(host_seen, ops_seen, rtol=1e-6)
    assert host_seen[:, 0].max() > 10 * host_seen[:, 0].min()  # warmed up, cycled
    assert host_seen[:, 1].min() < host_seen[:, 1].max()  # the momentum cycled
    for a, b in zip(host_weights, ops_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.tensorflow_only("a TensorFlow graph and its operations")
def test_one_formula_per_traced_step_until_the_step_is_assigned():
    import tensorflow as tf

    step = keras.Variable(3, dtype="int64", trainable=False)
    schedule = ComposedLearningRate(0.1, cycle(max_lr=0.1))

    @tf.function
    def reads():
        first, second = schedule(step), schedule(step)
        step.assign_add(1)
        third = schedule(step)
        return first is second, first is not third, third

    same, renewed, third = reads()
    assert bool(same) and bool(renewed)
    expected = schedule.host_value(4)
    assert float(third) == pytest.approx(expected, rel=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX tracers")
def test_one_formula_per_jax_trace_until_a_parameter_is_assigned():
    import jax

    step = keras.Variable(3, dtype="int64", trainable=False)
    multiplier = keras.Variable(1.0, trainable=False)
    schedule = ComposedLearningRate(0.1, {**cycle(max_lr=0.1), "multiplier": multiplier})
    seen = {}

    @jax.jit
    def reads(step_value, multiplier_value):
        mapping = [(step, step_value), (multiplier, multiplier_value)]
        with keras.StatelessScope(state_mapping=mapping):
            first, second = schedule(step), schedule(step)
            multiplier.assign(0.5)
            third = schedule(step)
            seen["same"], seen["renewed"] = first is second, first is not third
            return third

    third = reads(step.value, multiplier.value)
    assert seen == {"same": True, "renewed": True}
    assert float(third) == pytest.approx(0.5 * schedule.host_value(3), rel=1e-6)


def claimed_parts(cycle_on, warmup_kind, scaled, cosine):
    """The parts the callbacks would build for these slots (see `learning_rate_slots`)."""
    parts = {}
    if cycle_on:
        parts["cycle"] = "cos" if cosine else "linear"
    if warmup_kind is not None:
        parts["warmup"] = WARMUP_KINDS[warmup_kind]
    if scaled:
        parts["multiplier"] = None
    return parts


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("cosine", [True, False])
@pytest.mark.parametrize("cycle_on, warmup_kind, scaled", SLOTS)
def test_building_only_the_claimed_parts_changes_no_value(
    cycle_on, warmup_kind, scaled, cosine, jit_compile
):
    # The parts left out hold the parameters that switch them off, and a fixed variant is the
    # branch its flag selects: the specialized formula is the general one, to the bit.
    parameters = slot_parameters(cycle_on, warmup_kind, scaled)
    if cycle_on:
        parameters["cycle_cosine"] = 1.0 if cosine else 0.0
    general = ComposedLearningRate(0.05, parameters)
    parts = claimed_parts(cycle_on, warmup_kind, scaled, cosine)
    specialized = ComposedLearningRate(0.05, parameters, parts=parts)
    assert dict(specialized.parts) == parts
    expected = evaluate(general, STEPS, jit_compile)
    np.testing.assert_array_equal(evaluate(specialized, STEPS, jit_compile), expected)
    # Not vacuous: a part left out that is on changes the rate.
    if parts:
        dropped = dict(parts)
        dropped.pop(sorted(dropped)[0])
        wrong = evaluate(ComposedLearningRate(0.05, parameters, parts=dropped), STEPS)
        assert not np.array_equal(wrong, expected)


@pytest.mark.parametrize(
    "parts",
    [{"cycle": "cosine"}, {"warmup": "fast"}, {"multiplier": "max"}, {"momentum": None}],
)
def test_bad_parts(parts):
    with pytest.raises(ValueError, match="Argument parts"):
        ComposedLearningRate(0.1, parts=parts)


def test_trace_structure_follows_the_parts():
    schedule = ComposedLearningRate(0.1)
    everything = schedule.trace_structure
    schedule.parts = {"cycle": "cos"}
    assert schedule.trace_structure == (("cycle", "cos"),) != everything


def momentum_schedule(parameters, parts):
    """A float-base schedule with the momentum parameters packed, as the callbacks install it."""
    values = {**PARAMETERS, **MOMENTUM_PARAMETERS, **parameters, "base": 0.05, "warmup_target": 0}
    names = [n for n in values if n != "warmup_progress"]
    vector = [float(values[n]) for n in names]
    packed = PackedParameters(keras.Variable(np.asarray(vector, "float32")), names, vector)
    progress = {"warmup_progress": float(values["warmup_progress"])}
    schedule = ComposedLearningRate(0.05, progress, packed=packed, parts=parts)
    packed.assign()  # derives `warmup_target`
    return schedule


@pytest.mark.tensorflow_only("counts the operations of a TensorFlow graph")
def test_momentum_and_rate_share_one_cycle_evaluation_per_step():
    import tensorflow as tf

    parameters = {**cycle(max_lr=0.2), **warmup(0)}
    schedule = momentum_schedule(parameters, {"cycle": "cos", "warmup": "linear"})
    step = keras.Variable(12, dtype="int64", trainable=False)
    momentum = keras.Variable(0.0)

    @tf.function
    def train_step():
        schedule.assign_momentum(step, momentum)  # what the momentum hook does
        return schedule(step)  # what the optimizer's update reads next

    graph = train_step.get_concrete_function().graph
    # One interpolation (two half-cosine weights, one `Sin` each) serves both.
    assert [op.type for op in graph.get_operations()].count("Sin") == 2
    rate = float(train_step())
    assert rate == pytest.approx(ComposedLearningRate(0.05, parameters).host_value(12), rel=1e-6)
    momenta = {**MOMENTUM_PARAMETERS, **parameters}
    expected_momentum = cycle_momentum(np.float32(12), momenta, NUMPY_OPS)
    assert float(momentum.numpy()) == pytest.approx(float(expected_momentum), rel=1e-6)


def test_assigned_momentum_and_shared_rate_are_the_formula():
    # Every backend: the momentum hook's path gives the same rate as a read of its own.
    parameters = cycle(max_lr=0.2, start=0)
    schedule = momentum_schedule(parameters, {"cycle": "cos"})
    step = keras.Variable(0, dtype="int64", trainable=False)
    momentum = keras.Variable(0.0)
    for now in (0, 3, 7, 20, 40):
        step.assign(now)
        schedule.assign_momentum(step, momentum)
        momenta = {**MOMENTUM_PARAMETERS, **parameters}
        expected = float(cycle_momentum(np.float32(now), momenta, NUMPY_OPS))
        assert float(keras.ops.convert_to_numpy(momentum)) == pytest.approx(expected, rel=1e-6)
        rate = float(keras.ops.convert_to_numpy(schedule(step)))
        assert rate == pytest.approx(schedule.host_value(now), rel=1e-6)


def test_a_held_rate_serves_calls_at_its_step_until_released():
    schedule = momentum_schedule(cycle(max_lr=0.2, start=0), {"cycle": "cos"})
    step = keras.Variable(7, dtype="int64", trainable=False)
    other = keras.Variable(7, dtype="int64", trainable=False)
    schedule.hold(step)
    held = schedule(step)
    assert schedule(step) is held  # no second evaluation
    assert schedule(other) is not held  # another step object: evaluated
    assert float(keras.ops.convert_to_numpy(held)) == pytest.approx(schedule.host_value(7), 1e-6)
    schedule.release()
    assert schedule(step) is not held
    momentum = keras.Variable(0.0)
    schedule.hold(step)
    schedule.assign_momentum(step, momentum)  # reuses the held cycle weights
    momenta = {**MOMENTUM_PARAMETERS, **cycle(max_lr=0.2, start=0)}
    expected = float(cycle_momentum(np.float32(7), momenta, NUMPY_OPS))
    assert float(keras.ops.convert_to_numpy(momentum)) == pytest.approx(expected, rel=1e-6)
