"""Activations as pure `keras.ops` functions; the layers in `keras_nnperf.layers` call them.

Each function takes its parameters as tensors, so a layer owns the variables and the function owns
the math (the timm habit). Everything here runs on any Keras backend and under XLA.
"""

from __future__ import annotations

import functools
import numbers
import platform

import keras
from keras import ops

from keras_nnperf.random_hash import hash_uniform, seed_tensor
from keras_nnperf.registry import register

# Beyond this, tanh(softplus(x)) == 1 in float32 and float64, so mish(x) == x exactly; clamping
# the exponent here also keeps n * (n + 2) far from overflow.
_MISH_LINEAR_FROM = 20.0
_LOW_PRECISION = ("float16", "bfloat16")


def _float_tensor(x):
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    return x


@ops.custom_gradient
def _mish_one_exp(x):
    # min(x, 20) written as a select: Keras 3.15's PyTorch `ops.minimum` computes float64 inputs
    # in float32 (its `result_type("float64", "float64")` is float32).
    linear_from = ops.cast(_MISH_LINEAR_FROM, x.dtype)
    n = ops.exp(ops.where(x < linear_from, x, linear_from))
    n_n2 = n * (n + 2.0)
    t = n_n2 / (n_n2 + 2.0)

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        # Recomputed from x, and written differently from the forward pass so that XLA does not
        # merge the two and keep full-size residuals in memory: one more exp is far cheaper
        # (forward + backward at ~0.5x the time of keras.activations.mish, against ~1.1x when
        # the forward values are reused).
        m = ops.exp(ops.where(x < linear_from, x, linear_from))
        m_m2 = m * (m + 2.0)
        r = 1.0 / (m_m2 + 2.0)
        # (1 - t^2) * sigmoid(x) == 4 n (n + 1) / (n (n + 2) + 2)^2: no cancellation near t = 1.
        return upstream * (m_m2 * r + x * (4.0 * m * (m + 1.0) * r * r))

    return x * t, grad


