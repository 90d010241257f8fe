"""Write the example notebooks from the cell sources below: python examples/build_notebooks.py.

The notebooks are generated so that a review reads plain Python here, and committed executed
(`python examples/build_notebooks.py --execute`), so that GitHub and Kaggle show their outputs and
pictures. Every notebook reads `NNPERF_FAST=1` (set by the test suite, which runs them again) to
shrink epochs and trials; as written they run in under three minutes each on two CPU cores.
"""

import argparse
import os
import re
import tempfile

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))

SETUP = """\
import os

FAST = os.environ.get("NNPERF_FAST") == "1"  # the test suite runs a shortened version
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_nnperf as nnp

keras.utils.set_random_seed(0)
"""

TABULAR = [
    (
        "md",
        """\
# Tabular data, Kaggle style: breast cancer, done right

The usual first attempt: a few Dense layers on the raw features, Adam at its default rate, and
a random search over layer counts. Here we redo that journey with `keras_nnperf`, one step at a
time, and show what each step buys:

1. scale the inputs (and see the difference in the training curves);
2. ask the model doctor (`nnp.diagnose`) what is wrong before training;
3. find the learning rate with an LR range test (`nnp.lr_find`);
4. train with 1Cycle and early stopping;
5. search architectures with the `HyperMLP` template.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from keras_nnperf.callbacks import EarlyStopping, OneCycle
from keras_nnperf.initializers import for_activation
from keras_nnperf.tuning import HyperMLP

EPOCHS = 2 if FAST else 30
TRIALS = 1 if FAST else 4
SEARCH_EPOCHS = 2 if FAST else 10

x, y = load_breast_cancer(return_X_y=True)
x = x.astype("float32")
y = y.astype("float32")[:, None]
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
x_train, x_val, y_train, y_val = train_test_split(
    x_train, y_train, test_size=0.2, stratify=y_train, random_state=0
)
# Standardize with the training split's statistics only, so nothing leaks from validation/test.
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
scale = lambda a: (a - mean) / std  # noqa: E731
print(x_train.shape, x_val.shape, x_test.shape)
print("feature scales from", np.abs(x_train).max(axis=0).min(), "to", np.abs(x_train).max())""",
    ),
    ("md", "## 1. Unscaled versus scaled inputs\n\nThe same network, the same seed, twice."),
    (
        "code",
        """\
def make_model(learning_rate=1e-3):
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(64, activation="relu", kernel_initializer=for_activation("relu")),
            keras.layers.Dense(64, activation="relu", kernel_initializer=for_activation("relu")),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


curves = {}
for name, (a, b) in {"raw": (x_train, x_val), "scaled": (scale(x_train), scale(x_val))}.items():
    keras.utils.set_random_seed(0)
    history = make_model().fit(
        a, y_train, validation_data=(b, y_val), epochs=EPOCHS, batch_size=32, verbose=0
    )
    curves[name] = history.history

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, h in curves.items():
    axes[0].plot(h["val_loss"], label=name)
    axes[1].plot(h["val_accuracy"], label=name)
axes[0].set_title("validation loss")
axes[1].set_title("validation accuracy")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.legend()
plt.show()""",
    ),
    (
        "md",
        "## 2. Ask the doctor\n\n`nnp.diagnose` checks the data and the model before training: "
        "here it flags the unscaled inputs at once.",
    ),
    (
        "code",
        """\
print(nnp.diagnose(make_model(), x_train, y_train, run_lr_finder=False))
print()
print(nnp.diagnose(make_model(), scale(x_train), y_train, run_lr_finder=False))""",
    ),
    (
        "md",
        "## 3. LR range test\n\nRaise the learning rate exponentially for a hundred steps and "
        "watch the loss (Smith, 2017). The model is restored afterwards.",
    ),
    (
        "code",
        """\
model = make_model()
finder = nnp.lr_find(
    model, scale(x_train), y_train, min_lr=1e-5, max_lr=1.0, num_steps=20 if FAST else 100
)
print("suggested peak learning rate:", finder.suggestion)
finder.plot()""",
    ),
    (
        "md",
        "## 4. 1Cycle and early stopping\n\n`OneCycle(max_lr=None)` takes the finder's "
        "suggestion; `EarlyStopping` keeps the best epoch's weights.",
    ),
    (
        "code",
        """\
stopper = EarlyStopping(patience=8)
history = model.fit(
    scale(x_train),
    y_train,
    validation_data=(scale(x_val), y_val),
    epochs=EPOCHS,
    batch_size=32,
    callbacks=[OneCycle(), stopper],
    verbose=0,
)
print("stopped:", stopper.stop_reason, "best epoch:", stopper.best_epoch)
print(f"test accuracy: {model.evaluate(scale(x_test), y_test, verbose=0)[1]:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
left.plot(history.history["loss"], label="train")
left.plot(history.history["val_loss"], label="validation")
left.plot(curves["scaled"]["val_loss"], "--", label="validation, Adam 1e-3")
left.set_title("loss")
left.legend()
right.plot(history.history["learning_rate"])
right.set_title("learning rate per epoch (1Cycle)")
plt.show()""",
    ),
    (
        "md",
        "## 5. Search architectures with `HyperMLP`\n\nThe template tunes depth, width, "
        "activation (including `mish`), normalization, dropout and the training recipe.",
    ),
    (
        "code",
        """\
import tempfile

result = nnp.tuning.search(
    # 364 rows: batches of at most 64 keep enough steps per epoch for every LR schedule.
    HyperMLP(num_features=30, task="binary", max_layers=3, batch_sizes=[16, 32, 64]),
    scale(x_train),
    y_train,
    validation_data=(scale(x_val), y_val),
    tuner="random",
    max_trials=TRIALS,
    epochs=SEARCH_EPOCHS,
    directory=tempfile.mkdtemp(),
    overwrite=True,
    seed=0,
    verbose=0,
)
print(result.best_hyperparameters.values)
best = result.best_model
accuracy = best.evaluate(scale(x_test), y_test, verbose=0)[1]
print(f"test accuracy of the best trial: {accuracy:.4f}")
result.plot()""",
    ),
    (
        "md",
        "The command line does all of this on any CSV: "
        "`nnperf fit train.csv --target diagnosis --tune 20`.",
    ),
]

