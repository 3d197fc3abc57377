"""The live checks under "What Keras returns" say what was measured: each turns False on a
trace where it does not hold, and the sentences follow the numbers (issue 23)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import rnnviz
from rnnviz.views.checks import answer_shapes, keras_variable_outcome, return_checks


@pytest.fixture(scope="module")
def lstm():
    return rnnviz.run(rnnviz.RunConfig(cell="lstm", hidden_size=3, return_state=True))


def checks(trace, batch=0):
    return {
        sentence.split(" = ")[0].split(":")[0]: ok for sentence, ok in return_checks(trace, batch)
    }


def test_every_check_holds_on_a_genuine_trace(lstm):
    assert all(ok for _, ok in return_checks(lstm, 0))


def test_the_state_size_check_fails_when_the_state_size_is_not_units_per_state(lstm):
    broken = dataclasses.replace(lstm, state_size=3)  # a GRU's, on an LSTM
    assert checks(broken)["cell.state_size"] is False


def test_the_state_size_check_of_a_gru_expects_one_entry():
    gru = rnnviz.run(rnnviz.RunConfig(cell="gru", hidden_size=3))
    assert checks(gru)["cell.state_size"] is True
    assert checks(dataclasses.replace(gru, state_size=[3, 3]))["cell.state_size"] is False


def test_the_state_c_check_fails_when_the_traced_c_differs(lstm):
    c = np.array(lstm.c)
    c[0, 1, -1, 2] += 0.5
    assert (
        checks(dataclasses.replace(lstm, c=c))["state_c equals the traced c_t at the last step"]
        is False
    )


def test_the_order_check_fails_when_keras_returned_states_in_another_order(lstm):
    swapped = [list(reversed(batch)) for batch in lstm.outputs]
    assert checks(dataclasses.replace(lstm, outputs=swapped))["order"] is False


def test_the_answers_shapes_sentence_follows_the_measured_shape():
    cfg = rnnviz.RunConfig(
        signal="answer_002", batch_size=2, num_steps=3, num_features=3, hidden_size=4, stateful=True
    )
    assert answer_shapes(rnnviz.run(cfg), 0) == "the shapes match: (2, 3, 4) here and in the answer"
    other = rnnviz.run(cfg.replace(hidden_size=5, return_sequences=False))
    assert answer_shapes(other, 0).startswith(
        "the shapes differ: (2, 5) here, (2, 4) in the answer"
    )


def test_the_keras_variable_sentence_says_changes_nothing_only_for_no_change():
    assert "changes nothing" in keras_variable_outcome(0.0)
    moved = keras_variable_outcome(0.25)
    assert "changes nothing" not in moved and "by up to 0.25" in moved
