"""`train`: fit a genuine Keras model on a built-in task, keeping the weights of every epoch.

The model is `keras.Sequential([Input, LSTM|GRU|SimpleRNN, Dense])`, compiled and fitted with
`model.fit`. A Keras callback records each epoch (history, a snapshot of the weights), reports
progress and polls `should_stop` after every batch; the training loop is Keras's own.

A TrainingRun can replay any epoch: `run.trace(epoch)` traces the recurrent layer with that
epoch's weights through the same exact engine as `rnnviz.run`.

Example:
    >>> run = train("remember", cell="lstm", epochs=2)
    >>> run.epochs_done, len(run.history["loss"])
    (2, 2)
    >>> run.trace(0).h.shape           # the untrained net on 8 validation samples
    (1, 8, 30, 16)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.core.config import ASSETS_DIR, CELLS, LIMITS, ConfigError, Described
from rnnviz.sources.training.tasks import Task, TaskData, get_task
from rnnviz.views.urlstate import CELL_LABELS

#: Inclusive ranges of train()'s integer arguments. hidden_size is capped below
#: LIMITS["hidden_size"]: on a shared 2-core server a 1024-unit training would take minutes.
TRAIN_LIMITS: dict[str, tuple[int, int]] = {
    "hidden_size": (1, 256),
    "epochs": (1, 200),
    "seed": LIMITS["seed"],
}

#: Validation samples a trace shows by default (one batch).
TRACE_SAMPLES = 8

#: Where the shipped checkpoints and their manifest live.
MODELS_DIR = ASSETS_DIR / "models"
MANIFEST = MODELS_DIR / "manifest.json"

#: The recurrent layer's name inside every model `train` builds.
RNN_NAME = "rnn"


def _check_int(name: str, value: Any) -> int:
    lo, hi = TRAIN_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(name, value, f"must be a whole number from {lo} to {hi}")
    if not lo <= int(value) <= hi:
        raise ConfigError(name, value, f"must be from {lo} to {hi}")
    return int(value)


def check_arguments(
    task: Task | str, cell: str, hidden_size: Any, epochs: Any, seed: Any, stateful: Any
) -> tuple[Task, str, int, int, int, bool]:
    """Returns the arguments of `train` validated, or raises ConfigError naming the field."""
    task = get_task(task)
    if not isinstance(cell, str) or cell not in CELLS:
        raise ConfigError("cell", cell, "must be one of " + ", ".join(CELLS))
    hidden = _check_int("hidden_size", task.hidden_size if hidden_size is None else hidden_size)
    n_epochs = _check_int("epochs", task.epochs if epochs is None else epochs)
    seed = _check_int("seed", seed)
    if not isinstance(stateful, (bool, np.bool_)):
        raise ConfigError("stateful", stateful, "must be True or False")
    stateful = bool(stateful)
    return task, cell, hidden, n_epochs, seed, stateful


@dataclass(frozen=True)
class Settings:
    """What identifies a training: the same settings train the same network."""

    task: str
    cell: str
    hidden_size: int
    epochs: int
    seed: int

    @property
    def label(self) -> str:
        """A short description: "LSTM(16) on 'remember', 20 epochs, seed 0"."""
        return (
            f"{CELL_LABELS[self.cell]}({self.hidden_size}) on '{self.task}', "
            f"{self.epochs} epochs, seed {self.seed}"
        )


@dataclass(eq=False)
class TrainingRun:
    """A training of one cell on one task: its history and the weights after every epoch.

    Filled in while training runs (another thread may read it): `epochs_done` grows last,
    so every list holds at least `epochs_done` entries when read.

    Attributes:
        task, cell, hidden_size, epochs, seed, stateful: what was asked for (`epochs` is
            the number planned; `epochs_done` the number finished).
        history: "loss", "val_loss", "metric", "val_metric": one float per finished epoch.
        seconds: wall-clock seconds of each finished epoch.
        snapshots: the whole model's weights (`model.get_weights()`) after each epoch;
            snapshots[0] is before training.
        layer_config: the recurrent layer's Keras config.
        model: the Keras model, holding the latest weights (None until built).
        stopped: training ended early because `should_stop` returned True.
        batches_done: batches finished in the current epoch (for progress bars).
        batches_per_epoch: training batches in one epoch.
    """

    task: Task
    cell: str
    hidden_size: int
    epochs: int
    seed: int = 0
    stateful: bool = False
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
    _val: TaskData | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The settings this run was trained with (`epochs` as planned)."""
        return Settings(self.task.name, self.cell, self.hidden_size, self.epochs, self.seed)

    @property
    def metric_name(self) -> str:
        """Returns "accuracy" or "mae": what history["metric"] holds."""
        return self.task.metric_name

    @property
    def validation(self) -> TaskData:
        """The held-out samples the run validates on (made again from the seed if needed)."""
        if self._val is None:
            self._val = self.task.splits(self.seed)[1]
        return self._val

    def _epoch_index(self, epoch: int) -> int:
        done = self.epochs_done
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise ConfigError("epoch", epoch, f"must be a whole number from 0 to {done} or -1")
        e = int(epoch)
        if e < 0:
            e += done + 1
        if not 0 <= e <= done:
            raise ConfigError("epoch", epoch, f"must be from 0 to {done} (or -1 for the last)")
        return e

    def weights(self, epoch: int = -1) -> list[np.ndarray]:
        """Returns the recurrent layer's [kernel, recurrent_kernel, bias] after `epoch`.

        Epoch 0 is before training; -1 the last finished epoch.
        """
        return self.snapshots[self._epoch_index(epoch)][:3]

    def head_weights(self, epoch: int = -1) -> list[np.ndarray]:
        """Returns the Dense head's [kernel, bias] after `epoch`."""
        return self.snapshots[self._epoch_index(epoch)][3:]

    def trace(self, epoch: int = -1, x: Any = None) -> Any:
        """Returns the exact Trace of the recurrent layer with `epoch`'s weights.

        Args:
            epoch: 0 (untrained) to epochs_done; -1 for the last.
            x: (samples, num_steps, num_features) inputs, one batch; by default the
                first TRACE_SAMPLES validation samples.
        """
        from rnnviz.core.run import trace_weights

        weights = self.weights(epoch)
        if x is None:
            x = self.validation.x[:TRACE_SAMPLES]
        return trace_weights(self.cell, self.layer_config, weights, x)

    def predict(self, epoch: int = -1, x: Any = None) -> np.ndarray:
        """Returns the model's output with `epoch`'s weights: class probabilities or values.

        Shapes: (samples, classes) or (samples, steps, classes) for classification,
        (samples,) or (samples, steps) for regression. Computed from the trace's h and
        the head's weights, so it is the model's prediction for exactly that trace.
        """
        return self.outputs(self.trace(epoch, x), epoch)

    def outputs(self, trace: Any, epoch: int = -1) -> np.ndarray:
        """Returns what the model outputs for a trace of its recurrent layer (one batch).

        The Dense head with `epoch`'s weights applied to the trace's h, as the model does;
        for a trace that was changed (an intervention) it is the changed model's output.
        """
        h = trace.h[0] if self.task.every_step else trace.h[0][:, -1]
        kernel, bias = self.head_weights(epoch)
        z = h.astype(np.float64) @ kernel + bias
        if self.task.kind == "classification":
            z = np.exp(z - z.max(axis=-1, keepdims=True))
            return (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
        return z[..., 0].astype(np.float32)

    def weight_bytes(self) -> int:
        """Returns the bytes the per-epoch snapshots hold."""
        return sum(w.nbytes for snap in self.snapshots for w in snap)

    def final(self, key: str = "val_metric") -> float:
        """Returns the last finished epoch's value of a history key (NaN before any)."""
        values = self.history[key][: self.epochs_done]
        return float(values[-1]) if values else float("nan")

    # ----- saving and loading (the shipped checkpoints) -------------------------------

    def save(self, directory: Path, stem: str) -> dict[str, Any]:
        """Writes `stem`.keras (the final model) and `stem`.npz (history, snapshots).

        Returns the manifest entry: what was trained, the final metrics and the files'
        SHA-256.
        """
        import keras

        directory.mkdir(parents=True, exist_ok=True)
        model_path = directory / f"{stem}.keras"
        record_path = directory / f"{stem}.npz"
        self.model.save(model_path)
        arrays: dict[str, np.ndarray] = {
            f"history_{k}": np.asarray(v[: self.epochs_done], np.float64)
            for k, v in self.history.items()
        }
        arrays["seconds"] = np.asarray(self.seconds, np.float64)
        for e, snap in enumerate(self.snapshots[: self.epochs_done + 1]):
            for i, w in enumerate(snap):
                arrays[f"epoch{e}_w{i}"] = w
        np.savez_compressed(record_path, **arrays)
        return {
            "task": self.task.name,
            "cell": self.cell,
            "hidden_size": self.hidden_size,
            "epochs": self.epochs_done,
            "seed": self.seed,
            "stateful": self.stateful,
            "metric_name": self.metric_name,
            "val_metric": self.final("val_metric"),
            "val_loss": self.final("val_loss"),
            "train_seconds": float(sum(self.seconds)),
            "keras_version": keras.__version__,
            "files": {
                p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
                for p in (model_path, record_path)
            },
        }


def sha256_of(path: Path) -> str:
    """Returns the hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_model(task: Task, cell: str, hidden_size: int, seed: int, stateful: bool) -> Any:
    """Returns the compiled keras.Sequential([Input, recurrent layer, Dense]) for a task."""
    import keras

    from rnnviz.core.tracer import LAYER_CLASSES

    init = keras.initializers
    rnn = LAYER_CLASSES[cell](
        hidden_size,
        return_sequences=task.every_step,
        stateful=stateful,
        kernel_initializer=init.GlorotUniform(seed=seed),
        recurrent_initializer=init.Orthogonal(seed=seed + 1),
        name=RNN_NAME,
    )
    classes = task.num_classes if task.kind == "classification" else 1
    head = keras.layers.Dense(
        classes,
        activation="softmax" if task.kind == "classification" else None,
        kernel_initializer=init.GlorotUniform(seed=seed + 2),
        name="head",
    )
    if stateful:
        # Keras 3: a stateful layer needs the batch size fixed by its Input.
        inputs = keras.Input(batch_shape=(task.batch_size, task.num_steps, task.num_features))
    else:
        inputs = keras.Input(shape=(task.num_steps, task.num_features))
    model = keras.Sequential([inputs, rnn, head], name=f"{task.name}_{cell}")
    classification = task.kind == "classification"
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=task.learning_rate, clipnorm=1.0),
        loss="sparse_categorical_crossentropy" if classification else "mse",
        metrics=["accuracy" if classification else "mae"],
    )
    return model


def _targets(task: Task, data: TaskData) -> np.ndarray:
    # A regression head outputs (..., 1): the targets get that axis too.
    return data.y if task.kind == "classification" else data.y[..., None]


def train(
    task: Task | str,
    cell: str = "lstm",
    hidden_size: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
    stateful: bool = False,
    on_epoch: Callable[[TrainingRun], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainingRun:
    """Trains a Keras model on a task with `model.fit`; returns the TrainingRun.

    Args:
        task: a Task or its name in rnnviz.tasks.TASKS.
        cell: "lstm", "gru" or "simple_rnn".
        hidden_size: the recurrent layer's units (default: the task's).
        epochs: how many epochs (default: the task's), at most TRAIN_LIMITS["epochs"].
        seed: drives the data, the initial weights and nothing else: same arguments,
            same history.
        stateful: build the layer stateful (batches carry state; reset every epoch).
        on_epoch: called with the run after epoch 0 (the untrained weights) is recorded
            and after every finished epoch.
        should_stop: polled before every batch; when it returns True training stops
            after that batch and the run keeps what was learnt.
    """
    task, cell, hidden_size, epochs, seed, stateful = check_arguments(
        task, cell, hidden_size, epochs, seed, stateful
    )
    train_data, val_data = task.splits(seed)
    model = build_model(task, cell, hidden_size, seed, stateful)
    run = TrainingRun(
        task=task,
        cell=cell,
        hidden_size=hidden_size,
        epochs=epochs,
        seed=seed,
        stateful=stateful,
        layer_config=model.get_layer(RNN_NAME).get_config(),
        model=model,
        batches_per_epoch=-(-len(train_data) // task.batch_size),
        _val=val_data,
    )
    run.snapshots.append(model.get_weights())
    if on_epoch is not None:
        on_epoch(run)
    if should_stop is not None and should_stop():
        run.stopped = True
        return run
    model.fit(
        train_data.x,
        _targets(task, train_data),
        batch_size=task.batch_size,
        epochs=epochs,
        validation_data=(val_data.x, _targets(task, val_data)),
        shuffle=False,  # the samples are i.i.d. draws already; no global RNG needed
        verbose=0,
        callbacks=[_recorder(run, on_epoch, should_stop)],
    )
    return run


def _recorder(
    run: TrainingRun,
    on_epoch: Callable[[TrainingRun], None] | None,
    should_stop: Callable[[], bool] | None,
) -> Any:
    """Returns the Keras callback that records `run` (a class made here: keras loads late)."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()
            run.batches_done = 0
            if run.stateful:
                # Samples are independent: a new epoch starts from zero state.
                self.model.get_layer(RNN_NAME).reset_state()

        # The stop poll is in on_train_batch_begin, not _end: a callback with an _end hook
        # makes Keras convert every batch's logs synchronously (10 % slower fits). Keras
        # checks stop_training after the batch, so a stop seen here ends training after
        # this batch: still within one batch.
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            run.batches_done = batch
            if should_stop is not None and should_stop():
                run.stopped = True
                run.batches_done = batch + 1
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            metric = run.metric_name
            run.seconds.append(time.perf_counter() - self._start)
            run.history["loss"].append(float(logs.get("loss", np.nan)))
            run.history["val_loss"].append(float(logs.get("val_loss", np.nan)))
            run.history["metric"].append(float(logs.get(metric, np.nan)))
            run.history["val_metric"].append(float(logs.get(f"val_{metric}", np.nan)))
            run.snapshots.append(self.model.get_weights())
            run.epochs_done += 1  # last: readers slice the lists to epochs_done
            if on_epoch is not None:
                on_epoch(run)

    return Recorder()


# ----- the shipped checkpoints ---------------------------------------------------------


def read_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    """Returns the manifest of the shipped checkpoints ({} when there is none)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def verify_files(directory: Path, entry: dict[str, Any]) -> None:
    """Raises ConfigError unless every file of a manifest entry has its recorded SHA-256."""
    for name, info in entry["files"].items():
        if sha256_of(directory / name) != info["sha256"]:
            raise ConfigError("checkpoint", name, "does not match its SHA-256 in the manifest")


def checkpoint_stem(task: str, cell: str) -> str:
    """Returns the file stem of a task's shipped checkpoint for a cell."""
    return f"task_{task}_{cell}"


_load_lock = threading.Lock()


def load_pretrained(
    task: Task | str, cell: str = "lstm", directory: Path = MODELS_DIR
) -> TrainingRun:
    """Returns the shipped TrainingRun of a task and cell, every epoch included.

    The files' SHA-256 are checked against the manifest; the model is loaded with
    `safe_mode=True` and the record with `allow_pickle=False`: nothing in them runs.
    """
    task = get_task(task)
    if not isinstance(cell, str) or cell not in CELLS:
        raise ConfigError("cell", cell, "must be one of " + ", ".join(CELLS))
    stem = checkpoint_stem(task.name, cell)
    manifest = read_manifest(directory / "manifest.json")
    entry = manifest.get("tasks", {}).get(stem)
    if entry is None:
        raise ConfigError(
            "task", Described(f"{task.name} with {cell}"), "has no shipped checkpoint; train it"
        )
    verify_files(directory, entry)
    import keras

    with _load_lock:
        model = keras.saving.load_model(directory / f"{stem}.keras", safe_mode=True)
    with np.load(directory / f"{stem}.npz", allow_pickle=False) as record:
        history = {
            k: [float(v) for v in record[f"history_{k}"]]
            for k in ("loss", "val_loss", "metric", "val_metric")
        }
        epochs_done = len(history["loss"])
        n_weights = len(model.get_weights())
        snapshots = [
            [record[f"epoch{e}_w{i}"] for i in range(n_weights)] for e in range(epochs_done + 1)
        ]
        seconds = [float(s) for s in record["seconds"]]
    return TrainingRun(
        task=task,
        cell=cell,
        hidden_size=int(entry["hidden_size"]),
        epochs=epochs_done,
        seed=int(entry["seed"]),
        stateful=bool(entry["stateful"]),
        history=history,
        seconds=seconds,
        snapshots=snapshots,
        layer_config=model.get_layer(RNN_NAME).get_config(),
        model=model,
        epochs_done=epochs_done,
        batches_per_epoch=-(-task.num_train // task.batch_size),
    )
