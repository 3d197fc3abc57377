"""`rnnviz.load_model`: open a `.keras` or `.h5` file from anyone without running its code.

    >>> model = rnnviz.load_model("tagger.keras")          # or the file's bytes
    >>> rnnviz.recurrent_layers(model)
    ['bidirectional/forward', 'bidirectional/backward']

Three lines of defence (docs/decisions.md, decision 39):

1. In the server, before anything reads the file as a model: its bytes (size, zip
   structure, HDF5 signature) and, for a `.keras` archive, its config, walked as plain
   JSON against an allowlist (`rnnviz.modelfile`).
2. In a separate worker process (`rnnviz.loadworker`) under resource limits: the HDF5
   data is inspected (no links to other files, no more numbers than the size limit),
   the config checked again, and Keras deserialises the file with `safe_mode=True`.
   A worker that crashes, runs out of memory or CPU time, or hangs, is a refusal.
3. Back in the server: the worker's answer is plain data only (a JSON config, checked
   a third time, and an `.npz` of arrays opened without pickle); the server rebuilds
   the model from that config and sets the weights, which must match it in number and
   shape.

The worker stays alive between files (a second load pays no TensorFlow import) and
serves one file at a time. Settings: `RNNVIZ_MAX_MODEL_MB` (file size, default 50),
`RNNVIZ_WORKER_MB` (the worker's address space, default 4096), `RNNVIZ_MODEL_CPU_S`
(CPU seconds per file, default 30).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.core.config import env_int
from rnnviz.sources.usermodels.modelfile import (
    ModelRefused,
    check_bytes,
    check_config,
    check_size,
    max_model_bytes,
    read_keras_config,
    zero_initialisers,
)
from rnnviz.sources.usermodels.worker import HEADER, send

START_TIMEOUT_S = 120.0  # importing TensorFlow on a busy shared machine


def worker_memory_mb(environ: dict[str, str] | None = None) -> int:
    """`RNNVIZ_WORKER_MB`: the worker's address-space limit (TensorFlow alone maps ~1.7 GB)."""
    return env_int("RNNVIZ_WORKER_MB", 4096, 2048, environ)


def model_cpu_seconds(environ: dict[str, str] | None = None) -> int:
    """`RNNVIZ_MODEL_CPU_S`: CPU seconds one file may take to open."""
    return env_int("RNNVIZ_MODEL_CPU_S", 30, 1, environ)


class LoadWorker:
    """One warm worker process, started on first use and again after it dies.

    `open(data, kind)` sends it one file and returns (config, weights). Thread-safe:
    files are opened one at a time, in the order they come.
    """

    def __init__(
        self,
        memory_mb: int | None = None,
        cpu_seconds: int | None = None,
        max_bytes: int | None = None,
    ):
        self.memory_mb = memory_mb or worker_memory_mb()
        self.cpu_seconds = cpu_seconds or model_cpu_seconds()
        self.max_bytes = max_bytes or max_model_bytes()
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._channel: int | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def directory(self) -> str | None:
        """The worker's temporary directory: its cwd, TMPDIR and HOME."""
        return self._tmp.name if self._tmp is not None else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Starts the worker (if it is not running) and waits until Keras is imported."""
        with self._lock:
            self._ensure_started()

    def start_in_background(self) -> None:
        """Starts the worker in a thread (if it is not running), so that the first file a
        user uploads does not wait for TensorFlow's import; returns at once."""
        if self.alive() or self._lock.locked():
            return

        def start() -> None:
            with contextlib.suppress(ModelRefused):  # the next open() tries again, says so
                self.start()

        threading.Thread(target=start, name="rnnviz-worker-start", daemon=True).start()

    def _ensure_started(self) -> None:
        if self.alive():
            return
        self._stop()
        self._tmp = tempfile.TemporaryDirectory(prefix="rnnviz-worker-")
        read_end, write_end = os.pipe()
        package_parent = str(Path(__file__).resolve().parents[3])
        code = (
            f"import sys; sys.path.insert(0, {package_parent!r}); "
            "from rnnviz.sources.usermodels.worker import main; "
            f"main({write_end}, {self.memory_mb}, {2 * self.max_bytes // 2**20 + 16})"
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self._tmp.name,
            "TMPDIR": self._tmp.name,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "CUDA_VISIBLE_DEVICES": "",
            "KERAS_HOME": self._tmp.name,
        }
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self._tmp.name,
            env=env,
            pass_fds=(write_end,),
            start_new_session=True,  # a Ctrl-C in the server's terminal is not sent to it
        )
        os.close(write_end)
        self._channel = read_end
        self.starts += 1
        try:
            header = self._receive(START_TIMEOUT_S)
        except ModelRefused:
            self._stop()
            raise ModelRefused("the model reader could not start; try again") from None
        if not header.get("ready"):
            self._stop()
            raise ModelRefused("the model reader could not start; try again")

    def open(self, data: bytes, kind: str) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Has the worker open one file; returns its config and weights as plain data."""
        with self._lock:
            self._ensure_started()
            assert self._process is not None and self._process.stdin is not None
            request = {
                "kind": kind,
                "size": len(data),
                "cpu_s": self.cpu_seconds,
                "max_bytes": 2 * self.max_bytes,
            }
            try:
                send(self._process.stdin, request, data)
            except (BrokenPipeError, OSError):
                self._stop()
                raise ModelRefused("the model reader stopped; try again") from None
            header = self._receive(4 * self.cpu_seconds + 10)
            if not header.get("ok"):
                raise ModelRefused(str(header.get("reason", "the file could not be opened")))
            payload = self._read(int(header["size"]), 60.0)
        config = header["config"]
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
                weights = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        except Exception:
            raise ModelRefused(
                "the model reader answered with something that is not weights"
            ) from None
        return config, weights

    def _receive(self, timeout: float) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._read(HEADER.size, timeout))
        if size > 64 * 2**20:
            self._stop()
            raise ModelRefused("the model reader answered with something unreadable")
        try:
            return json.loads(self._read(size, timeout))
        except ValueError:
            self._stop()
            raise ModelRefused("the model reader answered with something unreadable") from None

    def _read(self, size: int, timeout: float) -> bytes:
        """Reads `size` bytes from the worker, or stops it and refuses on death or timeout."""
        assert self._channel is not None
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        while size:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._channel], [], [], max(left, 0))
            if not ready:
                self._stop()
                raise ModelRefused(
                    f"opening the model took longer than {timeout:.0f} s; it was stopped"
                )
            chunk = os.read(self._channel, min(size, 2**20))
            if not chunk:
                raise ModelRefused(self._death())
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _death(self) -> str:
        """Why the worker died, in words, after waiting for it; it is restarted next time."""
        assert self._process is not None
        try:
            code = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        self._stop()
        if code == -signal.SIGXCPU or code == -signal.SIGKILL:
            return (
                f"opening the model needed more than {self.cpu_seconds} s of computing; "
                "it was stopped"
            )
        if code is not None and code < 0:
            return (
                f"the model reader crashed on this file ({signal.Signals(-code).name}): "
                "it is damaged or built to crash readers"
            )
        return "the model reader stopped on this file (out of memory, or the file is damaged)"

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process = None
        if self._channel is not None:
            os.close(self._channel)
            self._channel = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def close(self) -> None:
        """Stops the worker and removes its directory."""
        with self._lock:
            self._stop()


_default: LoadWorker | None = None
_default_lock = threading.Lock()


def default_worker() -> LoadWorker:
    """The process-wide worker, created (not started) on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LoadWorker()
            import atexit

            atexit.register(_default.close)
        return _default


