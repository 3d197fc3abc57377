"""RecordStates and open_run: a user's own training recorded in plain files, opened exactly.

The oracle is the NumPy recurrence of tests/oracle.py on the weights the run recorded;
every trace at every recorded epoch must equal it. The folder's defences are tried with
files cut short, changed, removed, a config the allowlist refuses and arrays of the wrong
shape, each re-signed in the manifest where that is needed to reach the check.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import rnnviz
from rnnviz.callbacks import RecordingError, RecordStates
from rnnviz.core.config import ConfigError
from rnnviz.sources.recorded import store
from rnnviz.sources.recorded.store import RunRefused, npz_bytes, sha256_bytes
from tests.oracle import recur

LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}


def small_model(cell: str = "lstm", units: int = 3, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((6, 2)), LAYERS[cell](units, name="rnn"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def data(samples: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, 6, 2)).astype(np.float32)
    return x, x[:, :, 0].sum(axis=1, keepdims=True)


def record(folder: Path, cell: str = "lstm", epochs: int = 3, **kwargs) -> Path:
    x, y = data()
    small_model(cell).fit(
        x, y, validation_data=(x[:20], y[:20]), epochs=epochs, batch_size=8, verbose=0,
        callbacks=[RecordStates(folder, **kwargs)],
    )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory) -> Path:
    return record(tmp_path_factory.mktemp("runs") / "lstm")


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def resign(folder: Path, name: str, data: bytes) -> None:
    """Writes `data` as `name` and updates its SHA-256 and size, so later checks are reached."""
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


# ----- exact numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_every_recorded_epoch_traces_to_the_numpy_oracle_on_the_recorded_weights(tmp_path, cell):
    run = rnnviz.open_run(record(tmp_path / cell, cell))
    assert run.epochs == [0, 1, 2, 3]
    for epoch in run.epochs:
        trace = run.trace(epoch)
        kernel, recurrent, bias = run.weights(epoch)[:3]
        x = run.inputs[0]
        zeros = [np.zeros((x.shape[0], 3))] * (2 if cell == "lstm" else 1)
        states, gates = recur(cell, x, (kernel, recurrent, bias), zeros)
        np.testing.assert_allclose(trace.h[0], states[0], rtol=1e-5, atol=2e-6)
        if cell == "lstm":
            np.testing.assert_allclose(trace.c[0], states[1], rtol=1e-5, atol=2e-6)
        for name, gate in gates.items():
            np.testing.assert_allclose(trace.gates[name][0], gate, rtol=1e-5, atol=2e-6)


def test_training_changes_the_recorded_weights_and_epoch_0_is_before_training(tmp_path):
    x, y = data()
    model = small_model()
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, verbose=0, callbacks=[RecordStates(tmp_path / "r", inputs=x[:4])])
    run = rnnviz.open_run(tmp_path / "r")
    for a, b in zip(run.weights(0), before, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(run.weights(-1), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(run.trace(0).h, run.trace(2).h)


def test_a_constant_lstm_on_arange_inputs_gives_the_numbers_written_out(tmp_path):
    # LSTM(1), kernel 0.1, recurrent 0.2, bias (i, f, g, o) = (0, 1, 0, 0), x_t = 0, 1, 2.
    # t=1: z = 0.1 (i, g, o), 1.1 (f); c = σ(.1)·tanh(.1) = 0.052324; h = σ(.1)·tanh(c).
    # t=2: z = 0.2 + 0.2·0.027444; c = σ(1.20549)·0.052324 + σ(.20549)·tanh(.20549).
    model = keras.Sequential([keras.Input((3, 1)), keras.layers.LSTM(1, name="rnn")])
    model.set_weights([np.full((1, 4), 0.1), np.full((1, 4), 0.2), np.array([0, 1, 0, 0.0])])
    model.compile(optimizer="sgd", loss="mse")
    x = np.arange(3, dtype=np.float32).reshape(1, 3, 1)
    model.fit(x, np.zeros((1, 1)), epochs=0, verbose=0, callbacks=[RecordStates(tmp_path / "c")])
    run = rnnviz.open_run(tmp_path / "c")
    assert run.epochs == [0] and run.inputs is None
    h = run.trace(0, x=x).h[0, 0, :, 0]
    np.testing.assert_allclose(h, [0.0, 0.02744377, 0.08311986], rtol=1e-6)


def test_the_first_16_validation_samples_are_recorded_as_the_inputs(lstm_run):
    x, _ = data()
    run = rnnviz.open_run(lstm_run)
    np.testing.assert_array_equal(run.inputs[0], x[:16])
    assert run.inputs_from == "validation_data"


def test_the_history_is_kerass_per_epoch_logs(lstm_run):
    run = rnnviz.open_run(lstm_run)
    assert sorted(run.history) == ["loss", "val_loss"]
    assert len(run.history["loss"]) == 3 and run.history["loss"][-1] < run.history["loss"][0]


def test_model_gives_a_new_keras_model_with_the_epochs_weights(lstm_run):
    run = rnnviz.open_run(lstm_run)
    model = run.model(1)
    for a, b in zip(model.get_weights(), run.weights(1), strict=True):
        np.testing.assert_array_equal(a, b)
    assert model is not run.model(1)


def test_an_epoch_not_recorded_is_named_with_the_recorded_ones(lstm_run):
    with pytest.raises(ValueError, match="epoch 7 is not recorded; recorded: 0, 1, 2, 3"):
        rnnviz.open_run(lstm_run).trace(7)


def test_every_second_epoch_is_recorded_with_every_2(tmp_path):
    run = rnnviz.open_run(record(tmp_path / "r", epochs=5, every=2))
    assert run.epochs == [0, 2, 4]
    assert len(run.history["loss"]) == 5


# ----- size bound and thinning ------------------------------------------------------------


def test_a_run_over_max_mb_keeps_a_thinning_set_of_epochs_and_says_so_once(
    lstm_run, tmp_path, capfd
):
    files = json.loads((lstm_run / "manifest.json").read_text())["files"]
    snapshot = files["epochs/000001.npz"]["bytes"]
    fixed = files["config.json"]["bytes"] + files["inputs.npz"]["bytes"]
    budget_mb = (fixed + 6.5 * snapshot) / 2**20  # room for six epochs' weights
    folder = record(tmp_path / "r", epochs=16, max_mb=budget_mb)
    manifest = json.loads((folder / "manifest.json").read_text())
    epochs = sorted(map(int, manifest["epochs"]))
    assert manifest["stride"] == 4
    assert epochs == [0, 4, 8, 12, 16]
    assert sum(f["bytes"] for f in manifest["files"].values()) <= budget_mb * 2**20
    assert sorted(p.name for p in (folder / "epochs").iterdir()) == [
        f"{e:06d}.npz" for e in epochs
    ]
    assert "every fourth recorded epoch" in manifest["thinned"]
    assert capfd.readouterr().err.count("RecordStates") == 1
    assert rnnviz.open_run(folder).thinned == manifest["thinned"]


def test_a_run_under_max_mb_keeps_every_epoch(lstm_run):
    manifest = json.loads((lstm_run / "manifest.json").read_text())
    assert manifest["stride"] == 1 and manifest["thinned"] is None


# ----- atomic writes ----------------------------------------------------------------------


def test_a_run_interrupted_between_writing_and_renaming_an_epoch_opens_at_the_last_whole_one(
    tmp_path, monkeypatch
):
    real_replace = store.os.replace
    calls = []

    def crash_on_epoch_3(source, target):
        calls.append(target)
        if str(target).endswith("000003.npz"):
            raise KeyboardInterrupt  # the process dies here: nothing after runs
        real_replace(source, target)

    monkeypatch.setattr(store.os, "replace", crash_on_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        record(tmp_path / "r", epochs=5)
    monkeypatch.setattr(store.os, "replace", real_replace)
    run = rnnviz.open_run(tmp_path / "r")
    assert run.epochs == [0, 1, 2] and not run.complete
    assert not list((tmp_path / "r" / "epochs").glob(".*tmp*"))


def test_a_run_interrupted_while_writing_the_manifest_keeps_the_previous_manifest(
    tmp_path, monkeypatch
):
    real_fsync = store.os.fsync
    writes = {"manifest": 0}

    def crash_on_the_fourth_manifest(fd):
        name = Path(f"/proc/self/fd/{fd}").resolve().name
        if "manifest" in name:
            writes["manifest"] += 1
            if writes["manifest"] == 4:  # epochs 0, 1, 2 written: the one of epoch 3 dies
                raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(store.os, "fsync", crash_on_the_fourth_manifest)
    with pytest.raises(KeyboardInterrupt):
        record(tmp_path / "r", epochs=5)
    monkeypatch.setattr(store.os, "fsync", real_fsync)
    assert rnnviz.open_run(tmp_path / "r").epochs == [0, 1, 2]


# ----- bad folders ------------------------------------------------------------------------


def test_a_missing_weights_file_is_refused_with_its_name(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    (run / "epochs" / "000002.npz").unlink()
    with pytest.raises(RunRefused, match=r"epochs/000002.npz is missing"):
        rnnviz.open_run(run)


def test_a_truncated_file_is_refused_as_cut_short(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    path = run / "epochs" / "000001.npz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(RunRefused, match=r"000001.npz is 100 bytes but the manifest says"):
        rnnviz.open_run(run)


def test_a_changed_file_of_the_same_size_is_refused_by_its_sha256(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    path = run / "inputs.npz"
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(RunRefused, match=r"inputs.npz does not match its SHA-256"):
        rnnviz.open_run(run)


def test_a_config_with_a_lambda_layer_is_refused_by_the_allowlist(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    config = json.loads((run / "config.json").read_text())
    config["config"]["layers"][1]["class_name"] = "Lambda"
    resign(run, "config.json", json.dumps(config).encode())
    with pytest.raises(RunRefused, match=r"config is refused.*Lambda"):
        rnnviz.open_run(run)


def test_weights_of_the_wrong_shape_are_refused_naming_the_variable(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    weights = rnnviz.open_run(lstm_run).weights(1)
    weights[0] = np.zeros((5, 12), np.float32)
    resign(run, "epochs/000001.npz", npz_bytes(weights))
    with pytest.raises(RunRefused, match=r"000001.npz: .*kernel is \(2, 12\) but the file holds"):
        rnnviz.open_run(run)


def test_inputs_of_the_wrong_shape_are_refused(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    resign(run, "inputs.npz", npz_bytes([np.zeros((4, 6, 7), np.float32)]))
    with pytest.raises(RunRefused, match=r"inputs.npz does not fit the model"):
        rnnviz.open_run(run)


def test_a_pickled_array_is_refused_without_unpickling(lstm_run, tmp_path):
    import io

    run = copy_run(lstm_run, tmp_path / "r")
    out = io.BytesIO()
    np.savez(out, np.array([{"a": 1}], dtype=object))
    resign(run, "inputs.npz", out.getvalue())
    with pytest.raises(RunRefused, match=r"inputs.npz is not a readable array file"):
        rnnviz.open_run(run)


def test_a_manifest_naming_a_file_outside_the_run_is_refused(lstm_run, tmp_path):
    run = copy_run(lstm_run, tmp_path / "r")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunRefused, match="a file a run does not have"):
        rnnviz.open_run(run)


def test_a_folder_without_a_manifest_is_not_a_run(tmp_path):
    with pytest.raises(RunRefused, match=r"not a recorded run: it has no manifest.json"):
        rnnviz.open_run(tmp_path)


def test_an_unwritable_log_dir_fails_at_train_begin_before_any_batch(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    x, y = data()
    model = small_model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(RecordingError, match="RecordStates cannot write the run to"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[RecordStates(blocker / "run")])
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs,field",
    [({"every": 0}, "every"), ({"max_mb": -1}, "max_mb"),
     ({"inputs": np.zeros((65, 6, 2))}, "inputs")],
)  # fmt: skip
def test_bad_arguments_are_named_when_the_callback_is_made(tmp_path, kwargs, field):
    with pytest.raises(ConfigError, match=field):
        RecordStates(tmp_path / "r", **kwargs)


def test_a_full_disk_stops_the_recording_but_not_the_training(tmp_path, monkeypatch, capfd):
    real = store.write_atomically
    count = {"n": 0}

    def fail_after_three(path, data):
        count["n"] += 1
        if count["n"] > 5:
            raise OSError(28, "No space left on device")
        real(path, data)

    import rnnviz.sources.recorded.callback as callback

    monkeypatch.setattr(callback, "write_atomically", fail_after_three)
    x, y = data()
    history = small_model().fit(
        x, y, epochs=4, verbose=0, callbacks=[RecordStates(tmp_path / "r")]
    )
    assert len(history.history["loss"]) == 4
    assert "No space left on device" in capfd.readouterr().err
    assert rnnviz.open_run(tmp_path / "r").epochs[0] == 0


def test_predict_is_the_models_output_with_that_epochs_weights(lstm_run):
    run = rnnviz.open_run(lstm_run)
    x = run.inputs[0]
    np.testing.assert_allclose(run.predict(1), np.asarray(run.model(1)(x)), rtol=1e-6)
    assert not np.allclose(run.predict(0), run.predict(3))
