"""Junk arguments to the core API (RunConfig, run, trace_layer, keras_code): a result or a
ConfigError that names a field, never another exception (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import rnnviz
from rnnviz.core.config import LIMITS
from tests.test_fuzz_new_api import FUZZ, JUNK, refused_or_fine

FIELDS = {
    "cell": st.sampled_from(rnnviz.CELLS),
    "batch_size": st.integers(1, 3),
    "num_steps": st.integers(1, 4),
    "num_features": st.integers(1, 2),
    "hidden_size": st.integers(1, 3),
    "num_batches": st.integers(1, 3),
    "return_sequences": st.booleans(),
    "return_state": st.booleans(),
    "stateful": st.booleans(),
    "signal": st.sampled_from([s for s in rnnviz.SIGNALS if s != "answer_002"]),
    "initial_state": st.sampled_from(rnnviz.INITIAL_STATES),
    "seed": st.integers(0, 5),
    "reset_after": st.booleans(),
    "reset_before": st.just(()),
}
HUGE = st.sampled_from([10**6, 10**12, 2**63, -(2**63), LIMITS["hidden_size"][1] + 1])


@st.composite
def field_values(draw):
    """Mostly valid fields, one or two replaced by junk, huge numbers or lists."""
    values = {name: draw(strategy) for name, strategy in FIELDS.items()}
    for name in draw(st.lists(st.sampled_from(list(FIELDS)), min_size=1, max_size=2)):
        values[name] = draw(st.one_of(JUNK, HUGE, st.lists(st.integers(-2, 5), max_size=3)))
    return values


@FUZZ
@given(values=field_values())
def test_run_config_refuses_every_bad_field(values):
    refused_or_fine(lambda: rnnviz.RunConfig(**values))


@FUZZ
@given(values=field_values())
def test_keras_code_refuses_every_bad_field(values):
    refused_or_fine(lambda: rnnviz.keras_code(rnnviz.RunConfig(**values)))


@FUZZ
@given(
    inputs=st.one_of(JUNK, st.just(np.zeros((3, 2, 5, 1))), st.just(np.full((3, 2, 5, 1), np.nan))),
    weights=st.one_of(JUNK, st.just([np.zeros((1, 32))] * 3)),
    initial=st.one_of(JUNK, st.just([np.zeros((2, 8))] * 2), st.just([np.zeros((2, 9))] * 2)),
)
def test_run_refuses_arrays_of_the_wrong_kind_or_shape(inputs, weights, initial):
    refused_or_fine(lambda: rnnviz.run(rnnviz.RunConfig(), inputs, weights, initial))


@FUZZ
@given(cfg=JUNK)
def test_run_refuses_what_is_not_a_run_config(cfg):
    refused_or_fine(lambda: rnnviz.run(cfg))


@FUZZ
@given(
    layer=JUNK,
    x=st.one_of(JUNK, st.just(np.zeros((2, 4, 3))), st.just(np.zeros((2, 4)))),
    stateful=st.one_of(JUNK, st.booleans()),
)
def test_trace_layer_refuses_what_it_cannot_trace(layer, x, stateful):
    refused_or_fine(lambda: rnnviz.trace_layer(layer, x, stateful=stateful))


def test_trace_layer_refuses_inputs_of_the_wrong_width_for_a_real_layer():
    import keras

    layer = keras.layers.GRU(2)
    layer.build((None, 4, 3))
    for x in (np.zeros((2, 4, 5)), np.zeros((2, 4)), "abc", None):
        refused_or_fine(lambda x=x: rnnviz.trace_layer(layer, x))


def test_trace_layer_refuses_a_stateful_that_is_not_a_bool():
    import keras
    import pytest

    layer = keras.layers.LSTM(2)
    layer.build((None, 3, 1))
    with pytest.raises(rnnviz.ConfigError, match=r"^stateful="):
        rnnviz.trace_layer(layer, np.zeros((1, 3, 1)), stateful="yes")
