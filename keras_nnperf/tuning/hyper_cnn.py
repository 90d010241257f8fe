"""`HyperCNN`: a tunable convolutional classifier for small images, with the training recipe."""

from __future__ import annotations

import keras

from keras_nnperf.tuning import _building_blocks as blocks
from keras_nnperf.tuning._validation import check_choices, prefer
from keras_nnperf.tuning.recipe import RecipeHyperModel
from keras_nnperf.validation import check_bool, check_choice, check_integer

_POOLING = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}
HEADS = {
    "flatten": keras.layers.Flatten,
    "global_avg": keras.layers.GlobalAveragePooling2D,
    "global_max": keras.layers.GlobalMaxPooling2D,
}


class HyperCNN(RecipeHyperModel):
    """A convolutional image classifier whose blocks, head, augmentation and training are searched.

    Block `i` applies `convs_per_block` times `act(norm(conv_k(x)))` with `filters_i` filters and
    a `kernel_size` kernel, adds the block's input when `residual` is on (through a 1x1
    convolution when the channel count changes), then halves the resolution with `pooling` while
    it is at least 2x2. A `global_pooling` head, optional `dropout`, and a float32 softmax over
    `num_classes` follow; the loss is sparse categorical cross-entropy and the metric accuracy.
    With `augmentation=True`, `augment` may switch on `RandomFlip` / `RandomRotation` /
    `RandomTranslation` (active in training only); it is off by default because flips and large
    rotations change the meaning of digits and letters.

    The hyperparameters (values and defaults in docs/tuning.md): `augment` (and, when on,
    `flip`, `rotation_factor`, `translation_factor`), `num_blocks`, `filters_0` ...
    `filters_{max_blocks-1}` (`filters_i` only when `num_blocks > i`), `kernel_size`,
    `convs_per_block`, `batch_norm`, `activation`, `kernel_initializer`, `pooling`, `residual`,
    `dropout`, `global_pooling`, and the recipe's.

    Args:
        input_shape: `(height, width, channels)`, channels last.
        num_classes: The number of classes, >= 2.
        activations: Restrict the `activation` choices.
        optimizers: Restrict the `optimizer` choices.
        lr_schedules: Restrict the `lr_schedule` choices.
        batch_sizes: The `batch_size` choices.
        max_blocks: The largest `num_blocks`, 1-5.
        augmentation: Whether `augment` is searched (`True`) or fixed off (`False`, default).
        initializer: `"auto"` (the initializer follows the activation) or `"searched"`.
        jit_compile: Passed to `model.compile`.
        start_at_baseline: Start every fresh trial's output layer at the trivial baseline
            (the class prior or target mean; see `RecipeHyperModel`). Defaults to `True`.
        name: Optional name of the hypermodel.
        tunable: Whether the hyperparameters defined here are tunable.

    Raises:
        ValueError: for an input shape that is not three positive integers, `num_classes < 2`,
            `max_blocks` outside 1-5, or unsupported names in a restriction list.

    Example:
    ```python
    hypermodel = HyperCNN(input_shape=(8, 8, 1), num_classes=10)
    result = keras_nnperf.tuning.search(hypermodel, images, labels, max_trials=10, epochs=20)
    ```

    Reference:
        He et al., 2016, "Deep Residual Learning for Image Recognition"; Ioffe & Szegedy, 2015,
        "Batch Normalization"; Lin et al., 2014, "Network In Network" (global average pooling);
        Simard et al., 2003, "Best practices for convolutional neural networks" (augmentation).
    """

    def __init__(
        self,
        input_shape,
        num_classes,
        activations=None,
        optimizers=None,
        lr_schedules=None,
        batch_sizes=None,
        max_blocks=3,
        augmentation=False,
        initializer="auto",
        jit_compile="auto",
        start_at_baseline=True,
        name=None,
        tunable=True,
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
        if (
            isinstance(input_shape, (int, str))
            or input_shape is None
            or len(input_shape) != 3
            or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in input_shape)
        ):
            raise ValueError(
                "Argument input_shape must be (height, width, channels), positive integers. "
                f"Received: input_shape={input_shape!r}"
            )
        self.input_shape = tuple(input_shape)
        self.num_classes = check_integer("num_classes", num_classes, low=2)
        self.activations = check_choices("activations", activations, blocks.ACTIVATIONS)
        self.max_blocks = check_integer("max_blocks", max_blocks, low=1, high=5)
        self.augmentation = check_bool("augmentation", augmentation)
        self.initializer = check_choice("initializer", initializer, blocks.INITIALIZER_MODES)

    @property
    def objective(self) -> str:
        """The search objective: validation accuracy."""
        return "val_accuracy"

    declares_complete_space = True

    def declare_hyperparameters(self, hp):
        """Declare the whole space on `hp` without building a model (keras-tuner's hook)."""
        self._declare_network(hp)
        self.declare_recipe(hp)

    def _declare_network(self, hp):
        if self.augmentation:
            augment = hp.Boolean("augment", default=False)
        else:
            augment = hp.Fixed("augment", False)
        with hp.conditional_scope("augment", [True]):
            flip = hp.Choice("flip", ["none", "horizontal"], default="none")
            rotation = hp.Choice("rotation_factor", [0.0, 0.05, 0.1], default=0.05)
            translation = hp.Choice("translation_factor", [0.0, 0.1], default=0.1)
        num_blocks = hp.Int("num_blocks", 1, self.max_blocks, default=min(2, self.max_blocks))
        filters = []
        for i in range(self.max_blocks):
            default = min(128, 32 * 2**i)
            if i == 0:
                filters.append(hp.Choice("filters_0", [16, 32, 64, 128], default=default))
                continue
            with hp.conditional_scope("num_blocks", list(range(i + 1, self.max_blocks + 1))):
                filters.append(hp.Choice(f"filters_{i}", [16, 32, 64, 128], default=default))
        values = {
            "augment": augment,
            "flip": flip,
            "rotation": rotation,
            "translation": translation,
            "filters": filters[:num_blocks],
            "kernel_size": hp.Choice("kernel_size", [3, 5], default=3),
            "convs_per_block": hp.Int("convs_per_block", 1, 2, default=1),
            "batch_norm": hp.Boolean("batch_norm", default=True),
            "activation": hp.Choice(
                "activation", self.activations, default=prefer(self.activations, "relu")
            ),
            "initializer": hp.Choice(
                "kernel_initializer",
                blocks.initializer_choices(self.initializer),
                default="for_activation",
            ),
            "pooling": hp.Choice("pooling", ["max", "avg"], default="max"),
            "residual": hp.Boolean("residual", default=False),
            # Small images keep their layout through a flattened head; global pooling throws
            # away where a stroke is, which is most of what tells an 8x8 digit apart.
            "head": hp.Choice("head", list(HEADS), default="flatten"),
            "head_units": hp.Choice("head_units", [0, 64, 128, 256], default=128),
            "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.25),
        }
        return values

    def build(self, hp):
        """Build and compile the CNN for the trial's hyperparameters."""
        values = self._declare_network(hp)
        augment, flip = values["augment"], values["flip"]
        rotation, translation = values["rotation"], values["translation"]
        kernel_size, convs_per_block = values["kernel_size"], values["convs_per_block"]
        batch_norm, activation = values["batch_norm"], values["activation"]
        initializer, pooling = values["initializer"], values["pooling"]
        residual, dropout = values["residual"], values["dropout"]

        inputs = keras.Input(self.input_shape, name="images")
        x = inputs
        if augment:
            if flip != "none":
                x = keras.layers.RandomFlip(flip, name="random_flip")(x)
            if rotation:
                x = keras.layers.RandomRotation(rotation, name="random_rotation")(x)
            if translation:
                x = keras.layers.RandomTranslation(
                    translation, translation, name="random_translation"
                )(x)
        for i, width in enumerate(values["filters"]):
            shortcut = x
            for j in range(convs_per_block):
                x = keras.layers.Conv2D(
                    width,
                    kernel_size,
                    padding="same",
                    use_bias=not batch_norm,
                    kernel_initializer=blocks.kernel_initializer(initializer, activation),
                    name=f"conv_{i}_{j}",
                )(x)
                if batch_norm:
                    x = keras.layers.BatchNormalization(name=f"batch_norm_{i}_{j}")(x)
                x = blocks.activation_layer(activation, f"activation_{i}_{j}")(x)
            if residual:
                if shortcut.shape[-1] != width:
                    shortcut = keras.layers.Conv2D(
                        width, 1, use_bias=False, name=f"projection_{i}"
                    )(shortcut)
                x = keras.layers.Add(name=f"residual_{i}")([x, shortcut])
            if min(x.shape[1], x.shape[2]) >= 2:
                x = _POOLING[pooling](2, name=f"pool_{i}")(x)
        x = HEADS[values["head"]](name=f"head_{values['head']}")(x)
        if values["head_units"]:
            x = keras.layers.Dense(
                values["head_units"],
                kernel_initializer=blocks.kernel_initializer(initializer, activation),
                name="head_dense",
            )(x)
            x = blocks.activation_layer(activation, "head_activation")(x)
        if dropout > 0:
            x = blocks.dropout_layer(dropout, activation, "dropout")(x)
        # float32 output: under mixed_float16 a float16 softmax loses the loss's precision.
        outputs = keras.layers.Dense(
            self.num_classes, activation="softmax", dtype="float32", name="output"
        )(x)
        model = keras.Model(inputs, outputs, name="hyper_cnn")
        return self.compile_with_recipe(hp, model, "sparse_categorical_crossentropy", ["accuracy"])