def _tensorflow_outside_xla() -> bool:
    """Whether ops run as separate TensorFlow kernels (eager, or a graph XLA does not compile).

    `False` on every other backend (JAX always compiles with XLA; PyTorch takes the portable
    forms). TensorFlow has no public "am I being compiled by XLA" check: `tf.function(jit_compile=
    True)` enters an XLA context while tracing, which only the private `control_flow_util` reports.
    If TensorFlow moves or renames it (ImportError, AttributeError), this answers `False` and the
    XLA-friendly forms are used: correct everywhere, only slower without XLA.
    `tests/test_activations.py` fails if the check stops telling the two apart.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util

        in_xla = control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except (ImportError, AttributeError, TypeError):
        return False
    return not in_xla


@register("activation")
def mish(x):
    """Mish, `x * tanh(softplus(x))`, with one `exp` and a hand-written gradient.

    With `n = exp(x)`, `tanh(softplus(x)) = n (n + 2) / (n (n + 2) + 2)`, and
    `d/dx mish(x) = t + x (1 - t^2) sigmoid(x)` with `t = tanh(softplus(x))`. For `x > 20` the
    result is `x` to machine precision. Half-precision inputs are computed in float32 (`exp(x)`
    overflows float16 at `x ~ 11`) and cast back, so the function is finite for any finite input.

    Under XLA (and on JAX) the one-`exp` form fuses into a single pass and runs at about half the
    time of `keras.activations.mish`. TensorFlow without XLA runs every op as its own kernel,
    where `x * tanh(softplus(x))` with TensorFlow's fused `SoftplusGrad`/`TanhGrad` needs fewer
    passes; there (detected with TensorFlow's XLA-context check, the one TensorFlow-specific
    line) this function uses that form, matching `keras.activations.mish` in speed.

    Args:
        x: Input tensor.

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:
    ```python
    y = keras_nnperf.activations.mish(np.array([-1.0, 0.0, 1.0]))
    layer = keras.layers.Dense(8, activation=keras_nnperf.activation("mish"))
    ```

    Reference:
        Misra, 2019, "Mish: A Self Regularized Non-Monotonic Activation Function",
        https://arxiv.org/abs/1908.08681
    """
    x = _float_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    compute = ops.cast(x, "float32") if dtype in _LOW_PRECISION else x
    if _tensorflow_outside_xla():
        y = compute * ops.tanh(ops.softplus(compute))
    else:
        y = _mish_one_exp(compute)
    return ops.cast(y, dtype)


def prelu(x, alpha):
    """Parametric ReLU: `x` for `x >= 0`, `alpha * x` otherwise.

    Args:
        x: Input tensor.
        alpha: Negative slope, broadcastable to `x` (cast to `x.dtype`).

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:
    ```python
    y = prelu(x, alpha=0.25)
    ```

    Reference:
        He et al., 2015, "Delving Deep into Rectifiers", https://arxiv.org/abs/1502.01852
    """
    x = _float_tensor(x)
    alpha = ops.cast(alpha, x.dtype)
    if _tensorflow_outside_xla():
        # As separate kernels, x * slope is fewer passes (forward and backward): 0.66x the time
        # of relu(x) - alpha * relu(-x). XLA fuses both, and the relu form is ~10% faster there.
        return x * ops.where(x >= 0, ops.cast(1.0, x.dtype), alpha)
    return ops.relu(x) - alpha * ops.relu(-x)


def pswish(x, beta):
    """Parametric Swish: `x * sigmoid(beta * x)`.

    Args:
        x: Input tensor.
        beta: Sharpness, broadcastable to `x` (cast to `x.dtype`). `beta = 1` is SiLU.

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:
    ```python
    y = pswish(x, beta=1.5)
    ```

    Reference:
        Ramachandran et al., 2017, "Searching for Activation Functions",
        https://arxiv.org/abs/1710.05941
    """
    x = _float_tensor(x)
    beta = ops.cast(beta, x.dtype)
    return x * ops.sigmoid(beta * x)


def pelu(x, alpha, beta):
    """Parametric ELU: `(alpha / beta) x` for `x >= 0`, `alpha (exp(x / beta) - 1)` otherwise.

    Both parameters must be positive (the layer keeps them so with a constraint). It is computed
    as `a * elu(x / b)`, the same function with ELU's fused kernels.

    Args:
        x: Input tensor.
        alpha: Scale `a > 0`, broadcastable to `x` (cast to `x.dtype`).
        beta: Saturation `b > 0`, broadcastable to `x` (cast to `x.dtype`).

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:
    ```python
    y = pelu(x, alpha=1.0, beta=1.0)  # == elu(x)
    ```

    Reference:
        Trottier et al., 2017, "Parametric Exponential Linear Unit for Deep Convolutional Neural
        Networks", https://arxiv.org/abs/1605.09332
    """
    x = _float_tensor(x)
    alpha = ops.cast(alpha, x.dtype)
    # PELU(x) = a * elu(x / b): one fused ELU (and ELU-gradient) kernel, one reciprocal of b.
    return alpha * ops.elu(x * (1.0 / ops.cast(beta, x.dtype)))


def _rrelu_multiplier(x, seed, lower, upper):
    """`1` where `x >= 0`, else the slope `lower + (upper - lower) * u`, `u` hashed from `seed`."""
    u = hash_uniform(ops.shape(x), seed, dtype=x.dtype)
    slopes = ops.cast(lower, x.dtype) + ops.cast(upper - lower, x.dtype) * u
    return ops.where(x >= 0, ops.cast(1.0, x.dtype), slopes)


@functools.cache
def _tensorflow_can_compile_xla() -> bool:
    # Keras's own rule (`model_supports_jit`): tensorflow-metal on Apple-silicon GPUs has no XLA.
    if platform.system() == "Darwin" and "arm" in platform.processor().lower():
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")
    return True


@functools.cache
def _rrelu_xla_kernels():
    """Training-mode RReLU forward and backward, each one XLA-fused pass over the batch."""
    import tensorflow as tf

    # These functions are shared by every RReLU in the process, so `reduce_retracing` soon
    # relaxes their input to unknown rank (a 2-D layer, then a 4-D one). They work on the
    # flattened tensor, whose rank is always 1; the hash numbers elements in row-major order,
    # so the slopes are the same as for the unflattened input.
    @tf.function(jit_compile=True, reduce_retracing=True)
    def forward(x, seed, lower, upper):
        flat = tf.reshape(x, [-1])
        return tf.reshape(flat * _rrelu_multiplier(flat, seed, lower, upper), tf.shape(x))

    @tf.function(jit_compile=True, reduce_retracing=True)
    def backward(x, upstream, seed, lower, upper):
        # Recomputing the hash is cheaper than storing the slopes and reading them back.
        flat = tf.reshape(x, [-1])
        multiplier = _rrelu_multiplier(flat, seed, lower, upper)
        return tf.reshape(tf.reshape(upstream, [-1]) * multiplier, tf.shape(x))

    return forward, backward


def _rrelu_in_xla_kernels(x, seed, lower, upper):
    forward, backward = _rrelu_xla_kernels()

    @ops.custom_gradient
    def apply(x):
        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return backward(x, upstream, seed, lower, upper)

        return forward(x, seed, lower, upper), grad

    return apply(x)


def rrelu(x, lower=1.0 / 8.0, upper=1.0 / 3.0, seed=None):
    """Randomized leaky ReLU: `x` for `x >= 0`, `a * x` otherwise, `a ~ U(lower, upper)`.

    With `seed=None` (inference) every slope is the mean `(lower + upper) / 2`, computed with
    `ops.leaky_relu` when the bounds are numbers. With a seed, each element gets its own slope from
    `hash_uniform`; the function does not check the bounds (the `RReLU` layer does). The slopes
    are the same bits whether or not the caller compiles with XLA.

    Under XLA (and on JAX) the hash fuses with the activation into one pass and costs about what
    LeakyReLU does. TensorFlow without XLA would run each of the hash's integer ops as its own pass
    over the batch (and its native Philox generator is as slow), so there, detected with the same
    XLA-context check as `mish`, the forward and the backward pass each run as a small
    `jit_compile=True` function: one fused kernel each inside the uncompiled graph or eager code.

    Args:
        x: Input tensor.
        lower: Lower bound of the slope.
        upper: Upper bound of the slope.
        seed: `None` for the fixed inference slope; else anything `hash_uniform` takes.

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:
    ```python
    y_train = rrelu(x, seed=keras.random.SeedGenerator(0))
    y_test = rrelu(x)
    ```

    Reference:
        Xu et al., 2015, "Empirical Evaluation of Rectified Activations in Convolutional
        Network", https://arxiv.org/abs/1505.00853
    """
    x = _float_tensor(x)
    if seed is None:
        mean = (lower + upper) / 2.0
        if isinstance(mean, numbers.Real):
            # A constant slope is LeakyReLU: one fused kernel each way without XLA.
            return ops.leaky_relu(x, negative_slope=float(mean))
        return prelu(x, mean)
    # Advance a SeedGenerator here, once per call, outside any compiled kernel.
    seed = seed_tensor(seed)
    if _tensorflow_outside_xla() and _tensorflow_can_compile_xla():
        return _rrelu_in_xla_kernels(x, seed, lower, upper)
    # The multiplier does not depend on x through a gradient path: backward is a single multiply.
    return x * _rrelu_multiplier(x, seed, lower, upper)


__all__ = ["mish", "pelu", "prelu", "pswish", "rrelu"]
