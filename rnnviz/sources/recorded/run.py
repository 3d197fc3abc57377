"""`rnnviz.open_run`: a run recorded by `RecordStates`, opened, checked and traced exactly.

    >>> run = rnnviz.open_run("runs/exp1")
    >>> run.epochs                  # [0, 1, 2, ...]: 0 is before training
    >>> run.trace(5).h.shape        # the first recurrent layer at epoch 5, on the run's inputs
    >>> run.model(5)                # a Keras model with epoch 5's weights

The folder is checked first (`store.check_folder`: manifest, sizes, SHA-256s, the config
against the model-file allowlist). The model is built from that checked config as an
uploaded file's is (`loader.rebuild`); with `worker=` (what the app passes) the config is
first deserialised in the locked-down worker process, as an upload is. Every recorded
epoch's weights must match the model in number and shape, and the inputs the model's
inputs, or the run is refused before anything runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.sources.recorded.store import (
    CONFIG,
    INPUTS,
    CheckedRun,
    RunRefused,
    check_folder,
    read_npz,
)


@dataclass
class RecordedRun:
    """A checked run: its epochs, history and inputs, and exact traces at any epoch."""

    path: Path
    digest: str
    epochs: list[int]
    history: dict[str, list[float]]
    inputs: list[np.ndarray] | None
    thinned: str | None
    complete: bool
    model_name: str
    inputs_from: str | None
    _config: dict[str, Any] = field(repr=False)
    _weights: dict[int, list[np.ndarray]] = field(repr=False)
    _model: Any = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def last(self) -> int:
        return self.epochs[-1]

    def epoch(self, epoch: int) -> int:
        """`epoch` itself if recorded (-1 is the last); otherwise a ValueError naming them."""
        if epoch == -1:
            return self.last
        if epoch not in self._weights:
            shown = ", ".join(map(str, self.epochs[:12]))
            shown += " ..." if len(self.epochs) > 12 else ""
            raise ValueError(f"epoch {epoch} is not recorded; recorded: {shown}")
        return epoch

    def weights(self, epoch: int = -1) -> list[np.ndarray]:
        return [w.copy() for w in self._weights[self.epoch(epoch)]]

    @property
    def keras_model(self) -> Any:
        """The run's own model, for its structure (layers, inputs, configs): its weights are
        whichever epoch was traced last. `model(epoch)` gives one with an epoch's weights."""
        return self._model

    @property
    def layers(self) -> list[str]:
        """The paths of the model's recurrent layers (what `trace` takes as `layer`)."""
        from rnnviz.sources.usermodels.models import recurrent_layers

        return recurrent_layers(self._model)

    def model(self, epoch: int = -1) -> Any:
        """A new Keras model with `epoch`'s weights (yours to change; the run keeps its own)."""
        from rnnviz.sources.usermodels.loader import rebuild, set_weights

        model = rebuild(self._config)
        set_weights(model, self.weights(epoch))
        return model

    def trace(self, epoch: int = -1, layer: str | None = None, x: Any = None) -> Any:
        """The exact Trace of `layer` (default: the first recurrent layer) with `epoch`'s
        weights, on `x` (default: the run's recorded inputs)."""
        from rnnviz.sources.usermodels.models import trace_model

        weights = self._weights[self.epoch(epoch)]
        if x is None:
            if self.inputs is None:
                raise ValueError(
                    "this run recorded no inputs (no validation_data and no inputs= given): "
                    "pass x"
                )
            x = self.inputs if len(self.inputs) > 1 else self.inputs[0]
        with self._lock:  # one model per run, its weights set per call
            self._model.set_weights(weights)
            return trace_model(self._model, x, layer)

    def predict(self, epoch: int = -1, x: Any = None) -> Any:
        """The model's output at `epoch` on `x` (default: the recorded inputs)."""
        weights = self._weights[self.epoch(epoch)]
        if x is None:
            x = self.inputs if self.inputs is not None and len(self.inputs) > 1 else (
                None if self.inputs is None else self.inputs[0])  # fmt: skip
        with self._lock:
            self._model.set_weights(weights)
            out = self._model(x, training=False)
        return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else np.asarray(out)

    def size_bytes(self) -> int:
        return sum(w.nbytes for ws in self._weights.values() for w in ws)


def open_run(path: str | Path, *, worker: Any = None, max_bytes: int | None = None) -> RecordedRun:
    """Opens a run folder written by `RecordStates`; raises RunRefused saying why not.

    `worker`: a `LoadWorker` to deserialise the config in first (the app passes its own);
    None builds it here, from the checked config, with Keras's safe mode.
    """
    checked = check_folder(path, max_bytes)
    return from_checked(checked, worker=worker)


def from_checked(checked: CheckedRun, *, worker: Any = None) -> RecordedRun:
    from rnnviz.core.config import ConfigError
    from rnnviz.sources.usermodels.loader import rebuild, set_weights
    from rnnviz.sources.usermodels.models import check_model_inputs

    config = checked.config
    if worker is not None:
        config, _ = worker.open(checked.data[CONFIG], "config")
    model = rebuild(config)
    weights: dict[int, list[np.ndarray]] = {}
    for epoch, name in checked.manifest.epochs.items():
        arrays = read_npz(checked.data[name], name)
        try:
            set_weights(model, arrays)  # refuses another number or shape of arrays
        except RunRefused:
            raise
        except Exception as refused:
            raise RunRefused(f"{name}: {refused}") from None
        weights[epoch] = arrays
    inputs = None
    if INPUTS in checked.data:
        arrays = read_npz(checked.data[INPUTS], INPUTS)
        try:
            inputs = check_model_inputs(model, arrays if len(arrays) > 1 else arrays[0])
        except ConfigError as error:
            raise RunRefused(f"{INPUTS} does not fit the model: {error}") from None
    manifest = checked.manifest
    return RecordedRun(
        path=checked.path,
        digest=checked.digest,
        epochs=sorted(weights),
        history=manifest.history,
        inputs=inputs,
        thinned=manifest.thinned,
        complete=manifest.complete,
        model_name=manifest.model_name,
        inputs_from=manifest.inputs_from,
        _config=config,
        _weights=weights,
        _model=model,
    )
