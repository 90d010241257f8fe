"""Inspections of the input data: non-finite, unscaled and constant features."""

from __future__ import annotations

import keras
import numpy as np

from keras_nnperf.diagnostics.report import Finding

#: A feature is unscaled when |mean| > OFFSET_STDS * std, std > WIDE_STD or 0 < std < NARROW_STD.
OFFSET_STDS = 3.0
WIDE_STD = 10.0
NARROW_STD = 1e-3


def check_inputs(x) -> list[Finding]:
    """Non-finite, unscaled and constant input features (per column of the last axis)."""
    findings = []
    for index, leaf in enumerate(keras.tree.flatten(x)):
        array = np.asarray(leaf)
        if array.ndim < 2 or not np.issubdtype(array.dtype, np.number):
            continue
        where = "x" if index == 0 and len(keras.tree.flatten(x)) == 1 else f"x[{index}]"
        columns = array.reshape(-1, array.shape[-1]).astype("float64")
        if not np.isfinite(columns).all():
            bad = np.flatnonzero(~np.isfinite(columns).all(axis=0))
            findings.append(
                Finding(
                    "error",
                    "non_finite_inputs",
                    f"{where} holds NaN or inf values",
                    {"input": where, "columns": bad.tolist()},
                    "Impute or drop the missing values before training "
                    "(sklearn.impute.SimpleImputer); NaN inputs make every loss NaN.",
                )
            )
            continue
        mean, std = columns.mean(axis=0), columns.std(axis=0)
        constant = np.flatnonzero(std == 0)
        unscaled = np.flatnonzero(
            (np.abs(mean) > OFFSET_STDS * std) & (std > 0)
            | (std > WIDE_STD)
            | ((std > 0) & (std < NARROW_STD))
        )
        if unscaled.size:
            findings.append(
                Finding(
                    "warning",
                    "unscaled_inputs",
                    f"{unscaled.size} of {columns.shape[1]} input features of {where} are not "
                    "standardized",
                    {
                        "input": where,
                        "columns": unscaled.tolist(),
                        "means": mean[unscaled].round(4).tolist(),
                        "stds": std[unscaled].round(4).tolist(),
                        "std_range": [float(std[std > 0].min()), float(std.max())],
                    },
                    "Standardize each feature to mean 0 and std 1 with statistics of the "
                    "training set (sklearn.preprocessing.StandardScaler, or a "
                    "keras.layers.Normalization layer adapted on x); scale images to [0, 1].",
                )
            )
        if constant.size:
            findings.append(
                Finding(
                    "info",
                    "constant_inputs",
                    f"{constant.size} input feature(s) of {where} never change",
                    {"input": where, "columns": constant.tolist()},
                    "Drop the constant features: they carry no information.",
                )
            )
    return findings
