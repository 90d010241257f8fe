import keras
import keras_tuner as kt
import numpy as np
import pytest

from keras_nnperf.tuning.hyper_cnn import HyperCNN
from keras_nnperf.tuning.hyper_mlp import HyperMLP
from keras_nnperf.tuning.search import search
from keras_nnperf.tuning.tuner import (
    DefaultsFirstOracle,
    KeepBestEpoch,
    RungStopping,
    checkpoint_path,
    rung_epochs,
)

ACCURACY = kt.Objective("val_accuracy", "max")


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize(
    "epochs, rungs",
    [
        (1, []),
        (2, []),
        (3, [2]),
        (10, [2, 6]),
        (20, [2, 6, 18]),
        (50, [2, 6, 18]),
        (100, [4, 12, 36]),
    ],
)
def test_rung_epochs(epochs, rungs):
    assert rung_epochs(epochs) == rungs


def _rung(record, value, epoch=0):
    callback = RungStopping(ACCURACY, record, rungs=[1, 3])
    callback.set_model(_model())
    callback.on_epoch_end(epoch, {"val_accuracy": value})
    return callback


def test_rung_stopping_keeps_the_best_third_and_stops_the_rest():
    record = {}
    # Fewer than eta = 3 trials at the rung: no decision yet.
    assert not _rung(record, 0.5).model.stop_training
    assert not _rung(record, 0.9).model.stop_training
    # Third trial: ceil(3 / 3) = 1 kept, the best (0.9); 0.7 is below it and stops.
    third = _rung(record, 0.7)
    assert third.model.stop_training and third.stopped_at == 1
    # Fourth: ceil(4 / 3) = 2 kept, 0.9 and 0.8: 0.8 goes on; a tie with the cutoff goes on too.
    assert not _rung(record, 0.8).model.stop_training
    assert not _rung(record, 0.8).model.stop_training
    assert record[1] == [0.5, 0.9, 0.7, 0.8, 0.8]
    # Not a rung epoch (epoch index 1 is epoch 2): nothing recorded, never stopped.
    assert not _rung(record, 0.0, epoch=1).model.stop_training
    assert 2 not in record


def test_rung_stopping_minimizes_for_a_loss_objective():
    record = {1: [0.2, 0.3]}
    callback = RungStopping(kt.Objective("val_loss", "min"), record, rungs=[1])
    callback.set_model(_model())
    callback.on_epoch_end(0, {"val_loss": 0.25})
    assert callback.model.stop_training  # ceil(3 / 3) = 1 kept: 0.2


@pytest.mark.parametrize(
    "incumbent, stops", [(None, True), (0.6, True), (0.5, False), (0.4, False)]
)
def test_a_trial_on_the_incumbents_curve_goes_on(incumbent, stops):
    # 0.5 is outside the best third of [0.9, 0.8, 0.7, 0.5] (ceil(4 / 3) = 2 kept: 0.9, 0.8);
    # it goes on only if the best completed trial had at most 0.5 at the same rung epoch.
    record = {1: [0.9, 0.8, 0.7]}
    asked = []

    def at(rung):
        asked.append(rung)
        return incumbent

    callback = RungStopping(ACCURACY, record, rungs=[1], incumbent=at)
    callback.set_model(_model())
    callback.on_epoch_end(0, {"val_accuracy": 0.5})
    assert bool(callback.model.stop_training) == stops
    assert callback.stopped_at == (1 if stops else None)
    assert asked == [1] and callback.curve == {1: 0.5}


def test_the_incumbents_curve_is_read_from_the_search(tmp_path):
    result = _scripted_search(tmp_path, max_trials=4)
    tuner = result.tuner
    best = result.best_trial_id
    # Every trial that reached rung 2 recorded its best value there; the incumbent's is its score.
    assert tuner._incumbent_at(2) == pytest.approx(result.best_trial["score"])
    assert tuner._rung_curves[best] == {2: pytest.approx(result.best_trial["score"])}
    assert tuner._incumbent_at(1) is None  # not a rung


def test_keep_best_epoch_writes_the_best_epochs_weights_once(tmp_path):
    path = str(tmp_path / "best.weights.h5")
    model = _model()
    keeper = KeepBestEpoch(ACCURACY, path)
    keeper.set_model(model)
    weights = []
    for epoch, accuracy in enumerate([0.5, 0.8, 0.6]):
        model.set_weights([np.full((2, 1), float(epoch), "float32"), np.zeros(1, "float32")])
        weights.append(model.get_weights())
        keeper.on_epoch_end(epoch, {"val_accuracy": accuracy})
        assert not (tmp_path / "best.weights.h5").exists()  # nothing written during training
    keeper.on_train_end()
    # The model keeps its last weights; the file holds epoch 1's (accuracy 0.8).
    np.testing.assert_array_equal(model.get_weights()[0], weights[2][0])
    loaded = _model()
    loaded.load_weights(path)
    np.testing.assert_array_equal(loaded.get_weights()[0], weights[1][0])


