"""Shared base for activation layers with learned parameters (PReLU, PSwish, PELU).

It owns what the three have in common: the `mode` that decides the parameter shape, forgiving
`initializers.get`-style arguments with errors that echo the bad value, and a load path that lets
an activation nested in `Dense(activation=...)` restore its weights even when it was never called.
"""

from __future__ import annotations

import numbers

import keras

MODES = ("shared", "channel", "element")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def get_initializer(name: str, value, positive: bool = False):
    """`keras.initializers.get` that also takes a number (-> `Constant`) and names the argument."""
    if _is_number(value):
        if positive and not value > 0:
            raise ValueError(f"Argument {name} must be > 0. Received: {name}={value!r}")
        return keras.initializers.Constant(float(value))
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
    if mode not in allowed:
        raise ValueError(f"Argument mode must be one of {list(allowed)}. Received: mode={mode!r}")


class ParametricActivation(keras.layers.Layer):
    """Base class: an element-wise activation with shared, per-channel or per-element parameters.

    Subclasses create their parameters in `build` with `add_parameter` and implement `call`.

    Args:
        mode: `"shared"` (one value for the layer), `"channel"` (one per channel, the last axis)
            or `"element"` (one per element of a sample).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    _ALLOWED_MODES = MODES

    def __init__(self, mode="channel", **kwargs):
        super().__init__(**kwargs)
        check_mode(mode, self._ALLOWED_MODES)
        self.mode = mode
        self.supports_masking = True

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

    def add_parameter(self, name, input_shape, initializer, regularizer, constraint):
        """Create one float32 (variable dtype) parameter of `parameter_shape(input_shape)`."""
        return self.add_weight(
            shape=self.parameter_shape(input_shape),
            name=name,
            initializer=initializer,
            regularizer=regularizer,
            constraint=constraint,
        )

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
        return config
