"""Per-layer gradient statistics gathered inside the compiled train step, at almost no cost.

`GradientMonitor` installs a gradient hook (`keras_nnperf.optimizers.gradient_hooks`) that sees
the gradients the optimizer already receives, so there is no second backward pass and no host
sync per step: the hook adds each step's per-layer norms into one optimizer-owned matrix
(`keras_nnperf.optimizers.training_state`, so JAX's `stateless_apply` carries it too), and the
callback reads it once per epoch, in one device-to-host transfer. It works the same on
TensorFlow, JAX and PyTorch; only the TensorBoard output (`log_dir`) needs TensorFlow.
"""

from __future__ import annotations

import copy

import keras
import numpy as np
from keras import ops

from keras_nnperf import device_arrays
from keras_nnperf.callbacks.alerts import (
    AlertTracker,
    exploding_gradient_alerts,
    vanishing_gradient_alerts,
)
from keras_nnperf.optimizers.fit_guard import guard_fit, unguard_fit
from keras_nnperf.optimizers.gradient_hooks import (
    add_gradient_hook,
    gradient_hook_names,
    refresh_train_function,
    unscaled_optimizer,
)
from keras_nnperf.optimizers.training_state import state_variable, uninstall_hook
from keras_nnperf.registry import register
from keras_nnperf.validation import check_bool, check_positive

# The rows of the statistics matrix (rows x monitored layers); "count" is the number of gathered
# steps, the same in every column. One variable: one assign per step, one host read per epoch.
_ROWS = ("grad_sum", "grad_max", "weight_sum", "ratio_sum", "count")
_HOOK = "gradient_monitor"


def is_lookup(layer) -> bool:
    """Whether `layer` is an embedding table: Keras's `Embedding`, or made only of such tables.

    A lookup's gradient reaches only the rows a batch looked up, each from the few examples
    that hold its level, so its norm sits orders of magnitude below a Dense kernel's however
    healthy the signal is (Cars93's 30 makers: 121x below the output layer's). The vanishing
    check leaves such layers out; the rows' variable is named `embeddings`, as Keras names it.
    """
    if isinstance(layer, keras.layers.Embedding):
        return True
    weights = layer.trainable_weights
    return bool(weights) and all(weight.name == "embeddings" for weight in weights)


def lookup_layer_names(model, layers=None) -> set[str]:
    """Names of the monitored layers (`monitored_layers`) that are embedding tables."""
    return {layer.name for layer in monitored_layers(model, layers) if is_lookup(layer)}


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


def _across_replicas(local_norms):
    """`(mean, max)` over replicas of each replica's local-batch gradient norms, in-graph.

    Under a `tf.distribute` strategy the hook runs per replica on that replica's share of the
    gradient (Keras scales each replica's loss by `1 / R`): `R * share` is the replica's
    local-batch gradient. A gather of one small vector per replica makes every replica hold the
    same statistics, which the optimizer's variables (`only_first_replica`) then keep.
    TensorFlow only: other backends have no replica context here and return the norms as-is
    (JAX's `DataParallel` computes the global gradient before the optimizer sees it).
    """
    if keras.backend.backend() != "tensorflow":
        return local_norms, local_norms
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return local_norms, local_norms
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync
    if replicas == 1:
        return local_norms, local_norms
    gathered = context.all_gather(local_norms[None] * float(replicas), axis=0)
    return tf.reduce_mean(gathered, axis=0), tf.reduce_max(gathered, axis=0)


# `packed_square_sums` packs the tensors into one matrix of at most this many elements (512 KB of
# float32, cache-sized): one reduction instead of one per tensor. The packing copies every gradient
# and weight, each step; above this size the copy would cost more than the kernels it saves.
PACKED_LIMIT = 1 << 17


