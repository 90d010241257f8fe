"""Shared base for activation layers with learned parameters (PReLU, PSwish, PELU).

It owns what the three have in common: the `mode` that decides the parameter shape, each learned
parameter's initializer, regularizer and constraint (forgiving `initializers.get`-style arguments
with errors that echo the bad value; the weight created in `build`; the config entries), and a load
path that lets an activation nested in `Dense(activation=...)` restore its weights even when it was
never called.
"""

from __future__ import annotations

import keras

from keras_nnperf.validation import check_choice, check_number, is_number

MODES = ("shared", "channel", "element")


def get_initializer(name: str, value, positive: bool = False):
    """`keras.initializers.get` that also takes a finite number (-> `Constant`); names `name`."""
    if is_number(value):
        value = check_number(name, value, low=0.0 if positive else None, low_open=positive)
        return keras.initializers.Constant(value)
    return _keras_get(keras.initializers.get, name, value)


def get_regularizer(name: str, value):
    """`keras.regularizers.get` with an error that names the argument."""
    return _keras_get(keras.regularizers.get, name, value)


def get_constraint(name: str, value):
    """`keras.constraints.get` with an error that names the argument."""
    return _keras_get(keras.constraints.get, name, value)


def _keras_get(getter, name, value):
    try:
        return getter(value)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"Argument {name} is not understood ({err}). Received: {name}={value!r}"
        ) from err


def check_mode(mode, allowed=MODES):
    """Raise `ValueError` unless `mode` is one of `allowed`."""
    return check_choice("mode", mode, allowed)


class ParametricActivation(keras.layers.Layer):
    """Base class: an element-wise activation with shared, per-channel or per-element parameters.

    Subclasses list their parameters in `PARAMETERS`, declare each one's arguments in `__init__`
    with `set_parameter(name, initializer, regularizer, constraint)`, and implement `call`; the
    base creates the weights (`self.alpha`, ...) in `build` and writes their config.

    Args:
        mode: `"shared"` (one value for the layer), `"channel"` (one per channel, the last axis)
            or `"element"` (one per element of a sample).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    _ALLOWED_MODES = MODES
    #: Names of the learned parameters, in creation (and weight) order.
    PARAMETERS: tuple[str, ...] = ()

    def __init__(self, mode="channel", **kwargs):
        super().__init__(**kwargs)
        check_mode(mode, self._ALLOWED_MODES)
        self.mode = mode
        self.supports_masking = True

    def set_parameter(self, name, initializer, regularizer, constraint, positive=False):
        """Resolve and keep `{name}_initializer`, `{name}_regularizer` and `{name}_constraint`.

        Args:
            name: One of `PARAMETERS`.
            initializer: A number (-> `Constant`) or anything `keras.initializers.get` takes.
            regularizer: Anything `keras.regularizers.get` takes, or `None`.
            constraint: Anything `keras.constraints.get` takes, or `None`.
            positive: Whether a number initializer must be `> 0`.

        Raises:
            ValueError: for an argument no Keras getter understands, or a bad number.
        """
        setattr(
            self,
            f"{name}_initializer",
            get_initializer(f"{name}_initializer", initializer, positive),
        )
        setattr(self, f"{name}_regularizer", get_regularizer(f"{name}_regularizer", regularizer))
        setattr(self, f"{name}_constraint", get_constraint(f"{name}_constraint", constraint))

    def parameter_shape(self, input_shape):
        """The shape of each parameter for inputs of `input_shape` (batch axis first)."""
        if self.mode == "shared":
            return ()
        if self.mode == "channel":
            if input_shape[-1] is None:
                raise ValueError(
                    f'{type(self).__name__}(mode="channel") needs a known last axis. '
                    f"Received: input_shape={input_shape!r}"
                )
            return (input_shape[-1],)
        shape = tuple(input_shape[1:])
        if any(dim is None for dim in shape):
            raise ValueError(
                f'{type(self).__name__}(mode="element") needs every non-batch axis known. '
                f"Received: input_shape={input_shape!r}"
            )
        return shape

    def build(self, input_shape):
        # Each parameter is a weight of the variable dtype (float32 under mixed precision).
        shape = self.parameter_shape(input_shape)
        for name in self.PARAMETERS:
            weight = self.add_weight(
                shape=shape,
                name=name,
                initializer=getattr(self, f"{name}_initializer"),
                regularizer=getattr(self, f"{name}_regularizer"),
                constraint=getattr(self, f"{name}_constraint"),
            )
            setattr(self, name, weight)

    def load_own_variables(self, store):
        # Keras builds an activation nested in `Dense(activation=...)` on its first call only. A
        # model rebuilt without a call (a subclassed model, `Dense.build(shape)`) would reach here
        # unbuilt, so build from the saved parameter shape, which determines the input shape.
        if not self.built and len(store.keys()) > 0:
            shape = tuple(store["0"].shape)
            self.build((None, *shape) if shape else (None, 1))
        super().load_own_variables(store)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        for kind, serialize in (
            ("initializer", keras.initializers.serialize),
            ("regularizer", keras.regularizers.serialize),
            ("constraint", keras.constraints.serialize),
        ):
            for name in self.PARAMETERS:
                config[f"{name}_{kind}"] = serialize(getattr(self, f"{name}_{kind}"))
        return config