def _read_source(source: Any, limit: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise ModelRefused(f"cannot read {path.name}: {error.strerror}") from None
        check_size(size, limit)  # before reading a file that may be huge
        return path.read_bytes()
    raise ModelRefused(f"a model is given as a path or bytes, not {type(source).__name__}")


def rebuild(config: dict[str, Any]) -> Any:
    """A Keras model built from a checked config, in this process, with fresh weights."""
    import keras

    check_config(config)
    config = zero_initialisers({k: v for k, v in config.items() if k != "compile_config"})
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:
        raise ModelRefused(f"the model cannot be rebuilt from its config: {error}") from None
    if not isinstance(model, keras.Model):
        raise ModelRefused("the file holds no Keras model")
    return model


def set_weights(model: Any, weights: list[np.ndarray]) -> None:
    """Sets the worker's weights; they must match the model in number and shape."""
    expected = [tuple(w.shape) for w in model.weights]
    if len(weights) != len(expected):
        raise ModelRefused(
            f"the weights do not match the config: {len(weights)} arrays for a model "
            f"that has {len(expected)}"
        )
    for variable, array in zip(model.weights, weights, strict=True):
        if tuple(array.shape) != tuple(variable.shape):
            raise ModelRefused(
                f"the weights do not match the config: {variable.path} is "
                f"{tuple(variable.shape)} but the file holds {tuple(array.shape)}"
            )
        if array.dtype.kind not in "fiub":
            raise ModelRefused(f"the weights of {variable.path} are not numbers")
    model.set_weights(weights)


def load_model(source: Any, *, worker: LoadWorker | None = None) -> Any:
    """Opens a `.keras` or `.h5` model file (a path or its bytes) safely; see the module.

    Raises ModelRefused, whose message says in plain words what was wrong.
    """
    limit = worker.max_bytes if worker is not None else max_model_bytes()
    data = _read_source(source, limit)
    kind = check_bytes(data, limit)
    worker = worker if worker is not None else default_worker()
    if kind == "keras":
        read_keras_config(data)  # refused here already, without the worker
    config, weights = worker.open(data, kind)
    model = rebuild(config)
    set_weights(model, weights)
    return model


def weight_report(model: Any) -> list[dict[str, Any]]:
    """Per layer with weights: its path, number of parameters and of NaN or inf values."""
    rows = []
    for variable in model.weights:
        array = np.asarray(variable)
        rows.append(
            {
                "weight": variable.path,
                "shape": tuple(array.shape),
                "parameters": int(array.size),
                "not finite": int(array.size - np.count_nonzero(np.isfinite(array))),
            }
        )
    return rows
