import math

import keras
import keras_tuner as kt
import numpy as np
import pytest

from keras_nnperf.callbacks.early_stopping import EarlyStopping
from keras_nnperf.callbacks.one_cycle import OneCycle
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler
from keras_nnperf.schedules.warmup import warmup_cosine
from keras_nnperf.tuning.recipe import (
    LR_SCHEDULES,
    OPTIMIZERS,
    RECIPE_HYPERPARAMETERS,
    RecipeHyperModel,
    TrainingRecipe,
    _steps_per_epoch,
    build_training_state,
    objective_metrics,
)


class TinyRegression(RecipeHyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        return self.compile_with_recipe(hp, model, "mse", ["mae"])


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def test_recipe_declares_exactly_its_hyperparameters():
    hp = kt.HyperParameters()
    TinyRegression().build(hp)
    assert {p.name for p in hp.space} == set(RECIPE_HYPERPARAMETERS)


EXPECTED_OPTIMIZER = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
    "lamb": keras.optimizers.Lamb,
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_is_built_with_its_hyperparameters(name):
    hp = kt.HyperParameters()
    hp.Fixed("optimizer", name)
    hp.Fixed("learning_rate", 0.02)
    hp.Fixed("clip_gradients", True)
    hp.Fixed("global_clipnorm", 5.0)
    model = TinyRegression().build(hp)
    optimizer = model.optimizer
    # Not `type(...) is`: on PyTorch Keras builds a backend subclass of the same name
    # (keras.src.backend.torch.optimizers). The class name tells Adam from its subclass AdamW.
    assert isinstance(optimizer, EXPECTED_OPTIMIZER[name])
    assert keras.optimizers.serialize(optimizer)["class_name"] == EXPECTED_OPTIMIZER[name].__name__
    assert float(optimizer.learning_rate) == pytest.approx(0.02)
    assert optimizer.global_clipnorm == 5.0
    assert ("momentum" in hp.values) == (name == "sgd")
    assert ("weight_decay" in hp.values) == (name in ("adamw", "lamb"))
    if name in ("adamw", "lamb"):
        assert optimizer.weight_decay == pytest.approx(1e-4)


def test_steps_per_epoch_follows_keras_validation_split():
    x = np.zeros((101, 3))
    # Keras keeps floor(101 * 0.8) = 80 training rows: 3 batches of 32.
    assert _steps_per_epoch(x, 32, 0.2) == math.ceil(math.floor(101 * 0.8) / 32) == 3
    assert _steps_per_epoch({"a": x, "b": x}, 50, 0.0) == 3


@pytest.mark.parametrize("schedule", LR_SCHEDULES)
def test_recipe_callbacks_install_each_schedule(schedule):
    hp = kt.HyperParameters()
    hp.Fixed("lr_schedule", schedule)
    hp.Fixed("learning_rate", 0.01)
    hp.Fixed("early_stopping_patience", 3)
    model = TinyRegression().build(hp)
    callbacks = TinyRegression().recipe_callbacks(hp.values, model, total_steps=100)
    stopping = [c for c in callbacks if isinstance(c, EarlyStopping)]
    assert len(stopping) == 1 and stopping[0].patience == 3 and stopping[0].restore_best_weights
    kinds = {type(c) for c in callbacks}
    assert (OneCycle in kinds) == (schedule == "one_cycle")
    assert (PerformanceScheduler in kinds) == (schedule == "performance")
    if schedule == "warmup_cosine":
        # warmup_fraction 0.05 of 100 steps: the exact warm-up-then-cosine curve.
        expected = warmup_cosine(0.01, 100, 5)
        for step in (0, 3, 5, 50, 99):
            assert float(model.optimizer._learning_rate(step)) == pytest.approx(
                float(expected(step)), rel=1e-6
            )


def test_fit_uses_the_batch_size_hyperparameter_and_the_whole_run_for_the_schedule():
    x, y = _data(40)
    hp = kt.HyperParameters()
    hp.Fixed("batch_size", 16)
    hp.Fixed("lr_schedule", "warmup_cosine")
    hypermodel = TinyRegression()
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, x, y, epochs=2, validation_split=0.25, verbose=0)
    # 30 training rows / 16 = 2 steps per epoch, 2 epochs: 4 updates, the last at the floor.
    assert int(model.optimizer.iterations) == 4
    assert float(model.optimizer._learning_rate(4)) == pytest.approx(0.0, abs=1e-9)


