import keras
import numpy as np
import pytest

from keras_nnperf.distillation import Distiller, distillation_loss, soft_targets

CE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.integers(0, 3, n)
    return x, y


def _mlp(units, seed, activation=None):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(units, "relu"),
            keras.layers.Dense(3, activation=activation),
        ]
    )


def _np_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _reference_loss(teacher_logits, student_logits, y, temperature, alpha, weights=None):
    """Hinton et al. 2015: alpha * CE(y, s) + (1 - alpha) * T^2 * KL(p_t^T || p_s^T), in NumPy."""
    weights = np.ones(len(y)) if weights is None else weights
    p = _np_softmax(student_logits.astype("float64"))
    hard = -np.log(p[np.arange(len(y)), y])
    pt = _np_softmax(teacher_logits / temperature)
    ps = _np_softmax(student_logits / temperature)
    kl = np.sum(pt * (np.log(pt) - np.log(ps)), axis=-1) * temperature**2
    # Keras's default reduction: the weighted sum over the batch size; the KL term: weighted mean.
    return alpha * np.sum(hard * weights) / len(y) + (1 - alpha) * np.sum(kl * weights) / np.sum(
        weights
    )


@pytest.mark.parametrize("temperature, alpha", [(4.0, 0.1), (1.0, 0.5), (10.0, 0.0)])
def test_loss_matches_hinton_et_al(temperature, alpha):
    x, y = _data()
    teacher, student = _mlp(16, 1), _mlp(4, 2)
    distiller = Distiller(teacher, student, temperature=temperature, alpha=alpha)
    distiller.compile("sgd", CE)
    logits_t = keras.ops.convert_to_numpy(teacher(x))
    logits_s = keras.ops.convert_to_numpy(student(x))
    want = _reference_loss(logits_t, logits_s, y, temperature, alpha)
    # `evaluate` runs the compiled test step, on every backend.
    got = distiller.evaluate(x, y, batch_size=len(x), verbose=0)
    assert got == pytest.approx(want, rel=1e-5)
    weights = np.linspace(0.5, 2.0, len(y)).astype("float32")
    want = _reference_loss(logits_t, logits_s, y, temperature, alpha, weights)
    got = distiller.evaluate(x, y, sample_weight=weights, batch_size=len(x), verbose=0)
    assert got == pytest.approx(want, rel=1e-5)


def test_distillation_loss_function():
    z = np.array([[1.0, 2.0, 3.0]], "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(distillation_loss(z, z, 3.0)), [0.0])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(soft_targets(z, 2.0)), _np_softmax(z / 2.0), rtol=1e-6
    )


def test_probability_outputs_give_the_same_loss():
    x, y = _data()
    teacher, student = _mlp(16, 1), _mlp(4, 2)
    with_logits = Distiller(teacher, student, temperature=3.0, alpha=0.3)
    with_logits.compile("sgd", CE)
    teacher_p, student_p = _mlp(16, 1, "softmax"), _mlp(4, 2, "softmax")
    with_p = Distiller(teacher_p, student_p, temperature=3.0, alpha=0.3, from_logits=False)
    with_p.compile("sgd", "sparse_categorical_crossentropy")
    a = with_logits.evaluate(x, y, batch_size=len(x), verbose=0)
    b = with_p.evaluate(x, y, batch_size=len(x), verbose=0)
    assert a == pytest.approx(b, rel=1e-4)


def test_fit_trains_only_the_student():
    x, y = _data()
    teacher, student = _mlp(16, 1), _mlp(4, 2)
    before_teacher = [np.array(w) for w in teacher.get_weights()]
    before_student = [np.array(w) for w in student.get_weights()]
    distiller = Distiller(teacher, student)
    assert not teacher.trainable
    distiller.compile(keras.optimizers.AdamW(0.01, weight_decay=0.1), CE, metrics=["accuracy"])
    history = distiller.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert len(distiller.trainable_variables) == len(student.trainable_variables)
    for a, b in zip(teacher.get_weights(), before_teacher, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.allclose(a, b) for a, b in zip(student.get_weights(), before_student, strict=True)
    )
    # The distiller's output is the student's, and the student works alone.
    np.testing.assert_allclose(
        distiller.predict(x, verbose=0), student.predict(x, verbose=0), rtol=1e-6
    )


