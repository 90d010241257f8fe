"""`HyperMLP`: a tunable multilayer perceptron for tabular data, with the training recipe."""

from __future__ import annotations

import keras

from keras_nnperf.tuning import _building_blocks as blocks
from keras_nnperf.tuning._validation import check_choices, prefer
from keras_nnperf.tuning.recipe import RecipeHyperModel
from keras_nnperf.validation import check_choice, check_integer

TASKS = ("binary", "multiclass", "regression")
BATCH_NORM = ("none", "before", "after")


class HyperMLP(RecipeHyperModel):
    """A multilayer perceptron for tabular data whose architecture and training are searched.

    Hidden layer `i` computes `h_i = drop(act(norm(W_i h_{i-1} + b_i)))` (`batch_norm="before"`;
    `"after"` normalises after the activation), with `h_i += P h_{i-1}` when `residual` is on
    (`P` the identity, or a linear projection when the widths differ). The kernel initializer
    follows the activation (`for_activation`: He, LeCun for SELU, He-for-slope for leaky units,
    Glorot otherwise) unless `initializer="searched"`. SELU uses `AlphaDropout`. The output layer
    and the loss follow the task, computed in float32 under mixed precision:

    | task | output | loss | metrics |
    |---|---|---|---|
    | `binary` | 1 unit, sigmoid | binary cross-entropy | accuracy, AUC |
    | `multiclass` | `num_classes` units, softmax | sparse categorical cross-entropy | accuracy |
    | `regression` | 1 unit, linear | mean squared error | MAE |

    The hyperparameters (see docs/tuning.md for their values and defaults): `num_layers`,
    `units_0` ... `units_{max_layers-1}` (`units_i` only when `num_layers > i`), `activation`,
    `kernel_initializer`, `batch_norm`, `dropout`, `l1`, `l2`, `residual`, and the recipe's
    (`keras_nnperf.tuning.recipe`).

    Args:
        num_features: The number of input columns. Give this or `input_shape`.
        input_shape: The input shape without the batch axis, e.g. `(30,)`.
        task: `"binary"`, `"multiclass"` or `"regression"`. Defaults to `"multiclass"` when
            `num_classes` is given, else `"binary"` (as `HyperCNN(num_classes=10)` and
            keras-tuner's `HyperResNet(classes=10)` read).
        num_classes: The number of classes, an integer >= 2 (NumPy integers too, such as
            `y.max() + 1`), for `"multiclass"` only.
        activations: Restrict the `activation` choices (from `ACTIVATIONS` in
            `keras_nnperf.tuning._building_blocks`).
        optimizers: Restrict the `optimizer` choices.
        lr_schedules: Restrict the `lr_schedule` choices.
        batch_sizes: The `batch_size` choices.
        max_layers: The largest `num_layers`, 1-10.
        initializer: `"auto"` (the initializer follows the activation) or `"searched"` (also try
            Glorot, He, LeCun and orthogonal).
        embeddings: Input columns that hold category codes, as `nnperf fit`'s preprocessing
            gives them (`TabularPreprocessor.embedding_columns`: dicts with `index`,
            `input_dim`, `output_dim`): each goes through a learned embedding
            (`keras_nnperf.tabular.TabularEmbedding`) before the first Dense layer.
        jit_compile: Passed to `model.compile`.
        start_at_baseline: Start every fresh trial's output layer at the trivial baseline
            (the class prior or target mean; see `RecipeHyperModel`). Defaults to `True`.
        name: Optional name of the hypermodel.
        tunable: Whether the hyperparameters defined here are tunable.

    Raises:
        ValueError: for a missing or contradictory input shape, an unknown task, `num_classes`
            missing or given where it does not belong, unsupported names in a restriction list,
            or `max_layers` outside 1-10.

    Example:
    ```python
    hypermodel = HyperMLP(num_features=30, task="binary", activations=["relu", "mish"])
    result = keras_nnperf.tuning.search(hypermodel, x, y, max_trials=10, epochs=20)
    ```

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers"; Ioffe & Szegedy, 2015, "Batch
        Normalization"; Klambauer et al., 2017, "Self-Normalizing Neural Networks"; He et al.,
        2016, "Deep Residual Learning for Image Recognition".
    """

    def __init__(
        self,
        num_features=None,
        input_shape=None,
        task=None,
        num_classes=None,
        activations=None,
        optimizers=None,
        lr_schedules=None,
        batch_sizes=None,
        max_layers=10,
        initializer="auto",
        jit_compile="auto",
        start_at_baseline=True,
        name=None,
        tunable=True,
        embeddings=None,
    ):
        super().__init__(
            optimizers=optimizers,
            lr_schedules=lr_schedules,
            batch_sizes=batch_sizes,
            jit_compile=jit_compile,
            start_at_baseline=start_at_baseline,
            name=name,
            tunable=tunable,
        )
        self.input_shape = _input_shape(num_features, input_shape)
        if task is None:
            task = "binary" if num_classes is None else "multiclass"
        self.task = check_choice("task", task, TASKS)
        if task == "multiclass":
            if num_classes is None:
                raise ValueError(
                    "Argument num_classes must be an integer >= 2 for task='multiclass'. "
                    f"Received: num_classes={num_classes!r}"
                )
            num_classes = check_integer("num_classes", num_classes, low=2)
        elif num_classes is not None:
            raise ValueError(
                f"Argument num_classes is only for task='multiclass'. "
                f"Received: task={task!r}, num_classes={num_classes!r}"
            )
        self.num_classes = num_classes
        self.activations = check_choices("activations", activations, blocks.ACTIVATIONS)
        self.max_layers = check_integer("max_layers", max_layers, low=1, high=10)
        self.initializer = check_choice("initializer", initializer, blocks.INITIALIZER_MODES)
        self.embeddings = [dict(e) for e in embeddings or ()]
        for e in self.embeddings:
            if not {"index", "input_dim", "output_dim"} <= set(e):
                raise ValueError(
                    "Argument embeddings must be a list of dicts with keys index, input_dim and "
                    f"output_dim. Received: embeddings={embeddings!r}"
                )

    @property
    def objective(self) -> str:
        """`"val_accuracy"` for classification, `"val_loss"` for regression."""
        return "val_loss" if self.task == "regression" else "val_accuracy"

    declares_complete_space = True

    def declare_hyperparameters(self, hp):
        """Declare the whole space on `hp` without building a model (keras-tuner's hook)."""
        self._declare_network(hp)
        self.declare_recipe(hp)

    def _declare_network(self, hp):
        num_layers = hp.Int("num_layers", 1, self.max_layers, default=min(2, self.max_layers))
        widths = []
        for i in range(self.max_layers):
            if i == 0:
                widths.append(hp.Int("units_0", 16, 512, step=16, default=128))
                continue
            with hp.conditional_scope("num_layers", list(range(i + 1, self.max_layers + 1))):
                widths.append(hp.Int(f"units_{i}", 16, 512, step=16, default=128))
        return {
            "widths": widths[:num_layers],
            "activation": hp.Choice(
                "activation", self.activations, default=prefer(self.activations, "relu")
            ),
            "initializer": hp.Choice(
                "kernel_initializer",
                blocks.initializer_choices(self.initializer),
                default="for_activation",
            ),
            "batch_norm": hp.Choice("batch_norm", list(BATCH_NORM), default="none"),
            "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.0),
            "l1": hp.Choice("l1", [0.0, 1e-5, 1e-4, 1e-3], default=0.0),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4, 1e-3], default=0.0),
            "residual": hp.Boolean("residual", default=False),
        }

    def build(self, hp):
        """Build and compile the MLP for the trial's hyperparameters."""
        values = self._declare_network(hp)
        activation, initializer = values["activation"], values["initializer"]
        batch_norm, dropout, residual = values["batch_norm"], values["dropout"], values["residual"]
        l1, l2 = values["l1"], values["l2"]

        inputs = keras.Input(self.input_shape, name="features")
        x = inputs
        if self.embeddings:
            from keras_nnperf.tabular.embedding import TabularEmbedding

            x = TabularEmbedding(
                [e["index"] for e in self.embeddings],
                [e["input_dim"] for e in self.embeddings],
                [e["output_dim"] for e in self.embeddings],
                name="embeddings",
            )(x)
        if len(self.input_shape) > 1:
            x = keras.layers.Flatten(name="flatten")(x)
        for i, units in enumerate(values["widths"]):
            shortcut = x
            x = keras.layers.Dense(
                units,
                use_bias=batch_norm != "before",
                kernel_initializer=blocks.kernel_initializer(initializer, activation),
                kernel_regularizer=blocks.regularizer(l1, l2),
                name=f"dense_{i}",
            )(x)
            if batch_norm == "before":
                x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = blocks.activation_layer(activation, f"activation_{i}")(x)
            if batch_norm == "after":
                x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            if residual and i > 0:
                if shortcut.shape[-1] != units:
                    shortcut = keras.layers.Dense(units, use_bias=False, name=f"projection_{i}")(
                        shortcut
                    )
                x = keras.layers.Add(name=f"residual_{i}")([x, shortcut])
            if dropout > 0:
                x = blocks.dropout_layer(dropout, activation, f"dropout_{i}")(x)
        outputs, loss, metrics = self._head(x)
        model = keras.Model(inputs, outputs, name="hyper_mlp")
        return self.compile_with_recipe(hp, model, loss, metrics)

    def _head(self, x):
        # float32 output: under mixed_float16 a float16 sigmoid/softmax loses the loss's precision.
        if self.task == "binary":
            outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
            return outputs, "binary_crossentropy", ["accuracy", keras.metrics.AUC(name="auc")]
        if self.task == "multiclass":
            outputs = keras.layers.Dense(
                self.num_classes, activation="softmax", dtype="float32", name="output"
            )(x)
            return outputs, "sparse_categorical_crossentropy", ["accuracy"]
        outputs = keras.layers.Dense(1, dtype="float32", name="output")(x)
        return outputs, "mse", ["mae"]


def _input_shape(num_features, input_shape):
    if (num_features is None) == (input_shape is None):
        raise ValueError(
            "Give exactly one of num_features and input_shape. "
            f"Received: num_features={num_features!r}, input_shape={input_shape!r}"
        )
    if num_features is not None:
        return (check_integer("num_features", num_features, low=1),)
    if (
        isinstance(input_shape, int)
        or not input_shape
        or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in input_shape)
    ):
        raise ValueError(
            "Argument input_shape must be a tuple of positive integers. "
            f"Received: input_shape={input_shape!r}"
        )
    return tuple(input_shape)
