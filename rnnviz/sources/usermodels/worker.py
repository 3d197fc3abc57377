"""The process that opens a user's model file, so that the server never does.

Started by `rnnviz.loader` as `python -I -c ...` in a temporary directory, with resource
limits it sets on itself before importing anything heavy: address space
(`RLIMIT_AS`), file size (`RLIMIT_FSIZE`), no core files, and before each file a CPU
budget (`RLIMIT_CPU`: the kernel kills it when the budget is spent). It then imports
Keras once and serves one file after another (the warm worker), so a second load does
not pay TensorFlow's import.

Protocol, on the file descriptor given as argv (stdout and stderr point elsewhere, so
nothing Keras prints can corrupt it); every message is a length-prefixed JSON header,
optionally followed by a binary payload:

    server -> worker  {"kind": "keras"|"h5"|"config", "size": n, "cpu_s": s, "max_bytes": m},
                      n bytes (a model file, or a recorded run's config.json)
    worker -> server  {"ready": true}                                    (once, at start)
    worker -> server  {"ok": true, "config": {...}, "size": n}, an .npz of the weights
    worker -> server  {"ok": false, "reason": "..."}

The weights travel as an `.npz` the server opens with `allow_pickle=False`, and the
config as JSON it checks again: a worker that a hostile file took over still cannot
hand the server anything but numbers and a config that passes the allowlist.
"""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
TOO_BIG = "opening the model needs more memory than the model reader may use"


def send(stream: BinaryIO, header: dict[str, Any], payload: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    stream.write(HEADER.pack(len(raw)) + raw + payload)
    stream.flush()


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(stream: BinaryIO) -> dict[str, Any]:
    (size,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if size > 64 * 2**20:
        raise ValueError("a header larger than 64 MB")
    return json.loads(read_exactly(stream, size))


def limit_self(address_space_bytes: int, file_bytes: int) -> None:
    """The limits that hold for the worker's whole life."""
    resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def limit_cpu(seconds: float) -> None:
    """From now on, at most `seconds` more CPU: then SIGXCPU, then SIGKILL."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    # The hard limit stays unlimited so that the next file can get a new budget; the
    # default action of SIGXCPU, sent at the soft limit, ends the process.
    soft = int(used + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def check_hdf5(path: str | BinaryIO, max_bytes: int) -> None:
    """Refuses an HDF5 file that points outside itself or declares more data than allowed."""
    import h5py

    from rnnviz.sources.usermodels.modelfile import ModelRefused

    declared = 0

    def visit(group: Any, prefix: str) -> None:
        nonlocal declared
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
                raise ModelRefused(f"{prefix}{name} links to data outside the weights")
            item = group[name]
            if isinstance(item, h5py.Group):
                visit(item, f"{prefix}{name}/")
            elif isinstance(item, h5py.Dataset):
                if item.external or item.is_virtual:
                    raise ModelRefused(f"{prefix}{name} reads its numbers from another file")
                declared += int(item.size) * max(item.dtype.itemsize, 1)
                if declared > max_bytes:
                    raise ModelRefused(
                        f"the weights declare more than {max_bytes / 2**20:.0f} MB of numbers"
                    )

    try:
        with h5py.File(path, "r") as f:
            visit(f, "")
    except ModelRefused:
        raise
    except Exception as error:  # a damaged or fake HDF5 file
        raise ModelRefused(f"the HDF5 data cannot be read: {_short(error)}") from None


def h5_config(path: str) -> dict[str, Any]:
    import h5py

    from rnnviz.sources.usermodels.modelfile import ModelRefused

    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
    if raw is None:
        raise ModelRefused("the .h5 file holds no model (only weights, or something else)")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ModelRefused("the model config in the .h5 file is not valid JSON") from None


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def open_model(path: str, kind: str, max_bytes: int) -> tuple[dict[str, Any], bytes]:
    """Checks and deserialises one file; returns (config, npz bytes of the weights)."""
    import zipfile

    import keras
    import numpy as np

    from rnnviz.sources.usermodels.modelfile import ModelRefused, check_config

    if kind == "config":  # a recorded run's config.json: built as Keras would, nothing else
        with open(path, "rb") as raw:
            config = json.loads(raw.read())
        check_config(config)
    elif kind == "h5":
        check_hdf5(path, max_bytes)
        check_config(h5_config(path))
    else:
        with zipfile.ZipFile(path) as archive:
            check_config(json.loads(archive.read("config.json")))
            if "model.weights.h5" in archive.namelist():
                check_hdf5(io.BytesIO(archive.read("model.weights.h5")), max_bytes)
    try:
        if kind == "config":
            from rnnviz.sources.usermodels.modelfile import zero_initialisers

            model = keras.saving.deserialize_keras_object(
                zero_initialisers({k: v for k, v in config.items() if k != "compile_config"}),
                safe_mode=True,
            )
        else:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except ModelRefused:
        raise
    except MemoryError:
        raise ModelRefused(TOO_BIG) from None
    except Exception as error:
        if "OOM when allocating" in str(error) or "bad_alloc" in str(error):
            raise ModelRefused(TOO_BIG) from None
        raise ModelRefused(f"Keras cannot open this model: {_short(error)}") from None
    if not isinstance(model, keras.Model):
        raise ModelRefused("the file holds no Keras model")
    config = json.loads(model.to_json())
    check_config(config)
    out = io.BytesIO()
    np.savez(out, *[np.asarray(w) for w in model.get_weights()])
    return config, out.getvalue()


def tidy() -> None:
    """Frees what the last model left in Keras (0.2 s: done after answering, not before)."""
    import keras

    keras.backend.clear_session()


def main(channel_fd: int, address_space_mb: int, file_mb: int) -> None:
    channel_out = os.fdopen(channel_fd, "wb", buffering=0)
    requests = sys.stdin.buffer
    limit_self(address_space_mb * 2**20, file_mb * 2**20)
    import keras  # noqa: F401 - the import a warm worker exists to have paid

    send(channel_out, {"ready": True})
    while True:
        try:
            request = receive(requests)
        except EOFError:
            return
        data = read_exactly(requests, int(request["size"]))
        kind = request["kind"]
        name = {"keras": "model.keras", "config": "config.json"}.get(kind, "model.h5")
        path = os.path.abspath(name)
        try:
            with open(path, "wb") as out:
                out.write(data)
            del data
            limit_cpu(float(request["cpu_s"]))
            config, weights = open_model(path, request["kind"], int(request["max_bytes"]))
            send(channel_out, {"ok": True, "config": config, "size": len(weights)}, weights)
        except Exception as error:
            send(channel_out, {"ok": False, "reason": _short(error)})
        finally:
            if os.path.exists(path):
                os.remove(path)
        tidy()
