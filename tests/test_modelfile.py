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


# ---------------------------------------------------------------- names read two ways

LAMBDA_MODEL = json.dumps(sequential(layer("Lambda", function="exec"))).encode()
BENIGN_MODEL = json.dumps(sequential(layer("Dense", units=1))).encode()


def archive_entries(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip with its members in this order, duplicate names allowed (zipfile warns only)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            with pytest.warns(UserWarning) if name in z.namelist() else _nothing():
                z.writestr(name, data)
    return out.getvalue()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_zip_with_two_config_json_members_is_refused():
    # Python's zipfile reads the last of two same-named members; another reader may take
    # the first (the Lambda). The checker must never read a different file than Keras.
    data = archive_entries(
        [
            ("metadata.json", b"{}"),
            ("config.json", LAMBDA_MODEL),
            ("config.json", BENIGN_MODEL),
            ("model.weights.h5", b""),
        ]
    )
    with pytest.raises(ModelRefused, match=r"'config\.json' twice"):
        check_bytes(data)


READ_TWO_WAYS = {
    "case": ("Config.json", "as 'config.json' and 'Config.json'"),
    "a ./ prefix": ("./config.json", "read two ways"),
    "a backslash": ("assets\\config.json", "read two ways"),
    "a decomposed accent": ("assets/cafe\u0301.txt", "read two ways"),
    "a doubled slash": ("assets//x.txt", "read two ways"),
}


@pytest.mark.parametrize("case", list(READ_TWO_WAYS))
def test_a_member_name_two_readers_could_read_differently_is_refused(case):
    name, message = READ_TWO_WAYS[case]
    data = archive_entries([*GOOD.items(), (name, BENIGN_MODEL)])
    with pytest.raises(ModelRefused, match=message):
        check_bytes(data)


def test_names_equal_after_unicode_compatibility_folding_are_refused():
    data = archive_entries([*GOOD.items(), ("assets/ﬁle", b""), ("assets/file", b"")])
    with pytest.raises(ModelRefused, match="as 'assets/ﬁle' and 'assets/file'"):
        check_bytes(data)


def test_an_archive_with_an_assets_folder_entry_passes():
    assert check_bytes(archive_entries([*GOOD.items(), ("assets/", b""), ("assets/v.txt", b"")]))


# ---------------------------------------------------------------- compile_config


def compiled(compile_config: dict) -> dict:
    return {**sequential(layer("Dense", units=1)), "compile_config": compile_config}


HOSTILE_COMPILE = {
    "builtins.exec as the loss, as a function object": (
        {"loss": {"module": "builtins", "class_name": "function", "config": "exec"}},
        "the function 'exec' from module 'builtins'",
    ),
    "builtins.exec as a loss name": ({"loss": "builtins.exec"}, "loss='builtins.exec'"),
    "a custom loss class": (
        {"loss": {"module": "my_losses", "class_name": "Focal", "config": {}}},
        "module 'my_losses'",
    ),
    "a Keras-named function that is not a loss": (
        {"loss": {"module": "keras.losses", "class_name": "function", "config": "eval"}},
        "the function 'eval'",
    ),
    "a metric given by an unknown name": ({"metrics": ["accuracy", "os.system"]}, "os.system"),
    "a per-output loss naming exec": ({"loss": {"out": "builtins.exec"}}, "builtins.exec"),
    "an optimizer from outside Keras": (
        {"optimizer": {"module": "evil", "class_name": "Adam", "config": {}}},
        "module 'evil'",
    ),
    "a loss wrapper carrying a function": (
        {"loss": {"module": "keras.losses", "class_name": "Huber", "config": {"fn": "x"}}},
        "carries a Python function",
    ),
    "a setting Keras does not write": ({"run_this": "rm -rf /"}, "settings Keras does not"),
}


@pytest.mark.parametrize("case", list(HOSTILE_COMPILE))
def test_a_compile_config_naming_anything_but_keras_objects_is_refused(case):
    compile_config, message = HOSTILE_COMPILE[case]
    with pytest.raises(ModelRefused, match=message):
        check_config(compiled(compile_config))


def test_the_compile_config_keras_writes_for_a_compiled_model_passes(tmp_path):
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2), keras.layers.Dense(3)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy", keras.metrics.MeanAbsoluteError()],
    )
    model.save(tmp_path / "m.keras")
    config = read_keras_config((tmp_path / "m.keras").read_bytes())
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"


# ---------------------------------------------------------------- several inputs (issue 19)


def shipped_seq2seq_config() -> dict:
    from rnnviz.sources.training.run import MODELS_DIR

    with zipfile.ZipFile(MODELS_DIR / "seq2seq_addition_lstm.keras") as z:
        return json.loads(z.read("config.json"))


def with_layer(config: dict, name: str, change) -> dict:
    """A copy of a functional config with the layer called `name` changed by `change`."""
    config = json.loads(json.dumps(config))
    for entry in config["config"]["layers"]:
        if entry["name"] == name:
            change(entry)
    return config


def test_the_shipped_two_input_encoder_decoder_passes_the_config_check():
    read_keras_config(keras_file(shipped_seq2seq_config()))


def lambda_encoder(entry: dict) -> None:
    entry.update(class_name="Lambda", module="keras.layers")
    entry["config"]["function"] = {"class_name": "__lambda__", "config": {"code": "YWJj"}}


def poisoned_initial_state(entry: dict) -> None:
    state = entry["inbound_nodes"][0]["kwargs"]["initial_state"]
    state[0] = {"class_name": "__lambda__", "config": {"code": "YWJj"}}


def os_input(entry: dict) -> None:
    entry["module"] = "os"


@pytest.mark.parametrize(
    "layer_name, change, message",
    [
        ("encoder", lambda_encoder, "can run code"),
        ("decoder", poisoned_initial_state, "can run code"),
        ("answer_so_far", os_input, "only Keras's own"),
    ],
    ids=[
        "a Lambda computing the handed-over state",
        "a function as initial_state",
        "an input from os",
    ],
)
def test_a_two_input_model_goes_through_the_same_allowlist(layer_name, change, message):
    hostile = with_layer(shipped_seq2seq_config(), layer_name, change)
    with pytest.raises(ModelRefused, match=message):
        read_keras_config(keras_file(hostile))
