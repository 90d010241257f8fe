"""Discriminative rates: the update of an optimizer with `m * lr` per group, on every backend."""

import copy
import warnings

import keras
import numpy as np
import pytest

from keras_nnperf import registry
from keras_nnperf.callbacks import OneCycle
from keras_nnperf.optimizers.gradient_hooks import gradient_hook_names
from keras_nnperf.transfer import DiscriminativeLearningRates, discriminative, layer_rates

LR = 0.05


def _data(seed=0, n=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.normal(size=(n, 1)).astype("float32")
    return x, y


def _model(optimizer, seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="body"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _numpy_adam(weights, x, y, steps, rates, weight_decay=0.0, b1=0.9, b2=0.999, eps=1e-7):
    """Keras's Adam on the linear net `(x W1 + b1) W2 + b2`, with one rate per variable."""
    weights = [w.astype("float64") for w in weights]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    n = len(x)
    for t in range(1, steps + 1):
        w1, c1, w2, c2 = weights
        hidden = x @ w1 + c1
        out = hidden @ w2 + c2
        d_out = 2.0 * (out - y) / n
        d_hidden = d_out @ w2.T
        grads = [x.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_out, d_out.sum(0)]
        for i, g in enumerate(grads):
            lr = rates[i](t - 1)
            weights[i] = weights[i] - weights[i] * weight_decay * lr
            m[i] += (g - m[i]) * (1 - b1)
            v[i] += (g * g - v[i]) * (1 - b2)
            alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            weights[i] = weights[i] - alpha * m[i] / (np.sqrt(v[i]) + eps)
    return weights


@pytest.mark.parametrize("weight_decay", [None, 0.1])
def test_matches_adam_with_a_rate_per_group(weight_decay):
    x, y = _data()
    optimizer = (
        keras.optimizers.Adam(LR)
        if weight_decay is None
        else keras.optimizers.AdamW(LR, weight_decay=weight_decay)
    )
    model = _model(optimizer)
    start = [w.copy() for w in model.get_weights()]
    model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=5,
        shuffle=False,
        verbose=0,
        callbacks=[DiscriminativeLearningRates(["body"], multipliers=[0.1])],
    )
    rates = [lambda t: LR * 0.1] * 2 + [lambda t: LR] * 2
    expected = _numpy_adam(start, x, y, 5, rates, weight_decay or 0.0)
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("runtime", ["eager", "jit", "steps_per_execution"])
def test_matches_reference_under_each_runtime(runtime):
    x, y = _data()
    model = _model(keras.optimizers.Adam(LR))
    model.compile(
        keras.optimizers.Adam(LR),
        "mse",
        jit_compile=runtime == "jit",
        run_eagerly=runtime == "eager",
        steps_per_execution=3 if runtime == "steps_per_execution" else 1,
    )
    start = [w.copy() for w in model.get_weights()]
    model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=6,
        shuffle=False,
        verbose=0,
        callbacks=[DiscriminativeLearningRates(["body"], multipliers=[0.2])],
    )
    rates = [lambda t: LR * 0.2] * 2 + [lambda t: LR] * 2
    expected = _numpy_adam(start, x, y, 6, rates)
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


def test_loss_scale_optimizer_freezes_and_scales():
    x, y = _data()
    model = _model(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(LR)))
    start = [w.copy() for w in model.get_weights()]
    model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=4,
        shuffle=False,
        verbose=0,
        callbacks=[DiscriminativeLearningRates(["body"], multipliers=[0.5])],
    )
    rates = [lambda t: LR * 0.5] * 2 + [lambda t: LR] * 2
    expected = _numpy_adam(start, x, y, 4, rates)
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


def test_layer_rates_builds_a_fresh_loss_scale_optimizer_once():
    x, y = _data()
    model = _model(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(LR)))
    with layer_rates(model, ["body"], [0.0]):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    inner = model.optimizer.inner_optimizer
    # Adam's two slots per trainable variable, its step counter and rate: nothing built twice.
    assert len(inner.variables) == 2 * len(model.trainable_variables) + 2


def test_multiplier_follows_a_schedule():
    x, y = _data()
    schedule = keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=1, decay_rate=0.5)
    model = _model(keras.optimizers.Adam(schedule))
    start = [w.copy() for w in model.get_weights()]
    model.fit(
        x,
        y,
        batch_size=len(x),
        epochs=4,
        shuffle=False,
        verbose=0,
        callbacks=[DiscriminativeLearningRates(["body"], multipliers=[0.3])],
    )
    rates = [lambda t: 0.3 * LR * 0.5**t] * 2 + [lambda t: LR * 0.5**t] * 2
    expected = _numpy_adam(start, x, y, 4, rates)
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