def packed_square_sums(segments: list[list]):
    """`sum(x ** 2)` over all the float32 tensors of each segment, as one vector, or None.

    Each segment's tensors are flattened and concatenated into one row, zero-padded to the
    longest segment's length; the rows are stacked into one `(len(segments), longest)` matrix,
    squared and summed along each row: **one** reduction, whatever the number of tensors (an
    empty segment sums to 0). Returns None, for `per_tensor_square_sums` to be used instead
    (it reads each tensor once and copies nothing), when that matrix would hold more than
    `PACKED_LIMIT` elements or a shape is unknown while tracing (TensorFlow's `IndexedSlices`).

    Why: XLA compiles each reduction into its own kernels (on CPU a square, a partial and a
    final reduction for each tensor), so per-tensor sums made the JAX train step of the 3-layer
    MLP of `benchmarks/overhead.py` 26 kernels longer than bare (80 against 54): 0.16-0.19 s
    more XLA compile CPU time in a first `fit`, 15-50 us more device time per step. Packed, the
    step is 61 kernels long: 0.07 s and 8-10 us (docs/monitoring.md, "What it costs").
    """
    sizes = [[_static_size(t) for t in tensors] for tensors in segments]
    if any(size is None for each in sizes for size in each):
        return None
    totals = [sum(each) for each in sizes]
    longest = max(totals, default=0)
    if longest == 0 or len(segments) * longest > PACKED_LIMIT:
        return None
    rows = []
    for tensors, total in zip(segments, totals, strict=True):
        if not total:
            rows.append(ops.zeros((longest,), "float32"))
            continue
        row = [ops.reshape(t, (-1,)) for t in tensors]
        row = row[0] if len(row) == 1 else ops.concatenate(row)
        rows.append(row if total == longest else ops.pad(row, [(0, longest - total)]))
    return ops.sum(ops.square(ops.stack(rows)), axis=1)


def _static_size(tensor) -> int | None:
    """The number of elements of `tensor`, or None when its shape is not known when tracing."""
    shape = tuple(tensor.shape)
    return None if any(dim is None for dim in shape) else int(np.prod(shape, dtype=np.int64))


def per_tensor_square_sums(segments: list[list]):
    """`sum(x ** 2)` over the tensors of each segment, one reduction per tensor (0 if empty)."""
    zero = ops.zeros((), "float32")
    return ops.stack(
        [
            ops.sum(ops.stack([ops.sum(ops.square(t)) for t in tensors])) if tensors else zero
            for tensors in segments
        ]
    )


def square_sums(segments: list[list]):
    """`sum(x ** 2)` over the float32 tensors of each segment, as one vector, on any backend.

    TensorFlow and JAX compile the step, so the tensors are packed into one reduction
    (`packed_square_sums`) when they fit. PyTorch runs the step eagerly, where packing saves no
    kernel and every `keras.ops` call costs its dispatch (about 25 us on CPU): packed, the six
    gradients and six weights of `benchmarks/overhead.py`'s MLP took 745 us a step,
    per tensor through `keras.ops` 404 us, and through torch's own operations 74 us
    (`torch_square_sums`).
    """
    if keras.backend.backend() == "torch":
        return torch_square_sums(segments)
    packed = packed_square_sums(segments)
    return per_tensor_square_sums(segments) if packed is None else packed


def torch_square_sums(segments: list[list]):
    """`per_tensor_square_sums` in torch's own operations (PyTorch backend only)."""
    import torch

    first = next((t for tensors in segments for t in tensors), None)
    zero = torch.zeros((), dtype=torch.float32, device=None if first is None else first.device)
    return torch.stack(
        [sum(torch.sum(t * t) for t in tensors) if tensors else zero for tensors in segments]
    )


