"""The files of a recorded run, and the checks a run folder passes before anything reads it.

A run folder, written by `rnnviz.callbacks.RecordStates` (no pickles, nothing that runs):

    manifest.json          what is here: the epochs, the history, each file's SHA-256 and size
    config.json            the model's Keras config (`model.to_json()`), checked like an upload
    inputs.npz             up to MAX_SAMPLES samples to trace on: arr_0, arr_1, ... per input
    epochs/000000.npz      the weights before training (epoch 0): arr_0, arr_1, ...
    epochs/000001.npz      the weights after epoch 1, and so on

Every file is written under a temporary name and renamed into place, and the manifest is
renamed last: a run killed at any moment is the run of its last complete epoch. A file
the manifest does not list is ignored; a listed file that is missing, of another size or
of another SHA-256 is a refusal (`RunRefused`), never a guess.

Nothing here imports Keras: `rnnviz open` checks a folder with it before starting a
server, and the page before anything is built from the config.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.sources.usermodels.modelfile import ModelRefused, check_config, max_model_bytes

FORMAT = "rnnviz-run"
VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "config.json"
INPUTS = "inputs.npz"
EPOCHS_DIR = "epochs"
#: The samples a run keeps to trace on, at most (the first 16 of validation_data by default).
MAX_SAMPLES = 64
DEFAULT_SAMPLES = 16
#: The bytes of the inputs kept, at most.
MAX_INPUT_BYTES = 16 * 2**20
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_CONFIG_BYTES = 16 * 2**20
MAX_EPOCHS = 100_000
_NAME = re.compile(r"^(config\.json|inputs\.npz|epochs/[0-9]{6}\.npz)$")


class RunRefused(ModelRefused):
    """A run folder rnnviz will not open; the message says why."""


def epoch_file(epoch: int) -> str:
    return f"{EPOCHS_DIR}/{epoch:06d}.npz"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npz_bytes(arrays: list[np.ndarray]) -> bytes:
    """The arrays as an uncompressed .npz (weights barely compress; time matters more)."""
    out = io.BytesIO()
    np.savez(out, *arrays)
    return out.getvalue()


def read_npz(data: bytes, what: str) -> list[np.ndarray]:
    """arr_0, arr_1, ... of an .npz, opened without pickle; numbers only."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            count = len(archive.files)
            if set(archive.files) != {f"arr_{i}" for i in range(count)}:
                raise RunRefused(f"{what} holds arrays other than arr_0, arr_1, ...")
            arrays = [archive[f"arr_{i}"] for i in range(count)]
    except RunRefused:
        raise
    except Exception as error:
        raise RunRefused(f"{what} is not a readable array file: {error}") from None
    for i, array in enumerate(arrays):
        if array.dtype.kind not in "fiub":
            raise RunRefused(f"{what}: array {i} does not hold numbers ({array.dtype})")
    return arrays


def write_atomically(path: Path, data: bytes) -> None:
    """`data` at `path`, or the old file untouched: a temporary name, fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def is_run(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder with a run's manifest (not whether the run is intact)."""
    return (Path(path) / MANIFEST).is_file()


@dataclass
class Manifest:
    """What `manifest.json` says, checked: every value of the right type and range."""

    epochs: dict[int, str]
    files: dict[str, dict[str, Any]]
    history: dict[str, list[float]] = field(default_factory=dict)
    model_name: str = "model"
    every: int = 1
    stride: int = 1
    max_mb: float = 200.0
    thinned: str | None = None
    inputs_from: str | None = None
    complete: bool = False
    keras_version: str = ""

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "model_name": self.model_name,
                "keras_version": self.keras_version,
                "every": self.every,
                "stride": self.stride,
                "max_mb": self.max_mb,
                "thinned": self.thinned,
                "inputs_from": self.inputs_from,
                "complete": self.complete,
                "epochs": {str(e): name for e, name in sorted(self.epochs.items())},
                "history": self.history,
                "files": self.files,
            },
            indent=1,
        ).encode()

    @property
    def total_bytes(self) -> int:
        return sum(int(entry["bytes"]) for entry in self.files.values())