def test_keep_best_epoch_writes_nothing_for_a_trial_that_will_not_be_kept(tmp_path):
    path = tmp_path / "best.weights.h5"
    asked = []
    keeper = KeepBestEpoch(ACCURACY, str(path), keep=lambda value: asked.append(value) or False)
    keeper.set_model(_model())
    for epoch, accuracy in enumerate([0.7, 0.6]):
        keeper.on_epoch_end(epoch, {"val_accuracy": accuracy})
    keeper.on_train_end()
    assert asked == [0.7] and not path.exists() and not keeper.written
    keeper = KeepBestEpoch(ACCURACY, str(path), keep=lambda value: True)
    keeper.set_model(_model())
    keeper.on_epoch_end(0, {"val_accuracy": 0.7})
    keeper.on_train_end()
    assert path.exists() and keeper.written


@pytest.mark.parametrize("direction", ["max", "min"])
def test_a_trial_is_kept_unless_strictly_worse_than_the_kth_best(direction):
    from types import SimpleNamespace

    from keras_nnperf.tuning.tuner import TrialCare

    objective = kt.Objective("val_accuracy" if direction == "max" else "val_loss", direction)
    sign = 1 if direction == "max" else -1
    scores = [sign * 0.9, sign * 0.8]  # best first, as get_best_trials returns them
    care = TrialCare()
    care.keep_checkpoints = 2
    care.oracle = SimpleNamespace(
        objective=objective,
        get_best_trials=lambda k: [SimpleNamespace(score=s) for s in scores[:k]],
    )
    assert care._could_be_kept(sign * 0.85) and care._could_be_kept(sign * 0.8)  # ties kept
    assert not care._could_be_kept(sign * 0.7)
    care.keep_checkpoints = 3  # fewer ended trials than kept checkpoints: always written
    assert care._could_be_kept(sign * 0.1)


def test_checkpoint_path_is_where_keras_tuner_reads_the_best_model(tmp_path):
    # Fails if keras-tuner renames the private method we isolate in checkpoint_path.
    tuner = kt.RandomSearch(
        lambda hp: _model(), objective="loss", max_trials=1, directory=tmp_path, project_name="p"
    )
    assert checkpoint_path(tuner, "0").startswith(tuner.get_trial_dir("0"))


@pytest.mark.parametrize(
    "template",
    [
        HyperMLP(num_features=4, max_layers=3),
        HyperCNN((8, 8, 1), 10, max_blocks=3, augmentation=True),
    ],
    ids=["HyperMLP", "HyperCNN"],
)
def test_declared_space_is_the_space_keras_tuner_explores(tmp_path, template):
    # keras-tuner discovers the space by building the model once per conditional branch; our
    # templates declare it without building. Both must give the same hyperparameters.
    explored = kt.RandomSearch(
        template, objective="val_accuracy", max_trials=1, directory=tmp_path, project_name="kt"
    ).oracle.hyperparameters
    declared = kt.HyperParameters()
    template.declare_hyperparameters(declared)

    def describe(hps):
        return {p.name: (p.get_config(), [c.get_config() for c in p.conditions]) for p in hps.space}

    assert describe(declared) == describe(explored)


