"""rnnviz.sources.seq2seq: the shipped encoder–decoders on addition. The encoder's and the
decoder's traces equal the NumPy oracle and Keras's own inference models; the decoder starts
from exactly the encoder's final state; teacher forcing and the inference loop agree while the
loop's predictions are right; the generated script reproduces the page's answer and states."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.core.config import ConfigError
from rnnviz.sources.seq2seq import model as S
from rnnviz.sources.seq2seq import task
from rnnviz.sources.training.run import MODELS_DIR
from rnnviz.views.codegen import seq2seq_script
from tests.oracle import recur
from tests.test_trace_model import TOL


@pytest.fixture(scope="module", params=S.CELLS)
def model(request):
    return S.load_pretrained(request.param)


@pytest.fixture(scope="module")
def lstm():
    return S.load_pretrained("lstm")


def oracle(trace):
    states, gates = recur(
        trace.config.cell, trace.inputs[0], trace.weights, trace.initial_states[0]
    )
    return states, gates


# ------------------------------------------------------------------ the task


def test_questions_are_padded_with_the_space_whose_id_is_zero():
    assert task.to_ids(["12+3"], 7).tolist() == [[2, 3, 11, 4, 0, 0, 0]]
    assert task.to_text([2, 3, 11, 4, 0]) == "12+3 "


def test_pairs_draw_numbers_of_the_asked_digit_counts_and_their_sums():
    questions, answers = task.pairs(200, seed=3, digits=4, exact=True)
    for q, a in zip(questions, answers, strict=True):
        left, right = q.split("+")
        assert len(left) == len(right) == 4 and int(a) == int(left) + int(right)


def test_the_heldout_questions_are_not_in_the_training_set():
    train = set(task.pairs(S.TRAIN_PAIRS, seed=0)[0])
    questions, _ = S.heldout()
    assert len(questions) > 900 and not train & set(questions)


@pytest.mark.parametrize(
    "question, words",
    [
        ("", "must not be empty"),
        ("12x+3", "characters 'x'"),
        ("1=2", "characters '='"),
        ("1" * 16, "at most 15 characters"),
        (12, "must be text"),
    ],
)
def test_a_bad_question_is_refused_naming_what_is_wrong(lstm, question, words):
    with pytest.raises(ConfigError, match=words) as caught:
        S.decode(lstm, question)
    assert caught.value.field == "question"


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        (dict(mode="beam"), "mode", "must be one of inference, teacher"),
        (dict(mode="teacher", teacher="16a"), "teacher", "whole number written in digits"),
        (dict(state=[np.zeros(128)]), "state", "list of 2 vectors"),
        (dict(state=[np.zeros(127), np.zeros(128)]), "state h", "128 finite numbers"),
        (dict(state=[np.zeros(128), np.full(128, np.nan)]), "state c", "finite"),
    ],
)
def test_bad_decoding_arguments_are_refused_naming_the_field(lstm, kwargs, field, words):
    with pytest.raises(ConfigError, match=words) as caught:
        S.decode(lstm, "12+3", **kwargs)
    assert caught.value.field == field


# ------------------------------------------------------------------ exact states


def test_the_encoders_trace_equals_the_oracle_from_zeros(model):
    enc = S.encode(model, "123+45")
    states, gates = oracle(enc.trace)
    np.testing.assert_allclose(enc.trace.h[0], states[0], **TOL)
    for name, gate in gates.items():
        np.testing.assert_allclose(enc.trace.gates[name][0], gate, **TOL)
    assert not any(np.any(s) for s in enc.trace.initial_states[0])


def test_the_handed_over_state_equals_what_kerass_encoder_model_returns(model):
    enc = S.encode(model, "123+45")
    returned = S.parts(model).encoder_model(task.to_ids(["123+45 "], 7))
    returned = returned if isinstance(returned, list) else [returned]
    for mine, theirs in zip(enc.state, returned, strict=True):
        np.testing.assert_allclose(mine, np.asarray(theirs)[0], **TOL)


def test_the_decoder_starts_from_exactly_the_encoders_final_state(model):
    enc, dec = S.encode(model, "507+88"), S.decode(model, "507+88")
    for start, end in zip(dec.trace.initial_states[0], enc.trace.final_states[0], strict=True):
        np.testing.assert_array_equal(start, end)
    assert dec.source == dec.trace.origins[0][0]
    assert dec.source.startswith("encoder returned states [h")


def test_the_decoders_states_and_gates_equal_the_oracle_from_the_handed_over_state(model):
    dec = S.decode(model, "507+88")
    states, gates = oracle(dec.trace)
    np.testing.assert_allclose(dec.trace.h[0], states[0], **TOL)
    if dec.trace.c is not None:
        np.testing.assert_allclose(dec.trace.c[0], states[1], **TOL)
    for name, gate in gates.items():
        np.testing.assert_allclose(dec.trace.gates[name][0], gate, **TOL)


def test_the_decoders_trace_equals_kerass_one_step_decoder_model_run_as_the_loop(model):
    p = S.parts(model)
    dec = S.decode(model, "507+88")
    states = [s[None] for s in dec.initial_state]
    for t, ch in enumerate(dec.fed):
        token = np.array([[task.INDEX[ch]]], np.int32)
        probs, *states = p.decoder_model([token, *(np.asarray(s) for s in states)])
        np.testing.assert_allclose(np.asarray(states[0])[0], dec.trace.h[0, 0, t], **TOL)
        np.testing.assert_allclose(np.asarray(probs)[0, 0], dec.probs[t], **TOL)


def test_the_loop_fed_each_prediction_the_trace_makes(model):
    dec = S.decode(model, "507+88")
    assert dec.fed[1:] == dec.predicted[: len(dec.fed) - 1]
    assert dec.predicted.endswith(task.END) and dec.answer == "595"


def test_teacher_forcing_and_the_loop_have_identical_states_on_a_right_answer(model):
    loop, forced = S.decode(model, "123+45"), S.decode(model, "123+45", mode="teacher")
    assert loop.fed == forced.fed == "=168"
    np.testing.assert_array_equal(loop.trace.h, forced.trace.h)


def test_teacher_forcing_and_the_loop_part_exactly_where_the_loop_first_errs(lstm):
    loop, forced = S.decode(lstm, "999+999"), S.decode(lstm, "999+999", mode="teacher")
    part = next(t for t, (a, b) in enumerate(zip(forced.fed, loop.fed, strict=False)) if a != b)
    np.testing.assert_array_equal(loop.trace.h[0, 0, :part], forced.trace.h[0, 0, :part])
    assert np.abs(loop.trace.h[0, 0, part] - forced.trace.h[0, 0, part]).max() > 1e-3


def test_a_given_state_is_where_the_decoder_starts(lstm):
    state = [np.full(128, 0.1, np.float32), np.zeros(128, np.float32)]
    dec = S.decode(lstm, "12+3", state=state, source="test")
    np.testing.assert_array_equal(dec.trace.initial_states[0][0][0], state[0])
    assert dec.trace.origins == [["test"]]


def test_the_top3_are_the_three_largest_probabilities_in_order(lstm):
    dec = S.decode(lstm, "12+3")
    for row, probs in zip(dec.top(3), dec.probs, strict=True):
        assert [p for _, p in row] == sorted(probs, reverse=True)[:3]


def test_batched_answers_equal_one_question_at_a_time(lstm):
    questions = ["1+1", "999+999", "12+345", "1234+5678", "7+80"]
    assert S.answers(lstm, questions) == [S.decode(lstm, q).answer for q in questions]


def test_the_handoff_map_projects_a_question_where_its_row_lies(lstm):
    found = S.handoff_map(lstm, num=50)
    q = found["questions"][7]
    np.testing.assert_allclose(
        S.project(found, S.encode(lstm, q).state), found["xy"][7], rtol=1e-4, atol=1e-4
    )


# ------------------------------------------------------------------ the shipped figures


def test_the_shipped_lstm_answers_95_percent_of_heldout_questions_exactly(lstm):
    assert S.accuracy(lstm, *S.heldout()) >= 0.95


def test_the_manifests_capacity_is_what_the_shipped_model_measures(lstm):
    assert S.capacity(lstm) == {int(d): a for d, a in S.manifest_entry("lstm")["capacity"].items()}


# ------------------------------------------------------------------ the generated code


@pytest.mark.parametrize("cell, question", [("lstm", "999+999"), ("gru", "123+45")])
def test_the_generated_script_prints_the_pages_answer_and_states(cell, question, tmp_path):
    model = S.load_pretrained(cell)
    path = MODELS_DIR / f"{S.checkpoint_stem(cell)}.keras"
    script = tmp_path / "s2s.py"
    script.write_text(seq2seq_script(cell, question, str(path)))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    dec = S.decode(model, question)
    assert re.search(r"answer: (\S*)", out).group(1) == dec.answer

    def printed(label):
        text = out.split(label)[1].split("]")[0].strip(" [")
        return np.array([float(v) for v in text.split()])

    # printed to 6 decimals (±5e-7), computed in another process (float32 order of operations)
    tol = {"rtol": 1e-5, "atol": 3e-6}
    np.testing.assert_allclose(printed("handed-over h[:8]:"), dec.initial_state[0][:8], **tol)
    np.testing.assert_allclose(
        printed("decoder's last h[:8]:"), dec.trace.h[0, 0, -1, :8], **tol
    )
