"""`RecordStates`: a Keras callback that records a user's own training for rnnviz.

    model.fit(x, y, validation_data=(xv, yv), epochs=20,
              callbacks=[rnnviz.callbacks.RecordStates("runs/exp1")])

then `rnnviz open runs/exp1`, or `rnnviz.open_run("runs/exp1").trace(epoch=5)` in a
notebook. It saves the model's config once, the weights before training (epoch 0) and
after every `every`-th epoch, the history, and up to 16 samples to trace on (the first of
`validation_data`, or the `inputs` given): everything an exact trace at a recorded epoch
needs, in the plain files `rnnviz.sources.recorded.store` describes.

It never fails the user's training once it has begun: a run that would grow past `max_mb`
keeps every second recorded epoch, then every fourth, ... (epoch 0 and the latest always),
and says so once in the log and in the manifest; a write that fails (a full disk) stops
the recording with one warning and training goes on. What it refuses is refused at
`on_train_begin`, before any training time is spent: a folder it cannot write to.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np

from rnnviz.core.config import ConfigError, Described
from rnnviz.sources.recorded.store import (
    CONFIG,
    DEFAULT_SAMPLES,
    EPOCHS_DIR,
    INPUTS,
    MANIFEST,
    MAX_INPUT_BYTES,
    MAX_SAMPLES,
    Manifest,
    epoch_file,
    npz_bytes,
    sha256_bytes,
    write_atomically,
)


class RecordingError(OSError):
    """The run cannot be recorded where it was asked to be; raised before training starts."""


def _as_list(x: Any) -> list[np.ndarray]:
    if isinstance(x, dict):
        return [np.asarray(v) for v in x.values()]
    if isinstance(x, (list, tuple)):
        return [np.asarray(v) for v in x]
    return [np.asarray(x)]


def _first(arrays: list[np.ndarray], count: int) -> list[np.ndarray]:
    return [np.ascontiguousarray(a[:count]) for a in arrays]


def _check_inputs(arrays: list[np.ndarray]) -> list[np.ndarray]:
    samples = {a.shape[0] if a.ndim else 0 for a in arrays}
    if 0 in samples or len(samples) != 1:
        raise ConfigError(
            "inputs", Described(f"shapes {[a.shape for a in arrays]}"),
            "one batch: every array with the same number of samples, at least 1",
        )  # fmt: skip
    count = samples.pop()
    if count > MAX_SAMPLES:
        raise ConfigError("inputs", f"{count} samples", f"at most {MAX_SAMPLES} samples")
    size = sum(a.nbytes for a in arrays)
    if size > MAX_INPUT_BYTES:
        raise ConfigError(
            "inputs", Described(f"{size / 2**20:.1f} MB"), f"at most {MAX_INPUT_BYTES // 2**20} MB"
        )
    if any(a.dtype.kind not in "fiub" for a in arrays):
        raise ConfigError("inputs", Described("not numbers"), "arrays of numbers")
    return arrays


class RecordStates(keras.callbacks.Callback):
    """Records a training run for rnnviz (see the module).

    Args:
        log_dir: the run's folder (created; a run already in it is replaced).
        inputs: the samples to trace on (an array, or a list/dict per model input), at most
            64 samples and 16 MB. Default: the first 16 samples of `validation_data`.
        every: record the weights after every `every`-th epoch (and before training).
        max_mb: the run's size limit in MB; past it, recorded epochs are thinned.
    """

    def __init__(
        self, log_dir: str | Path, inputs: Any = None, every: int = 1, max_mb: float = 200
    ):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError("every", every, "a whole number of epochs, at least 1")
        if (
            isinstance(max_mb, bool)
            or not isinstance(max_mb, (int, float))
            or not math.isfinite(max_mb)
            or max_mb <= 0
        ):
            raise ConfigError("max_mb", max_mb, "a positive number of megabytes")
        self.log_dir = Path(log_dir)
        self.every = every
        self.max_mb = float(max_mb)
        self._inputs = None if inputs is None else _check_inputs(_as_list(inputs))
        self._manifest: Manifest | None = None
        self._stopped = False
        self._said_thinning = False

    # ----- Keras's hooks ------------------------------------------------------------------

    def on_train_begin(self, logs: Any = None) -> None:
        if self._manifest is not None and not self._stopped:
            return  # fit called again with this callback: the run goes on
        self._start()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self._manifest is None or self._stopped:
            return
        number = epoch + 1  # epoch 0 is the weights before training
        for key, value in (logs or {}).items():
            self._manifest.history.setdefault(key, []).append(_number(value))
        try:
            if self._manifest.inputs_from is None:
                self._take_validation_inputs()
            if number % self.every == 0:
                self._record(number)
            else:
                self._write_manifest()
        except OSError as error:
            self._stop(f"writing the run failed ({error}); training goes on unrecorded")

    def on_train_end(self, logs: Any = None) -> None:
        if self._manifest is None or self._stopped:
            return
        self._manifest.complete = True
        try:
            self._write_manifest()
        except OSError as error:
            self._stop(f"writing the run failed ({error})")

    # ----- the run's files ----------------------------------------------------------------

    def _start(self) -> None:
        folder = self.log_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".rnnviz-write-test-{id(self)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise RecordingError(
                f"RecordStates cannot write the run to {folder}: "
                f"{error.strerror or error}. Give it a folder you can write to."
            ) from None
        for old in (MANIFEST, CONFIG, INPUTS):  # a run recorded here before is replaced
            (folder / old).unlink(missing_ok=True)
        shutil.rmtree(folder / EPOCHS_DIR, ignore_errors=True)
        (folder / EPOCHS_DIR).mkdir()
        self._stopped = False
        self._manifest = Manifest(
            epochs={},
            files={},
            model_name=str(getattr(self.model, "name", "model")),
            every=self.every,
            max_mb=self.max_mb,
            keras_version=keras.__version__,
        )
        try:
            config = self.model.to_json().encode()
        except Exception as error:  # a subclassed model without get_config
            self._stop(f"the model has no config to save ({error}); nothing is recorded")
            return
        self._warn_if_refused(config)
        self._write(CONFIG, config)
        if self._inputs is not None:
            self._write(INPUTS, npz_bytes(self._inputs))
            self._manifest.inputs_from = "inputs"
        self._record(0)

    def _warn_if_refused(self, config: bytes) -> None:
        import json

        from rnnviz.sources.usermodels.modelfile import ModelRefused, check_config

        try:
            check_config(json.loads(config))
        except ModelRefused as refused:
            self._say(f"rnnviz will refuse to open this run: {refused}")

    def _take_validation_inputs(self) -> None:
        """The first samples of `validation_data`, from the iterator Keras made for it."""
        iterator = getattr(self.model, "_eval_epoch_iterator", None)
        adapter = getattr(iterator, "data_adapter", None)
        if adapter is None:
            return
        parts: list[list[np.ndarray]] = []
        taken = 0
        try:
            for batch in adapter.get_numpy_iterator():
                x = batch[0] if isinstance(batch, tuple) else batch
                arrays = _as_list(x)
                parts.append(arrays)
                taken += arrays[0].shape[0]
                if taken >= DEFAULT_SAMPLES:
                    break
        except Exception:  # a data source rnnviz cannot read: record without inputs
            return
        if not parts:
            return
        arrays = [np.concatenate(group) for group in zip(*parts, strict=True)]
        try:
            arrays = _check_inputs(_first(arrays, DEFAULT_SAMPLES))
        except ConfigError as error:
            self._say(f"the validation samples are not kept ({error})")
            self._manifest.inputs_from = "none"
            return
        self._write(INPUTS, npz_bytes(arrays))
        self._manifest.inputs_from = "validation_data"

    def _write(self, name: str, data: bytes) -> None:
        write_atomically(self.log_dir / name, data)
        self._manifest.files[name] = {"sha256": sha256_bytes(data), "bytes": len(data)}

    def _record(self, number: int) -> None:
        weights = [np.asarray(w) for w in self.model.get_weights()]
        name = epoch_file(number)
        self._write(name, npz_bytes(weights))
        self._manifest.epochs[number] = name
        dropped = self._thin(number)
        self._write_manifest()
        for old in dropped:  # after the manifest no longer lists them
            (self.log_dir / old).unlink(missing_ok=True)

    def _thin(self, latest: int) -> list[str]:
        """Drops recorded epochs until the run fits in max_mb; returns their files."""
        manifest = self._manifest
        budget = self.max_mb * 2**20

        def kept(epoch: int) -> bool:
            return epoch in (0, latest) or epoch % (self.every * manifest.stride) == 0

        def drop() -> list[str]:
            names = [manifest.epochs.pop(e) for e in list(manifest.epochs) if not kept(e)]
            for name in names:
                manifest.files.pop(name)
            return names

        dropped = drop()
        while manifest.total_bytes > budget and len(manifest.epochs) > 2:
            manifest.stride *= 2
            dropped += drop()
        if manifest.stride > 1:
            manifest.thinned = (
                f"to stay under max_mb={self.max_mb:g}, the run keeps every "
                f"{_ordinal(manifest.stride)} recorded epoch (and epoch 0 and the latest)"
            )
            if not self._said_thinning:
                self._say(manifest.thinned)
                self._said_thinning = True
        if manifest.total_bytes > budget and not self._said_thinning:
            self._say(f"epoch 0 and the latest alone are over max_mb={self.max_mb:g}")
            self._said_thinning = True
        return dropped

    def _write_manifest(self) -> None:
        write_atomically(self.log_dir / MANIFEST, self._manifest.to_json())

    def _stop(self, reason: str) -> None:
        self._stopped = True
        self._say(reason)

    def _say(self, line: str) -> None:
        print(f"RecordStates ({self.log_dir}): {line}", file=sys.stderr, flush=True)


def _number(value: Any) -> float | None:
    try:
        number = float(np.asarray(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ordinal(n: int) -> str:
    return {2: "second", 4: "fourth", 8: "eighth"}.get(n, f"{n}th")
