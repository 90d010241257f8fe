"""The data errors and warnings of `keras_nnperf.tabular`, shared by its modules."""


class DataError(ValueError):
    """Bad input data: the message is one sentence meant for the user."""


class DataWarning(UserWarning):
    """A data problem that was fixed automatically (imputed values, dropped rows)."""