NOT_LEARNING = [
    (
        "md",
        """\
# Fixing a network that will not learn

A deep sigmoid network with a bad initialization sits at chance level. Instead of guessing, we
ask the model doctor (`nnp.diagnose`) what is wrong, attach the monitors (`GradientMonitor`,
`ActivationMonitor`) to see it during training, and fix one thing at a time:

1. initialize for the activation,
2. a non-saturating activation (ReLU, with He initialization),
3. batch normalization, which makes a large learning rate safe; the range test finds it, a 1Cycle
   schedule uses it, and the output layer starts at the baseline.

Every step trains the same six-layer network for the same number of epochs and prints its
validation accuracy, so each fix has to earn its place.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
import io
import warnings

from IPython.display import Image, display
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from keras_nnperf.callbacks import ActivationMonitor, GradientMonitor, OneCycle
from keras_nnperf.initializers import for_activation, initialize_at_baseline

warnings.simplefilter("ignore")  # the monitors' alerts are summarized in the rows below
EPOCHS = 1 if FAST else 15
DEPTH, WIDTH = 6, 32

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")  # pixels in [0, 1]
x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)


def show(fig):
    \"\"\"Display a matplotlib figure once, as a PNG, whatever the plotting backend.\"\"\"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buffer.getvalue()))


def make_model(activation, kernel_init, bias_init="zeros", batch_norm=False):
    layers = [keras.Input((64,))]
    for _ in range(DEPTH):
        layers.append(
            keras.layers.Dense(
                WIDTH,
                kernel_initializer=kernel_init,
                bias_initializer=bias_init,
                use_bias=not batch_norm,  # batch norm's own shift replaces the bias
            )
        )
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation(activation))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def train(name, model, callbacks=()):
    gradients = GradientMonitor()
    activations = ActivationMonitor(x_train[:256])
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=EPOCHS,
        batch_size=64,
        callbacks=[gradients, activations, *callbacks],
        verbose=0,
    )
    norms = [v[-1] for k, v in gradients.history.items() if k.startswith("grad_norm/")]
    dead = [v[-1] for k, v in activations.history.items() if k.startswith("dead_fraction/")]
    row = {
        "step": name,
        "val_accuracy": round(history.history["val_accuracy"][-1], 3),
        "first/last layer gradient": float(f"{norms[0] / max(norms[-1], 1e-30):.2g}"),
        "dead units": round(float(np.mean(dead)), 3) if dead else 0.0,
    }
    print(row)
    return row, gradients, activations


rows = []""",
    ),
    (
        "md",
        "## The broken network\n\nSix sigmoid layers, weights drawn with standard deviation "
        "0.01 and biases at -0.5. The doctor sees the trouble before any training: the "
        "gradient shrinks by ten orders of magnitude on its way back to the first layer.",
    ),
    (
        "code",
        """\
bad_init = keras.initializers.RandomNormal(stddev=0.01, seed=0)
bad_bias = keras.initializers.Constant(-0.5)
broken = make_model("sigmoid", bad_init, bad_bias)
print(nnp.diagnose(broken, x_train, y_train, run_lr_finder=False))
row, gradients, activations = train("broken: sigmoid, std 0.01, bias -0.5", broken)
rows.append(row)
show(gradients.plot())""",
    ),
    (
        "md",
        "The heatmap shows the gradient norm of every layer at every epoch: the early layers "
        "get almost nothing, so they do not learn, and the network stays at chance level "
        "(one digit in ten).\n\n"
        "## Step 1: initialize for the activation\n\n`for_activation('sigmoid')` gives Glorot "
        "initialization (Var(w) = 2 / (fan_in + fan_out)) and zero biases: the signal keeps its "
        "scale far better. But a sigmoid's slope is at most 0.25, so six of them still shrink "
        "the gradient: the network only starts to move late.",
    ),
    (
        "code",
        """\
glorot = make_model("sigmoid", for_activation("sigmoid"))
row, gradients, activations = train("1. sigmoid, Glorot init", glorot)
rows.append(row)
show(gradients.plot())""",
    ),
    (
        "md",
        "## Step 2: a non-saturating activation\n\nReLU's slope is 1 where it is active; with "
        "`for_activation('relu')` (He initialization, Var(w) = 2 / fan_in) the signal keeps "
        "its scale through all six layers. The activation monitor checks that the units stay "
        "alive (the dead-unit fraction).",
    ),
    (
        "code",
        """\
relu = make_model("relu", for_activation("relu"))
row, gradients, activations = train("2. ReLU, He init", relu)
rows.append(row)
relus = [layer.name for layer in relu.layers if isinstance(layer, keras.layers.Activation)]
show(activations.plot(layers=relus[::2]))  # the first, third and fifth ReLU layers""",
    ),
    (
        "md",
        "## Step 3: batch norm, the range test's learning rate, and a start at the baseline\n\n"
        "Normalizing each layer's pre-activations keeps their scale fixed whatever the "
        "weights do, so a much larger learning rate is safe: `lr_find` (the LR range test) "
        "finds it and a 1Cycle schedule warms up to it and anneals from it. And an untrained "
        "classifier should predict the class frequencies; a random one predicts noise, and its "
        "first steps go to unlearning it. `initialize_at_baseline` sets the output bias to the "
        "log of the class frequencies and scales the output kernel down, so the first loss is "
        "the entropy of the class prior: the doctor reports the ratio.",
    ),
    (
        "code",
        """\
final = make_model("relu", for_activation("relu"), batch_norm=True)
before = nnp.diagnose(final, x_train, y_train, run_lr_finder=False, run_gradient_check=False)
initialize_at_baseline(final, y_train)
after = nnp.diagnose(final, x_train, y_train, run_lr_finder=False, run_gradient_check=False)
print(f"initial loss / baseline: {before.summary['loss_vs_baseline']:.3f} before, "
      f"{after.summary['loss_vs_baseline']:.3f} after")
finder = nnp.lr_find(final, x_train, y_train, batch_size=64)
print(f"range test: max_lr = {finder.suggestion:.2g}")
row, gradients, activations = train(
    "3. + batch norm, 1Cycle at the range test's rate, baseline start",
    final,
    [OneCycle(max_lr=finder.suggestion)],
)
rows.append(row)
show(gradients.plot())""",
    ),
    (
        "md",
        "## The whole journey\n\nThe doctor has nothing left to warn about. The big jump is "
        "step 2, the activation; step 3 adds a little on this small, easy data set (over three "
        "seeds, -0.016 to +0.025 against step 2), and it peaks at the range test's rate, tens of "
        "times Adam's default 1e-3, without diverging.",
    ),
    (
        "code",
        """\
print(nnp.diagnose(final, x_train, y_train, run_lr_finder=False))
for row in rows:
    print(f"{row['val_accuracy']:.3f}  {row['step']}")
fig, ax = plt.subplots(figsize=(8, 3))
ax.barh([r["step"] for r in rows], [r["val_accuracy"] for r in rows], color="tab:blue")
for i, r in enumerate(rows):
    ax.text(r["val_accuracy"] + 0.01, i, f"{r['val_accuracy']:.3f}", va="center")
ax.set_xlim(0, 1.1)
ax.set_xlabel(f"validation accuracy after {EPOCHS} epochs")
ax.invert_yaxis()
show(fig)""",
    ),
]

