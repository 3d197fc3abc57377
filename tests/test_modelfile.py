"""Hostile model files are refused from their bytes and config alone, in words a student
reads; benign Keras files pass (issue 10's first line of defence, rnnviz.modelfile)."""

from __future__ import annotations

import io
import json
import time
import zipfile

import keras
import pytest

from rnnviz.sources.usermodels.modelfile import (
    ModelRefused,
    check_bytes,
    check_config,
    read_keras_config,
)

MB = 2**20


def archive(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def keras_file(config: dict) -> bytes:
    return archive(
        {
            "metadata.json": b"{}",
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": b"",
        }
    )


def layer(class_name: str, module: str | None = "keras.layers", **config) -> dict:
    out = {"class_name": class_name, "config": {"name": class_name.lower(), **config}}
    if module is not None:
        out["module"] = module
    return out


def sequential(*layers: dict) -> dict:
    return {"module": "keras", "class_name": "Sequential", "config": {"layers": list(layers)}}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, bytes]:
    """Real files written by Keras 3: a stacked, masked, bidirectional model."""
    path = tmp_path_factory.mktemp("models")
    inputs = keras.Input((6,))
    x = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))(x)
    x = keras.layers.LSTM(5, return_sequences=True, go_backwards=True)(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(2))(x)
    x = keras.layers.SimpleRNN(2, activation="relu")(keras.layers.Masking()(x))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.save(path / "m.keras")
    model.save(path / "m.h5")
    return {"keras": (path / "m.keras").read_bytes(), "h5": (path / "m.h5").read_bytes()}


# ---------------------------------------------------------------- benign


def test_a_keras3_archive_with_recurrent_wrappers_and_masks_passes(saved):
    assert check_bytes(saved["keras"]) == "keras"
    config = read_keras_config(saved["keras"])
    assert config["class_name"] == "Functional"


def test_a_legacy_hdf5_file_passes_the_byte_check(saved):
    assert check_bytes(saved["h5"]) == "h5"


# ---------------------------------------------------------------- hostile configs

HOSTILE_CONFIGS = {
    "a Lambda layer": (sequential(layer("Lambda", function="x")), "can run code"),
    "module os": (sequential(layer("system", module="os")), "only Keras's own"),
    "module builtins": (sequential(layer("eval", module="builtins")), "only Keras's own"),
    "module subprocess": (sequential(layer("Popen", module="subprocess")), "only Keras's own"),
    "a function as class_name": (
        sequential({"class_name": "__lambda__", "config": {"code": "YWJj"}}),
        "can run code",
    ),
    "registered_name outside Keras": (
        sequential({**layer("Dense"), "registered_name": "evil_pkg>Dense"}),
        "custom object",
    ),
    "a custom object": (sequential(layer("MyAttention", module=None)), "custom objects"),
    "a custom class in keras.layers": (
        sequential(layer("MyLayer", module="keras.layers")),
        "not a layer type",
    ),
    "external weights from a URL": (
        sequential(layer("TFSMLayer", filepath="http://example.com/model")),
        "can run code",
    ),
    "an activation that is not Keras's": (
        sequential(layer("Dense", units=1, activation="os.system")),
        "not a Keras activation",
    ),
    "a function serialised as bytecode": (
        sequential(layer("Dense", units=1, function={"bytecode": "AAAA"})),
        "Python function",
    ),
    "an unknown op in a Keras module": (
        sequential(layer("Exec", module="keras.src.ops.numpy")),
        "only Keras's own",
    ),
    "100,000 layers": (sequential(*[layer("Dense", units=1)] * 100_000), "more than"),
}


@pytest.mark.parametrize("case", list(HOSTILE_CONFIGS))
def test_a_hostile_config_is_refused_naming_what_is_wrong(case):
    config, message = HOSTILE_CONFIGS[case]
    started = time.perf_counter()
    with pytest.raises(ModelRefused, match=message):
        read_keras_config(keras_file(config))
    assert time.perf_counter() - started < 2


def test_a_config_nested_10000_deep_is_refused():
    nested = '{"config": ' * 10_000 + "{}" + "}" * 10_000  # json.dumps cannot write it
    data = archive({**GOOD, "config.json": nested.encode()})
    with pytest.raises(ModelRefused, match="nested"):
        read_keras_config(data)


def test_check_config_refuses_depth_without_recursion():
    nested: list = []
    for _ in range(200):
        nested = [nested]
    with pytest.raises(ModelRefused, match="deeper than"):
        check_config(nested)


# ---------------------------------------------------------------- hostile bytes

GOOD = {"metadata.json": b"{}", "config.json": b"{}", "model.weights.h5": b""}
HOSTILE_BYTES = {
    "an empty file": (b"", "empty"),
    "a text file renamed .h5": (b"just some text, not HDF5\n" * 10, "neither"),
    "a zip member named ../": (archive({**GOOD, "../evil.py": b"x"}), "outside itself"),
    "an absolute member name": (archive({**GOOD, "/etc/cron.d/x": b"x"}), "outside itself"),
    "a zip that is not a Keras archive": (archive({"readme.txt": b"hello"}), "does not"),
    "thousands of members": (
        archive({**GOOD, **{f"assets/{i}": b"" for i in range(3000)}}),
        "files; a Keras model has 3",
    ),
    "a truncated zip": (archive(GOOD)[:-30], "damaged"),
    "a zip without config.json": (archive({"metadata.json": b"{}"}), "no config.json"),
}


@pytest.mark.parametrize("case", list(HOSTILE_BYTES))
def test_hostile_bytes_are_refused_before_anything_reads_them(case):
    data, message = HOSTILE_BYTES[case]
    with pytest.raises(ModelRefused, match=message):
        check_bytes(data)


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking():
    bomb = archive({**GOOD, "model.weights.h5": bytes(40 * MB)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < MB
    started = time.perf_counter()
    with pytest.raises(ModelRefused, match="zip bomb"):
        check_bytes(bomb)
    assert time.perf_counter() - started < 0.5


def test_a_file_over_the_size_limit_is_refused_with_the_limit():
    with pytest.raises(ModelRefused, match=r"60.0 MB; at most 50 MB"):
        check_bytes(b"PK" + bytes(60 * MB - 2))


def test_the_size_limit_comes_from_rnnviz_max_model_mb(monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_MODEL_MB", "1")
    with pytest.raises(ModelRefused, match="at most 1 MB"):
        check_bytes(b"PK" + bytes(2 * MB))