def test_multiplier_one_is_the_plain_optimizer():
    x, y = _data()
    plain = _model(keras.optimizers.SGD(LR, momentum=0.9))
    grouped = _model(keras.optimizers.SGD(LR, momentum=0.9))
    plain.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    grouped.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[DiscriminativeLearningRates(["body"], multipliers=[1.0])],
    )
    for got, want in zip(grouped.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_zero_freezes_weights_and_slots_bit_for_bit():
    x, y = _data()
    model = _model(keras.optimizers.SGD(LR, momentum=0.9, weight_decay=0.01))
    # Velocity already non-zero: a zero rate alone would still move the weights.
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    body = model.get_layer("body")
    before = [w.copy() for w in body.get_weights()]
    slots_before = [np.array(v) for v in model.optimizer.variables]
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[DiscriminativeLearningRates(["body"], multipliers=[0.0])],
    )
    for got, want in zip(body.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    slots = {id(v): np.array(v) for v in model.optimizer.variables}
    body_slots = [
        v
        for v in model.optimizer.variables
        if "body" in v.path and v.path.split("/")[-1] not in ("iteration", "learning_rate")
    ]
    assert body_slots, [v.path for v in model.optimizer.variables]
    for variable in body_slots:
        index = [id(v) for v in model.optimizer.variables].index(id(variable))
        np.testing.assert_array_equal(slots[id(variable)], slots_before[index])
    assert not np.allclose(model.get_layer("head").get_weights()[0], 0.0)


def test_composes_with_one_cycle_and_leaves_nothing_behind(tmp_path):
    x, y = _data()
    model = _model(keras.optimizers.Adam(LR))
    variables_before = len(model.optimizer.variables)
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[
            OneCycle(max_lr=0.01),
            DiscriminativeLearningRates(["body"], multipliers=[0.25]),
        ],
    )
    assert history.history["learning_rate_multipliers"][-1] == [0.25]
    assert gradient_hook_names(model.optimizer) == []
    # Only Adam's own slots were added by building it; none of ours stayed.
    assert not [v for v in model.optimizer.variables if "multiplier" in v.path]
    assert len(model.optimizer.variables) >= variables_before
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # A plain fit afterwards trains the body at the full rate again.
    body_before = model.get_layer("body").get_weights()[0].copy()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("body").get_weights()[0], body_before)


def test_layer_rates_context_and_warning_filter_removed():
    x, y = _data()
    model = _model(keras.optimizers.Adam(LR))
    body = model.get_layer("body")
    before = body.get_weights()[0].copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with layer_rates(model, ["body"], [0.0]):
            model.fit(x, y, batch_size=8, epochs=2, verbose=0)
            model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not [w for w in caught if "Gradients do not exist" in str(w.message)]
    np.testing.assert_array_equal(body.get_weights()[0], before)
    assert not any(
        getattr(f[1], "pattern", None) == discriminative._MISSING_GRADIENTS
        for f in warnings.filters
    )


class _Boom(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("boom")


def test_an_interrupted_fit_leaves_nothing_for_the_next_one():
    x, y = _data()
    model = _model(keras.optimizers.Adam(LR))
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(
            x,
            y,
            epochs=2,
            verbose=0,
            callbacks=[DiscriminativeLearningRates(["body"], multipliers=[0.0]), _Boom()],
        )
    body_before = model.get_layer("body").get_weights()[0].copy()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert gradient_hook_names(model.optimizer) == []
    assert not np.allclose(model.get_layer("body").get_weights()[0], body_before)


def test_set_multipliers_unfreezes_without_losing_state():
    x, y = _data()
    model = _model(keras.optimizers.Adam(LR))
    with layer_rates(model, ["body"], [0.0]) as rates:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        before = model.get_layer("body").get_weights()[0].copy()
        rates.set_multipliers([0.5])
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("body").get_weights()[0], before)


def test_private_keras_helpers_still_exist():
    optimizer = keras.optimizers.AdamW(0.1, clipvalue=0.5)
    variable = keras.Variable(np.ones((2,), "float32"))
    optimizer.build([variable])
    clipped = discriminative._clip(optimizer, keras.ops.convert_to_tensor([2.0, -0.1]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clipped), [0.5, -0.1])
    assert discriminative._uses_weight_decay(optimizer, variable) is True


def test_config_registry_and_deepcopy():
    callback = DiscriminativeLearningRates([["a", "b"], "c"], factor=2.0)
    assert callback.multipliers == [0.25, 0.5]
    assert callback.get_config() == dict(groups=[["a", "b"], ["c"]], multipliers=None, factor=2.0)
    assert DiscriminativeLearningRates(**callback.get_config()).multipliers == [0.25, 0.5]
    assert registry.get_callback("discriminative_learning_rates", groups=["a"]).groups == [["a"]]
    assert copy.deepcopy(callback).get_config() == callback.get_config()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(groups=[]),
        dict(groups="body"),
        dict(groups=[["a"], ["a"]]),
        dict(groups=[[]]),
        dict(groups=["a"], multipliers=[-1.0]),
        dict(groups=["a"], multipliers=[float("nan")]),
        dict(groups=["a"], multipliers=[True]),
        dict(groups=["a"], multipliers=[1.0, 2.0]),
        dict(groups=["a"], factor=0.5),
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="Argument|one group"):
        DiscriminativeLearningRates(**kwargs)


def test_bad_groups_in_fit():
    x, y = _data()
    model = _model(keras.optimizers.Adam(LR))
    with pytest.raises(ValueError, match="not in the model"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[DiscriminativeLearningRates(["nope"])])
    with pytest.raises(ValueError, match="outside the groups"):
        model.fit(
            x, y, epochs=1, verbose=0, callbacks=[DiscriminativeLearningRates(["body", "head"])]
        )
    clipped = _model(keras.optimizers.Adam(LR, global_clipnorm=1.0))
    with pytest.raises(ValueError, match="global_clipnorm"):
        clipped.fit(x, y, epochs=1, verbose=0, callbacks=[DiscriminativeLearningRates(["body"])])
    # Nothing was left installed by the failed fits.
    model.fit(x, y, epochs=1, verbose=0)