IMAGES = [
    (
        "md",
        """\
# Images: digits with `HyperCNN`, then Monte Carlo dropout for uncertainty

`HyperCNN` searches convolutional blocks, the head and the training recipe. We then train a
small CNN with `MCDropout` (dropout that stays on at inference) and use `mc_predict` to get a
predictive mean and spread: the spread tells which digits the model is unsure about, and
dropping the most uncertain predictions raises the accuracy on the rest
(Gal & Ghahramani, 2016).""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
import tempfile

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from keras_nnperf.callbacks import OneCycle
from keras_nnperf.layers import MCDropout, mc_predict
from keras_nnperf.tuning import HyperCNN

EPOCHS = 1 if FAST else 12
TRIALS = 1 if FAST else 4

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32").reshape(-1, 8, 8, 1)
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.25, stratify=y, random_state=0
)
x_train, x_val, y_train, y_val = train_test_split(
    x_train, y_train, test_size=0.2, stratify=y_train, random_state=0
)
print(x_train.shape, x_val.shape, x_test.shape)""",
    ),
    ("md", "## Search with `HyperCNN`"),
    (
        "code",
        """\
result = nnp.tuning.search(
    HyperCNN(input_shape=(8, 8, 1), num_classes=10, max_blocks=2, batch_sizes=[16, 32, 64]),
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    tuner="random",
    max_trials=TRIALS,
    epochs=EPOCHS,
    directory=tempfile.mkdtemp(),
    overwrite=True,
    seed=0,
    verbose=0,
)
print(result.best_hyperparameters.values)
print(f"test accuracy: {result.best_model.evaluate(x_test, y_test, verbose=0)[1]:.4f}")
result.plot()""",
    ),
    (
        "md",
        "## A CNN with `MCDropout`, trained with the LR range test and 1Cycle",
    ),
    (
        "code",
        """\
model = keras.Sequential(
    [
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation=nnp.get_activation("mish")),
        keras.layers.Conv2D(64, 3, padding="same", activation=nnp.get_activation("mish")),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        MCDropout(0.3),
        keras.layers.Dense(128, activation=nnp.get_activation("mish")),
        MCDropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
finder = nnp.lr_find(
    model, x_train, y_train, min_lr=1e-5, max_lr=1.0, num_steps=20 if FAST else 100
)
model.fit(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    epochs=EPOCHS,
    batch_size=32,
    callbacks=[OneCycle()],
    verbose=0,
)
mean, std = mc_predict(model, x_test, n_samples=5 if FAST else 30)
predicted = mean.argmax(axis=1)
uncertainty = std[np.arange(len(std)), predicted]
print(f"MC-dropout test accuracy: {np.mean(predicted == y_test):.4f}")""",
    ),
    (
        "md",
        "## Uncertainty is informative\n\nSort the test digits from most to least certain and "
        "keep only the most certain fraction: the accuracy on what is kept goes up.",
    ),
    (
        "code",
        """\
order = np.argsort(uncertainty)
kept = np.arange(1, len(order) + 1) / len(order)
accuracy = np.cumsum(predicted[order] == y_test[order]) / np.arange(1, len(order) + 1)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.plot(kept, accuracy)
left.set_xlabel("fraction of test digits kept (most certain first)")
left.set_ylabel("accuracy")
worst = order[::-1][:8]
right.imshow(np.hstack([x_test[i, :, :, 0] for i in worst]), cmap="gray_r")
right.set_title(
    "least certain: " + " ".join(f"{predicted[i]}({y_test[i]})" for i in worst), fontsize=9
)
right.axis("off")
plt.show()""",
    ),
]

SCHEDULES = [
    (
        "md",
        """\
# Schedules gallery

Every learning-rate schedule in `keras_nnperf.schedules`, evaluated step by step exactly as the
optimizer reads it (`evaluate`), then warm-up variants, and finally plateau scheduling on top
of a schedule with `PerformanceScheduler`. The step convention is the same everywhere: the
k-th update uses `schedule(k)`.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
S = nnp.schedules

STEPS = 200 if FAST else 1000
T = STEPS
gallery = {
    "Constant": S.Constant(1e-3),
    "Linear": S.Linear(1e-3, 1e-5, T),
    "PiecewiseConstant": S.PiecewiseConstant([T // 3, 2 * T // 3], [1e-3, 3e-4, 1e-4]),
    "CosineDecay": S.CosineDecay(1e-3, T),
    "CosineRestarts": S.CosineRestarts(1e-3, T // 7),
    "Triangular": S.Triangular(1e-4, 1e-3, T // 8),
    "Triangular2": S.Triangular(1e-4, 1e-3, T // 8, mode="triangular2"),
    "ExponentialDecay": S.ExponentialDecay(1e-3, T),
    "PowerDecay": S.PowerDecay(1e-3, T // 10),
    "PolynomialDecay": S.PolynomialDecay(1e-3, T, end_learning_rate=1e-5, power=2.0),
    "OneCycle": S.OneCycle(1e-3, T),
    "OneCycleMomentum": S.OneCycleMomentum(T),
}
fig, axes = plt.subplots(3, 4, figsize=(14, 8), sharex=True)
steps = range(0, T, 5 if FAST else 1)
for ax, (name, schedule) in zip(axes.flat, gallery.items(), strict=True):
    ax.plot(list(steps), S.evaluate(schedule, steps))
    ax.set_title(name)
fig.tight_layout()
plt.show()""",
    ),
    (
        "md",
        "## Warm-up is a composition\n\n`WarmUp(schedule, warmup_steps, kind)` ramps up to any "
        "schedule; `warmup_cosine` and `Join` build the common recipes (Goyal et al., 2017).",
    ),
    (
        "code",
        """\
W = T // 10
warmups = {
    "WarmUp(CosineDecay), linear": S.WarmUp(S.CosineDecay(1e-3, T), W),
    "WarmUp(CosineDecay), exponential": S.WarmUp(
        S.CosineDecay(1e-3, T), W, kind="exponential", init_learning_rate=1e-6
    ),
    "warmup_cosine": S.warmup_cosine(1e-3, T, W),
    "Join(Linear, ExponentialDecay)": S.Join(
        [S.Linear(0.0, 1e-3, W), S.ExponentialDecay(1e-3, T - W)], [W]
    ),
}
fig, ax = plt.subplots(figsize=(9, 3.5))
for name, schedule in warmups.items():
    ax.plot(list(steps), S.evaluate(schedule, steps), label=name)
ax.set_xlabel("step")
ax.legend()
plt.show()""",
    ),
    (
        "md",
        "## Plateau scheduling on top of a schedule\n\nKeras's `ReduceLROnPlateau` raises a "
        "`TypeError` when the optimizer holds a schedule. `PerformanceScheduler` scales "
        "whatever the optimizer holds, in-graph, when the validation loss stops improving.",
    ),
    (
        "code",
        """\
from sklearn.datasets import load_diabetes

from keras_nnperf.callbacks import PerformanceScheduler

x, y = load_diabetes(return_X_y=True)
x = ((x - x.mean(0)) / x.std(0)).astype("float32")
y = ((y - y.mean()) / y.std()).astype("float32")
epochs = 4 if FAST else 60
steps_per_epoch = int(np.ceil(0.8 * len(x) / 32))
model = keras.Sequential(
    [keras.Input((10,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)]
)
schedule = S.CosineDecay(3e-2, epochs * steps_per_epoch)
model.compile(keras.optimizers.Adam(schedule), loss="mse")
plateau = PerformanceScheduler(monitor="val_loss", factor=0.5, patience=2 if FAST else 4)
history = model.fit(
    x, y, validation_split=0.2, epochs=epochs, batch_size=32, callbacks=[plateau], verbose=0
)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.plot(history.history["val_loss"])
left.set_title("validation loss")
planned = S.evaluate(schedule, [e * steps_per_epoch for e in range(1, epochs + 1)])
right.plot(planned, "--", label="CosineDecay alone")
right.plot(history.history["learning_rate"], label="with PerformanceScheduler")
right.set_title("learning rate at each epoch end")
right.legend()
plt.show()""",
    ),
]

