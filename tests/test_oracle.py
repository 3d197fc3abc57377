"""Every state, gate and returned tensor matches the independent NumPy recurrence."""

import itertools

import numpy as np
import pytest

import rnnviz
from tests.helpers import TOL
from tests.oracle import recur_batches

CELLS = [("lstm", True), ("gru", True), ("gru", False), ("simple_rnn", True)]
FLAGS = list(itertools.product([False, True], repeat=3))  # return_sequences, return_state, stateful


def check_against_oracle(trace):
    cfg = trace.config
    expected = recur_batches(
        cfg.cell,
        trace.inputs,
        trace.weights,
        trace.initial_states[0],
        cfg.stateful,
        cfg.reset_before,
        cfg.reset_after,
    )
    for k, (start, states, gates) in enumerate(expected):
        for i, s in enumerate(start):
            np.testing.assert_allclose(trace.initial_states[k][i], s, **TOL)
        np.testing.assert_allclose(trace.h[k], states[0], **TOL)
        if cfg.cell == "lstm":
            np.testing.assert_allclose(trace.c[k], states[1], **TOL)
        else:
            assert trace.c is None
        assert set(trace.gates) == set(gates)
        for name, g in gates.items():
            np.testing.assert_allclose(trace.gates[name][k], g, **TOL)
        for i, s in enumerate(states):
            np.testing.assert_allclose(trace.final_states[k][i], s[:, -1], **TOL)
        returned = dict(trace.outputs[k])
        out = states[0] if cfg.return_sequences else states[0][:, -1]
        np.testing.assert_allclose(returned["output"], out, **TOL)
        if cfg.return_state:
            np.testing.assert_allclose(returned["state_h"], states[0][:, -1], **TOL)
            if cfg.cell == "lstm":
                np.testing.assert_allclose(returned["state_c"], states[1][:, -1], **TOL)


@pytest.mark.parametrize("cell,reset_after", CELLS)
@pytest.mark.parametrize("return_sequences,return_state,stateful", FLAGS)
def test_every_flag_combination_matches_the_oracle(
    cell, reset_after, return_sequences, return_state, stateful
):
    cfg = rnnviz.RunConfig(
        cell=cell,
        reset_after=reset_after,
        batch_size=3,
        num_steps=4,
        num_features=2,
        hidden_size=5,
        num_batches=3,
        return_sequences=return_sequences,
        return_state=return_state,
        stateful=stateful,
        signal="random",
        seed=7,
        initial_state="random",
    )
    check_against_oracle(rnnviz.run(cfg))


@pytest.mark.parametrize("cell,reset_after", CELLS)
def test_stateful_resets_match_the_oracle(cell, reset_after):
    cfg = rnnviz.RunConfig(
        cell=cell,
        reset_after=reset_after,
        num_batches=4,
        stateful=True,
        reset_before=(1, 3),
        initial_state="random",
        signal="sine",
    )
    trace = rnnviz.run(cfg)
    check_against_oracle(trace)
    assert np.all(trace.initial_states[1][0] == 0) and np.all(trace.initial_states[3][0] == 0)


@pytest.mark.parametrize("cell,reset_after", CELLS)
def test_explicit_arrays_match_the_oracle(cell, reset_after):
    cfg = rnnviz.RunConfig(
        cell=cell,
        reset_after=reset_after,
        batch_size=2,
        num_steps=6,
        num_features=3,
        hidden_size=4,
        num_batches=2,
        stateful=True,
    )
    rng = np.random.default_rng(3)
    base = rnnviz.run(cfg)
    x = rng.normal(size=base.inputs.shape).astype(np.float32)
    w = [rng.normal(scale=0.5, size=a.shape).astype(np.float32) for a in base.weights]
    s0 = [rng.uniform(-1, 1, size=(2, 4)).astype(np.float32) for _ in base.initial_states[0]]
    trace = rnnviz.run(cfg, inputs=x, weights=w, initial_state=s0)
    np.testing.assert_array_equal(trace.inputs, x)
    np.testing.assert_array_equal(trace.initial_states[0][0], s0[0])
    check_against_oracle(trace)


