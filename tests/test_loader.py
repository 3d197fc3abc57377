"""rnnviz.load_model refuses hostile files quickly, in plain words, without writing outside a
temporary directory or leaving a process behind; a worker that crashes, runs out of memory
or CPU time is a refusal, never the server's crash, and the next file opens normally."""

from __future__ import annotations

import io
import json
import os
import signal
import tempfile
import time
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import rnnviz
from rnnviz.sources.usermodels.loader import LoadWorker, load_model, weight_report
from tests.test_modelfile import (
    GOOD,
    HOSTILE_BYTES,
    HOSTILE_CONFIGS,
    MB,
    archive,
    keras_file,
    layer,
    sequential,
)


@pytest.fixture(scope="module")
def worker():
    w = LoadWorker()
    w.start()
    yield w
    w.close()


def children() -> set[int]:
    """The pids of this process's child processes."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.add(int(entry.name))
    return found


def places() -> dict[str, set[str]]:
    """What is in the places a file could be written to: the temp dir, cwd and home."""
    dirs = {tempfile.gettempdir(), os.getcwd(), os.path.expanduser("~")}
    return {d: set(os.listdir(d)) for d in dirs}


@pytest.fixture
def contained(worker):
    """Asserts that the test wrote nothing outside the worker's directory and left at
    most the one warm worker running."""
    before, running = places(), children()
    yield
    after = places()
    own = os.path.basename(worker.directory or "")
    for where, names in after.items():
        assert names - before[where] - {own} == set(), f"new files in {where}"
    assert children() - running <= {worker.pid}


def refused(data, worker, message, seconds=10.0):
    started = time.perf_counter()
    with pytest.raises(rnnviz.ModelRefused, match=message):
        load_model(data, worker=worker)
    assert time.perf_counter() - started < seconds


# ---------------------------------------------------------------- .keras archives


@pytest.mark.parametrize("case", list(HOSTILE_CONFIGS))
def test_a_keras_archive_with_a_hostile_config_is_refused(case, worker, contained):
    config, message = HOSTILE_CONFIGS[case]
    refused(keras_file(config), worker, message)


@pytest.mark.parametrize("case", list(HOSTILE_BYTES))
def test_hostile_bytes_are_refused(case, worker, contained):
    data, message = HOSTILE_BYTES[case]
    refused(data, worker, message)


def test_a_zip_bomb_is_refused(worker, contained):
    bomb = archive({**GOOD, "model.weights.h5": bytes(40 * MB)}, zipfile.ZIP_DEFLATED)
    refused(bomb, worker, "zip bomb")


def test_a_60_mb_file_is_refused_before_it_is_read(tmp_path, worker, contained):
    path = tmp_path / "big.keras"
    with open(path, "wb") as f:
        f.truncate(60 * MB)
    refused(path, worker, r"60.0 MB; at most 50 MB")


def test_a_config_asking_for_weights_from_a_path_is_refused(worker, contained):
    config = sequential(layer("Dense", units=1, weights_path="/etc/passwd"))
    refused(keras_file(config), worker, "points at a file or address outside the model")


def test_a_config_asking_for_weights_from_a_url_is_refused(worker, contained):
    config = sequential(layer("Embedding", input_dim=2, output_dim=2, source="https://x.org/w"))
    refused(keras_file(config), worker, "points at a file or address")


def test_a_config_nested_10000_deep_is_refused(worker, contained):
    nested = '{"config": ' * 10_000 + "{}" + "}" * 10_000
    refused(archive({**GOOD, "config.json": nested.encode()}), worker, "nested")


# ---------------------------------------------------------------- files the worker reads


def small_model(units=3):
    return keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(units), keras.layers.Dense(1)])


def saved(model, suffix, tmp_path) -> bytes:
    path = tmp_path / f"m{suffix}"
    model.save(path)
    return path.read_bytes()


def h5_with_config(config: dict, tmp_path) -> bytes:
    """A legacy .h5 file that holds `config` as its model_config and no weights."""
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "3.15.1"
        f.create_group("model_weights")
    return path.read_bytes()


@pytest.mark.parametrize(
    "case",
    ["a Lambda layer", "module os", "module subprocess", "registered_name outside Keras"],
)
def test_an_h5_file_with_a_hostile_config_is_refused_by_the_worker(
    case, tmp_path, worker, contained
):
    config, message = HOSTILE_CONFIGS[case]
    refused(h5_with_config(config, tmp_path), worker, message)


def test_an_h5_file_with_only_weights_is_refused(tmp_path, worker, contained):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kernel", data=np.zeros((2, 2)))
    refused(path.read_bytes(), worker, "holds no model")


def test_an_hdf5_dataset_declaring_terabytes_is_refused_without_reading_it(
    tmp_path, worker, contained
):
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(sequential(layer("Dense", units=1)))
        f.create_dataset("w", shape=(10**6, 10**6), dtype="f4", chunks=(10, 10))
    assert path.stat().st_size < MB
    refused(path.read_bytes(), worker, "declare more than")


def test_an_hdf5_link_to_another_file_is_refused(tmp_path, worker, contained):
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(sequential(layer("Dense", units=1)))
        f["w"] = h5py.ExternalLink("/etc/passwd", "/x")
    refused(path.read_bytes(), worker, "links to data outside")


def test_an_hdf5_dataset_stored_in_another_file_is_refused(tmp_path, worker, contained):
    path = tmp_path / "external.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(sequential(layer("Dense", units=1)))
        f.create_dataset("w", shape=(4,), dtype="u1", external=[("/etc/hostname", 0, 4)])
    refused(path.read_bytes(), worker, "reads its numbers from another file")


def test_weights_whose_shapes_disagree_with_the_config_are_refused(tmp_path, worker, contained):
    right = saved(small_model(3), ".keras", tmp_path)
    wrong = saved(small_model(5), ".keras", tmp_path)
    with zipfile.ZipFile(io.BytesIO(wrong)) as z:
        other_weights = z.read("model.weights.h5")
    with zipfile.ZipFile(io.BytesIO(right)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    refused(archive({**members, "model.weights.h5": other_weights}), worker, "cannot open")


def test_an_h5_file_with_a_damaged_body_is_refused(tmp_path, worker, contained):
    data = saved(small_model(), ".h5", tmp_path)
    refused(data[:200] + bytes(len(data) - 200), worker, "cannot be read|cannot open")


# ---------------------------------------------------------------- workers that die


def with_empty_weights(config: dict) -> bytes:
    """A .keras archive of `config` whose weights file is a valid HDF5 file with no data:
    Keras builds the whole model before it finds the weights missing."""
    weights = io.BytesIO()
    with h5py.File(weights, "w"):
        pass
    return archive(
        {
            "metadata.json": b"{}",
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": weights.getvalue(),
        }
    )


def resized(model, sizes: dict[str, int]) -> bytes:
    """`model`'s config with numbers replaced (a small model serialised, then made big
    on paper: nothing here allocates what the config asks for)."""
    text = json.dumps(keras.saving.serialize_keras_object(model))
    for old, new in sizes.items():
        assert old in text
        text = text.replace(old, f"{old.split(':')[0]}: {new}")
    return with_empty_weights(json.loads(text))


def slow_to_build() -> bytes:
    """A legal config whose 40 LSTM(700) layers take seconds of CPU to initialise."""
    layers = [keras.layers.LSTM(7, return_sequences=True) for _ in range(40)]
    return resized(keras.Sequential([keras.Input((4, 3)), *layers]), {'"units": 7': 700})


def huge_embedding() -> bytes:
    """A legal config whose one Embedding needs 2.4 GB: more than a small worker may map."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(11, 13)])
    return resized(model, {'"input_dim": 11': 200_000, '"output_dim": 13': 3_000})