KAGGLE = [
    (
        "md",
        """\
# From a CSV to a Kaggle submission: K-fold, out-of-fold scores, a fold ensemble

What a Kaggle notebook does with a tabular competition, with the `nnperf` command: a `train.csv`
with an ID column and the target, a `test.csv` without the target, and a `submission.csv` to
upload. The data here is a real table that ships inside a pip package (the Palmer penguins:
strings, missing values), cut the way a competition would cut it.

1. write `train.csv` and `test.csv`, with an `id` column;
2. `nnperf fit train.csv --target species --id id --folds 5`: five networks, each trained with
   the recipe (LR range test, warm-up, 1Cycle annealed on plateau, best weights kept), scored
   out of fold, beside a linear model and the majority class on the same folds;
3. `nnperf predict` averages the five networks on `test.csv` and writes `submission.csv` with the
   `id` column first;
4. read the report.""",
    ),
    (
        "code",
        """\
import os

import numpy as np
import pandas as pd
from palmerpenguins import load_penguins

FAST = os.environ.get("NNPERF_FAST") == "1"  # the test suite runs a shortened version
EPOCHS = "2" if FAST else "40"
FOLDS = "2" if FAST else "5"

penguins = load_penguins().drop(columns=["year"])
rng = np.random.default_rng(0)
penguins.insert(0, "id", rng.permutation(len(penguins)) + 1000)
test_rows = rng.random(len(penguins)) < 0.2
penguins[~test_rows].to_csv("train.csv", index=False)
penguins[test_rows].drop(columns=["species"]).to_csv("test.csv", index=False)
answers = penguins[test_rows][["id", "species"]]  # what the leaderboard would know
print(f"train.csv: {(~test_rows).sum()} rows, test.csv: {test_rows.sum()} rows")
pd.read_csv("train.csv").head()""",
    ),
    (
        "md",
        "In a terminal this is `nnperf fit train.csv --target species --id id --folds 5`; in a "
        "notebook, `keras_nnperf.cli.main` runs the same command in-process. `--id id` keeps the "
        "ID out of the features and carries it into the predictions.",
    ),
    (
        "code",
        """\
from keras_nnperf.cli import main as nnperf

code = nnperf(
    ["fit", "train.csv", "--target", "species", "--id", "id", "--folds", FOLDS,
     "--epochs", EPOCHS, "--out", "penguins_run", "--overwrite"]
)
assert code == 0""",
    ),
    (
        "md",
        "`nnperf predict` averages the fold models; `--submission` writes only the ID and the "
        "predicted `species`, the file a competition takes.",
    ),
    (
        "code",
        """\
code = nnperf(
    ["predict", "penguins_run", "test.csv", "--submission", "--out", "submission.csv",
     "--overwrite"]
)
assert code == 0
submission = pd.read_csv("submission.csv")
submission.head()""",
    ),
    (
        "code",
        """\
scored = submission.merge(answers, on="id", suffixes=("_predicted", ""))
hits = np.mean(scored["species_predicted"] == scored["species"])
print(f"accuracy on the held-out test rows: {hits:.3f}")""",
    ),
    (
        "md",
        "The report `nnperf fit` wrote (`penguins_run/report.md`): the out-of-fold scores beside "
        "the baselines, then its pictures.",
    ),
    (
        "code",
        """\
import glob

from IPython.display import Image, Markdown, display

with open("penguins_run/report.md", encoding="utf-8") as f:
    text = f.read()
display(Markdown(text.split("## Results on the validation rows")[0]))  # text; pictures below
for path in sorted(glob.glob("penguins_run/*.png")):
    print(os.path.basename(path))
    display(Image(filename=path, width=640))""",
    ),
    (
        "md",
        """## The same recipe from Python, on DataFrames

A notebook often holds its tables as DataFrames, after some work on them. Every function that
takes a CSV path takes a DataFrame too, read by the same rules: `load_training_data` splits and
encodes it, `train_tabular` runs the recipe (a validation split; on up to 1,500 training rows,
as here, the mean of three networks from successive seeds) and writes the report, `predict_csv`
predicts another DataFrame. The sliced frames' row labels are not read as
a column.""",
    ),
    (
        "code",
        """from keras_nnperf.pipeline import predict_csv, train_tabular
from keras_nnperf.tabular import load_training_data

train_df = penguins[~test_rows]
test_df = penguins[test_rows].drop(columns=["species"])
data = load_training_data(train_df, "species", id_column="id")
run = train_tabular(data, "penguins_py", epochs=int(EPOCHS), verbose=0)
print("validation:", {name: round(value, 3) for name, value in run.metrics.items()})
predictions = predict_csv("penguins_py", test_df)
hits = np.mean(np.array(predictions["prediction"]) == answers["species"].to_numpy())
print(f"accuracy on the held-out test rows: {hits:.3f}")""",
    ),
]

