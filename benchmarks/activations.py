"""Forward + backward time of every activation layer, as ratios against Keras baselines.

Each candidate runs `y = f(x)` and the gradients w.r.t. `x` and its weights on a (4096, 1024)
float32 batch. On TensorFlow it is compiled with `tf.function` without XLA and with
`jit_compile=True`; on JAX (`KERAS_BACKEND=jax`) with `jax.jit` over the layer's
`stateless_call` (JAX always compiles with XLA). Candidates are timed interleaved (A B C ...
A B C ...) after a warm-up, and every ratio is the median over the rounds of the per-round ratio,
so slow phases of a shared machine hit both sides of a ratio.

Usage: [KERAS_BACKEND=jax] python benchmarks/activations.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_nnperf.layers.mish import Mish  # noqa: E402
from keras_nnperf.layers.pelu import PELU  # noqa: E402
from keras_nnperf.layers.prelu import PReLU  # noqa: E402
from keras_nnperf.layers.pswish import PSwish  # noqa: E402
from keras_nnperf.layers.rrelu import RReLU  # noqa: E402

BASELINES = ("relu", "keras LeakyReLU", "keras PReLU", "keras mish")


def candidates():
    """Name -> (layer, training flag)."""
    return {
        "relu": (keras.layers.Activation("relu"), False),
        "keras LeakyReLU": (keras.layers.LeakyReLU(0.2), False),
        "keras PReLU": (keras.layers.PReLU(), False),
        "keras mish": (keras.layers.Activation("mish"), False),
        "keras silu": (keras.layers.Activation("silu"), False),
        "Mish": (Mish(), False),
        "PReLU channel": (PReLU(mode="channel"), False),
        "PReLU shared": (PReLU(mode="shared"), False),
        "PReLU element": (PReLU(mode="element"), False),
        "RReLU train": (RReLU(seed=0), True),
        "RReLU infer": (RReLU(seed=0), False),
        "PSwish": (PSwish(), False),
        "PELU": (PELU(), False),
    }


def make_step(layer, training, jit):
    if keras.backend.backend() == "jax":
        return make_jax_step(layer, training)
    import tensorflow as tf

    def step(x, upstream):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
        grads = tape.gradient(y, [x, *layer.trainable_variables], output_gradients=upstream)
        # Returning y keeps the forward pass alive: otherwise graph pruning (and XLA) drop it
        # whenever the gradient needs only x, and the timing would be of the backward pass alone.
        return [y, *grads]

    return tf.function(step, jit_compile=jit)


def make_jax_step(layer, training):
    import jax

    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    # Activation layers without a `training` argument get none (stateless_call passes it as is).
    kwargs = {"training": training} if "training" in _call_arguments(layer) else {}

    @jax.jit
    def step(x, upstream):
        def forward(x_value, weights):
            y, _ = layer.stateless_call(weights, non_trainable, x_value, **kwargs)
            return y

        y, pullback = jax.vjp(forward, x, trainable)
        grad_x, grad_w = pullback(upstream)
        # y is returned so that the forward pass is not pruned away (see the TensorFlow step).
        return [y, grad_x, *grad_w]

    return step


def _call_arguments(layer):
    import inspect

    return inspect.signature(type(layer).call).parameters


def time_once(step, x, upstream, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        result = step(x, upstream)
    np.asarray(keras.ops.convert_to_numpy(result[-1]))  # wait for the last step to finish
    return (time.perf_counter() - start) / iterations


def run(shape, rounds, iterations, jit):
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
    upstream = keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
    steps = {}
    for name, (layer, training) in candidates().items():
        layer.build(shape)
        steps[name] = make_step(layer, training, jit)
        time_once(steps[name], x, upstream, 2)  # trace, compile, warm up
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(time_once(step, x, upstream, iterations))
    return times


def table(times, title):
    lines = [f"### {title}", "", "| layer | ms | " + " | ".join(f"/ {b}" for b in BASELINES) + " |"]
    lines.append("|---|---:|" + "---:|" * len(BASELINES))
    for name, series in times.items():
        ratios = [
            statistics.median(a / b for a, b in zip(series, times[base], strict=True))
            for base in BASELINES
        ]
        cells = " | ".join(f"{r:.2f}x" for r in ratios)
        lines.append(f"| {name} | {1e3 * statistics.median(series):.1f} | {cells} |")
    return "\n".join(lines)


def main(argv=None):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # one tf.function per candidate is not retracing
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batch, few rounds (smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (>= 4)")
    args = parser.parse_args(argv)
    shape = (512, 256) if args.quick else (4096, 1024)
    rounds = args.rounds or (4 if args.quick else 7)
    if rounds < 4:
        parser.error(f"--rounds must be >= 4. Received: rounds={rounds}")
    iterations = 2 if args.quick else 3
    backend = keras.backend.backend()
    print(
        f"{backend}: batch {shape} float32, forward + backward, "
        f"{rounds} interleaved rounds x {iterations}"
    )
    if backend == "jax":
        modes = ((True, "JAX (jax.jit)"),)
    else:
        modes = ((False, "tf.function, no XLA"), (True, "XLA (jit_compile=True)"))
    for jit, title in modes:
        print()
        print(table(run(shape, rounds, iterations, jit), f"{title}, median ratios"))


if __name__ == "__main__":
    main()