def test_save_load_round_trip(tmp_path):
    x, y = _data()
    distiller = Distiller(_mlp(16, 1), _mlp(4, 2), temperature=2.5, alpha=0.2)
    distiller.compile(keras.optimizers.Adam(0.01), CE, metrics=["accuracy"])
    distiller.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "distiller.keras"
    distiller.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert isinstance(loaded, Distiller)
    assert (loaded.temperature, loaded.alpha, loaded.from_logits) == (2.5, 0.2, True)
    assert not loaded.teacher.trainable
    np.testing.assert_allclose(loaded.predict(x, verbose=0), distiller.predict(x, verbose=0))
    np.testing.assert_allclose(
        loaded.teacher.predict(x, verbose=0), distiller.teacher.predict(x, verbose=0)
    )
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(distiller.evaluate(x, y, verbose=0))
    assert len(loaded.optimizer.variables) == len(distiller.optimizer.variables)
    for a, b in zip(loaded.optimizer.variables, distiller.optimizer.variables, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # Training on from both gives the same student.
    for each in (distiller, loaded):
        each.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(distiller.student.get_weights(), loaded.student.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The student saved alone loads as a plain model.
    student_path = tmp_path / "student.keras"
    loaded.student.save(student_path)
    alone = keras.models.load_model(student_path)
    np.testing.assert_allclose(alone.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_config_round_trip():
    distiller = Distiller(_mlp(16, 1), _mlp(4, 2), np.float32(3.0), np.float64(0.25))
    config = distiller.get_config()
    assert config["temperature"] == 3.0 and type(config["temperature"]) is float
    again = Distiller.from_config(config)
    assert again.get_config()["alpha"] == 0.25
    assert keras.saving.get_registered_name(Distiller) == "keras_nnperf>Distiller"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"from_logits": 1}, "from_logits"),
        ({"teacher": "resnet"}, "teacher"),
        ({"student": None}, "student"),
    ],
)
def test_bad_arguments(kwargs, name):
    arguments = {"teacher": _mlp(16, 1), "student": _mlp(4, 2), **kwargs}
    with pytest.raises(ValueError, match=f"Argument {name} .*Received: {name}="):
        Distiller(**arguments)


def test_teacher_and_student_must_differ():
    model = _mlp(4, 1)
    with pytest.raises(ValueError, match="Argument student"):
        Distiller(model, model)


def test_alpha_one_trains_exactly_like_the_student_alone():
    x, y = _data()
    alone, student = _mlp(4, 2), _mlp(4, 2)
    alone.compile(keras.optimizers.Adam(0.01), CE)
    distiller = Distiller(_mlp(16, 1), student, alpha=1.0)
    distiller.compile(keras.optimizers.Adam(0.01), CE)
    for model in (alone, distiller):
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(alone.get_weights(), student.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_unlabeled_rows_learn_from_the_teacher_only():
    # Hinton et al.'s transfer set: rows with label -1 and a loss with `ignore_class=-1` add
    # only the soft term; the labels' loss is the mean over the labeled rows.
    x, y = _data()
    y = y.copy()
    unlabeled = np.arange(len(y)) % 3 == 0
    y[unlabeled] = -1
    teacher, student = _mlp(16, 1), _mlp(4, 2)
    distiller = Distiller(teacher, student, temperature=3.0, alpha=0.4)
    distiller.compile("sgd", keras.losses.SparseCategoricalCrossentropy(True, ignore_class=-1))
    logits_t = keras.ops.convert_to_numpy(teacher(x)).astype("float64")
    logits_s = keras.ops.convert_to_numpy(student(x)).astype("float64")
    labeled = ~unlabeled
    hard = -np.log(_np_softmax(logits_s)[labeled, y[labeled]]).mean()
    pt, ps = _np_softmax(logits_t / 3.0), _np_softmax(logits_s / 3.0)
    soft = (np.sum(pt * (np.log(pt) - np.log(ps)), axis=-1) * 9.0).mean()
    got = distiller.evaluate(x, y, batch_size=len(x), verbose=0)
    assert got == pytest.approx(0.4 * hard + 0.6 * soft, rel=1e-5)
    # A batch with no label at all: the labels' term is 0, not NaN.
    got = distiller.evaluate(x, np.full_like(y, -1), batch_size=len(x), verbose=0)
    assert got == pytest.approx(0.6 * soft, rel=1e-5)


def test_unlabeled_rows_train_like_pure_distillation_on_them():
    # On unlabeled rows only the loss is (1 - alpha) times the soft term: with SGD's rate divided
    # by (1 - alpha), any alpha trains the student that alpha=0 trains.
    x, _ = _data()
    students = []
    for alpha, y in ((0.7, np.full(len(x), -1)), (0.0, np.zeros(len(x), "int64"))):
        student = _mlp(4, 2)
        distiller = Distiller(_mlp(16, 1), student, temperature=2.0, alpha=alpha)
        loss = keras.losses.SparseCategoricalCrossentropy(True, ignore_class=-1)
        distiller.compile(keras.optimizers.SGD(0.1 / (1.0 - alpha)), loss)
        distiller.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        students.append(student)
    for a, b in zip(students[0].get_weights(), students[1].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
