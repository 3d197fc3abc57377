"""Training a stateful network exactly the way a user writes it in Keras 3, in four layouts.

`train_stateful` builds `keras.Input(batch_shape=(batch_size, window, F))`, a recurrent
layer with `stateful=True` (except for the "stateless" layout), a Dense head, and calls
`model.fit(..., shuffle=False)` on the windows in the layout's order, with the layer's
`reset_state()` at the start of every epoch (`reset="epoch"`) or never (`reset="never"`).
The "shuffled" layout is fit one epoch at a time on that epoch's order
(`layout(..., kind="shuffled", epoch=e)`): what `fit(shuffle=True)` does, a new random
order of the windows every epoch, with the order known, so the page can draw it.

Every epoch's weights are kept; `StatefulRun.trace(epoch)` is the exact Trace of the
held-out stream fed in a layout, state carried batch to batch as Keras carries it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnviz.core.config import CELLS, ConfigError, Described
from rnnviz.sources.stateful.layout import KINDS, Layout, check_sizes, layout, whole_number
from rnnviz.sources.stateful.streams import Stream, StreamTask, get_stream_task

__all__ = ["KINDS", "RESETS", "StatefulRun", "boundary_gradient", "load_stateful", "train_stateful"]

RESETS = ("epoch", "never")
#: Bounds of what a user may train on the server (the Stateful page's controls).
STATEFUL_LIMITS = {"hidden_size": (1, 128), "epochs": (1, 100), "seed": (0, 2**31 - 1)}
RNN_NAME = "rnn"


@dataclass(eq=False)
class StatefulRun:
    """One network trained on a stream in one layout: history and every epoch's weights.

    Filled in while training runs (another thread may read it); `epochs_done` grows last.

    Attributes:
        task, kind, cell, hidden_size, batch_size, window, epochs, reset, seed: as asked.
        history: per finished epoch, "loss" and "metric" (accuracy) of training as fit
            reports them, and "val_loss" / "val_metric" on the held-out stream fed in the
            continuation order (the right one, whatever the layout trained on).
        snapshots: `model.get_weights()` before training (0) and after every epoch.
        seconds: wall-clock seconds of each epoch.
    """

    task: StreamTask
    kind: str
    cell: str
    hidden_size: int
    batch_size: int
    window: int
    epochs: int
    reset: str = "epoch"
    seed: int = 0
    history: dict[str, list[float]] = field(
        default_factory=lambda: {"loss": [], "val_loss": [], "metric": [], "val_metric": []}
    )
    seconds: list[float] = field(default_factory=list)
    snapshots: list[list[np.ndarray]] = field(default_factory=list)
    layer_config: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    stopped: bool = False
    epochs_done: int = 0
    batches_done: int = 0
    batches_per_epoch: int = 0
    _streams: tuple[Stream, Stream] | None = field(default=None, repr=False)
    #: Names this run in caches (an id() can be reused once a run is gone).
    token: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)

    @property
    def metric_name(self) -> str:
        return self.task.metric_name

    @property
    def stateful(self) -> bool:
        return self.kind != "stateless"

    @property
    def streams(self) -> tuple[Stream, Stream]:
        """The (training, held-out) streams, made again from the seed."""
        if self._streams is None:
            self._streams = self.task.streams(self.seed)
        return self._streams

    def layout(self, kind: str | None = None, stream: str = "train", epoch: int = 0) -> Layout:
        """The layout `kind` (default: the run's) of the training or held-out stream."""
        data = self.streams[0 if stream == "train" else 1]
        return layout(len(data.y), self.batch_size, self.window, kind or self.kind, self.seed,
                      epoch)  # fmt: skip

    def _epoch_index(self, epoch: int) -> int:
        done = self.epochs_done
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise ConfigError("epoch", epoch, f"must be a whole number from 0 to {done} or -1")
        e = int(epoch) + (done + 1 if int(epoch) < 0 else 0)
        if not 0 <= e <= done:
            raise ConfigError("epoch", epoch, f"must be from 0 to {done} (or -1 for the last)")
        return e

    def weights(self, epoch: int = -1) -> list[np.ndarray]:
        """The recurrent layer's [kernel, recurrent_kernel, bias] after `epoch`."""
        return self.snapshots[self._epoch_index(epoch)][:3]

    def trace(self, epoch: int = -1, kind: str = "continuation", batches: int | None = None):
        """The exact Trace of the held-out stream fed in layout `kind`, state carried
        from batch to batch (not for a "stateless" run: every batch from zeros).

        Args:
            epoch: 0 (untrained) to epochs_done; -1 for the last.
            kind: the layout the held-out stream is fed in.
            batches: only the first this many batches (all by default).
        """
        return self._trace(self._epoch_index(epoch), kind, batches)

    def _trace(self, e: int, kind: str, batches: int | None = None):
        from rnnviz.core.run import trace_weights

        weights = self.snapshots[e][:3]
        lay = self.layout(kind, stream="heldout")
        index = lay.index if batches is None else lay.index[:batches]
        x = self.streams[1].x[index]  # (K, B, W, F)
        return trace_weights(self.cell, self.layer_config, weights, x, stateful=self.stateful)

    def predict(self, trace: Any, epoch: int = -1) -> np.ndarray:
        """The head's probability that the switch is on, per (batch, row, step), computed
        from the trace's h with the head's weights of `epoch` (the model's own Dense)."""
        kernel, bias = self.snapshots[self._epoch_index(epoch)][3:]
        return self._predict(trace, kernel, bias)

    @staticmethod
    def _predict(trace: Any, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
        logits = trace.h.astype(np.float64) @ kernel.astype(np.float64) + bias
        return 1.0 / (1.0 + np.exp(-logits[..., 0]))

    def evaluate(self, epoch: int = -1, kind: str = "continuation") -> dict[str, Any]:
        """Held-out accuracy and loss with the held-out stream fed in layout `kind`.

        Returns {"accuracy", "loss", "by_position" (window,): accuracy at each position
        of a window, "index": the layout's index}. Computed from the exact trace.
        """
        return self._evaluate(self._epoch_index(epoch), kind)

    def _evaluate(self, e: int, kind: str) -> dict[str, Any]:
        trace = self._trace(e, kind)
        p = self._predict(trace, *self.snapshots[e][3:])
        lay = self.layout(kind, stream="heldout")
        y = self.streams[1].y[lay.index].astype(np.float64)
        right = (p > 0.5) == (y > 0.5)
        eps = 1e-7
        loss = -(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)).mean()
        return {
            "accuracy": float(right.mean()),
            "loss": float(loss),
            "by_position": right.mean(axis=(0, 1)),
        }


def check_arguments(
    task: Any, kind: Any, cell: Any, hidden_size: Any, batch_size: Any, window: Any,
    epochs: Any, reset: Any, seed: Any,
) -> tuple:  # fmt: skip
    """Returns train_stateful's arguments validated, or raises ConfigError naming the field."""
    task = get_stream_task(task)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError("kind", kind, "must be one of " + ", ".join(KINDS))
    if not isinstance(cell, str) or cell not in CELLS:
        raise ConfigError("cell", cell, "must be one of " + ", ".join(CELLS))
    if not isinstance(reset, str) or reset not in RESETS:
        raise ConfigError("reset", reset, "must be one of " + ", ".join(RESETS))
    hidden = whole_number("hidden_size", task.hidden_size if hidden_size is None else hidden_size,
                    *STATEFUL_LIMITS["hidden_size"])  # fmt: skip
    n_epochs = whole_number(
        "epochs", task.epochs if epochs is None else epochs, *STATEFUL_LIMITS["epochs"]
    )
    seed = whole_number("seed", seed, *STATEFUL_LIMITS["seed"])
    b = task.batch_size if batch_size is None else batch_size
    w = task.window if window is None else window
    _, b, w = check_sizes(task.heldout_len, b, w)
    check_sizes(task.stream_len, b, w)
    return task, kind, cell, hidden, b, w, n_epochs, reset, seed


def build_model(
    task: StreamTask, kind: str, cell: str, hidden_size: int, batch_size: int, window: int,
    seed: int,
) -> Any:  # fmt: skip
    """The compiled model a user writes: Input(batch_shape), stateful RNN, Dense(sigmoid)."""
    import keras

    from rnnviz.core.tracer import LAYER_CLASSES

    init = keras.initializers
    inputs = keras.Input(batch_shape=(batch_size, window, task.num_features))
    rnn = LAYER_CLASSES[cell](
        hidden_size,
        return_sequences=True,
        stateful=kind != "stateless",
        kernel_initializer=init.GlorotUniform(seed=seed),
        recurrent_initializer=init.Orthogonal(seed=seed + 1),
        name=RNN_NAME,
    )
    head = keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer=init.GlorotUniform(seed=seed + 2), name="head"
    )
    model = keras.Model(inputs, head(rnn(inputs)), name=f"{task.name}_{kind}_{cell}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=task.learning_rate, clipnorm=1.0),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_stateful(
    task: StreamTask | str = "switch",
    kind: str = "continuation",
    cell: str = "lstm",
    hidden_size: int | None = None,
    batch_size: int | None = None,
    window: int | None = None,
    epochs: int | None = None,
    reset: str = "epoch",
    seed: int = 0,
    on_epoch: Callable[[StatefulRun], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> StatefulRun:
    """Trains a network on the task's stream fed in layout `kind`; returns the StatefulRun.

    Args:
        task: a StreamTask or its name ("switch").
        kind: "continuation", "in_order", "shuffled" or "stateless" (see layout).
        cell: "lstm", "gru" or "simple_rnn".
        hidden_size, batch_size, window, epochs: default the task's.
        reset: "epoch" (reset_state() when every epoch begins) or "never".
        seed: drives the streams, the initial weights and the shuffled order.
        on_epoch: called with the run after epoch 0 (untrained) and every finished epoch.
        should_stop: polled before every batch; True ends training after that batch.
    """
    import keras

    task, kind, cell, hidden, b, w, n_epochs, reset, seed = check_arguments(
        task, kind, cell, hidden_size, batch_size, window, epochs, reset, seed
    )
    keras.utils.set_random_seed(seed)
    model = build_model(task, kind, cell, hidden, b, w, seed)
    run = StatefulRun(
        task=task, kind=kind, cell=cell, hidden_size=hidden, batch_size=b, window=w,
        epochs=n_epochs, reset=reset, seed=seed, model=model,
        layer_config=model.get_layer(RNN_NAME).get_config(),
    )  # fmt: skip
    train = run.streams[0]
    first = run.layout(epoch=0)
    run.batches_per_epoch = first.num_batches
    run.snapshots.append(model.get_weights())
    if on_epoch is not None:
        on_epoch(run)
    recorder = _recorder(run, on_epoch, should_stop)

    def arrays(lay: Layout) -> tuple[np.ndarray, np.ndarray]:
        index = lay.index.reshape(-1, w)  # batch after batch, row after row
        return train.x[index], train.y[index][..., None]

    if kind != "shuffled":
        x, y = arrays(first)
        model.fit(x, y, batch_size=b, epochs=n_epochs, shuffle=False, verbose=0,
                  callbacks=[recorder])  # fmt: skip
        return run
    for epoch in range(n_epochs):
        x, y = arrays(run.layout(epoch=epoch))
        model.fit(x, y, batch_size=b, initial_epoch=epoch, epochs=epoch + 1, shuffle=False,
                  verbose=0, callbacks=[recorder])  # fmt: skip
        if run.stopped:
            break
    return run


def _recorder(run: StatefulRun, on_epoch: Any, should_stop: Any) -> Any:
    """The Keras callback that resets the state, polls for a stop and records each epoch."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()
            run.batches_done = 0
            if run.stateful and (run.reset == "epoch" or epoch == 0):
                self.model.get_layer(RNN_NAME).reset_state()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            run.batches_done = batch
            if should_stop is not None and should_stop():
                run.stopped = True
                run.batches_done = batch + 1
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            run.snapshots.append(self.model.get_weights())
            run.history["loss"].append(float(logs.get("loss", np.nan)))
            run.history["metric"].append(float(logs.get("accuracy", np.nan)))
            # Held-out, in the right order, from the exact trace of these weights.
            held_out = run._evaluate(len(run.snapshots) - 1, "continuation")
            run.history["val_loss"].append(held_out["loss"])
            run.history["val_metric"].append(held_out["accuracy"])
            run.seconds.append(time.perf_counter() - self._start)  # the whole epoch's cost
            run.epochs_done += 1  # last: readers slice the lists to epochs_done
            if on_epoch is not None:
                on_epoch(run)

    return Recorder()


def describe_run(run: StatefulRun) -> str:
    """A short description: "LSTM(16), continuation, batch 8 × window 10, 30 epochs"."""
    from rnnviz.views.urlstate import CELL_LABELS

    return (
        f"{CELL_LABELS[run.cell]}({run.hidden_size}), {run.kind}, batch {run.batch_size} × "
        f"window {run.window}, {run.epochs_done} epochs, reset {run.reset}, seed {run.seed}"
    )


# ----- the gradient stops at the boundary, the state does not ---------------------------------


def boundary_gradient(run: StatefulRun, epoch: int = -1, batch: int = 0) -> dict[str, Any]:
    """Returns what batch `batch + 1` of the held-out stream (continuation layout) depends on.

    - "fit": the gradient of batch k+1's loss with respect to batch k's inputs as `fit`
      computes it, one batch per GradientTape, the state handed over in the layer's state
      variables: exactly zero, since batch k's inputs are not in batch k+1's graph
      (truncated backpropagation through time).
    - "state": the same gradient through the carried state, batch k and k+1 in one tape
      with the state passed as `initial_state`: what the loss really depends on.
    Both are (batch_size, window, features) arrays; "norm_fit" and "norm_state" their norms.
    """
    import keras
    import tensorflow as tf

    e = run._epoch_index(epoch)
    lay = run.layout("continuation", stream="heldout")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)):
        raise ConfigError("batch", batch, f"must be a whole number from 0 to {lay.num_batches - 2}")
    if not 0 <= batch < lay.num_batches - 1:
        raise ConfigError("batch", batch, f"must be from 0 to {lay.num_batches - 2}")
    held = run.streams[1]
    xk = tf.constant(held.x[lay.index[batch]])
    xk1 = tf.constant(held.x[lay.index[batch + 1]])
    yk1 = tf.constant(held.y[lay.index[batch + 1]][..., None])
    loss_fn = keras.losses.BinaryCrossentropy()

    model = build_model(run.task, run.kind, run.cell, run.hidden_size, run.batch_size,
                        run.window, run.seed)  # fmt: skip
    model.set_weights(run.snapshots[e])
    layer = model.get_layer(RNN_NAME)
    layer.reset_state()
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xk)
        model(xk)  # batch k: fit's step; the layer keeps its final state in its variables
    with tf.GradientTape() as tape:  # batch k+1: a new step, a new tape, as fit does
        tape.watch(xk)
        loss = loss_fn(yk1, model(xk1))
    fit_grad = tape.gradient(loss, xk)
    fit_grad = np.zeros(xk.shape, np.float32) if fit_grad is None else np.asarray(fit_grad)

    # The same layer as a stateless one that takes the carried state as initial_state.
    from rnnviz.core.tracer import LAYER_CLASSES

    config = {k: v for k, v in run.layer_config.items() if k not in ("stateful", "name")}
    free = LAYER_CLASSES[run.cell](**{**config, "return_state": True, "return_sequences": True})
    head = keras.layers.Dense(1, activation="sigmoid")
    n_states = 2 if run.cell == "lstm" else 1
    free.build((run.batch_size, run.window, run.task.num_features))
    head.build((run.batch_size, run.window, run.hidden_size))
    free.set_weights(run.snapshots[e][:3])
    head.set_weights(run.snapshots[e][3:])
    zeros = [tf.zeros((run.batch_size, run.hidden_size))] * n_states
    with tf.GradientTape() as tape:
        tape.watch(xk)
        carried = free(xk, initial_state=zeros)[1:]
        out = free(xk1, initial_state=list(carried))[0]
        loss = loss_fn(yk1, head(out))
    state_grad = np.asarray(tape.gradient(loss, xk))
    return {
        "fit": fit_grad,
        "state": state_grad,
        "norm_fit": float(np.linalg.norm(fit_grad)),
        "norm_state": float(np.linalg.norm(state_grad)),
    }


# ----- shipped checkpoints ----------------------------------------------------------------------


def checkpoint_stem(kind: str, cell: str, task: str = "switch") -> str:
    return f"stateful_{task}_{kind}_{cell}"


def save_run(run: StatefulRun, directory: Any, stem: str) -> dict[str, Any]:
    """Writes <stem>.keras (the final model, no optimizer) and <stem>.npz (history, seconds,
    every epoch's weights); returns the manifest entry with the files' SHA-256."""
    import keras

    from rnnviz.sources.training.run import sha256_of

    model_path = directory / f"{stem}.keras"
    record_path = directory / f"{stem}.npz"
    run.model.save(model_path, include_optimizer=False)
    arrays = {f"history_{k}": np.asarray(v, np.float64) for k, v in run.history.items()}
    arrays["seconds"] = np.asarray(run.seconds, np.float64)
    for e, weights in enumerate(run.snapshots):
        for i, w in enumerate(weights):
            arrays[f"epoch{e}_w{i}"] = w
    np.savez_compressed(record_path, **arrays)
    right = run.evaluate(-1, "continuation")
    own = run.evaluate(-1, "continuation" if run.kind == "stateless" else run.kind)
    return {
        "task": run.task.name,
        "kind": run.kind,
        "cell": run.cell,
        "hidden_size": run.hidden_size,
        "batch_size": run.batch_size,
        "window": run.window,
        "epochs": run.epochs_done,
        "reset": run.reset,
        "seed": run.seed,
        "heldout_accuracy_continuation": right["accuracy"],
        "heldout_accuracy_own_layout": own["accuracy"],
        "train_seconds": float(sum(run.seconds)),
        "keras_version": keras.__version__,
        "files": {
            p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
            for p in (model_path, record_path)
        },
    }


def load_stateful(kind: str, cell: str = "lstm", task: str = "switch", directory: Any = None):
    """Returns the shipped StatefulRun of a layout and cell, every epoch included; the
    files' SHA-256 are checked and nothing in them runs (safe_mode, no pickles)."""
    import keras

    from rnnviz.sources.training.run import MODELS_DIR, read_manifest, verify_files

    directory = MODELS_DIR if directory is None else directory
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError("kind", kind, "must be one of " + ", ".join(KINDS))
    stem = checkpoint_stem(kind, cell, task)
    entry = read_manifest(directory / "manifest.json").get("stateful", {}).get(stem)
    if entry is None:
        raise ConfigError("kind", Described(f"{kind} with {cell}"), "has no shipped checkpoint")
    verify_files(directory, entry)
    model = keras.saving.load_model(directory / f"{stem}.keras", safe_mode=True)
    run = StatefulRun(
        task=get_stream_task(entry["task"]), kind=kind, cell=cell,
        hidden_size=entry["hidden_size"], batch_size=entry["batch_size"],
        window=entry["window"], epochs=entry["epochs"], reset=entry["reset"],
        seed=entry["seed"], model=model, layer_config=model.get_layer(RNN_NAME).get_config(),
    )  # fmt: skip
    with np.load(directory / f"{stem}.npz", allow_pickle=False) as record:
        run.history = {
            k: [float(v) for v in record[f"history_{k}"]]
            for k in ("loss", "val_loss", "metric", "val_metric")
        }
        run.seconds = [float(s) for s in record["seconds"]]
        n = len(model.get_weights())
        run.snapshots = [
            [record[f"epoch{e}_w{i}"] for i in range(n)] for e in range(entry["epochs"] + 1)
        ]
    run.epochs_done = entry["epochs"]
    run.batches_per_epoch = run.layout().num_batches
    return run
