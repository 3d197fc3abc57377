"""Stateful training on a stream (issue 18): the four layouts, exact traces of trained
stateful networks with their carried states, the reset policy, and the gradient that stops
at a batch boundary while the state does not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import rnnviz
from rnnviz import analysis
from rnnviz.sources.stateful import layout as L
from rnnviz.sources.stateful.streams import SWITCH
from rnnviz.sources.stateful.training import (
    boundary_gradient,
    load_stateful,
    train_stateful,
)
from tests.helpers import TOL
from tests.oracle import recur_batches

# ----- layouts, against a construction written out with loops -------------------------------


def test_the_continuation_layout_gives_row_i_the_next_window_of_part_i():
    lay = L.layout(stream_len=43, batch_size=2, window=5, kind="continuation")
    part = 43 // 2  # 21 steps a row: 4 windows of 5
    expected = [[[i * part + k * 5 + t for t in range(5)] for i in range(2)] for k in range(4)]
    assert lay.index.tolist() == expected
    assert lay.continues.all() and lay.continues.shape == (3, 2)
    assert lay.unused.tolist() == [20, 41, 42]


def test_the_in_order_layout_batches_consecutive_windows_and_breaks_every_row():
    lay = L.layout(stream_len=43, batch_size=2, window=5, kind="in_order")
    expected = [[[(k * 2 + i) * 5 + t for t in range(5)] for i in range(2)] for k in range(4)]
    assert lay.index.tolist() == expected
    # row 0 of batch 1 reads window 2, not window 1, the continuation of row 0 of batch 0
    assert not lay.continues.any()
    assert lay.unused.tolist() == [40, 41, 42]


def test_in_order_with_one_row_is_the_continuation():
    lay = L.layout(stream_len=20, batch_size=1, window=5, kind="in_order")
    assert lay.continues.all()


def test_the_shuffled_layout_keeps_every_window_once_and_changes_every_epoch():
    right = L.layout(400, 4, 10, "continuation")
    first = L.layout(400, 4, 10, "shuffled", seed=3, epoch=0)
    second = L.layout(400, 4, 10, "shuffled", seed=3, epoch=1)
    assert sorted(first.index[:, :, 0].ravel()) == sorted(right.index[:, :, 0].ravel())
    assert sorted(second.index[:, :, 0].ravel()) == sorted(right.index[:, :, 0].ravel())
    assert not np.array_equal(first.index, second.index)
    assert first.continues.mean() < 0.2  # a random order continues a row by chance only
    np.testing.assert_array_equal(
        first.index, L.layout(400, 4, 10, "shuffled", seed=3, epoch=0).index
    )


def test_the_stateless_layout_reads_the_continuation_windows_and_carries_nothing():
    stateless = L.layout(43, 2, 5, "stateless")
    np.testing.assert_array_equal(stateless.index, L.layout(43, 2, 5, "continuation").index)
    assert not stateless.continues.any()


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(stream_len=9, batch_size=2, window=5), "stream_len"),  # shorter than one batch
        (dict(stream_len=40.0, batch_size=2, window=5), "stream_len"),
        (dict(stream_len=40, batch_size=0, window=5), "batch_size"),
        (dict(stream_len=40, batch_size=2, window=-1), "window"),
        (dict(stream_len=40, batch_size="2", window=5), "batch_size"),
        (dict(stream_len=40, batch_size=2, window=5, kind="random"), "kind"),
        (dict(stream_len=10**7, batch_size=2, window=5), "stream_len"),  # over the cap
        (dict(stream_len=200_000, batch_size=2, window=5), "stream_len"),  # too many windows
        (dict(stream_len=40, batch_size=300, window=1), "batch_size"),
    ],
)
def test_a_layout_refuses_bad_sizes_naming_the_field(kwargs, field):
    kwargs = {"kind": "continuation", **kwargs}
    with pytest.raises(rnnviz.ConfigError) as error:
        L.layout(**kwargs)
    assert error.value.field == field


@pytest.mark.parametrize(
    "array, said",
    [
        (np.array([1, "a"], object), "dtype object"),
        (np.array([1.0, np.nan]), "NaN or inf"),
        (np.zeros((2, 2, 2)), "shape (2, 2, 2)"),
        (np.zeros(5_000_001), "5,000,001 numbers"),
        (np.zeros((10, 65)), "65 features"),
        ([1, 2, 3], "list"),
    ],
)
def test_a_users_stream_is_refused_with_the_reason(array, said):
    with pytest.raises(rnnviz.ConfigError, match=r"^stream=") as error:
        L.check_stream(array)
    assert said in str(error.value)


def test_a_users_1d_stream_becomes_one_feature():
    assert L.check_stream(np.arange(5)).shape == (5, 1)


# ----- where a state comes from --------------------------------------------------------------


def test_every_traces_origins_agree_with_its_numbers():
    cfg = rnnviz.RunConfig(num_batches=4, stateful=True, reset_before=(2,), initial_state="random")
    trace = rnnviz.run(cfg)
    assert trace.origins[0] == ["initial state (random)"] * 2
    assert trace.origins[2] == ["reset_state(): zeros"] * 2
    assert trace.origins[3] == ["carried from row 0 of batch 2", "carried from row 1 of batch 2"]
    for k in (1, 3):
        for s in range(2):  # h and c
            np.testing.assert_array_equal(trace.initial_states[k][s], trace.final_states[k - 1][s])
    assert not np.any(trace.initial_states[2][0])


# ----- trained stateful networks (the shipped checkpoints) -----------------------------------


@pytest.fixture(scope="module")
def shipped():
    return {kind: load_stateful(kind) for kind in L.KINDS}


def test_the_shipped_networks_reproduce_their_recorded_held_out_accuracy(shipped):
    from rnnviz.sources.training.run import read_manifest

    entries = read_manifest()["stateful"]
    for kind, run in shipped.items():
        entry = entries[f"stateful_switch_{kind}_lstm"]
        assert run.evaluate(-1)["accuracy"] == pytest.approx(
            entry["heldout_accuracy_continuation"], abs=1e-6
        )


def test_a_trained_stateful_trace_equals_the_oracle_run_statefully_over_the_same_batches(shipped):
    run = shipped["continuation"]
    trace = run.trace(-1, "continuation", batches=6)
    zeros = [np.zeros((run.batch_size, run.hidden_size))] * 2
    oracle = recur_batches("lstm", trace.inputs, run.weights(-1), zeros, stateful=True)
    for k, (start, states, gates) in enumerate(oracle):
        np.testing.assert_allclose(trace.initial_states[k][0], start[0], **TOL)
        np.testing.assert_allclose(trace.h[k], states[0], **TOL)
        np.testing.assert_allclose(trace.c[k], states[1], **TOL)
        for name in ("input", "forget", "candidate", "output"):
            np.testing.assert_allclose(trace.gates[name][k], gates[name], **TOL)


def test_in_the_continuation_layout_row_i_starts_where_it_ended_to_the_bit(shipped):
    trace = shipped["continuation"].trace(-1, "continuation", batches=4)
    for k in range(1, 4):
        assert trace.origins[k][3] == f"carried from row 3 of batch {k - 1}"
        for s in range(2):
            np.testing.assert_array_equal(trace.initial_states[k][s], trace.final_states[k - 1][s])


def test_a_stateless_networks_trace_starts_every_batch_from_zeros(shipped):
    trace = shipped["stateless"].trace(-1, "continuation", batches=3)
    assert not any(np.any(s) for k in range(3) for s in trace.initial_states[k])


def test_only_the_continuation_layout_reaches_the_task_and_the_others_stay_15_points_below(shipped):
    right = shipped["continuation"].evaluate(-1)["accuracy"]
    assert right >= 0.95
    for kind in ("stateless", "in_order", "shuffled"):
        assert shipped[kind].evaluate(-1)["accuracy"] <= right - 0.15


def test_a_wrongly_fed_network_is_worse_in_its_own_order_than_in_the_right_one(shipped):
    run = shipped["in_order"]
    assert run.evaluate(-1, "in_order")["accuracy"] < run.evaluate(-1, "continuation")["accuracy"]


def test_a_stateless_network_fails_at_the_start_of_each_window(shipped):
    by_position = shipped["stateless"].evaluate(-1)["by_position"]
    assert by_position[0] < 0.6 and by_position[0] <= by_position[-1]


def test_the_gradient_stops_at_the_boundary_while_the_state_carries_on(shipped):
    result = boundary_gradient(shipped["continuation"], batch=3)
    assert result["norm_fit"] == 0.0
    assert result["norm_state"] > 1e-4


def test_an_intervention_in_batch_k_changes_batch_k_plus_1(shipped):
    trace = shipped["continuation"].trace(-1, "continuation", batches=3)
    after = analysis.intervene(trace, unit=0, step=9, value=0.9, batch=0, sample=2)
    assert np.abs(after.h[1, 2] - trace.h[1, 2]).max() > 1e-3
    np.testing.assert_array_equal(after.h[1, 0], trace.h[1, 0])  # other rows untouched


# ----- training as a user writes it (a tiny stream: tests train no big model) ----------------

TINY = dataclasses.replace(
    SWITCH, stream_len=200, heldout_len=200, batch_size=2, window=10, hidden_size=4, epochs=2
)


def test_resetting_every_epoch_or_never_changes_training_only_from_epoch_2():
    every = train_stateful(TINY, "continuation", reset="epoch", seed=1)
    never = train_stateful(TINY, "continuation", reset="never", seed=1)
    for a, b in zip(every.snapshots[1], never.snapshots[1], strict=True):
        np.testing.assert_array_equal(a, b)  # epoch 1 starts from zeros either way
    assert any(not np.array_equal(a, b) for a, b in zip(every.snapshots[2], never.snapshots[2],
                                                         strict=True))  # fmt: skip


def test_training_keeps_every_epochs_weights_and_its_history():
    run = train_stateful(TINY, "shuffled", seed=2)
    assert run.epochs_done == 2 and len(run.snapshots) == 3
    assert all(len(v) == 2 for v in run.history.values())
    assert run.layout(epoch=0).index.tolist() != run.layout(epoch=1).index.tolist()


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(kind="sideways"), "kind"),
        (dict(reset="sometimes"), "reset"),
        (dict(cell="transformer"), "cell"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(epochs=1000), "epochs"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(window=100, batch_size=256), "stream_len"),  # 25,600 steps > the stream
        (dict(task="weather"), "task"),
    ],
)
def test_train_stateful_refuses_bad_arguments_before_training(kwargs, field):
    with pytest.raises(rnnviz.ConfigError) as error:
        train_stateful(**{"task": TINY, **kwargs})
    assert error.value.field == field


# ----- the script for a user's stream --------------------------------------------------------


def test_the_generated_script_trains_statefully_and_builds_exactly_the_continuation_layout(
    tmp_path,
):
    import subprocess
    import sys

    from rnnviz.views.codegen import stateful_script

    stream = np.random.default_rng(0).standard_normal((203, 3)).astype(np.float32)
    np.save(tmp_path / "stream.npy", stream)
    code = stateful_script(num_features=3, batch_size=4, window=5, units=4, epochs=1)
    (tmp_path / "train.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    built = np.load(tmp_path / "layout_index.npy")
    np.testing.assert_array_equal(built, L.layout(203, 4, 5, "continuation").index)
    assert "10 batches of 4 rows x 5 steps; 3 dropped" in done.stdout
    assert "prediction (40, 5, 1)" in done.stdout
