"""Generated calls of the core API (RunConfig, run, trace_layer, keras_code): every call with
valid arguments succeeds; every call with an invalid one raises a ConfigError naming it,
never another exception. Each rule is checked once for sure (the `cases` tables) and then
in combinations hypothesis draws (see tests/fuzzing.py)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnnviz
from rnnviz.core.config import LIMITS
from tests.fuzzing import (
    FUZZ,
    arguments,
    case_id,
    cases,
    choice,
    expect,
    flag,
    listed,
    one_changed,
    stable_id,
    tagged,
    values,
    whole,
)

#: Valid draws stay small (a trace per example); invalid ones reach past the real limits.
SMALL = {"batch_size": 3, "num_steps": 4, "num_features": 2, "hidden_size": 3, "num_batches": 3}
CONFIG = {
    "cell": choice(rnnviz.CELLS),
    **{name: whole(lo, hi, SMALL.get(name, 5)) for name, (lo, hi) in LIMITS.items()},
    "return_sequences": flag(),
    "return_state": flag(),
    "stateful": flag(),
    "signal": choice([s for s in rnnviz.SIGNALS if s != "answer_002"]),
    "initial_state": choice(rnnviz.INITIAL_STATES),
    "reset_after": flag(),
    # At the examples num_batches is 1, so no batch index is valid; hypothesis draws
    # reset_before against the num_batches it drew (config_arguments).
    "reset_before": tagged(
        st.just([]),
        st.just([0]),
        [],
        [[0], [1], [-1], ["1"], [1.0], [True], "1", 1, None],
        [()],
    ),
}


@pytest.mark.parametrize("case", cases(CONFIG), ids=case_id)
def test_run_config_checks_each_field_at_its_edges(case):
    args = one_changed(CONFIG, *case)
    expect(lambda: rnnviz.RunConfig(**values(args)), args)


@st.composite
def config_arguments(draw):
    """RunConfig fields, all valid or one or two broken; reset_before follows the drawn
    num_batches (its valid indices are 1 .. num_batches - 1, in any order)."""
    args = draw(arguments(**CONFIG))
    num_batches, ok = args["num_batches"]
    top = int(num_batches) if ok else 3
    valid = st.lists(st.integers(1, top - 1), max_size=3) if top > 1 else st.just([])
    invalid = st.one_of(
        st.lists(st.sampled_from([0, -1, top, top + 5]), min_size=1, max_size=2),
        st.lists(st.sampled_from(["1", 1.0, True, None]), min_size=1, max_size=2),
        st.sampled_from(["1", 1, None, {1: 2}]),
    )
    broken = not args["reset_before"][1]
    args["reset_before"] = (draw(invalid), False) if broken else (draw(valid), True)
    return args


@FUZZ
@given(args=config_arguments())
def test_run_config_accepts_every_valid_field_and_names_every_invalid_one(args):
    expect(lambda: rnnviz.RunConfig(**values(args)), args)


def test_run_config_reads_numpy_whole_numbers_and_flags_as_python_ones():
    cfg = rnnviz.RunConfig(batch_size=np.int64(3), stateful=np.bool_(True))
    assert (cfg.batch_size, type(cfg.batch_size), cfg.stateful, type(cfg.stateful)) == (
        3,
        int,
        True,
        bool,
    )


def test_run_config_reads_reset_before_as_a_set_of_batches():
    assert rnnviz.RunConfig(num_batches=6, reset_before=[5, 1, 5]).reset_before == (1, 5)


@FUZZ
@given(args=config_arguments())
def test_keras_code_writes_a_script_for_every_valid_config(args):
    def call():
        code = rnnviz.keras_code(rnnviz.RunConfig(**values(args)))
        compile(code, "<keras_code>", "exec")

    expect(call, args)


NOT_A_CONFIG = [None, "lstm", 3, {"cell": "lstm"}, rnnviz.RunConfig, object()]


@pytest.mark.parametrize("cfg", NOT_A_CONFIG, ids=stable_id)
def test_keras_code_names_cfg_when_given_anything_but_a_run_config(cfg):
    expect(lambda: rnnviz.keras_code(cfg), {"cfg": (cfg, False)})


@pytest.mark.parametrize("cfg", NOT_A_CONFIG, ids=stable_id)
def test_run_names_cfg_when_given_anything_but_a_run_config(cfg):
    expect(lambda: rnnviz.run(cfg), {"cfg": (cfg, False)})


# ----- run ----------------------------------------------------------------------------------

DEFAULT = rnnviz.RunConfig()  # lstm, 3 batches of 2 samples x 5 steps x 1 feature, 8 units
WRONG_ARRAYS = ["abc", object(), np.zeros((3, 2, 5)), [[1.0, 2.0], [3.0]]]  # the last ragged
GOOD_WEIGHTS = [np.full((1, 32), 0.01), np.full((8, 32), 0.02), np.full((32,), 0.03)]
RUN = {
    "inputs": listed(
        [None, np.arange(30, dtype=np.float32).reshape(3, 2, 5, 1)],
        [*WRONG_ARRAYS, np.full((3, 2, 5, 1), np.nan), np.zeros((3, 2, 5, 2))],
    ),
    "weights": listed(
        [None, GOOD_WEIGHTS],
        [
            *WRONG_ARRAYS,
            [np.zeros((1, 32))] * 3,
            GOOD_WEIGHTS[:2],
            [GOOD_WEIGHTS[0], GOOD_WEIGHTS[1], np.full((32,), np.inf)],
        ],
    ),
    "initial_state": listed(
        [None, [np.ones((2, 8)), -np.ones((2, 8))]],
        [*WRONG_ARRAYS, [np.zeros((2, 9))] * 2, [np.zeros((2, 8))]],
    ),
}


@pytest.mark.parametrize("case", cases(RUN), ids=case_id)
def test_run_checks_each_array_at_its_edges(case):
    args = one_changed(RUN, *case)
    expect(lambda: rnnviz.run(DEFAULT, **values(args)), args)


@FUZZ
@given(args=arguments(**RUN))
def test_run_takes_arrays_of_the_right_shape_and_names_any_other(args):
    expect(lambda: rnnviz.run(DEFAULT, **values(args)), args)


# ----- trace_layer --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gru():
    layer = keras.layers.GRU(2)
    layer.build((None, 4, 3))
    return layer


TRACE_LAYER = {
    "x": listed(
        [np.zeros((2, 4, 3)), np.ones((3, 2, 4, 3)), [[[0.5, 1.0, 2.0]] * 4]],
        [
            *WRONG_ARRAYS,
            np.zeros((2, 4, 5)),
            np.zeros((2, 4)),
            np.full((2, 4, 3), np.inf),
            [[[0.0, 1.0, 2.0]], [[1.0]]],  # ragged
        ],
    ),
    "stateful": flag(),
}


@pytest.mark.parametrize("case", cases(TRACE_LAYER), ids=case_id)
def test_trace_layer_checks_each_argument_at_its_edges(gru, case):
    args = one_changed(TRACE_LAYER, *case)
    expect(lambda: rnnviz.trace_layer(gru, **values(args)), args, {"x": ("x", "inputs")})


@FUZZ
@given(args=arguments(**TRACE_LAYER))
def test_trace_layer_traces_valid_inputs_and_names_invalid_ones(gru, args):
    expect(lambda: rnnviz.trace_layer(gru, **values(args)), args, {"x": ("x", "inputs")})


@pytest.mark.parametrize(
    "layer",
    [None, "lstm", keras.layers.Dense(2), keras.layers.LSTM(2), keras.layers.LSTMCell(2)],
    ids=stable_id,
)
def test_trace_layer_names_layer_when_it_is_not_a_built_recurrent_layer(layer):
    expect(lambda: rnnviz.trace_layer(layer, np.zeros((1, 4, 3))), {"layer": (layer, False)})


def _custom_activation(z):
    return z * 0.5


@pytest.mark.parametrize(
    "kwargs, field, named",
    [
        ({"activation": _custom_activation}, "activation", "_custom_activation"),
        ({"recurrent_activation": lambda z: z}, "recurrent_activation", "<lambda>"),
    ],
)
def test_trace_layer_refuses_a_python_function_as_activation_naming_it(kwargs, field, named):
    layer = keras.layers.LSTM(2, **kwargs)
    layer.build((None, 3, 1))
    with pytest.raises(rnnviz.ConfigError, match=rf"^{field}=the Python function '{named}'"):
        rnnviz.trace_layer(layer, np.zeros((1, 3, 1)))


def test_trace_layer_traces_a_layer_given_a_keras_activation_function_object():
    layer = keras.layers.SimpleRNN(2, activation=keras.activations.relu)
    layer.build((None, 3, 1))
    x = np.arange(6, dtype=np.float32).reshape(2, 3, 1)
    trace = rnnviz.trace_layer(layer, x)
    np.testing.assert_allclose(trace.final_states[0][0], np.asarray(layer(x)), atol=1e-6)


def test_trace_layer_honours_the_mask_an_embedding_attached_to_x():
    ids = np.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    embedded = keras.layers.Embedding(5, 3, mask_zero=True)(ids)
    layer = keras.layers.LSTM(2)
    keras_out = np.asarray(layer(embedded))  # Keras applies the mask it finds on x
    trace = rnnviz.trace_layer(layer, embedded)
    np.testing.assert_array_equal(trace.mask[0], ids != 0)
    np.testing.assert_allclose(trace.final_states[0][0], keras_out, atol=1e-6)
    # the masked steps hold the last real state, as Keras's masked recurrence does
    np.testing.assert_array_equal(trace.h[0, 1, 3], trace.h[0, 1, 0])
