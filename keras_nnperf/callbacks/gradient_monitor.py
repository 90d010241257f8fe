"""Per-layer gradient statistics gathered inside the compiled train step, at almost no cost.

`GradientMonitor` installs a gradient hook (`keras_nnperf.optimizers.gradient_hooks`) that sees
the gradients the optimizer already receives, so there is no second backward pass and no host
sync per step: the hook adds each step's per-layer norms into a few non-trainable vector
variables, and the callback reads them once per epoch.
"""

from __future__ import annotations

import contextlib
import copy

import keras
import numpy as np
from keras import ops

from keras_nnperf.callbacks.alerts import (
    AlertTracker,
    exploding_gradient_alerts,
    vanishing_gradient_alerts,
)
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    refresh_train_function,
    remove_gradient_hook,
    unscaled_optimizer,
)
from keras_nnperf.registry import register

_STATS = ("grad_sum", "grad_max", "weight_sum", "ratio_sum", "count")


def _check_positive(name, value, kind=float):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if not ok or (kind is int and not isinstance(value, int)):
        raise ValueError(
            f"Argument {name} must be {'an integer ' if kind is int else ''}> 0. "
            f"Received: {name}={value!r}"
        )


def monitored_layers(model, layers=None) -> list:
    """The layers to monitor, in forward order: all with trainable weights, or those named.

    Nested models are expanded into their layers. `layers` may hold names or layer objects.

    Raises:
        ValueError: for a name or object that is not a layer of `model`.
    """

    def expand(layer):
        if hasattr(layer, "layers") and layer is not model:
            return [leaf for sub in layer.layers for leaf in expand(sub)]
        return [layer]

    every = [leaf for layer in model.layers for leaf in expand(layer)]
    if layers is None:
        return [layer for layer in every if layer.trainable_weights]
    by_name = {layer.name: layer for layer in every}
    chosen = []
    for item in layers:
        layer = by_name.get(item) if isinstance(item, str) else item
        if not any(layer is known for known in every):
            raise ValueError(
                f"Argument layers must name layers of the model ({sorted(by_name)}). "
                f"Received: layers={layers!r}"
            )
        chosen.append(layer)
    return [layer for layer in every if any(layer is c for c in chosen)]


def replica_values(model, variable) -> np.ndarray:
    """Per-replica values of `variable`, stacked on a new first axis (one row without replicas).

    TensorFlow only for more than one replica (`experimental_local_results`).
    """
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is not None and hasattr(variable, "value"):
        values = strategy.experimental_local_results(variable.value)
        return np.stack([np.asarray(value) for value in values])
    return np.asarray(variable)[None]