TRANSFER = [
    (
        "md",
        """\
# Transfer learning with few labels: reuse, fine_tune, gradual unfreezing, pretraining

Twenty labels per class is not enough to train even a small CNN from scratch. Here we

1. train a small CNN on the digits 0-4 (plenty of labels),
2. reuse its lower layers for the digits 5-9 with 20 labels per class (`reuse`),
3. train it with fastai's recipe (`fine_tune`: head first, then everything with discriminative
   rates and 1Cycle, `lr_find` before each phase) and compare with training from scratch and with
   naive full fine-tuning,
4. unfreeze it gradually instead (`GradualUnfreezing`, ULMFiT),
5. and, with no related task at all, pretrain the lower layers as an autoencoder on unlabeled
   images (`pretrain_autoencoder`).""",
    ),
    ("code", SETUP.replace("import keras_nnperf as nnp\n\n", "")),  # uses no shortcut
    (
        "code",
        """\
import io

from IPython.display import Image, display
from sklearn.datasets import load_digits

from keras_nnperf.callbacks import OneCycle
from keras_nnperf.transfer import (
    GradualUnfreezing,
    fine_tune,
    pretrain_autoencoder,
    reuse,
    reused_layer_names,
    ulmfit_multipliers,
)

EPOCHS = 3 if FAST else 10
PRETRAIN_EPOCHS = 1 if FAST else 10
LR_FIND_STEPS = 20 if FAST else 100

digits = load_digits()
x = (digits.images / 16.0).astype("float32")[..., None]  # (n, 8, 8, 1) in [0, 1]
y = digits.target
rng = np.random.default_rng(0)
source = y < 5
chosen = np.concatenate(
    [rng.choice(np.flatnonzero(y == c), 20, replace=False) for c in range(5, 10)]
)
rest = np.setdiff1d(np.flatnonzero(~source), chosen)
x_b, y_b = x[chosen], y[chosen] - 5  # 100 labeled images of 5-9
x_val, y_val = x[rest], y[rest] - 5


def cnn(classes):
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.BatchNormalization(name="bn1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.BatchNormalization(name="bn2"),
        keras.layers.MaxPooling2D(name="pool2"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(64, activation="relu", name="dense"),
        keras.layers.Dense(classes, activation="softmax", name="head"),
    ])


def compiled(model):
    loss = "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"])
    return model


def show(fig):
    \"\"\"Display a matplotlib figure once, as a PNG, whatever the plotting backend.\"\"\"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buffer.getvalue()))


model_a = compiled(cnn(5))
model_a.fit(x[source], y[source], batch_size=32, epochs=PRETRAIN_EPOCHS, verbose=0)
accuracy = model_a.evaluate(x[source], y[source], verbose=0)[1]
print("model A on 0-4, training accuracy:", accuracy)""",
    ),
    (
        "md",
        """\
## Reuse the lower layers

`reuse` copies every layer but the output one (so training B leaves A untouched) and puts a new
head on top. The reused BatchNormalization layers are set `trainable = False`, which in Keras 3
also runs them in inference mode: they keep the statistics learned on 0-4 instead of
re-estimating them from batches of 16 images of the new task.""",
    ),
    (
        "code",
        """\
model_b = reuse(model_a, head=5)
print([(layer.name, layer.trainable) for layer in model_b.layers])
print("base layers:", reused_layer_names(model_b, "head"))""",
    ),
    (
        "md",
        """\
## Three ways to train it, at equal epochs

`fine_tune` trains the head alone for one epoch (the base frozen: its weights and optimizer
slots do not move), then everything for the other epochs, the base split into three groups whose
rates go from 1/100 of the head's (bottom) up, each phase a 1Cycle whose peak `lr_find` chose.""",
    ),
    (
        "code",
        """\
curves = {}
keras.utils.set_random_seed(1)
scratch = compiled(cnn(5))
curves["from scratch"] = scratch.fit(x_b, y_b, batch_size=16, epochs=EPOCHS,
                                     validation_data=(x_val, y_val), verbose=0).history
keras.utils.set_random_seed(2)
naive = compiled(reuse(model_a, head=5))
curves["naive full fine-tuning"] = naive.fit(x_b, y_b, batch_size=16, epochs=EPOCHS,
                                             validation_data=(x_val, y_val), verbose=0).history
keras.utils.set_random_seed(2)
tuned = compiled(reuse(model_a, head=5))
result = fine_tune(tuned, x_b, y_b, base=reused_layer_names(tuned, "head"), epochs=EPOCHS - 1,
                   batch_size=16, validation_data=(x_val, y_val), lr_find_steps=LR_FIND_STEPS)
curves["fine_tune"] = result.history
print("groups:", result.groups)
print("multipliers in phase 2:", np.round(result.multipliers, 4))
print("peak rates found by lr_find:", [f"{r:.2g}" for r in result.learning_rates])

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, history in curves.items():
    accuracy = history["val_accuracy"]
    ax.plot(range(1, len(accuracy) + 1), accuracy, marker="o", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy (5-9)")
ax.legend()
show(fig)""",
    ),
    (
        "md",
        """\
One seed proves little: `python benchmarks/transfer.py --seeds 10` runs all of this (and the
same with lr_find + 1Cycle for every method) over paired seeds. On this transfer `fine_tune`
does **not** beat naive full fine-tuning with lr_find + 1Cycle: it loses by about a point at 20
labels per class and ties at 10 (`docs/transfer.md` has the paired table and what costs it:
mostly the head-only epoch). Both are far ahead of training from scratch.

## Gradual unfreezing

ULMFiT's schedule as a callback: the head first, then one more group from the top every epoch,
each at its own rate. No recompile, and the optimizer keeps its state.""",
    ),
    (
        "code",
        """\
keras.utils.set_random_seed(2)
gradual = compiled(reuse(model_a, head=5))
groups = [["conv1"], ["conv2"], ["dense"]]
history = gradual.fit(
    x_b, y_b, batch_size=16, epochs=EPOCHS, validation_data=(x_val, y_val), verbose=0,
    callbacks=[GradualUnfreezing(groups, multipliers=ulmfit_multipliers(3)), OneCycle(max_lr=3e-3)],
)
print("unfrozen groups per epoch:", history.history["unfrozen_groups"])
print("validation accuracy:", np.round(history.history["val_accuracy"], 3))""",
    ),
    (
        "md",
        """\
## No related task? Pretrain without labels

All ten digits, 20 labels per class, but every training image available without its label:
pretrain the encoder as a denoising autoencoder, then reuse it.""",
    ),
    (
        "code",
        """\
order = rng.permutation(len(x))
pool, held = order[: int(0.7 * len(x))], order[int(0.7 * len(x)):]
picks = [rng.choice(np.flatnonzero(y[pool] == c), 20, replace=False) for c in range(10)]
labeled = pool[np.concatenate(picks)]


def encoder():
    return keras.Sequential([keras.Input((8, 8, 1)), *cnn(10).layers[:-1]], name="encoder")


keras.utils.set_random_seed(3)
enc = encoder()
pretrain_autoencoder(enc, x[pool], epochs=PRETRAIN_EPOCHS + 5, noise_stddev=0.1)
results = {}
for name, base in (("from scratch", encoder()), ("pretrained", enc)):
    model = compiled(reuse(base, head=10, num_layers=None))
    history = model.fit(x[labeled], y[labeled], batch_size=16, epochs=EPOCHS,
                        validation_data=(x[held], y[held]), verbose=0)
    results[name] = history.history["val_accuracy"][-1]
print({name: round(value, 3) for name, value in results.items()})""",
    ),
]

