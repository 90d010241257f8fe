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