@register("callback")
class GradientMonitor(keras.callbacks.Callback):
    """Log per-layer gradient norm, weight norm and update ratio, and warn about bad gradients.

    For every monitored layer `l` with variables `W_l` and gradient `g_l` (all of the layer's
    trainable variables together), at every `every_n_steps`-th step, in-graph:

    * `grad_norm = ||g_l||` (epoch mean into `logs["grad_norm/<layer>"]`, epoch max into
      `logs["grad_norm_max/<layer>"]`);
    * `weight_norm = ||W_l||` before the update (`logs["weight_norm/<layer>"]`);
    * `update_ratio = lr * ||g_l|| / ||W_l||` (`logs["update_ratio/<layer>"]`): the relative
      step plain SGD would take. It costs nothing extra; for Adam-style optimizers, whose step
      is normalized per element, read it as the relative size of the raw gradient step.

    The same values, one per epoch, go into `history` (a dict of lists keyed like `logs`), and
    `plot()` draws them as a layers x epochs heatmap. When the model's optimizer is one of our
    clipping wrappers (`AdaptiveGradientClipping`, `AutoClip`), `logs["clipped_fraction"]` is the
    fraction of this epoch's steps that were clipped.

    At each epoch end the alert rules of `keras_nnperf.callbacks.alerts` run on the epoch means:
    a `GradientAlert` warning, with its fix, once per kind and layer.

    Under `tf.distribute`, the hook runs per replica on that replica's share of the gradient;
    the statistics are those of each replica's local-batch gradient (the share times the
    replica count), averaged (or, for the max, maximized) over replicas and steps. With one
    replica they are exactly the gradient's norms.

    Args:
        every_n_steps: Gather every n-th optimizer step (an in-graph `cond` on
            `optimizer.iterations`). Defaults to 1.
        layers: `None` (every layer with trainable weights) or a list of layer names / objects.
        log_dir: If set, write the epoch statistics as TensorBoard scalars, and histograms of
            each layer's weights and of its last gathered gradient, at epoch end. This uses
            `tf.summary` (TensorFlow only) and keeps one copy of the gradients in variables.
        alerts: Raise `GradientAlert` warnings. Defaults to True.
        vanishing_floor: Absolute gradient-norm floor. Defaults to 1e-7.
        vanishing_ratio: Flag a layer whose norm is below this times the last layer's.
            Defaults to 1e-2.
        exploding_ceiling: Absolute gradient-norm ceiling. Defaults to 1e3.
        exploding_ratio: Flag a layer whose norm is above this times the last layer's.
            Defaults to 1e3.

    Raises:
        ValueError: for a bad argument, or (at `fit`) a layer that is not in the model.

    Example:
    ```python
    monitor = GradientMonitor()
    model.fit(x, y, epochs=5, callbacks=[monitor])
    monitor.plot().savefig("grad_norms.png")
    ```

    Reference:
        Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward
        neural networks".
    """

    def __init__(
        self,
        every_n_steps: int = 1,
        layers=None,
        log_dir: str | None = None,
        alerts: bool = True,
        vanishing_floor: float = 1e-7,
        vanishing_ratio: float = 1e-2,
        exploding_ceiling: float = 1e3,
        exploding_ratio: float = 1e3,
    ):
        super().__init__()
        _check_positive("every_n_steps", every_n_steps, int)
        for name, value in (
            ("vanishing_floor", vanishing_floor),
            ("vanishing_ratio", vanishing_ratio),
            ("exploding_ceiling", exploding_ceiling),
            ("exploding_ratio", exploding_ratio),
        ):
            _check_positive(name, value)
        if layers is not None and (isinstance(layers, str) or not hasattr(layers, "__iter__")):
            raise ValueError(
                f"Argument layers must be None or a list of layer names or layers. "
                f"Received: layers={layers!r}"
            )
        self._arguments = dict(
            every_n_steps=every_n_steps,
            layers=None if layers is None else list(layers),
            log_dir=log_dir,
            alerts=bool(alerts),
            vanishing_floor=vanishing_floor,
            vanishing_ratio=vanishing_ratio,
            exploding_ceiling=exploding_ceiling,
            exploding_ratio=exploding_ratio,
        )
        self.every_n_steps = every_n_steps
        self.layers = self._arguments["layers"]
        self.log_dir = log_dir
        self.alerts = bool(alerts)
        self.thresholds = {
            k: v for k, v in self._arguments.items() if k.startswith(("vanishing", "exploding"))
        }
        self.history: dict[str, list[float]] = {}
        self.layer_names: list[str] = []
        self.alert_tracker = AlertTracker()
        self._stats = None
        self._writer = None

    def __deepcopy__(self, memo):
        # Keras Tuner deep-copies callbacks for every trial: give it a fresh, unused monitor
        # rather than one holding the previous trial's model, variables and file writer.
        return type(self)(**copy.deepcopy(self._arguments, memo))

    def _hook_name(self) -> str:
        return f"gradient_monitor_{id(self)}"

    def on_train_begin(self, logs=None):
        layers = monitored_layers(self.model, self.layers)
        self.layer_names = [layer.name for layer in layers]
        self._slots, seen = {}, set()
        for index, layer in enumerate(layers):
            for variable in layer.trainable_weights:
                if id(variable) not in seen:  # a shared variable counts for its first layer
                    seen.add(id(variable))
                    self._slots[id(variable)] = index
        self._create_variables(layers)
        add_gradient_hook(self.model.optimizer, self._hook_name(), self._gather)
        refresh_train_function(self.model)
        if self.log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _create_variables(self, layers):
        def variable(shape, name, aggregation="sum"):
            # On-read variables: each replica accumulates its own copy, no cross-device traffic.
            return keras.Variable(
                np.zeros(shape, "float32"),
                trainable=False,
                aggregation=aggregation,
                synchronization="on_read",
                name=name,
            )

        count = len(layers)
        strategy = getattr(self.model, "distribute_strategy", None)
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            self._stats = {
                name: variable(() if name == "count" else (count,), name) for name in _STATS
            }
            self._last_grads = {}
            if self.log_dir is not None:
                for layer in layers:
                    for var in layer.trainable_weights:
                        if self._slots.get(id(var)) is not None:
                            self._last_grads[id(var)] = variable(var.shape, "last_grad")

    def _gather(self, grads, variables):
        """The gradient hook: runs in-graph on every step the optimizer applies."""
        optimizer = self.model.optimizer
        if self.every_n_steps == 1:
            self._accumulate(grads, variables, optimizer)
            return None
        due = ops.equal(ops.mod(optimizer.iterations, self.every_n_steps), 0)
        ops.cond(due, lambda: self._accumulate(grads, variables, optimizer), lambda: None)
        return None

    def _accumulate(self, grads, variables, optimizer):
        count = len(self.layer_names)
        grad_sq = [[] for _ in range(count)]
        weight_sq = [[] for _ in range(count)]
        for grad, variable in zip(grads, variables, strict=True):
            slot = self._slots.get(id(variable))
            if grad is None or slot is None:
                continue
            if hasattr(grad, "indices"):  # IndexedSlices (embeddings): the rows that changed
                grad = grad.values
            grad = ops.cast(grad, "float32")
            grad_sq[slot].append(ops.sum(ops.square(grad)))
            weight_sq[slot].append(ops.sum(ops.square(ops.cast(variable, "float32"))))
            if id(variable) in self._last_grads:
                self._last_grads[id(variable)].assign(grad)
        zero = ops.zeros((), "float32")
        grad_norm = ops.sqrt(ops.stack([ops.sum(ops.stack(s)) if s else zero for s in grad_sq]))
        weight_norm = ops.sqrt(ops.stack([ops.sum(ops.stack(s)) if s else zero for s in weight_sq]))
        lr = ops.cast(optimizer.learning_rate, "float32")
        stats = self._stats
        stats["grad_sum"].assign_add(grad_norm)
        stats["grad_max"].assign(ops.maximum(stats["grad_max"], grad_norm))
        stats["weight_sum"].assign_add(weight_norm)
        stats["ratio_sum"].assign_add(lr * grad_norm / ops.maximum(weight_norm, 1e-12))
        stats["count"].assign_add(1.0)

    def on_epoch_begin(self, epoch, logs=None):
        for variable in self._stats.values():
            variable.assign(ops.zeros(variable.shape, "float32"))
        for variable in self._last_grads.values():
            variable.assign(ops.zeros(variable.shape, "float32"))
        self._clip_start = self._clip_counts()

    def _clip_counts(self):
        optimizer = unscaled_optimizer(self.model.optimizer)
        if not hasattr(optimizer, "clipped_steps"):
            return None
        return float(np.asarray(optimizer.clipped_steps)), float(np.asarray(optimizer.iterations))

    def epoch_statistics(self) -> dict[str, float]:
        """Read this epoch's statistics from the in-graph accumulators (one host read each)."""
        values = {name: replica_values(self.model, var) for name, var in self._stats.items()}
        replicas = values["count"].shape[0]
        steps = max(float(values["count"][0]), 1.0)
        # Each replica holds norms of its share (1/R) of the gradient: R * share is its
        # local-batch gradient, so the mean over replicas of R * share is the sum of shares.
        grad_mean = values["grad_sum"].sum(axis=0) / steps
        grad_max = values["grad_max"].max(axis=0) * replicas
        weight_mean = values["weight_sum"].mean(axis=0) / steps
        ratio_mean = values["ratio_sum"].sum(axis=0) / steps
        stats = {}
        for index, name in enumerate(self.layer_names):
            stats[f"grad_norm/{name}"] = float(grad_mean[index])
            stats[f"grad_norm_max/{name}"] = float(grad_max[index])
            stats[f"weight_norm/{name}"] = float(weight_mean[index])
            stats[f"update_ratio/{name}"] = float(ratio_mean[index])
        clip_end = self._clip_counts()
        if clip_end is not None:
            # Before the first step the optimizer is not built yet: count from zero.
            clip_start = self._clip_start or (0.0, 0.0)
            steps_done = clip_end[1] - clip_start[1]
            clipped = clip_end[0] - clip_start[0]
            stats["clipped_fraction"] = clipped / steps_done if steps_done > 0 else 0.0
        return stats

    def on_epoch_end(self, epoch, logs=None):
        stats = self.epoch_statistics()
        if logs is not None:
            logs.update(stats)
        for key, value in stats.items():
            self.history.setdefault(key, []).append(value)
        if self.alerts:
            means = {name: stats[f"grad_norm/{name}"] for name in self.layer_names}
            peaks = {name: stats[f"grad_norm_max/{name}"] for name in self.layer_names}
            self.alert_tracker.warn(
                vanishing_gradient_alerts(
                    means, self.thresholds["vanishing_floor"], self.thresholds["vanishing_ratio"]
                )
                + exploding_gradient_alerts(
                    means,
                    peaks,
                    self.thresholds["exploding_ceiling"],
                    self.thresholds["exploding_ratio"],
                )
            )
        if self._writer is not None:
            self._write_summaries(epoch, stats)

    def _write_summaries(self, epoch, stats):
        import tensorflow as tf

        with self._writer.as_default(step=epoch):
            for key, value in stats.items():
                tf.summary.scalar(key, value)
            for layer in monitored_layers(self.model, self.layers):
                for variable in layer.trainable_weights:
                    tf.summary.histogram(f"weights/{variable.path}", np.asarray(variable))
                    if id(variable) in self._last_grads:
                        grad = np.asarray(self._last_grads[id(variable)])
                        tf.summary.histogram(f"gradients/{variable.path}", grad)
        self._writer.flush()

    def on_train_end(self, logs=None):
        remove_gradient_hook(self.model.optimizer, self._hook_name())
        # The next fit must not run a train function that still holds this hook.
        refresh_train_function(self.model)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def plot(self, ax=None):
        """Heatmap of log10 mean gradient norm, layers (input at top) x epochs.

        Args:
            ax: A matplotlib `Axes` to draw into; a new `Figure` is made when `None`.

        Returns:
            The matplotlib `Figure`.

        Raises:
            ValueError: before any epoch was recorded.
        """
        if not self.history:
            raise ValueError("GradientMonitor has no history yet: call fit with it first.")
        from matplotlib.figure import Figure

        grid = np.array([self.history[f"grad_norm/{name}"] for name in self.layer_names])
        with np.errstate(divide="ignore"):
            grid = np.log10(np.where(grid > 0, grid, np.nan))
        if ax is None:
            figure = Figure(figsize=(6, 1 + 0.25 * len(self.layer_names)))
            ax = figure.add_subplot()
        image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_yticks(range(len(self.layer_names)), self.layer_names, fontsize=7)
        ax.set_xlabel("epoch")
        ax.set_title("log10 gradient norm")
        ax.figure.colorbar(image, ax=ax)
        return ax.figure