@register("callback")
class GradientMonitor(keras.callbacks.Callback):
    """Record per-layer gradient norm, weight norm and update ratio; warn about bad gradients.

    For every monitored layer `l` with variables `W_l` and gradient `g_l` (all of the layer's
    trainable variables together), at every `every_n_steps`-th step, in-graph:

    * `grad_norm = ||g_l||` (epoch mean in `history["grad_norm/<layer>"]`, epoch max in
      `history["grad_norm_max/<layer>"]`);
    * `weight_norm = ||W_l||` before the update (`history["weight_norm/<layer>"]`);
    * `update_ratio = lr * ||g_l|| / ||W_l||` (`history["update_ratio/<layer>"]`): the relative
      step plain SGD would take. It costs nothing extra; for Adam-style optimizers, whose step
      is normalized per element, read it as the relative size of the raw gradient step.

    `history` is a dict of lists, one value per epoch, and `plot()` draws it as a layers x
    epochs heatmap. The per-layer values go into the epoch `logs` (and so into Keras's
    `History`, the progress bar and other callbacks) only with `log_layers=True`: a deep network
    would flood the progress bar. When the model's optimizer is one of our clipping wrappers
    (`AdaptiveGradientClipping`, `AutoClip`), `logs["clipped_fraction"]` is the fraction of this
    epoch's steps that were clipped, and the norms are those of the clipped gradients (the ones
    the inner optimizer applies).

    At each epoch end the alert rules of `keras_nnperf.callbacks.alerts` run on the epoch means:
    a `GradientAlert` warning, with its fix, once per kind and layer.

    Backends: the statistics live in optimizer-owned variables, so they are the same on
    TensorFlow, JAX and PyTorch. Under `tf.distribute` the hook runs per replica on that
    replica's share of the gradient; the statistics are those of each replica's local-batch
    gradient (the share times the replica count), averaged (for the max, maximized) over
    replicas and steps. With one replica they are exactly the gradient's norms.

    Cost: nothing per step beyond the norms, no host sync; the callback reads the variables once
    per epoch. A second `fit` with a `GradientMonitor` on the same layers reuses the traced step
    (no retrace); the hook and its variables are taken off the optimizer when `fit` ends, however
    it ends (`keras_nnperf.optimizers.fit_guard`), so a plain `fit` afterwards, or a saved model,
    is as if the monitor had never been there.

    Args:
        every_n_steps: Gather every n-th optimizer step (on `optimizer.iterations`). Defaults to 1.
        layers: `None` (every layer with trainable weights) or a list of layer names / objects.
        log_dir: If set, write the epoch statistics as TensorBoard scalars, and histograms of
            each layer's weights and of its last gathered gradient, at epoch end. TensorFlow
            only (`tf.summary`); keeps one copy of the gradients in variables.
        alerts: Raise `GradientAlert` warnings. Defaults to True.
        vanishing_floor: Absolute gradient-norm floor. Defaults to 1e-7.
        vanishing_ratio: Flag a layer whose norm is below this times the last layer's.
            Defaults to 1e-2.
        exploding_ceiling: Absolute gradient-norm ceiling. Defaults to 1e3.
        exploding_ratio: Flag a layer whose norm is above this times the last layer's.
            Defaults to 1e3.
        log_layers: Also put the per-layer values into the epoch `logs`. Defaults to False.

    Raises:
        ValueError: for a bad argument, `log_dir` on a backend other than TensorFlow, or (at
            `fit`) a layer that is not in the model.

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
        log_layers: bool = False,
    ):
        super().__init__()
        every_n_steps = check_positive("every_n_steps", every_n_steps, integer=True)
        thresholds = {
            name: check_positive(name, value)
            for name, value in (
                ("vanishing_floor", vanishing_floor),
                ("vanishing_ratio", vanishing_ratio),
                ("exploding_ceiling", exploding_ceiling),
                ("exploding_ratio", exploding_ratio),
            )
        }
        if layers is not None and (isinstance(layers, str) or not hasattr(layers, "__iter__")):
            raise ValueError(
                f"Argument layers must be None or a list of layer names or layers. "
                f"Received: layers={layers!r}"
            )
        if log_dir is not None and keras.backend.backend() != "tensorflow":
            raise ValueError(
                "Argument log_dir writes TensorBoard summaries with tf.summary, which needs the "
                f"TensorFlow backend (this is {keras.backend.backend()!r}). Use "
                "GradientMonitor.history, or keras.callbacks.TensorBoard with log_layers=True. "
                f"Received: log_dir={log_dir!r}"
            )
        self._arguments = dict(
            every_n_steps=every_n_steps,
            layers=None if layers is None else list(layers),
            log_dir=log_dir,
            alerts=check_bool("alerts", alerts),
            **thresholds,
            log_layers=check_bool("log_layers", log_layers),
        )
        self.every_n_steps = every_n_steps
        self.layers = self._arguments["layers"]
        self.log_dir = log_dir
        self.alerts = self._arguments["alerts"]
        self.log_layers = self._arguments["log_layers"]
        self.thresholds = thresholds
        self.history: dict[str, list[float]] = {}
        self.layer_names: list[str] = []
        self.alert_tracker = AlertTracker()
        self._stats = None
        self._last_grads = {}
        self._writer = None
        self._installed = None  # (optimizer, hook name) while the hook is on an optimizer
        self._optimizer = None

    def __deepcopy__(self, memo):
        # Keras Tuner deep-copies callbacks for every trial: give it a fresh, unused monitor
        # rather than one holding the previous trial's model, variables and file writer.
        return type(self)(**copy.deepcopy(self._arguments, memo))

    def on_train_begin(self, logs=None):
        layers = monitored_layers(self.model, self.layers)
        self.layer_names = [layer.name for layer in layers]
        self._slots, seen = {}, set()
        for index, layer in enumerate(layers):
            for variable in layer.trainable_weights:
                if id(variable) not in seen:  # a shared variable counts for its first layer
                    seen.add(id(variable))
                    self._slots[id(variable)] = index
        optimizer = self.model.optimizer
        taken = set(gradient_hook_names(optimizer))
        name = _HOOK
        suffix = 1
        while name in taken:  # another monitor on the same model in this fit
            suffix += 1
            name = f"{_HOOK}_{suffix}"
        self._create_variables(optimizer, name, layers)
        # Everything the traced hook depends on besides its variables: an equal key lets the
        # next fit reuse the traced step.
        key = (
            _HOOK,
            self.every_n_steps,
            len(layers),
            tuple(sorted(self._slots.items())),
            tuple(self._last_grads),
        )
        # The hook reads the optimizer captured here: on JAX, `Callback.model` syncs the
        # training state into the variables, which must not happen inside a step.
        self._optimizer = unscaled_optimizer(optimizer)
        add_gradient_hook(optimizer, name, self._gather, key=key)
        self._installed = (optimizer, name)
        guard_fit(self.model, name, self._uninstall)
        refresh_train_function(self.model)
        if self.log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _create_variables(self, optimizer, name, layers):
        shape = (len(_ROWS), len(layers))
        self._stats = state_variable(optimizer, f"{name}/statistics", 0.0, shape)
        self._shape = shape
        self._last_grads = {}
        if self.log_dir is not None:
            for layer in layers:
                for var in layer.trainable_weights:
                    if self._slots.get(id(var)) is not None:
                        self._last_grads[id(var)] = state_variable(
                            optimizer, f"{name}/last_grad/{var.path}", 0.0, var.shape
                        )

    def _uninstall(self):
        """Take the hook and its variables off the optimizer (idempotent)."""
        if self._installed is None:
            return
        optimizer, name = self._installed
        self._installed = None
        # A plain fit next must not run a step traced with the hook; one with a monitor again
        # reuses it (the check runs before the next step and retraces only on a change).
        uninstall_hook(self.model, optimizer, name, f"{name}/")
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _gather(self, grads, variables):
        """The gradient hook: runs in-graph on every step the optimizer applies."""
        optimizer = self._optimizer
        count = len(self.layer_names)
        zeros = ops.zeros((count,), "float32")
        if self.every_n_steps == 1:
            due = None
            grad_norm, weight_norm = self._norms(grads, variables)
        else:
            due = ops.equal(ops.mod(optimizer.iterations, self.every_n_steps), 0)
            # The branches only compute: variables are written unconditionally below, since a
            # write inside a branch is lost under JAX's stateless scope and needs a cross-replica
            # merge under tf.distribute.
            grad_norm, weight_norm = ops.cond(
                due, lambda: self._norms(grads, variables), lambda: (zeros, zeros)
            )
        grad_mean, grad_peak = _across_replicas(grad_norm)
        lr = ops.cast(optimizer.learning_rate, "float32")
        gathered = ops.ones((count,), "float32")
        if due is not None:
            gathered = gathered * ops.cast(due, "float32")
        # Rows in the order of `_ROWS`.
        grad_sum, grad_max, weight_sum, ratio_sum, steps = ops.unstack(self._stats.value)
        self._stats.assign(
            ops.stack(
                [
                    grad_sum + grad_mean,
                    ops.maximum(grad_max, grad_peak),
                    weight_sum + weight_norm,
                    ratio_sum + lr * grad_mean / ops.maximum(weight_norm, 1e-12),
                    steps + gathered,
                ]
            )
        )
        for grad, variable in zip(grads, variables, strict=True):
            last = self._last_grads.get(id(variable))
            if last is not None and grad is not None:
                grad = ops.cast(grad, "float32")
                last.assign(grad if due is None else ops.where(due, grad, last.value))
        return None

    def _norms(self, grads, variables):
        """Per-layer `(||g_l||, ||W_l||)` as two float32 vectors."""
        count = len(self.layer_names)
        # Segment l holds layer l's gradients, segment count + l its weights.
        segments = [[] for _ in range(2 * count)]
        for grad, variable in zip(grads, variables, strict=True):
            slot = self._slots.get(id(variable))
            if grad is None or slot is None:
                continue
            if type(grad).__name__ == "IndexedSlices":  # TensorFlow embeddings: changed rows
                grad = grad.values
            segments[slot].append(ops.cast(grad, "float32"))
            segments[count + slot].append(ops.cast(variable, "float32"))
        sums = square_sums(segments)
        return ops.sqrt(sums[:count]), ops.sqrt(sums[count:])

    def on_epoch_begin(self, epoch, logs=None):
        # A new array each time: JAX's train step donates (frees) the buffers it is given.
        self._stats.assign(device_arrays.full(self._shape, 0.0))
        for variable in self._last_grads.values():
            variable.assign(ops.zeros(variable.shape, "float32"))
        self._clip_start = self._clip_counts()

    def _clip_counts(self):
        # The clipping optimizer is a wrapper: look for its counter along the chain of
        # `inner_optimizer`s (the hooks sit on the innermost one, after the clipping).
        optimizer = self.model.optimizer
        while optimizer is not None and not hasattr(optimizer, "clipped_steps"):
            optimizer = getattr(optimizer, "inner_optimizer", None)
        if optimizer is None or not optimizer.built:
            return None
        return float(np.asarray(optimizer.clipped_steps)), float(np.asarray(optimizer.iterations))

    def epoch_statistics(self) -> dict[str, float]:
        """Read this epoch's statistics from the in-graph accumulators (one host read)."""
        values = dict(zip(_ROWS, np.asarray(ops.convert_to_numpy(self._stats)), strict=True))
        steps = max(float(values["count"].max(initial=0.0)), 1.0)
        grad_mean = (values["grad_sum"] / steps).tolist()
        grad_max = values["grad_max"].tolist()
        weight_mean = (values["weight_sum"] / steps).tolist()
        ratio_mean = (values["ratio_sum"] / steps).tolist()
        stats = {}
        for index, name in enumerate(self.layer_names):
            stats[f"grad_norm/{name}"] = grad_mean[index]
            stats[f"grad_norm_max/{name}"] = grad_max[index]
            stats[f"weight_norm/{name}"] = weight_mean[index]
            stats[f"update_ratio/{name}"] = ratio_mean[index]
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
            logs.update(
                stats
                if self.log_layers
                else {k: v for k, v in stats.items() if k == "clipped_fraction"}
            )
        for key, value in stats.items():
            self.history.setdefault(key, []).append(value)
        if self.alerts:
            means = {name: stats[f"grad_norm/{name}"] for name in self.layer_names}
            peaks = {name: stats[f"grad_norm_max/{name}"] for name in self.layer_names}
            lookups = lookup_layer_names(self.model, self.layers)
            signal = {name: norm for name, norm in means.items() if name not in lookups}
            self.alert_tracker.warn(
                vanishing_gradient_alerts(
                    signal, self.thresholds["vanishing_floor"], self.thresholds["vanishing_ratio"]
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
        if self._installed is not None:
            unguard_fit(self.model, self._installed[1])
        self._uninstall()

    def plot(self, ax=None):
        """Heatmap of log10 of the epoch-mean gradient norm, layers (input at top) x epochs.

        Each cell is `log10(mean over the epoch's gathered steps of ||g_l||)`, the value in
        `history["grad_norm/<layer>"]`; the colour bar says which colour is which power of ten.
        Read down a column for how the gradient shrinks or grows towards the input (vanishing or
        exploding), along a row for how it evolves with training. Epochs are numbered from 1.

        Args:
            ax: A matplotlib `Axes` to draw into; a new figure (sized for the number of layers
                and epochs) is made when `None`.

        Returns:
            The matplotlib `Figure` (a `keras_nnperf.report.NotebookFigure` when `ax` is None:
            Jupyter shows it once, as an image).

        Raises:
            ValueError: before any epoch was recorded.
        """
        if not self.history:
            raise ValueError("GradientMonitor has no history yet: call fit with it first.")
        from matplotlib.ticker import MaxNLocator

        from keras_nnperf.report import new_figure

        grid = np.array([self.history[f"grad_norm/{name}"] for name in self.layer_names])
        with np.errstate(divide="ignore", invalid="ignore"):
            grid = np.log10(np.where(grid > 0, grid, np.nan))
        layers, epochs = grid.shape
        if ax is None:
            longest = max(len(name) for name in self.layer_names)
            width = min(14.0, max(7.0, 2.5 + 0.08 * longest + 0.3 * epochs))
            ax = new_figure(width, 1.6 + 0.45 * layers).add_subplot()
        image = ax.imshow(
            grid,
            aspect="auto",
            cmap="viridis",
            interpolation="nearest",
            extent=(0.5, epochs + 0.5, layers - 0.5, -0.5),
        )
        ax.set_yticks(range(layers), self.layer_names, fontsize=9)
        ax.set_ylabel("layer (input at top)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title("Gradient norm per layer: epoch mean of ||gradient||")
        colorbar = ax.figure.colorbar(image, ax=ax)
        colorbar.set_label("log10 gradient norm")
        return ax.figure