def test_first_trial_of_the_default_search_is_the_templates_defaults(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    template = HyperMLP(num_features=4, max_layers=2, batch_sizes=[32])
    result = search(template, x, y, max_trials=2, epochs=1, directory=tmp_path, verbose=0)
    defaults = kt.HyperParameters()
    template.declare_hyperparameters(defaults)
    assert result.results[0]["hyperparameters"] == defaults.values
    assert result.results[1]["hyperparameters"] != defaults.values
    assert isinstance(result.tuner.oracle, DefaultsFirstOracle)
    assert result.tuner.rungs == ()  # one epoch: nothing to halve


class ScriptedQuality(HyperMLP):
    """A HyperMLP whose validation accuracy is set by a `quality` hyperparameter."""

    def declare_hyperparameters(self, hp):
        super().declare_hyperparameters(hp)
        hp.Choice("quality", [0.9, 0.1, 0.2, 0.3, 0.4, 0.5], default=0.9)

    def build(self, hp):
        hp.Choice("quality", [0.9, 0.1, 0.2, 0.3, 0.4, 0.5], default=0.9)
        return super().build(hp)

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        quality = hp.values["quality"]

        class Script(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs["val_accuracy"] = quality

        return super().fit(hp, model, *args, callbacks=[Script(), *callbacks], **kwargs)


def _scripted_search(tmp_path, max_trials):
    """A 3-epoch search of `ScriptedQuality` trials on a tiny random binary table."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    template = ScriptedQuality(num_features=4, max_layers=1, lr_schedules=["constant"])
    return search(
        template,
        x,
        y,
        validation_split=0.25,
        max_trials=max_trials,
        epochs=3,
        directory=tmp_path,
        seed=0,
        verbose=0,
    )


def test_unpromising_trials_stop_at_a_rung(tmp_path):
    result = _scripted_search(tmp_path, max_trials=5)
    assert result.tuner.rungs == (2,)
    scores = [r["score"] for r in result.completed]
    assert scores[0] == pytest.approx(0.9)  # the defaults come first
    # Replay the rule: from the third trial at the rung on, a trial goes on only if it is among
    # the best ceil(n / 3) of the n trials that reached epoch 2.
    seen = []
    for r in result.completed:
        seen.append(r["score"])
        cutoff = sorted(seen, reverse=True)[-(-len(seen) // 3) - 1]
        expected = 2 if len(seen) >= 3 and r["score"] < cutoff else None
        assert r["stopped_at"] == expected, (r, seen)
    assert any(r["stopped_at"] == 2 for r in result.completed), scores


def _oracle(tmp_path, template, seed=0, **kwargs):
    oracle = DefaultsFirstOracle(objective=ACCURACY, max_trials=50, seed=seed, **kwargs)
    oracle._set_project_dir(str(tmp_path), "oracle")
    hp = kt.HyperParameters()
    template.declare_hyperparameters(hp)
    oracle.update_space(hp)
    return oracle


def _active(oracle, values):
    hps = kt.HyperParameters()
    names = set()
    for hp in oracle.hyperparameters.space:
        hps.merge([hp])
        hps.values[hp.name] = values.get(hp.name, hp.default)
        if hps.is_active(hp):
            names.add(hp.name)
    return names


def test_local_move_changes_one_or_two_hyperparameters_and_nothing_pinned(tmp_path):
    pinned = kt.HyperParameters()
    pinned.Fixed("batch_size", 64)
    oracle = DefaultsFirstOracle(objective=ACCURACY, max_trials=50, seed=0, hyperparameters=pinned)
    oracle._set_project_dir(str(tmp_path), "oracle")
    hp = kt.HyperParameters()
    HyperMLP(num_features=4).declare_hyperparameters(hp)
    oracle.update_space(hp)
    parent = oracle.get_space()
    parent.ensure_active_values()
    parent = dict(parent.values)
    space = {hp.name: hp for hp in oracle.hyperparameters.space}
    counts = set()
    for _ in range(200):
        moved = oracle.local_move(parent)
        assert moved["batch_size"] == 64
        assert set(moved) == _active(oracle, moved)  # exactly the active hyperparameters
        # A hyperparameter that became active (momentum under SGD) starts at its default.
        changed = {k for k in moved if k in parent and moved[k] != parent[k]}
        counts.add(len(changed))
        new = set(moved) - set(parent)
        for name in new:
            assert moved[name] == space[name].default
    # One or two moved; a move of the parent of a conditional hyperparameter counts once.
    assert counts == {1, 2}


def test_numeric_moves_are_local_in_the_unit_cube(tmp_path):
    oracle = _oracle(tmp_path, HyperMLP(num_features=4))
    space = {hp.name: hp for hp in oracle.hyperparameters.space}
    rate = space["learning_rate"]
    steps = []
    for _ in range(300):
        moved = oracle.local_move({**oracle.get_space().values, "learning_rate": 1e-3})
        if moved["learning_rate"] != 1e-3:
            steps.append(rate.value_to_prob(moved["learning_rate"]) - rate.value_to_prob(1e-3))
    # sampling="log": u = log(lr / 1e-4) / log(1e3); a move is N(0, 0.15^2) in u, clipped.
    assert len(steps) > 10
    assert abs(np.std(steps) - 0.15) < 0.05
    assert abs(np.mean(steps)) < 0.06


def test_trials_alternate_random_draws_and_moves_around_the_best(tmp_path):
    template = HyperMLP(num_features=4)
    oracle = _oracle(tmp_path, template)
    scores = [0.5, 0.9, 0.7, 0.6, 0.95, 0.8, 0.4, 0.3]
    best_values = None
    for i, score in enumerate(scores):
        trial = oracle.create_trial(f"tuner{i}")
        values = dict(trial.hyperparameters.values)
        if i >= 2 and i % 2 == 0:
            parent = best_values
            differing = {k for k in values if k in parent and values[k] != parent[k]}
            assert 1 <= len(differing) <= 2, (i, differing)
        elif i > 0:
            # A random draw: far from the best in most of its hyperparameters.
            differing = {k for k in values if k in best_values and values[k] != best_values[k]}
            assert len(differing) > 4, (i, differing)
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        best = oracle.get_best_trials(1)[0]
        best_values = dict(best.hyperparameters.values)


def test_local_search_can_be_turned_off(tmp_path):
    oracle = _oracle(tmp_path, HyperMLP(num_features=4), local_search=False)
    values = []
    for i, score in enumerate([0.9, 0.1, 0.2]):
        trial = oracle.create_trial(f"tuner{i}")
        values.append(dict(trial.hyperparameters.values))
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    differing = {k for k in values[2] if k in values[0] and values[2][k] != values[0][k]}
    assert len(differing) > 4


@pytest.mark.parametrize("scale", [0, -0.1, 1.5, float("nan"), True])
def test_mutation_scale_is_checked(scale):
    with pytest.raises(ValueError, match="mutation_scale"):
        DefaultsFirstOracle(objective=ACCURACY, mutation_scale=scale)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_local_search_must_be_a_bool(value):
    with pytest.raises(ValueError, match="local_search"):
        DefaultsFirstOracle(objective=ACCURACY, local_search=value)
