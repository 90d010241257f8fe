"""Draw the pictures of docs/callbacks.md into docs/images/callbacks/.

Usage: python docs/plot_callbacks.py
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_nnperf.callbacks._recording import AppliedHyperparameters  # noqa: E402
from keras_nnperf.callbacks.lr_finder import lr_find  # noqa: E402
from keras_nnperf.callbacks.one_cycle import OneCycle  # noqa: E402
from keras_nnperf.callbacks.performance_scheduler import PerformanceScheduler  # noqa: E402
from keras_nnperf.callbacks.warmup import WarmUp  # noqa: E402
from keras_nnperf.schedules import OneCycle as OneCycleSchedule  # noqa: E402
from keras_nnperf.schedules import evaluate  # noqa: E402

OUT = Path(__file__).parent / "images" / "callbacks"


def mlp():
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    model = mlp()
    result = lr_find(model, x, y, batch_size=32, num_steps=100)
    figure = result.plot()
    figure.axes[0].set_title("lr_find on digits (MLP 2x256, Adam, batch 32)")
    figure.tight_layout()
    if figure.texts:  # the plot's footnote sits under the axis label: make room for it
        figure.subplots_adjust(bottom=0.2)
    figure.savefig(OUT / "lr_find.png", dpi=100)
    plt.close(figure)

    epochs, steps = 5, -(-len(x) // 32)
    recorder = AppliedHyperparameters(epochs * steps)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[OneCycle(), recorder])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    top.plot(recorder.learning_rates, color="C0")
    top.set_ylabel("learning rate")
    top.set_title(f"OneCycle as applied by Adam (max_lr from lr_find: {result.suggestion:.2e})")
    bottom.plot(recorder.momenta, color="C1")
    bottom.set_ylabel("beta_1")
    bottom.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(OUT / "one_cycle_applied.png", dpi=100)
    plt.close(figure)

    peak = float(result.suggestion)
    composition(x, y, peak)
    anneal_policy(x, y, peak)


def split(x, y):
    cut = int(0.7 * len(x))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def composition(x, y, peak):
    """WarmUp + OneCycle + PerformanceScheduler in one real fit: the rate Adam applied."""
    keras.utils.set_random_seed(1)
    (x_train, y_train), validation = split(x, y)
    epochs, steps = 12, -(-len(x_train) // 32)
    recorder = AppliedHyperparameters(epochs * steps)
    # A 2% relative min_delta makes late, small improvements count as a plateau.
    plateau = PerformanceScheduler(patience=1, factor=0.5, min_delta=0.02, min_lr=peak / 200)
    reductions = []
    watch = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: reductions.append(plateau.multiplier)
    )
    callbacks = [WarmUp(steps=steps), OneCycle(max_lr=peak), plateau, watch, recorder]
    mlp().fit(
        x_train, y_train, batch_size=32, epochs=epochs, validation_data=validation, verbose=0,
        callbacks=callbacks,
    )  # fmt: skip
    applied = recorder.learning_rates
    total = epochs * steps
    cycle = evaluate(OneCycleSchedule(peak, total), range(total))
    figure, axis = plt.subplots(figsize=(8, 4.2))
    axis.plot(cycle, color="0.6", linestyle="--", label="S(t): the 1cycle alone")
    axis.plot(applied, color="C0", label="applied: max(m W(S(t)), min(W(S(t)), min_lr))")
    axis.axvline(steps, color="C2", linestyle=":", label=f"end of the warm-up ({steps} steps)")
    changes = [e for e in range(1, epochs) if reductions[e] < reductions[e - 1]]
    for i, epoch in enumerate(changes):
        axis.axvline((epoch + 1) * steps, color="C3", linestyle=":", alpha=0.8,
                     label="plateau: m halved" if i == 0 else None)  # fmt: skip
    axis.axhline(peak / 200, color="C3", linewidth=0.8, alpha=0.5, label="min_lr")
    axis.set_xlabel("step")
    axis.set_ylabel("learning rate")
    title = "WarmUp + OneCycle + PerformanceScheduler, any order (digits MLP, Adam)"
    axis.set_title(title, fontsize=11)
    axis.legend(fontsize=8, loc="upper right", framealpha=0.95)
    figure.tight_layout()
    figure.savefig(OUT / "composition.png", dpi=100)
    plt.close(figure)


def anneal_policy(x, y, peak):
    """OneCycle(patience=...) on a run planned too long: jump to the anneal, stop at the floor."""
    keras.utils.set_random_seed(2)
    (x_train, y_train), validation = split(x, y)
    epochs, steps = 60, -(-len(x_train) // 32)
    recorder = AppliedHyperparameters(epochs * steps)
    cycle = OneCycle(max_lr=peak, patience=3)
    history = mlp().fit(
        x_train, y_train, batch_size=32, epochs=epochs, validation_data=validation, verbose=0,
        callbacks=[cycle, recorder],
    )  # fmt: skip
    ran = len(history.history["loss"])
    applied = recorder.learning_rates[: ran * steps]
    planned = evaluate(OneCycleSchedule(peak, epochs * steps), range(epochs * steps))
    figure, axis = plt.subplots(figsize=(8, 4.2))
    axis.plot(planned, color="0.6", linestyle="--", label=f"planned cycle ({epochs} epochs)")
    axis.plot(applied, color="C0", label="applied")
    jump = (cycle.jumped_epoch + 1) * steps if cycle.jumped_epoch is not None else None
    if jump is not None:
        label = f"3 epochs without val_loss improvement: anneal (epoch {cycle.jumped_epoch + 1})"
        axis.axvline(jump, color="C3", linestyle=":", label=label)
    axis.axvline(ran * steps, color="k", linestyle=":", label=f"floor reached: stop (epoch {ran})")
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("learning rate (log)")
    twin = axis.twinx()
    twin.plot((np.arange(ran) + 1) * steps, history.history["val_loss"], color="C1", marker=".",
              label="val_loss")  # fmt: skip
    twin.set_ylabel("val_loss", color="C1")
    lines = axis.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    twin.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center right",
                framealpha=0.95)  # fmt: skip
    axis.set_title("OneCycle(patience=3): a 1cycle that always anneals (digits MLP, Adam)",
                   fontsize=11)  # fmt: skip
    figure.tight_layout()
    figure.savefig(OUT / "anneal_policy.png", dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