def test_stateful_batch_starts_from_previous_final_state():
    trace = rnnviz.run(rnnviz.RunConfig(stateful=True, num_batches=3))
    for k in (1, 2):
        for prev, start in zip(trace.final_states[k - 1], trace.initial_states[k], strict=True):
            np.testing.assert_array_equal(start, prev)
    assert np.abs(trace.initial_states[1][0]).max() > 0.01  # a real carried state, not zeros


def test_stateless_batches_all_start_from_the_configured_initial_state():
    trace = rnnviz.run(rnnviz.RunConfig(stateful=False, initial_state="random"))
    for k in (1, 2):
        np.testing.assert_array_equal(trace.initial_states[k][0], trace.initial_states[0][0])
        np.testing.assert_array_equal(trace.initial_states[k][1], trace.initial_states[0][1])


def test_lstm_hidden_state_is_output_gate_times_tanh_of_cell_state():
    trace = rnnviz.run(rnnviz.RunConfig(cell="lstm", signal="random", num_steps=20))
    np.testing.assert_allclose(trace.h, trace.gates["output"] * np.tanh(trace.c), **TOL)


def test_lstm_cell_state_is_forget_times_previous_plus_input_times_candidate():
    trace = rnnviz.run(rnnviz.RunConfig(cell="lstm", signal="random", initial_state="random"))
    g = trace.gates
    prev = np.concatenate([trace.initial_states[0][1][:, None], trace.c[0, :, :-1]], axis=1)
    np.testing.assert_allclose(
        trace.c[0], g["forget"][0] * prev + g["input"][0] * g["candidate"][0], **TOL
    )


def test_gru_hidden_state_interpolates_previous_and_candidate_by_update_gate():
    trace = rnnviz.run(rnnviz.RunConfig(cell="gru", signal="random", initial_state="random"))
    g = trace.gates
    prev = np.concatenate([trace.initial_states[0][0][:, None], trace.h[0, :, :-1]], axis=1)
    z = g["update"][0]
    np.testing.assert_allclose(trace.h[0], z * prev + (1 - z) * g["candidate"][0], **TOL)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_stay_within_their_activation_ranges(cell):
    trace = rnnviz.run(rnnviz.RunConfig(cell=cell, signal="random", hidden_size=16, num_steps=30))
    for name, g in trace.gates.items():
        lo = 0.0 if name != "candidate" else -1.0
        assert g.min() >= lo and g.max() <= 1.0, name


def test_returned_sequence_ends_with_returned_state_h():
    trace = rnnviz.run(rnnviz.RunConfig(return_sequences=True, return_state=True))
    for k in range(3):
        np.testing.assert_array_equal(trace.output(k, "output")[:, -1], trace.output(k, "state_h"))


def test_output_without_sequences_equals_state_h():
    trace = rnnviz.run(rnnviz.RunConfig(cell="gru", return_sequences=False, return_state=True))
    np.testing.assert_array_equal(trace.output(0, "output"), trace.output(0, "state_h"))


@pytest.mark.parametrize(
    "cell,return_state,names",
    [
        ("lstm", True, ["output", "state_h", "state_c"]),
        ("gru", True, ["output", "state_h"]),
        ("simple_rnn", True, ["output", "state_h"]),
        ("lstm", False, ["output"]),
    ],
)
def test_returned_names_follow_keras_order(cell, return_state, names):
    trace = rnnviz.run(rnnviz.RunConfig(cell=cell, return_state=return_state))
    assert [n for n, _ in trace.outputs[0]] == names


def test_classic_question_shapes_and_state_size():
    # seeds/000: LSTM(8), batch 2 x 5 steps x 1 feature on zeros, return_state.
    cfg = rnnviz.RunConfig(
        cell="lstm",
        batch_size=2,
        num_steps=5,
        num_features=1,
        hidden_size=8,
        signal="zeros",
        return_sequences=True,
        return_state=True,
        num_batches=1,
    )
    trace = rnnviz.run(cfg)
    shapes = [(n, a.shape) for n, a in trace.outputs[0]]
    assert shapes == [("output", (2, 5, 8)), ("state_h", (2, 8)), ("state_c", (2, 8))]
    assert trace.state_size == [8, 8]
    assert rnnviz.run(cfg.replace(cell="gru")).state_size == 8