def test_a_worker_out_of_cpu_time_is_a_refusal_and_the_next_file_opens(tmp_path):
    w = LoadWorker(cpu_seconds=1)
    try:
        refused(slow_to_build(), w, "more than 1 s of computing", seconds=60)
        assert not w.alive()
        model = load_model(saved(small_model(), ".keras", tmp_path), worker=w)
        assert rnnviz.recurrent_layers(model) == [model.layers[0].name]
    finally:
        w.close()


def test_a_worker_out_of_memory_is_a_refusal_and_the_server_allocates_nothing(tmp_path):
    import resource

    w = LoadWorker(memory_mb=2560)
    try:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        refused(huge_embedding(), w, "more memory than|out of memory", seconds=60)
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200 * 1024
        load_model(saved(small_model(), ".keras", tmp_path), worker=w)
    finally:
        w.close()


def test_a_worker_that_crashes_mid_file_is_a_refusal(tmp_path, monkeypatch):
    w = LoadWorker()
    try:
        w.start()
        data = saved(small_model(), ".keras", tmp_path)
        original = w._receive

        def crash_then_receive(timeout):
            os.kill(w.pid, signal.SIGSEGV)
            return original(timeout)

        monkeypatch.setattr(w, "_receive", crash_then_receive)
        refused(data, w, "crashed")
        monkeypatch.setattr(w, "_receive", original)
        assert load_model(data, worker=w) is not None
    finally:
        w.close()


def test_closing_the_worker_leaves_no_process_and_no_directory():
    w = LoadWorker()
    w.start()
    pid, directory = w.pid, w.directory
    w.close()
    assert pid not in children()
    assert not os.path.exists(directory)


# ---------------------------------------------------------------- benign


def test_a_second_load_reuses_the_warm_worker(tmp_path, worker):
    data = saved(small_model(), ".keras", tmp_path)
    load_model(data, worker=worker)
    starts, pid = worker.starts, worker.pid
    load_model(data, worker=worker)
    assert (worker.starts, worker.pid) == (starts, pid)


def test_a_loaded_model_computes_what_the_saved_one_does(tmp_path, worker):
    model = small_model()
    x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype("float32")
    loaded = load_model(saved(model, ".keras", tmp_path), worker=worker)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_nan_and_inf_weights_are_loaded_and_counted(tmp_path, worker):
    model = small_model()
    kernel = model.layers[0].cell.kernel
    broken = np.array(kernel)
    broken[0, 0], broken[0, 1] = np.nan, np.inf
    kernel.assign(broken)
    loaded = load_model(saved(model, ".keras", tmp_path), worker=worker)
    counts = [row["not finite"] for row in weight_report(loaded)]
    assert counts == [2] + [0] * (len(counts) - 1)  # the GRU's kernel comes first


def test_a_worker_that_hangs_is_stopped_after_its_wall_clock_limit_and_replaced(tmp_path):
    w = LoadWorker(cpu_seconds=1)  # wall-clock limit: 4 x 1 + 10 s
    try:
        w.start()
        hung = w.pid
        os.kill(hung, signal.SIGSTOP)  # a reader stuck without using CPU
        refused(saved(small_model(), ".keras", tmp_path), w, "took longer than", seconds=30)
        assert hung not in children()
        assert load_model(saved(small_model(), ".keras", tmp_path), worker=w) is not None
        assert w.pid != hung
    finally:
        w.close()


def test_starting_in_the_background_returns_at_once_and_the_worker_comes_up():
    w = LoadWorker()
    try:
        started = time.perf_counter()
        w.start_in_background()
        assert time.perf_counter() - started < 0.5
        deadline = time.monotonic() + 120
        while not (w.alive() and not w._lock.locked()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert w.alive() and w.starts == 1
    finally:
        w.close()