AVERAGE_DISTILL_COMPRESS = [
    (
        "md",
        """\
# After it trains: average the weights, size the batch, distill, compress

Four things to do once a network learns, each on scikit-learn's digits (8 x 8 images, 10
classes) and each with the number that says whether it paid:

1. **average the weights** SGD went through (`SWA`, `EMA`, `Lookahead`) instead of keeping the
   last noisy step;
2. **measure the gradient noise scale**, the critical batch size, and read the doctor's
   batch-size advice;
3. **distill** a teacher into a 16-unit student with `Distiller`, using unlabeled rows as a
   transfer set, then save and load the student alone;
4. **compress** the model for inference with `compress`: int8 quantization and magnitude
   pruning, size and accuracy before and after.

Every run here is one seed, to show the tools; the benchmarks named in each section give the
numbers over seeds.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
import io

from IPython.display import Image, Markdown, display
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from keras_nnperf.callbacks import EMA, SWA, GradientNoiseScale
from keras_nnperf.compression import compress
from keras_nnperf.diagnostics import measure_noise_scale
from keras_nnperf.distillation import Distiller, soft_targets
from keras_nnperf.optimizers import Lookahead

EPOCHS = 3 if FAST else 30
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")  # pixels in [0, 1]
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.3, stratify=y, random_state=0
)


def mlp(units=256, depth=2):
    keras.utils.set_random_seed(0)  # every arm starts from the same weights
    hidden = [keras.layers.Dense(units, activation="relu") for _ in range(depth)]
    return keras.Sequential([keras.Input((64,)), *hidden, keras.layers.Dense(10)])


def show(fig):
    \"\"\"Display a matplotlib figure once, as a PNG, whatever the plotting backend.\"\"\"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buffer.getvalue()))


def table(header, rows):
    \"\"\"Display a Markdown table; columns of numbers are right-aligned.\"\"\"
    align = ["---:" if str(cell).replace(".", "").isdigit() else "---" for cell in rows[-1]]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    display(Markdown("\\n".join(lines)))


print(x_train.shape, x_test.shape)""",
    ),
    (
        "md",
        """\
## 1. Weight averaging: SWA, EMA and Lookahead against plain SGD

An MLP 2 x 256 trained with SGD at a high rate (0.1, momentum 0.9) and batch 16 ends wherever
its last noisy step left it. Four runs from the same initial weights and the same batches:

* **plain SGD**, the last weights;
* **`EMA(0.99)`**: an exponential moving average of the weights, updated in the train step; the
  validation metrics are the average's, and `final_weights="average"` leaves it in the model;
* **`SWA`**: the equal average of the weights at the end of each of the last quarter's epochs
  (Izmailov et al. 2018), put into the model when `fit` ends;
* **`Lookahead(SGD)`**: slow weights pulled halfway towards the fast ones every 6 steps (Zhang
  et al. 2019).

The plain run also carries a `GradientNoiseScale` callback, for section 2: it only watches
the gradients.""",
    ),
    (
        "code",
        """\
noise = GradientNoiseScale(batch_size=16, window=4)  # a short window: see section 2
swa = SWA(start_epoch=EPOCHS - EPOCHS // 4)
arms = {
    "plain SGD": (None, [noise]),
    "EMA(0.99)": (None, [EMA(momentum=0.99, final_weights="average")]),
    "SWA, last quarter": (None, [swa]),
    "Lookahead(k=6, alpha=0.5)": (dict(sync_period=6, slow_step_size=0.5), []),
}
models, curves = {}, {}
for name, (lookahead, callbacks) in arms.items():
    model = mlp()
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    if lookahead:
        optimizer = Lookahead(optimizer, **lookahead)
    model.compile(optimizer, LOSS, metrics=["accuracy"])
    keras.utils.set_random_seed(0)  # the same batches for every arm
    history = model.fit(
        x_train, y_train, batch_size=16, epochs=EPOCHS, validation_data=(x_test, y_test),
        callbacks=callbacks, verbose=0,
    )
    models[name], curves[name] = model, history.history

results = {name: model.evaluate(x_test, y_test, verbose=0) for name, model in models.items()}
table(
    ["method", "test loss", "test accuracy"],
    [(name, f"{loss:.3f}", f"{accuracy:.3f}") for name, (loss, accuracy) in results.items()],
)
print(f"SWA averaged the last {swa.averaged_models} epochs' weights")""",
    ),
    (
        "code",
        """\
fig, ax = plt.subplots(figsize=(8, 3.8))
colors = {"plain SGD": "tab:gray", "EMA(0.99)": "tab:blue", "SWA, last quarter": "tab:red",
          "Lookahead(k=6, alpha=0.5)": "tab:green"}
epochs = np.arange(1, EPOCHS + 1)
for name, history in curves.items():
    if name == "SWA, last quarter":  # SGD's curve until fit ends, then the average: one point
        label = name + " (at the end)"
        ax.plot(EPOCHS, results[name][0], "s", ms=9, color=colors[name], label=label)
    else:
        label = name + (" (validated with the average)" if name.startswith("EMA") else "")
        ax.plot(epochs, history["val_loss"], color=colors[name], label=label)
ax.set(xlabel="epoch", ylabel="test loss", yscale="log",
       title="Digits, MLP 2 x 256, SGD(0.1, momentum 0.9), batch 16")
ax.legend(fontsize=8)
show(fig)""",
    ),
    (
        "md",
        """\
All three averaged models end with a lower test loss than the last SGD weights, at no extra
epochs, and the EMA and Lookahead curves are far steadier than plain SGD's. One seed decides
little: `python benchmarks/averaging.py --seeds 3` runs this comparison over seeds; its table
(all three beat plain SGD on the mean) is in `docs/averaging.md`.

## 2. The gradient noise scale: how large should the batch be?

The "simple" noise scale `B_noise = tr(Sigma) / |G|^2` (McCandlish et al. 2018) is the batch
size where larger batches stop paying: training to a given loss takes about `1 + B_noise / B`
times the minimum number of steps and `1 + B / B_noise` times the minimum number of examples.
`measure_noise_scale` estimates it at fixed weights from gradients at two batch sizes (16 and
512 here); the `GradientNoiseScale` callback did the same in the train step of the plain SGD run
above, its big batch being the sum of 4 consecutive steps' gradients.""",
    ),
    (
        "code",
        """\
fresh = mlp()
fresh.compile(keras.optimizers.SGD(0.1, momentum=0.9), LOSS)
trained = models["plain SGD"]
at_start = measure_noise_scale(fresh, x_train, y_train, small=16, big=512)
at_end = measure_noise_scale(trained, x_train, y_train, small=16, big=512)
for label, result in (("at initialization", at_start), (f"after {EPOCHS} epochs", at_end)):
    print(f"{label:>20}: B_noise = {result.noise_scale:6.0f} examples; at batch 16: "
          f"{result.steps_factor(16):5.1f}x the minimum steps, "
          f"{result.examples_factor(16):4.2f}x the minimum examples")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(epochs, noise.history["noise_scale"], marker="o", label="GradientNoiseScale, in fit")
ax.plot([0, EPOCHS], [at_start.noise_scale, at_end.noise_scale], "s", color="tab:red", ms=8,
        label="measure_noise_scale, before and after")
ax.axhline(16, color="tab:gray", ls="--", label="the batch size used (16)")
ax.set(xlabel="epoch", ylabel="noise scale (examples)", yscale="log",
       title="The critical batch size grows as the loss falls")
ax.legend(fontsize=8)
show(fig)""",
    ),
    (
        "md",
        """\
Both show the noise scale growing as training lowers the loss. The callback's values are
noisier and mostly higher than the fixed-weight ones: its big batch spans 4 steps in which the
weights move, which shrinks `|G_big|^2` and so inflates the estimate at a rate as high as this
one (with a window of 16 steps `|G|^2` is lost in the drift and it reports NaN). Read the trend
from the callback and the number from `measure_noise_scale`.

A batch size right at the start can thus be too small later. The model doctor measures the
noise scale at the batch size you plan to use and says so when the two are more than 10x apart
(an info, never a warning: whether a bigger batch is cheaper per step depends on the hardware).
Batch 16, before and after training:""",
    ),
    (
        "code",
        """\
for label, model in (("fresh model", fresh), ("trained model", trained)):
    report = nnp.diagnose(
        model, x_train, y_train, batch_size=16, run_lr_finder=False, run_gradient_check=False
    )
    print(f"{label}, batch 16: noise scale {report.summary['noise_scale']:.0f}")
    advice = [f for f in report if f.code.startswith("batch_size")]
    print("\\n".join(str(f) for f in advice) or "  no batch-size finding", end="\\n\\n")""",
    ),
    (
        "md",
        """\
## 3. Knowledge distillation with a transfer set

A small student learns more from a teacher when the teacher can speak about rows the student
has no labels for (Hinton et al. 2015's "transfer set"). The setting where
`benchmarks/distillation.py` measures a win: half of digits for the test, and of the 898
training rows only 10% (89) labeled. The teacher, a small CNN, learns from those 89 labels. The
student, an MLP 1 x 16, is trained

* **alone** on the 89 labeled rows, for as many optimizer steps as the distilled one takes
  (a fair baseline: the distilled student sees ten times more rows per epoch);
* **distilled** on the 89 labeled rows plus the other 809 *without* their labels (label -1,
  ignored by the loss): there it learns only from the teacher's soft targets.""",
    ),
    (
        "code",
        """\
STUDENT_EPOCHS = 6 if FAST else 60
x_d, x_dtest, y_d, y_dtest = train_test_split(x, y, test_size=0.5, stratify=y, random_state=0)
labeled = train_test_split(np.arange(len(x_d)), train_size=0.1, stratify=y_d, random_state=0)[0]


def accuracy(model, inputs, labels):
    return float(np.mean(np.argmax(model.predict(inputs, verbose=0), axis=-1) == labels))


keras.utils.set_random_seed(1000)
teacher = keras.Sequential([
    keras.Input((64,)),
    keras.layers.Reshape((8, 8, 1)),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(10),
])
teacher.compile(keras.optimizers.Adam(1e-3), LOSS)
teacher.fit(x_d[labeled], y_d[labeled], batch_size=32, epochs=20 if FAST else 200, verbose=0)

alone = mlp(units=16, depth=1)
alone.compile(keras.optimizers.Adam(1e-3), LOSS)
keras.utils.set_random_seed(0)
alone.fit(x_d[labeled], y_d[labeled], batch_size=32, epochs=10 * STUDENT_EPOCHS, verbose=0)

y_transfer = np.full_like(y_d, -1)  # -1: no label, only the teacher speaks for the row
y_transfer[labeled] = y_d[labeled]
distiller = Distiller(teacher, mlp(units=16, depth=1), temperature=4.0, alpha=0.1)
distiller.compile(
    keras.optimizers.Adam(1e-3),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
)
keras.utils.set_random_seed(0)
distiller.fit(x_d, y_transfer, batch_size=32, epochs=STUDENT_EPOCHS, verbose=0)

steps = {  # batches of 32: 3 per epoch on the 89 labeled rows, 29 on all 898
    "alone": 10 * STUDENT_EPOCHS * -(-len(labeled) // 32),
    "distilled": STUDENT_EPOCHS * -(-len(x_d) // 32),
}
table(
    ["model", "trained on", "optimizer steps", "test accuracy"],
    [
        ("teacher (CNN)", "89 labeled rows", "-", f"{accuracy(teacher, x_dtest, y_dtest):.3f}"),
        ("student alone (MLP 1 x 16)", "89 labeled rows", steps["alone"],
         f"{accuracy(alone, x_dtest, y_dtest):.3f}"),
        ("student distilled", "89 labeled + 809 unlabeled rows", steps["distilled"],
         f"{accuracy(distiller.student, x_dtest, y_dtest):.3f}"),
    ],
)""",
    ),
    (
        "md",
        """\
What the student learns from on an unlabeled row: the teacher's probabilities softened by the
temperature `T`. At `T = 1` nearly all the mass is on one class; at `T = 4` the ranking of the
wrong classes (how much this digit looks like each other one) becomes a signal. The loss is
`alpha * CE(y, s) + (1 - alpha) * T^2 * KL(softmax(t / T) || softmax(s / T))`.""",
    ),
    (
        "code",
        """\
index = int(np.flatnonzero(y_dtest == 9)[0])
logits = teacher(x_dtest[index : index + 1], training=False)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3), width_ratios=[1, 4])
left.imshow(x_dtest[index].reshape(8, 8), cmap="gray_r")
left.set_title(f"a test '{y_dtest[index]}'")
left.axis("off")
for offset, temperature, color in ((-0.2, 1.0, "tab:gray"), (0.2, 4.0, "tab:blue")):
    probabilities = keras.ops.convert_to_numpy(soft_targets(logits, temperature))[0]
    right.bar(np.arange(10) + offset, probabilities, 0.4, color=color, label=f"T = {temperature:g}")
right.set(xticks=range(10), xlabel="class", ylabel="softmax(z / T)", yscale="log",
          ylim=(1e-5, 1.5), title="the teacher's soft targets")
right.legend()
show(fig)""",
    ),
    (
        "md",
        """\
One seed; over five seeds of this setting (`benchmarks/distillation.py`, the command is in
`docs/distillation.md`) the distilled student beats the student alone at equal steps by 0.025
on average, never losing. The student is a plain Keras model: save it alone, and it loads with
no reference to the teacher or to `keras_nnperf`.""",
    ),
    (
        "code",
        """\
distiller.student.save("student.keras")
student = keras.models.load_model("student.keras")
same = np.array_equal(student.predict(x_dtest, verbose=0),
                      distiller.student.predict(x_dtest, verbose=0))
print(f"loaded student: {student.count_params():,} weights (the teacher has "
      f"{teacher.count_params():,}), test accuracy {accuracy(student, x_dtest, y_dtest):.3f}, "
      f"same predictions: {same}")""",
    ),
    (
        "md",
        """\
## 4. Compress for inference

`compress(model, x, y, quantize="int8", prune=...)` works on a copy: magnitude pruning of the
kernels (ours; Keras 3 has none) and then Keras's own `model.quantize("int8")`, with size,
nonzero weights, `predict` latency and the compiled metrics before and after. Here on the
averaged MLP of section 1 (the EMA model). A `.keras` file stores its weights uncompressed, so
pruning shrinks only the deflated size (what a zip of the file takes); int8 shrinks the file
itself. The latency column on a model this small measures `predict`'s overhead, not the
matmuls.""",
    ),
    (
        "code",
        """\
model = models["EMA(0.99)"]
small, report = compress(model, x_test, y_test, quantize="int8", prune=0.5, repeats=3)
print(f"pruned {report.prune:.0%} of {report.pruned_layers}, int8 on {report.quantized_layers}")
display(Markdown(report.table()))
small.save("small.keras")
served = keras.models.load_model("small.keras", compile=False)  # for inference: no optimizer
print(f"saved and loaded again: test accuracy {accuracy(served, x_test, y_test):.3f}")""",
    ),
    (
        "md",
        "How far can it go? One-shot pruning without fine-tuning costs accuracy quickly beyond "
        "half the weights; int8 costs next to nothing:",
    ),
    (
        "code",
        """\
sparsities = [0.0, 0.5, 0.8] if FAST else [0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
sweep = {}
for quantize in (None, "int8"):
    for sparsity in sparsities:
        if quantize is None and sparsity == 0:
            continue  # nothing to do: the "before" of any report
        _, r = compress(model, x_test, y_test, quantize=quantize, prune=sparsity, repeats=1)
        sweep[quantize, sparsity] = r.after
        sweep[None, 0.0] = r.before
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for quantize, color, width in ((None, "tab:gray", 4), ("int8", "tab:blue", 1.5)):
    label = quantize or "float32"
    left.plot(sparsities, [sweep[quantize, s].metrics["accuracy"] for s in sparsities], "o-",
              color=color, lw=width, label=label)
    right.plot(sparsities, [sweep[quantize, s].file_bytes / 1e3 for s in sparsities], "o--",
               color=color, label=f"{label}, .keras file")
    right.plot(sparsities, [sweep[quantize, s].deflated_bytes / 1e3 for s in sparsities], "o-",
               color=color, label=f"{label}, deflated")
left.set(xlabel="fraction of kernel weights pruned", ylabel="test accuracy", title="accuracy")
right.set(xlabel="fraction of kernel weights pruned", ylabel="kB", ylim=(0, 480), title="size")
left.legend()
right.legend(fontsize=8, ncols=2, loc="upper center")
show(fig)""",
    ),
    (
        "md",
        """\
`docs/compression.md` has the same comparison for a CNN (whose convolutions Keras does not
quantize) and on JAX, and `benchmarks/compression.py` reproduces it.""",
    ),
]

