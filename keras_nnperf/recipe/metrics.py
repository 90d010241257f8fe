"""Metrics of a trained model (and of the baselines), in the units of the target.

Every score goes through `score(task, y_true, predicted)` on values in the target's own units:
class indices and class probabilities, or the target's original values. `nnperf fit` (hold-out
and out-of-fold) and `nnperf predict` (a file that has the target) use the same functions.
"""

from __future__ import annotations

import numpy as np


def auc(y_true, score) -> float:
    """ROC AUC by the Mann-Whitney U statistic (ties share their mean rank)."""
    # The probability that a random positive outranks a random negative.
    y_true = np.asarray(y_true).reshape(-1) > 0.5
    score = np.asarray(score, dtype=float).reshape(-1)
    order = score.argsort()
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for value in np.unique(score):
        ranks[score == value] = ranks[score == value].mean()
    positives, negatives = y_true.sum(), (~y_true).sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    return float((ranks[y_true].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _r2(y, predicted) -> float:
    residual = y - predicted
    return float(1.0 - np.sum(residual**2) / max(np.sum((y - y.mean()) ** 2), 1e-12))


def score(task: str, y_true, predicted, log_target: bool = False, log_shift: float = 0.0) -> dict:
    """Accuracy, AUC and log loss (classification) or RMSE, MAE and R2 (regression).

    Args:
        task: `"binary"`, `"multiclass"` or `"regression"`.
        y_true: Class indices `(n,)`, or the target's values in its original units.
        predicted: Class probabilities `(n, num_classes)` (binary: `(n, 2)`), or predicted
            values in the target's original units.
        log_target: A positive regression target trained as its logarithm (`--log-target`):
            adds `r2_log`, the R2 of the logarithms. In the units, R2 weighs the largest values
            alone: pynucastro's half-lives (1e-22 to 1e28 s) scored R2 -0.002 for a network
            that explains half the variance of their logarithm.
        log_shift: `c` of a log target with zeros, trained as `log(y + c)`: `r2_log` is then
            the R2 of `log(y + c)`.

    Returns:
        `{"accuracy", "auc", "log_loss"}` (binary), `{"accuracy", "log_loss"}` (multiclass) or
        `{"rmse", "mae", "r2"}` (regression; and `"r2_log"` with `log_target`). AUC is NaN when
        one class is absent.
    """
    if task == "regression":
        y = np.asarray(y_true, dtype=float).reshape(-1)
        guess = np.asarray(predicted, dtype=float).reshape(-1)
        residual = y - guess
        scores = {
            "rmse": float(np.sqrt(np.mean(residual**2))),
            "mae": float(np.mean(np.abs(residual))),
            "r2": _r2(y, guess),
        }
        if log_target:
            with np.errstate(divide="ignore", invalid="ignore"):
                scores["r2_log"] = _r2(np.log(y + log_shift), np.log(guess + log_shift))
        return scores
    y = np.asarray(y_true).reshape(-1).astype(int)
    probabilities = np.asarray(predicted, dtype=float).reshape(len(y), -1)
    if task == "binary":
        p = np.clip(probabilities[:, -1], 1e-7, 1 - 1e-7)
        return {
            "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
            "auc": auc(y, p),
            "log_loss": float(-np.mean(np.where(y == 1, np.log(p), np.log(1 - p)))),
        }
    p = np.clip(probabilities, 1e-7, 1.0)
    return {
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "log_loss": float(-np.mean(np.log(p[np.arange(len(y)), y]))),
    }


def in_target_units(pre, outputs, clip: bool = True) -> np.ndarray:
    """Model outputs as `score` takes them: probabilities `(n, classes)` or original values.

    Regression values are clipped to the training target's range (`prediction_from_model`)
    unless `clip` is false: the report's linear model is scikit-learn's, as a user gets it.
    """
    outputs = np.asarray(outputs, dtype=float)
    if pre.task == "regression":
        if clip:
            return pre.prediction_from_model(outputs)
        return pre.target_from_model(outputs)
    if pre.task == "binary":
        p = outputs.reshape(-1)
        return np.stack([1.0 - p, p], axis=1)
    return outputs.reshape(len(outputs), -1)


def true_in_target_units(pre, y) -> np.ndarray:
    """Encoded targets (`encode_target`) as `score` takes them: indices or original values."""
    y = np.asarray(y)
    if pre.task == "regression":
        return pre.target_from_model(y)
    return y.reshape(-1).astype(int)


def is_log_target(pre) -> bool:
    """Whether `pre` trains a regression target as its logarithm (`--log-target`)."""
    return pre.task == "regression" and bool(getattr(pre, "target_log", False))


def scores_for(pre, y_true, predicted) -> dict:
    """`score` with `pre`'s task and log target (`r2_log` of `log(y + target_shift)`)."""
    shift = float(getattr(pre, "target_shift", 0.0))
    return score(pre.task, y_true, predicted, is_log_target(pre), shift)


def metrics_from_outputs(pre, y_val, outputs, clip: bool = True) -> dict:
    """`score` of raw model `outputs` against encoded targets `y_val` (as the model sees them)."""
    predicted = in_target_units(pre, outputs, clip=clip)
    return scores_for(pre, true_in_target_units(pre, y_val), predicted)


def validation_metrics(model, data) -> dict:
    """Metrics on the validation split, regression errors in the target's original units."""
    outputs = model.predict(data.x_val, batch_size=256, verbose=0)
    return metrics_from_outputs(data.preprocessor, data.y_val, outputs)


def baseline_outputs(data) -> np.ndarray:
    """The trivial baseline's outputs on the validation rows: the training prior or mean."""
    pre = data.preprocessor
    n = len(data.y_val)
    if pre.task == "regression" and getattr(pre, "target_log", False):
        # The mean in the target's units, not exp of the logarithm's mean (a smaller value).
        mean = np.mean(pre.target_from_model(data.y_train))
        return np.full((n, 1), float(pre.target_to_model([mean])[0, 0]))
    if pre.task in ("regression", "binary"):
        return np.full((n, 1), float(np.mean(data.y_train)))
    prior = np.bincount(data.y_train.reshape(-1).astype(int), minlength=pre.num_classes)
    return np.tile(prior / prior.sum(), (n, 1))


def baseline_metrics(data) -> dict:
    """The same metrics for the trivial baseline: the training prior, or the training mean."""
    return metrics_from_outputs(data.preprocessor, data.y_val, baseline_outputs(data))


#: Above this many cells (rows x one-hot columns), the linear baseline reads a sparse matrix.
DENSE_ONE_HOT_CELLS = 20_000_000


def linear_outputs(data) -> np.ndarray | None:
    """A linear model's outputs on the validation rows, or `None` without scikit-learn.

    Logistic regression (L2, C=1) for classification, ridge regression (alpha=1) for regression:
    the inputs are already standardized and one-hot encoded.
    """
    try:
        from sklearn.linear_model import LogisticRegression, Ridge
    except ImportError:
        return None
    pre = data.preprocessor
    y = data.y_train.reshape(-1)
    # Embedded category codes are categories, not quantities: one-hot them for a linear model.
    # Sparse when dense would be large: bambi's CCES survey (48k rows, free-text answers of
    # thousands of levels) took 6 GB and minutes dense; both models take CSR input.
    sparse = len(data.x_train) * pre.one_hot_width() > DENSE_ONE_HOT_CELLS
    x_train = pre.one_hot_codes(data.x_train, sparse=sparse)
    x_val = pre.one_hot_codes(data.x_val, sparse=sparse)
    if pre.task == "regression":
        # `tol` binds only the iterative solver of sparse input (dense input is solved exactly):
        # at its default 1e-4, predictions differed from the dense solution by 1e-3.
        return Ridge(alpha=1.0, tol=1e-8).fit(x_train, y).predict(x_val)[:, None]
    model = LogisticRegression(max_iter=1000).fit(x_train, y)
    probabilities = model.predict_proba(x_val)
    if pre.task == "binary":
        return probabilities[:, 1:]
    # A class absent from training gets probability 0 (clipped in the log loss).
    full = np.zeros((len(probabilities), pre.num_classes))
    full[:, model.classes_.astype(int)] = probabilities
    return full


def clips_linear(pre) -> bool:
    """Whether the linear model's predictions are clipped to the training range, as the network's.

    Only for a target trained as its logarithm (`--log-target`). Otherwise the report's linear
    model is scikit-learn's as a user gets it; but a ridge fit on the logarithm extrapolates in
    it, and `exp` turns a few validation rows into values far beyond any target: on redback's
    BATSE catalogue (`t90`, 4 orders of magnitude) that linear model scored R² -49,383.
    """
    return is_log_target(pre)


def linear_metrics(data) -> dict | None:
    """The same metrics for a linear model on the same arrays, or `None` without scikit-learn."""
    outputs = linear_outputs(data)
    if outputs is None:
        return None
    pre = data.preprocessor
    return metrics_from_outputs(pre, data.y_val, outputs, clip=clips_linear(pre))
