"""Validation metrics of a trained model, in the units of the target."""

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


def validation_metrics(model, data) -> dict:
    """Metrics on the validation split, regression errors in the target's original units."""
    outputs = model.predict(data.x_val, batch_size=256, verbose=0)
    return metrics_from_outputs(data.preprocessor, data.y_val, outputs)


def metrics_from_outputs(pre, y_val, outputs) -> dict:
    """Accuracy, AUC and log loss (classification) or RMSE, MAE and R2 (regression)."""
    if pre.task == "regression":
        y = y_val.reshape(-1) * pre.target_std + pre.target_mean
        p = outputs.reshape(-1) * pre.target_std + pre.target_mean
        residual = y - p
        return {
            "rmse": float(np.sqrt(np.mean(residual**2))),
            "mae": float(np.mean(np.abs(residual))),
            "r2": float(1.0 - np.sum(residual**2) / max(np.sum((y - y.mean()) ** 2), 1e-12)),
        }
    if pre.task == "binary":
        p = np.clip(outputs.reshape(-1), 1e-7, 1 - 1e-7)
        y = y_val.reshape(-1)
        return {
            "accuracy": float(np.mean((p >= 0.5) == (y > 0.5))),
            "auc": auc(y, p),
            "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        }
    p = np.clip(outputs, 1e-7, 1.0)
    y = y_val.reshape(-1).astype(int)
    return {
        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
        "log_loss": float(-np.mean(np.log(p[np.arange(len(y)), y]))),
    }


def baseline_metrics(data) -> dict:
    """The same metrics for the trivial baseline: the training prior, or the training mean."""
    pre = data.preprocessor
    n = len(data.y_val)
    if pre.task == "regression":
        outputs = np.full((n, 1), float(np.mean(data.y_train)))
    elif pre.task == "binary":
        outputs = np.full((n, 1), float(np.mean(data.y_train)))
    else:
        prior = np.bincount(data.y_train.reshape(-1).astype(int), minlength=pre.num_classes)
        outputs = np.tile(prior / prior.sum(), (n, 1))
    return metrics_from_outputs(pre, data.y_val, outputs)


def linear_metrics(data) -> dict | None:
    """The same metrics for a linear model on the same arrays, or `None` without scikit-learn.

    Logistic regression (L2, C=1) for classification, ridge regression (alpha=1) for regression:
    the inputs are already standardized and one-hot encoded.
    """
    try:
        from sklearn.linear_model import LogisticRegression, Ridge
    except ImportError:
        return None
    pre = data.preprocessor
    y = data.y_train.reshape(-1)
    if pre.task == "regression":
        outputs = Ridge(alpha=1.0).fit(data.x_train, y).predict(data.x_val)[:, None]
    else:
        model = LogisticRegression(max_iter=1000).fit(data.x_train, y)
        probabilities = model.predict_proba(data.x_val)
        outputs = probabilities[:, 1:] if pre.task == "binary" else probabilities
        if pre.task == "multiclass" and len(model.classes_) < pre.num_classes:
            # A class absent from training gets probability 0 (clipped in the log loss).
            full = np.zeros((len(outputs), pre.num_classes))
            full[:, model.classes_.astype(int)] = outputs
            outputs = full
    return metrics_from_outputs(pre, data.y_val, outputs)
