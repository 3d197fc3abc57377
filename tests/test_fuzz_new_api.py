"""Generated calls of the training, text and analysis APIs: valid arguments give a result,
an invalid one a ConfigError naming it, never another exception. Each rule is checked once
for sure (the `cases` tables) and in combinations hypothesis draws (see tests/fuzzing.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnnviz
from rnnviz import analysis
from rnnviz.sources.text import charmodel as T
from rnnviz.sources.training.run import TRAIN_LIMITS, load_pretrained
from rnnviz.sources.training.tasks import MAX_SAMPLES, TASKS
from tests.fuzzing import (
    FUZZ,
    NOT_A_NUMBER,
    Arg,
    arguments,
    case_id,
    cases,
    choice,
    expect,
    flag,
    listed,
    number,
    one_changed,
    optional,
    stable_id,
    tagged,
    values,
    whole,
)


class Reached(Exception):
    """Raised where training would start: every argument was accepted."""


TRAIN = {
    "task": choice(list(TASKS)),
    "cell": choice(rnnviz.CELLS),
    "hidden_size": optional(whole(*TRAIN_LIMITS["hidden_size"])),
    "epochs": optional(whole(*TRAIN_LIMITS["epochs"])),
    "seed": whole(*TRAIN_LIMITS["seed"]),
    "stateful": flag(),
}


def _train_checks(monkeypatch, args):
    import rnnviz.sources.training.run as training

    def reached(*_):
        raise Reached

    monkeypatch.setattr(training, "build_model", reached)
    try:
        expect(lambda: rnnviz.train(**values(args)), args)
    except Reached:
        assert all(ok for _, ok in args.values()), f"training started with {args}"


@pytest.mark.parametrize("case", cases(TRAIN), ids=case_id)
def test_train_checks_each_argument_at_its_edges_before_training(monkeypatch, case):
    _train_checks(monkeypatch, one_changed(TRAIN, *case))


@FUZZ
@given(args=arguments(**TRAIN))
def test_train_accepts_valid_arguments_and_names_bad_ones_before_training(monkeypatch, args):
    _train_checks(monkeypatch, args)


MAKE = {"num_samples": whole(1, MAX_SAMPLES, 50), "seed": whole(0, None)}


@pytest.mark.parametrize("case", cases(MAKE), ids=case_id)
def test_task_make_checks_each_argument_at_its_edges(case):
    args = one_changed(MAKE, *case)
    expect(lambda: TASKS["brackets"].make(**values(args)), args)


@pytest.fixture(scope="module")
def run():
    return load_pretrained("remember", "gru")


def test_a_runs_epochs_are_0_to_the_last_or_negative_from_the_end(run):
    done = run.epochs_done
    epoch = whole(-(done + 1), done)
    for value in [*epoch.edges, -(done + 1), -1, 0, done]:
        valid = value in (-(done + 1), -1, 0, done) and type(value) is int
        expect(lambda v=value: run.weights(v), {"epoch": (value, valid)})


RUN_TRACE = {
    "x": listed(
        [None, np.zeros((2, 30, 8)), np.ones((1, 7, 8))],
        ["abc", object(), np.zeros((1, 30, 7)), np.full((1, 30, 8), np.inf)],
    )
}


@pytest.mark.parametrize("case", cases(RUN_TRACE), ids=case_id)
def test_a_runs_trace_takes_inputs_of_its_width_and_names_others(run, case):
    args = one_changed(RUN_TRACE, *case)
    expect(lambda: run.trace(-1, **values(args)), args, {"x": ("x", "inputs")})


# ----- analysis -----------------------------------------------------------------------------

#: Stands for the trace fixture in a drawn argument.
THE_TRACE = object()


@pytest.fixture(scope="module")
def trace():
    # LSTM, 3 batches x 2 samples x 6 steps, 3 units
    return rnnviz.run(rnnviz.RunConfig(cell="lstm", batch_size=2, num_steps=6, hidden_size=3))


INTERVENE = {
    "unit": whole(0, 2),
    "step": whole(0, 5),
    "value": number(-math.inf, math.inf),
    "state": choice(["h", "c"]),
    "batch": whole(0, 2),
    "sample": whole(0, 1),
}


@pytest.mark.parametrize("case", cases(INTERVENE), ids=case_id)
def test_intervene_checks_each_argument_at_its_edges(trace, case):
    args = one_changed(INTERVENE, *case)
    expect(lambda: analysis.intervene(trace, **values(args)), args)


@FUZZ
@given(args=arguments(**INTERVENE))
def test_intervene_accepts_valid_arguments_and_names_bad_ones(trace, args):
    expect(lambda: analysis.intervene(trace, **values(args)), args)


CONNECTIVITY = {"target_step": whole(-6, 5), "batch": whole(0, 2)}


@pytest.mark.parametrize("case", cases(CONNECTIVITY), ids=case_id)
def test_connectivity_checks_each_argument_at_its_edges(trace, case):
    args = one_changed(CONNECTIVITY, *case)
    expect(lambda: analysis.connectivity(trace, **values(args)), args)


MATCH = {
    "units": tagged(
        st.lists(st.integers(0, 2), min_size=1, max_size=4),
        st.one_of(
            st.just([]),
            st.lists(st.sampled_from([-1, 3, 99]), min_size=1, max_size=2),
            st.sampled_from(["a", None, object(), [[0.5, "x"]]]),
        ),
        [0],
        [[], [-1], [3], "a", None, [[0.5, "x"]]],
        [[2], [0, 1, 2], np.array([1, 2])],
    ),
    "start": whole(0, 17),  # the 18 steps of the 3 batches end to end
    "end": whole(0, 17),
    "threshold": number(-math.inf, math.inf),
    "sample": whole(0, 1),
}


def _match_checks(trace, args):
    (start, start_ok), (end, end_ok) = args["start"], args["end"]
    if start_ok and end_ok and end < start:
        args["end"] = (end, False)  # the range's end comes at or after its start
    expect(lambda: analysis.match(trace, **values(args)), args)


@pytest.mark.parametrize("case", cases(MATCH), ids=case_id)
def test_match_checks_each_argument_at_its_edges(trace, case):
    _match_checks(trace, one_changed(MATCH, *case))


@FUZZ
@given(args=arguments(**MATCH))
def test_match_accepts_valid_arguments_and_names_bad_ones(trace, args):
    _match_checks(trace, args)


PCA = {
    "traces": listed([THE_TRACE], [None, "trace", 3, [], [None]]),
    "state": choice(["h", "c"]),
    "n": whole(1, 3),
}


@pytest.mark.parametrize("case", cases(PCA), ids=case_id)
def test_pca_checks_each_argument_at_its_edges(trace, case):
    args = one_changed(PCA, *case)
    given = {**values(args)}
    if given["traces"] is THE_TRACE:
        given["traces"] = trace
    expect(lambda: analysis.pca(**given), args)


RANK = {
    "values": listed(
        [np.linspace(0, 1, 36).reshape(3, 2, 6)],
        [None, "abc", np.zeros(5), np.full((3, 2, 6), np.nan), np.zeros(36)],
    ),
    "state": choice(["h", "c"]),
}


@pytest.mark.parametrize("case", cases(RANK), ids=case_id)
def test_rank_units_checks_each_argument_at_its_edges(trace, case):
    args = one_changed(RANK, *case)
    expect(lambda: analysis.rank_units(trace, **values(args)), args)


@pytest.mark.parametrize("other", [None, "trace", 3, np.zeros((2, 2)), object()], ids=stable_id)
def test_compare_names_b_when_it_is_not_a_trace(trace, other):
    expect(lambda: analysis.compare(trace, other), {"b": (other, False)})


# ----- the char model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def char_model():
    return T.load_char_model("simple_rnn")


def texts(limit: int) -> Arg:
    """Any string of 1..limit characters (unknown characters read as UNKNOWN) is valid."""
    invalid = ["", "x" * (limit + 1), None, 3, b"bytes", ["a"]]
    return tagged(
        st.text(min_size=1, max_size=30),
        st.one_of(st.sampled_from(invalid), NOT_A_NUMBER.filter(lambda v: not isinstance(v, str))),
        "def f(x):\n    return x",
        invalid,
        ["a", "\ufffd☃", "x" * limit],
    )


GENERATE = {
    "prime": texts(T.MAX_TEXT),
    "length": whole(1, T.MAX_GENERATE, 5),
    "temperature": number(0.01, 10),
    "seed": whole(0, None),
}


@pytest.mark.parametrize("case", cases(GENERATE), ids=case_id)
def test_generate_checks_each_argument_at_its_edges(char_model, case):
    args = one_changed(GENERATE, *case)
    expect(lambda: T.generate(char_model, **values(args)), args)


@FUZZ
@given(args=arguments(**GENERATE))
def test_generate_accepts_valid_arguments_and_names_bad_ones(char_model, args):
    expect(lambda: T.generate(char_model, **values(args)), args)


TEXT = {"text": texts(T.MAX_TEXT)}


@pytest.mark.parametrize("case", cases(TEXT), ids=case_id)
def test_trace_text_accepts_any_text_and_names_what_is_not_one(char_model, case):
    args = one_changed(TEXT, *case)
    expect(lambda: T.trace_text(char_model, **values(args)), args)


@pytest.mark.parametrize("case", [*cases(TEXT), ("text", "x", False)], ids=case_id)
def test_bits_per_char_needs_two_characters_and_names_what_is_not_a_text(char_model, case):
    args = one_changed(TEXT, *case)
    text, ok = args["text"]
    args["text"] = (text, ok and len(text) >= 2)  # one character leaves nothing to predict
    expect(lambda: T.bits_per_char(char_model, **values(args)), args)


@FUZZ
@given(args=arguments(**TEXT))
def test_text_functions_take_any_drawn_text(char_model, args):
    expect(lambda: T.trace_text(char_model, **values(args)), args)
