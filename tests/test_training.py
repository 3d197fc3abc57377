"""rnnviz.train: Keras's own fit loop, every epoch kept, exact traces of any epoch."""

import keras
import numpy as np
import pytest

import rnnviz
from rnnviz.sources.training.run import TRAIN_LIMITS, load_pretrained, read_manifest, train
from rnnviz.sources.training.tasks import TASKS, Task
from tests.helpers import TOL
from tests.test_oracle import check_against_oracle

#: A copy of a task small enough to train in well under a second per epoch.
TINY = Task(**{**TASKS["remember"].__dict__, "name": "remember", "num_train": 128, "num_val": 64})


@pytest.fixture(scope="module")
def tiny_run():
    return train(TINY, "lstm", hidden_size=4, epochs=3, seed=0)


def test_history_has_one_entry_per_finished_epoch(tiny_run):
    assert tiny_run.epochs_done == 3
    for key in ("loss", "val_loss", "metric", "val_metric"):
        assert len(tiny_run.history[key]) == 3
    assert tiny_run.metric_name == "accuracy"
    assert len(tiny_run.snapshots) == 4  # epoch 0 (untrained) and three more


def test_weights_of_epoch_0_are_the_untrained_ones_and_differ_from_the_last(tiny_run):
    first, last = tiny_run.weights(0), tiny_run.weights(-1)
    assert [w.shape for w in first] == [(8, 16), (4, 16), (16,)]
    assert not np.array_equal(first[0], last[0])
    for got, final in zip(last, tiny_run.model.get_layer("rnn").get_weights(), strict=True):
        np.testing.assert_array_equal(got, final)


def test_trace_of_an_epoch_equals_the_keras_layer_with_those_weights(tiny_run):
    x = tiny_run.validation.x[:5]
    for epoch in (0, 2):
        trace = tiny_run.trace(epoch, x)
        layer = keras.layers.LSTM(4, return_sequences=True)
        layer.build((None, *x.shape[1:]))
        layer.set_weights(tiny_run.weights(epoch))
        expected = keras.ops.convert_to_numpy(layer(x))
        np.testing.assert_allclose(trace.h[0], expected, **TOL)
        check_against_oracle(trace)


def test_predict_equals_the_keras_model_on_the_final_weights(tiny_run):
    x = tiny_run.validation.x[:6]
    np.testing.assert_allclose(
        tiny_run.predict(-1, x), tiny_run.model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_same_task_cell_and_seed_give_the_same_history(tiny_run):
    again = train(TINY, "lstm", hidden_size=4, epochs=3, seed=0)
    np.testing.assert_allclose(again.history["loss"], tiny_run.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(again.history["val_metric"], tiny_run.history["val_metric"])


def test_should_stop_ends_training_after_the_batch_that_saw_it():
    polls = []

    def should_stop():
        polls.append(1)
        return len(polls) >= 3  # the first poll is before training; then one per batch

    run = train(TINY, "gru", hidden_size=3, epochs=50, should_stop=should_stop)
    assert run.stopped
    assert run.epochs_done == 1  # the partial epoch is kept: its weights were learnt
    assert run.batches_done == 2
    assert len(polls) == 3


def test_on_epoch_sees_epoch_0_and_every_finished_epoch():
    seen = []
    train(
        TINY, "simple_rnn", hidden_size=3, epochs=2, on_epoch=lambda r: seen.append(r.epochs_done)
    )
    assert seen == [0, 1, 2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"task": "parity"}, "task"),
        ({"cell": "transformer"}, "cell"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": TRAIN_LIMITS["epochs"][1] + 1}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"hidden_size": 5000}, "hidden_size"),
        ({"hidden_size": True}, "hidden_size"),
        ({"seed": -1}, "seed"),
        ({"stateful": "yes"}, "stateful"),
    ],
)
def test_bad_argument_is_a_config_error_naming_it_before_training(kwargs, field, monkeypatch):
    import rnnviz.sources.training.run as training

    monkeypatch.setattr(training, "build_model", lambda *a: pytest.fail("training started"))
    args = {"task": "remember", **kwargs}
    with pytest.raises(rnnviz.ConfigError, match=rf"^{field}="):
        train(**args)


