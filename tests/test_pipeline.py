import os

import keras
import numpy as np
import pytest

from keras_nnperf import pipeline
from keras_nnperf.tabular import DataError, TabularData, TabularPreprocessor


@pytest.mark.parametrize(
    "task, classes, shape, loss",
    [
        ("binary", None, (None, 1), "binary_crossentropy"),
        ("multiclass", 4, (None, 4), "sparse_categorical_crossentropy"),
        ("regression", None, (None, 1), "mse"),
    ],
)
def test_build_model_matches_the_task(task, classes, shape, loss):
    model = pipeline.build_model(7, task, classes)
    assert model.output_shape == shape
    assert model.loss == loss
    assert isinstance(model.optimizer, keras.optimizers.AdamW)


def test_build_model_validates():
    with pytest.raises(ValueError, match="task"):
        pipeline.build_model(3, "ranking")
    with pytest.raises(ValueError, match="num_classes"):
        pipeline.build_model(3, "multiclass", 1)


def test_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.normal(size=200) + y, 1)  # rounded: ties must share ranks
    assert pipeline._auc(y, score) == pytest.approx(roc_auc_score(y, score))


def _data(task, y_val, classes=None, mean=None, std=None):
    pre = TabularPreprocessor("y", task, [], classes, mean, std)
    x = np.zeros((len(y_val), 2), "float32")
    return TabularData(x, y_val, x, y_val, pre)


class _Constant:
    def __init__(self, outputs):
        self.outputs = np.asarray(outputs, "float32")

    def predict(self, x, batch_size=None, verbose=0):
        return self.outputs


def test_validation_metrics_binary_and_regression():
    data = _data("binary", np.array([[0.0], [1.0], [1.0], [0.0]]), ["a", "b"])
    m = pipeline.validation_metrics(_Constant([[0.2], [0.9], [0.4], [0.1]]), data)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["auc"] == pytest.approx(1.0)
    expected = -np.mean(np.log([0.8, 0.9, 0.4, 0.9]))
    assert m["log_loss"] == pytest.approx(expected, rel=1e-5)

    data = _data("regression", np.array([[0.0], [1.0], [-1.0]]), mean=10.0, std=2.0)
    m = pipeline.validation_metrics(_Constant([[0.5], [1.0], [-1.0]]), data)
    assert m["mae"] == pytest.approx(1.0 / 3)  # |0.5 * 2| / 3 in original units
    assert m["rmse"] == pytest.approx(np.sqrt(1.0 / 3))
    assert m["r2"] == pytest.approx(1 - 1.0 / 8)


def test_validation_metrics_multiclass():
    data = _data("multiclass", np.array([0, 2, 1]), ["a", "b", "c"])
    probs = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]]
    m = pipeline.validation_metrics(_Constant(probs), data)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.4])), rel=1e-5)


def test_cycle_momentum_only_where_there_is_one():
    assert pipeline._cycle_momentum(keras.optimizers.Adam())
    assert pipeline._cycle_momentum(keras.optimizers.SGD(momentum=0.9))
    assert not pipeline._cycle_momentum(keras.optimizers.SGD())
    assert not pipeline._cycle_momentum(keras.optimizers.RMSprop())


def test_write_demo_csv(tmp_path):
    path = pipeline.write_demo_csv(str(tmp_path / "demo.csv"))
    lines = open(path).read().splitlines()
    assert len(lines) == 570 and lines[0].endswith(",target") and lines[0].startswith("mean radius")


def test_predict_csv_needs_a_model(tmp_path):
    with pytest.raises(DataError, match="has no model.keras"):
        pipeline.predict_csv(str(tmp_path), "x.csv")
    open(os.path.join(tmp_path, "model.keras"), "w").close()
    with pytest.raises(DataError, match="preprocessing file"):
        pipeline.predict_csv(str(tmp_path), "x.csv")