def parse_manifest(raw: bytes) -> Manifest:
    """The manifest, or RunRefused saying which part of it is wrong."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise RunRefused("manifest.json is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RunRefused("manifest.json is not an rnnviz run's manifest")
    if data.get("version") != VERSION:
        raise RunRefused(
            f"the run was written in format version {data.get('version')!r}; this rnnviz "
            f"reads version {VERSION}"
        )
    files = data.get("files")
    if not isinstance(files, dict):
        raise RunRefused("manifest.json lists no files")
    for name, entry in files.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise RunRefused(f"manifest.json lists a file a run does not have: {str(name)[:80]!r}")
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
            or not isinstance(entry.get("bytes"), int)
            or entry["bytes"] < 0
        ):
            raise RunRefused(f"manifest.json: the entry of {name} needs a sha256 and a size")
    if CONFIG not in files:
        raise RunRefused("the run has no config.json: it does not say what the model is")
    raw_epochs = data.get("epochs")
    if not isinstance(raw_epochs, dict) or not raw_epochs:
        raise RunRefused("the run records no epoch")
    if len(raw_epochs) > MAX_EPOCHS:
        raise RunRefused(f"the run lists {len(raw_epochs)} epochs; at most {MAX_EPOCHS}")
    epochs: dict[int, str] = {}
    for key, name in raw_epochs.items():
        if not str(key).isdigit() or name != epoch_file(int(key)) or name not in files:
            raise RunRefused(f"manifest.json: epoch {str(key)[:20]!r} has no weights file listed")
        epochs[int(key)] = name
    history = data.get("history", {})
    if not isinstance(history, dict) or not all(
        isinstance(k, str)
        and isinstance(v, list)
        and all(isinstance(n, (int, float)) or n is None for n in v)
        for k, v in history.items()
    ):
        raise RunRefused("manifest.json: the history is not lists of numbers")
    history = {k: [float("nan") if n is None else float(n) for n in v] for k, v in history.items()}
    inputs_from = data.get("inputs_from")
    if inputs_from is not None and INPUTS not in files:
        raise RunRefused("manifest.json names recorded inputs but lists no inputs.npz")

    def number(key: str, default: float) -> float:
        value = data.get(key, default)
        if not isinstance(value, (int, float)) or value <= 0:
            raise RunRefused(f"manifest.json: {key} must be a positive number")
        return value

    return Manifest(
        epochs=dict(sorted(epochs.items())),
        files=files,
        history=history,
        model_name=str(data.get("model_name", "model"))[:200],
        every=int(number("every", 1)),
        stride=int(number("stride", 1)),
        max_mb=float(number("max_mb", 200)),
        thinned=None if data.get("thinned") is None else str(data["thinned"])[:500],
        inputs_from=None if inputs_from is None else str(inputs_from)[:200],
        complete=bool(data.get("complete", False)),
        keras_version=str(data.get("keras_version", ""))[:40],
    )


def max_run_bytes(environ: dict[str, str] | None = None) -> int:
    """`RNNVIZ_MAX_RUN_MB` (default 1024): the largest run folder opened, in bytes."""
    from rnnviz.core.config import env_int

    return env_int("RNNVIZ_MAX_RUN_MB", 1024, 1, environ) * 2**20


@dataclass
class CheckedRun:
    """A run folder whose manifest, sizes and SHA-256s all agree: its files' bytes."""

    path: Path
    manifest: Manifest
    config: dict[str, Any]
    digest: str  # the manifest's SHA-256: names this run's content in caches
    data: dict[str, bytes]


def _limit(name: str) -> int:
    if name == CONFIG:
        return MAX_CONFIG_BYTES
    if name == INPUTS:
        return MAX_INPUT_BYTES + 2**20
    return 2 * max_model_bytes()


def check_folder(path: str | os.PathLike, max_bytes: int | None = None) -> CheckedRun:
    """Reads and checks a run folder; RunRefused says what is wrong.

    Checked here: the manifest (format, version, names, sizes), each listed file's size
    (before it is read) and SHA-256, and the config against the model-file allowlist.
    The weights' shapes are checked against the model when it is built (`open_run`).
    """
    folder = Path(path)
    if not folder.exists():
        raise RunRefused("no such folder")
    if not folder.is_dir():
        raise RunRefused("not a folder")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise RunRefused(
            f"not a recorded run: it has no {MANIFEST} (record one with "
            "rnnviz.callbacks.RecordStates)"
        )
    if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
        raise RunRefused(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES // 2**20} MB")
    raw = manifest_path.read_bytes()
    manifest = parse_manifest(raw)
    limit = max_run_bytes() if max_bytes is None else max_bytes
    if manifest.total_bytes > limit:
        raise RunRefused(
            f"the run is {manifest.total_bytes / 2**20:.0f} MB; at most {limit / 2**20:.0f} MB "
            "is opened (RNNVIZ_MAX_RUN_MB)"
        )
    data: dict[str, bytes] = {}
    for name, entry in manifest.files.items():
        file = folder / name
        if not file.is_file() or file.is_symlink():
            raise RunRefused(f"{name} is missing from the run")
        size = file.stat().st_size
        if size != entry["bytes"]:
            raise RunRefused(
                f"{name} is {size:,} bytes but the manifest says {entry['bytes']:,}: it was "
                "cut short or changed"
            )
        if size > _limit(name):
            raise RunRefused(f"{name} is {size / 2**20:.1f} MB; at most "
                             f"{_limit(name) / 2**20:.0f} MB is allowed")  # fmt: skip
        content = file.read_bytes()
        if sha256_bytes(content) != entry["sha256"]:
            raise RunRefused(f"{name} does not match its SHA-256 in the manifest: it was changed")
        data[name] = content
    try:
        config = json.loads(data[CONFIG])
    except (ValueError, RecursionError):
        raise RunRefused("config.json is not valid JSON") from None
    try:
        check_config(config)
    except RunRefused:
        raise
    except ModelRefused as refused:
        raise RunRefused(f"the model's config is refused: {refused}") from None
    return CheckedRun(folder, manifest, config, sha256_bytes(raw), data)


def find_runs(root: str | os.PathLike, max_runs: int = 200) -> dict[str, Path]:
    """The run folders under `root` (itself, its children and grandchildren), by their path
    relative to `root`: what the server offers when `RNNVIZ_RUNS_DIR` is set."""
    base = Path(root)
    found: dict[str, Path] = {}
    if not base.is_dir():
        return found
    candidates = [base, *sorted(base.glob("*")), *sorted(base.glob("*/*"))]
    for folder in candidates:
        if len(found) >= max_runs:
            break
        if folder.is_dir() and not folder.is_symlink() and is_run(folder):
            name = folder.relative_to(base).as_posix()
            found[name if name != "." else base.name] = folder
    return found