def test_fit_rejects_batch_size():
    x, y = _data()
    hp = kt.HyperParameters()
    hypermodel = TinyRegression()
    model = hypermodel.build(hp)
    with pytest.raises(ValueError, match="batch_size"):
        hypermodel.fit(hp, model, x, y, batch_size=8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizers": ["adam", "adagrad"]}, "adagrad"),
        ({"optimizers": "adam"}, "optimizers"),
        ({"lr_schedules": []}, "lr_schedules"),
        ({"lr_schedules": ["cosine"]}, "cosine"),
        ({"batch_sizes": [32, 0]}, "batch_sizes"),
        ({"jit_compile": "yes"}, "jit_compile"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TinyRegression(**kwargs)


def test_restricting_choices_changes_only_the_values():
    hp = kt.HyperParameters()
    TinyRegression(optimizers=["sgd"], lr_schedules=["constant"], batch_sizes=[8]).build(hp)
    assert hp.values["optimizer"] == "sgd" and hp.values["batch_size"] == 8
    assert {p.name for p in hp.space} == set(RECIPE_HYPERPARAMETERS)


def test_training_recipe_reads_only_the_active_branch():
    recipe = TrainingRecipe.from_values(
        {
            "optimizer": "sgd",
            "learning_rate": 0.05,
            "momentum": 0.8,
            "nesterov": False,
            "weight_decay": 0.3,  # inactive for SGD: ignored
            "clip_gradients": True,
            "global_clipnorm": 5.0,
            "lr_schedule": "one_cycle",
            "one_cycle_pct_start": 0.3,
            "batch_size": 64,
            "early_stopping_patience": 7,
        },
        epochs=12,
        best_epoch=9,
    )
    assert (recipe.optimizer, recipe.schedule, recipe.batch_size) == ("sgd", "one_cycle", 64)
    assert (recipe.epochs, recipe.best_epoch, recipe.early_stopping_patience) == (12, 9, 7)
    assert recipe.options == {
        "momentum": 0.8,
        "nesterov": False,
        "global_clipnorm": 5.0,
        "one_cycle_pct_start": 0.3,
    }
    optimizer = recipe.make_optimizer()
    assert isinstance(optimizer, keras.optimizers.SGD) and not optimizer.nesterov
    assert optimizer.global_clipnorm == 5.0
    assert float(optimizer.learning_rate) == pytest.approx(0.05)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_training_recipe_builds_the_optimizer_the_template_compiles(name):
    hp = kt.HyperParameters()
    hp.Fixed("optimizer", name)
    model = TinyRegression().build(hp)
    rebuilt = TrainingRecipe.from_values(hp.values).make_optimizer()
    assert rebuilt.get_config() == model.optimizer.get_config() | {"name": rebuilt.name}


def test_training_recipe_rejects_unknown_names():
    with pytest.raises(ValueError, match="optimizer"):
        TrainingRecipe.from_values({"optimizer": "adagrad"})
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainingRecipe.from_values({"lr_schedule": "step"})


# --- per-trial overhead: one trace, only the objective's metrics ------------------------------


class CountedTraces(keras.Model):
    """A model whose Python `train_step` counts how often it runs (once per trace when traced)."""

    traces = 0

    def train_step(self, *args, **kwargs):
        type(self).traces += 1
        return super().train_step(*args, **kwargs)


def _counted_model():
    inputs = keras.Input((3,))
    model = CountedTraces(inputs, keras.layers.Dense(1)(inputs), name="counted")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    CountedTraces.traces = 0
    return model


@pytest.mark.tensorflow_only("the second trace is TensorFlow's tf.function variable creation")
@pytest.mark.parametrize("as_dataset", [False, True])
def test_build_training_state_leaves_one_trace_of_the_train_step(as_dataset):
    import tensorflow as tf

    x, y = _data(40)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16) if as_dataset else None
    model = _counted_model()
    model.fit(
        data if as_dataset else x,
        None if as_dataset else y,
        batch_size=None if as_dataset else 16,
        epochs=2,
        verbose=0,
    )
    assert CountedTraces.traces == 2  # Keras alone: traced again once the optimizer was built
    model = _counted_model()
    assert build_training_state(model, data if as_dataset else x, None if as_dataset else y)
    assert model.optimizer.built
    model.fit(
        data if as_dataset else x,
        None if as_dataset else y,
        batch_size=None if as_dataset else 16,
        epochs=2,
        verbose=0,
    )
    assert CountedTraces.traces == 1


def test_build_training_state_reads_a_keras_method_that_exists():
    # Fails if Keras renames the private method build_training_state isolates.
    assert callable(getattr(keras.Model, "_symbolic_build", None))


def test_build_training_state_skips_inputs_without_shapes():
    model = _counted_model()
    assert not build_training_state(model, iter([]), None)
    if keras.backend.backend() != "tensorflow":
        x, y = _data(8)
        assert not build_training_state(model, x, y)  # Keras builds before tracing there


def test_recipe_fit_trains_the_same_with_the_early_build():
    # The early build must not change training: the same seed gives the same weights as a plain
    # fit with the same optimizer, batch size and epochs (constant schedule).
    x, y = _data(40)
    hp = kt.HyperParameters()
    hp.Fixed("lr_schedule", "constant")
    hp.Fixed("batch_size", 16)
    hp.Fixed("early_stopping_patience", 10)
    template = TinyRegression()
    keras.utils.set_random_seed(0)
    model = template.build(hp)
    template.fit(hp, model, x, y, epochs=3, validation_data=(x, y), verbose=0, shuffle=False)
    keras.utils.set_random_seed(0)
    plain = template.build(hp)
    plain.fit(x, y, epochs=3, batch_size=16, validation_data=(x, y), verbose=0, shuffle=False)
    for got, want in zip(model.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_objective_metrics_keeps_what_the_objective_reads():
    auc = keras.metrics.AUC(name="auc")
    assert objective_metrics(["accuracy", auc], ("val_accuracy",)) == ["accuracy"]
    assert objective_metrics(["accuracy", auc], ("val_auc",)) == [auc]
    assert objective_metrics(["accuracy", auc], ("val_loss",)) == []
    assert objective_metrics(["accuracy", auc], ("accuracy", "val_auc")) == ["accuracy", auc]
    # A name no metric carries (Keras may derive it differently): keep everything.
    assert objective_metrics(["acc", auc], ("val_accuracy",)) == ["acc", auc]
    assert objective_metrics(None, ("val_accuracy",)) is None
    per_output = {"out": ["accuracy"]}
    assert objective_metrics(per_output, ("val_accuracy",)) is per_output


def test_search_metrics_compiles_only_the_objectives_metrics():
    class Binary(RecipeHyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
            metrics = ["accuracy", keras.metrics.AUC(name="auc")]
            return self.compile_with_recipe(hp, model, "binary_crossentropy", metrics)

    template = Binary()
    x, y = _data(16)
    labels = (y > 0).astype("float32")
    full = template.build(kt.HyperParameters())
    assert set(full.evaluate(x, labels, verbose=0, return_dict=True)) == {"loss", "accuracy", "auc"}
    template.search_metrics = ("val_accuracy",)
    lean = template.build(kt.HyperParameters())
    assert set(lean.evaluate(x, labels, verbose=0, return_dict=True)) == {"loss", "accuracy"}