def test_stateful_training_builds_a_stateful_layer_and_still_traces_exactly():
    tiny = Task(**{**TINY.__dict__, "batch_size": 32})
    run = train(tiny, "lstm", hidden_size=3, epochs=1, stateful=True)
    assert run.model.get_layer("rnn").stateful
    check_against_oracle(run.trace(-1))


def test_per_epoch_weights_of_100_epochs_of_a_64_unit_lstm_fit_in_10_mb():
    run = train(TINY, "lstm", hidden_size=64, epochs=1)
    per_epoch = sum(w.nbytes for w in run.snapshots[0])
    assert per_epoch * 101 < 10 * 2**20


@pytest.mark.parametrize("stem", sorted(read_manifest().get("tasks", {})))
def test_shipped_checkpoint_reloads_and_reproduces_its_recorded_metric(stem):
    entry = read_manifest()["tasks"][stem]
    run = load_pretrained(entry["task"], entry["cell"])
    assert run.epochs_done == entry["epochs"]
    val = run.validation
    target = val.y if run.task.kind == "classification" else val.y[..., None]
    scores = run.model.evaluate(val.x, target, verbose=0)
    assert scores[1] == pytest.approx(entry["val_metric"], rel=1e-4, abs=1e-4)
    assert run.final() == pytest.approx(entry["val_metric"])


def test_every_task_has_a_checkpoint_per_cell_within_the_size_budget():
    manifest = read_manifest()["tasks"]
    total = 0
    for task in TASKS:
        for cell in rnnviz.CELLS:
            entry = manifest[f"task_{task}_{cell}"]
            for info in entry["files"].values():
                assert info["bytes"] <= 5 * 2**20
                total += info["bytes"]
    assert total <= 30 * 2**20


def test_shipped_lstm_remembers_far_better_than_simple_rnn():
    manifest = read_manifest()["tasks"]
    lstm = manifest["task_remember_lstm"]["val_metric"]
    simple = manifest["task_remember_simple_rnn"]["val_metric"]
    assert lstm >= TASKS["remember"].target[0]
    assert lstm - simple >= 0.20


def test_a_checkpoint_whose_bytes_changed_is_refused(tmp_path):
    import shutil

    from rnnviz.sources.training.run import MODELS_DIR

    for path in MODELS_DIR.glob("task_remember_lstm.*"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(MODELS_DIR / "manifest.json", tmp_path / "manifest.json")
    with open(tmp_path / "task_remember_lstm.npz", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(rnnviz.ConfigError, match="SHA-256"):
        load_pretrained("remember", "lstm", directory=tmp_path)


def test_a_background_training_stops_within_1_s_of_stop_and_keeps_its_epochs():
    import time

    from rnnviz.serving.jobs import JobRegistry

    jobs = JobRegistry(max_running=1)
    job = jobs.submit(
        lambda job: train(
            TINY,
            "lstm",
            hidden_size=4,
            epochs=200,
            on_epoch=job.publish,
            should_stop=job.should_stop,
        )
    )
    deadline = time.monotonic() + 60
    while (job.result is None or job.result.epochs_done < 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    job.stop()
    assert job.wait(1.0), "training still running 1 s after stop"
    assert job.status == "stopped"
    assert 2 <= job.result.epochs_done < 200
    assert job.result.stopped


def test_outputs_of_an_epochs_trace_use_that_epochs_head(tiny_run):
    x = tiny_run.validation.x[:4]
    trace = tiny_run.trace(1, x)
    np.testing.assert_array_equal(tiny_run.outputs(trace, 1), tiny_run.predict(1, x))
    assert not np.allclose(tiny_run.outputs(trace, 1), tiny_run.outputs(trace, 3))
