"""Inspections of the input data: non-finite, unscaled and constant features."""

from __future__ import annotations

import keras
import numpy as np

from keras_nnperf.diagnostics.report import Finding

#: A feature is unscaled when its root mean square exceeds WIDE_SCALE (values in the tens or
#: thousands), when its offset dominates (|mean| > OFFSET_STDS * std) *and* exceeds 1, or when its
#: whole range is below NARROW_RANGE (values in micro-units). What matters to a Dense layer is the
#: size of its inputs: a feature already in [0, 1] or [-1, 1] trains well whatever its mean and
#: spread (pixels / 16, rates, one-hot columns), so it is never flagged for its offset; a sparse
#: column (mostly zeros, a few ordinary values) has a tiny std but a normal range, so the narrow
#: test reads the range, not the std.
WIDE_SCALE = 10.0
OFFSET_STDS = 3.0
NARROW_RANGE = 1e-3


def check_inputs(x, categorical_columns=()) -> list[Finding]:
    """Non-finite, unscaled and constant input features (per column of the last axis).

    Args:
        x: The inputs, an array or a structure of arrays.
        categorical_columns: Columns of the first input that hold category codes (read by an
            embedding, not as quantities): checked for non-finite values only.
    """
    findings = []
    categorical = set(categorical_columns)
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
        spread = np.ptp(columns, axis=0)
        if index == 0 and categorical:
            # A code is a category, not a quantity: its scale says nothing. Hide it from both
            # checks below (a zero spread and a zero mean pass them).
            codes = [c for c in categorical if c < columns.shape[1]]
            mean[codes], std[codes], spread[codes] = 0.0, 1.0, 1.0
        constant = np.flatnonzero(spread == 0)
        varying = spread > 0
        unscaled = np.flatnonzero(
            varying
            & (
                (np.sqrt(mean**2 + std**2) > WIDE_SCALE)
                | ((np.abs(mean) > OFFSET_STDS * std) & (np.abs(mean) > 1.0))
                | (spread < NARROW_RANGE)
            )
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
                        "ranges": spread[unscaled].round(6).tolist(),
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
