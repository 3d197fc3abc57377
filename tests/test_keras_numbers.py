"""Keras-style correctness: constant weights, np.arange inputs, expected numbers written out.

The expected numbers of the LSTM and GRU cases are those of Keras's own
lstm_test.py / gru_test.py; the others were computed by hand-checkable
float64 recurrence (tests/oracle.py) and written out.
"""

import numpy as np

import rnnviz
from rnnviz.core.params import weight_shapes
from tests.helpers import TOL, constant_weights


def _cfg(**kw):
    base = dict(return_sequences=False, return_state=True, num_batches=1)
    base.update(kw)
    return rnnviz.RunConfig(**base)


def _run(cfg, x, initial_state=None):
    w = constant_weights(weight_shapes(cfg), cell=cfg.cell)
    return rnnviz.run(cfg, inputs=x, weights=w, initial_state=initial_state)


def test_lstm_last_output_matches_keras_reference_numbers():
    x = np.arange(72, dtype=np.float32).reshape(1, 3, 6, 4)
    cfg = _cfg(cell="lstm", batch_size=3, num_steps=6, num_features=4, hidden_size=3)
    trace = _run(cfg, x)
    expected = np.array([[0.6288687] * 3, [0.86899155] * 3, [0.9460773] * 3])
    np.testing.assert_allclose(trace.output(0, "output"), expected, **TOL)
    np.testing.assert_allclose(trace.h[0, :, -1], expected, **TOL)


def test_lstm_stateful_second_batch_matches_keras_reference_numbers():
    seq = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    cfg = _cfg(
        cell="lstm",
        batch_size=2,
        num_steps=3,
        num_features=4,
        hidden_size=4,
        num_batches=2,
        stateful=True,
    )
    trace = _run(cfg, np.stack([seq, seq]))
    expected = np.array([[0.3124785] * 4, [0.6863672] * 4])
    np.testing.assert_allclose(trace.output(1, "output"), expected, **TOL)


def test_lstm_explicit_initial_state_matches_keras_reference_numbers():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 4, 3)
    s0 = [np.arange(4, dtype=np.float32).reshape(2, 2)] * 2
    cfg = _cfg(cell="lstm", batch_size=2, num_steps=4, num_features=3, hidden_size=2)
    trace = _run(cfg, x, initial_state=s0)
    expected = np.array([[0.20574439, 0.3558822], [0.64930826, 0.66276]])
    np.testing.assert_allclose(trace.output(0, "output"), expected, **TOL)


def test_gru_last_output_matches_keras_reference_numbers():
    x = np.arange(72, dtype=np.float32).reshape(1, 3, 6, 4)
    cfg = _cfg(cell="gru", batch_size=3, num_steps=6, num_features=4, hidden_size=3)
    trace = _run(cfg, x)
    expected = np.array([[0.5217289] * 3, [0.6371659] * 3, [0.39384964] * 3])
    np.testing.assert_allclose(trace.output(0, "output"), expected, **TOL)


def test_lstm_first_step_gates_are_the_hand_computed_values():
    # One step from zero state, x = [0, 1, 2, 3]: every pre-activation is
    # 0.01 * 6 + 0.03 = 0.09, the forget one 0.06 + 1 = 1.06.
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 1, 4)
    cfg = _cfg(cell="lstm", batch_size=1, num_steps=1, num_features=4, hidden_size=2)
    trace = _run(cfg, x)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(trace.gates["input"][0, 0, 0], [sig(0.09)] * 2, **TOL)
    np.testing.assert_allclose(trace.gates["forget"][0, 0, 0], [sig(1.06)] * 2, **TOL)
    np.testing.assert_allclose(trace.gates["candidate"][0, 0, 0], [np.tanh(0.09)] * 2, **TOL)
    c = sig(0.09) * np.tanh(0.09)  # f * 0 + i * g
    np.testing.assert_allclose(trace.c[0, 0, 0], [c, c], **TOL)
    np.testing.assert_allclose(trace.h[0, 0, 0], [sig(0.09) * np.tanh(c)] * 2, **TOL)
    np.testing.assert_allclose(trace.c[0, 0, 0], [0.04689707] * 2, **TOL)


def test_simple_rnn_sequence_matches_written_out_numbers():
    # h1 = tanh(0.01 * 6 + 0.03) = tanh(0.09); h2 = tanh(0.01 * 22 + 0.02 * 2 * h1 + 0.03).
    x = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)
    cfg = _cfg(
        cell="simple_rnn",
        batch_size=1,
        num_steps=2,
        num_features=4,
        hidden_size=2,
        return_sequences=True,
    )
    trace = _run(cfg, x)
    h1 = np.tanh(0.09)
    h2 = np.tanh(0.25 + 0.04 * h1)
    np.testing.assert_allclose(trace.h[0, 0, :, 0], [h1, h2], **TOL)
    np.testing.assert_allclose(trace.h[0, 0, :, 0], [0.08975778, 0.2482906], **TOL)
    np.testing.assert_allclose(trace.output(0, "output")[0, :, 1], [0.08975778, 0.2482906], **TOL)


def test_seed_000s_state_replacement_changes_nothing_on_keras3_and_assign_does():
    from rnnviz.views.keras2 import state_trap

    trap = state_trap()
    assert trap.replaced_max_change == 0.0  # predict still reads the layer's own variable
    assert trap.assign_max_change > 1e-3
    assert "has no attribute 'variable'" in trap.k_variable_error
    assert "Matrix size-incompatible" in trap.replaced_call_error
    assert "value.shape=(2, 2)" in trap.wrong_shape_error
    assert "\x1b[" not in trap.replaced_call_error  # terminal colour codes stripped