NOTEBOOKS = {
    "01_tabular_breast_cancer.ipynb": TABULAR,
    "02_fixing_a_network_that_will_not_learn.ipynb": NOT_LEARNING,
    "03_images_digits_hypercnn_mc_dropout.ipynb": IMAGES,
    "04_schedules_gallery.ipynb": SCHEDULES,
    "05_kaggle_csv_to_submission.ipynb": KAGGLE,
    "06_transfer_learning_few_labels.ipynb": TRANSFER,
    "07_average_distill_compress.ipynb": AVERAGE_DISTILL_COMPRESS,
}


def build(cells) -> nbformat.NotebookNode:
    """A notebook without outputs from `(kind, source)` pairs."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    make = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    notebook.cells = [make[kind](source.strip("\n")) for kind, source in cells]
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i}"  # stable ids keep the committed files diff-friendly
    return notebook


# TensorFlow's start-up lines (absl, oneDNN), printed to stderr whatever TF_CPP_MIN_LOG_LEVEL says.
_STARTUP_LOG = re.compile(r"(WARNING: All log messages before absl::InitializeLog|I0000 00:00:)")


def drop_startup_logs(notebook: nbformat.NotebookNode) -> None:
    """Remove TensorFlow's start-up log lines from the stored stderr: noise to a reader."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                lines = output.text.splitlines(keepends=True)
                output.text = "".join(line for line in lines if not _STARTUP_LOG.match(line))
                if not output.text.strip():
                    continue
            kept.append(output)
        cell.outputs = kept


def execute(notebook: nbformat.NotebookNode, timeout: int = 1800) -> None:
    """Run `notebook` in a fresh kernel, in a temporary folder, keeping its outputs.

    The notebooks are stored executed, so GitHub and Kaggle show their outputs and pictures.
    A full run (not `NNPERF_FAST`) of all of them takes a few minutes on two CPU cores.
    """
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    with tempfile.TemporaryDirectory() as folder:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
        )
        client.execute()
    drop_startup_logs(notebook)


def main() -> None:
    """Write every notebook next to this script; with `--execute`, store each run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="run each and keep the outputs")
    parser.add_argument("names", nargs="*", help="only these notebooks (default: all)")
    args = parser.parse_args()
    for name, cells in NOTEBOOKS.items():
        if args.names and not any(name.startswith(n) for n in args.names):
            continue
        notebook = build(cells)
        if args.execute:
            execute(notebook)
        nbformat.write(notebook, os.path.join(HERE, name))
        print("wrote", name, "(executed)" if args.execute else "")


if __name__ == "__main__":
    main()
