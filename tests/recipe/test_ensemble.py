import keras
import numpy as np
import pytest

from keras_nnperf.recipe.ensemble import average_outputs, members_of
from keras_nnperf.recipe.model import build_model


def _members(n, task="multiclass", classes=3, width=5):
    return [build_model(width, task, classes, seed=s) for s in range(n)]


@pytest.mark.parametrize(
    "task, classes", [("multiclass", 3), ("binary", None), ("regression", None)]
)
def test_the_output_is_the_mean_of_the_members_outputs(task, classes):
    members = _members(3, task, classes)
    x = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    alone = [m.predict(x, verbose=0) for m in members]
    model = average_outputs(members)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.mean(alone, axis=0), atol=1e-6)
    assert [m.name for m in members_of(model)] == ["member_1", "member_2", "member_3"]
    if task == "multiclass":  # a mean of distributions is a distribution
        np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, atol=1e-5)


def test_it_saves_and_loads_with_no_custom_objects(tmp_path):
    members = _members(2)
    x = np.random.default_rng(1).normal(size=(8, 5)).astype("float32")
    model = average_outputs(members)
    path = str(tmp_path / "ensemble.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert len(members_of(loaded)) == 2


def test_the_members_share_their_weights_with_the_ensemble():
    members = _members(2)
    model = average_outputs(members)
    x = np.ones((2, 5), "float32")
    before = model.predict(x, verbose=0)
    kernel = members[0].get_layer("output").kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    assert not np.allclose(model.predict(x, verbose=0), before)


def test_one_member_is_returned_as_it_is_and_a_plain_model_has_itself_as_member():
    (single,) = _members(1)
    assert average_outputs([single]) is single
    assert average_outputs(single) is single
    assert members_of(single) == [single]


def test_invalid_members_are_refused():
    with pytest.raises(ValueError, match="members"):
        average_outputs([])
    with pytest.raises(ValueError, match="members"):
        average_outputs([_members(1)[0], "not a model"])
    with pytest.raises(ValueError, match="members"):
        average_outputs([build_model(5, "binary"), build_model(6, "binary")])
    with pytest.raises(ValueError, match="members"):
        average_outputs([build_model(5, "binary"), build_model(5, "multiclass", 3)])
