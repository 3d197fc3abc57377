"""trace_layer traces a user's own Keras layer with its own weights and settings."""

import keras
import numpy as np
import pytest

import rnnviz
from tests.test_oracle import check_against_oracle


def test_traces_an_existing_gru_with_its_weights_and_reset_after():
    layer = keras.layers.GRU(4, reset_after=False, return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x))
    trace = rnnviz.trace_layer(layer, x)
    np.testing.assert_allclose(trace.output(0, "output"), expected, rtol=1e-5, atol=1e-6)
    assert trace.config.reset_after is False
    check_against_oracle(trace)


def test_traces_consecutive_batches_statefully():
    layer = keras.layers.LSTM(3)
    x = np.random.default_rng(1).normal(size=(3, 2, 4, 2)).astype("float32")
    layer.build((None, 4, 2))
    trace = rnnviz.trace_layer(layer, x, stateful=True)
    np.testing.assert_array_equal(trace.initial_states[1][1], trace.final_states[0][1])
    check_against_oracle(trace)


def test_refuses_what_it_cannot_trace():
    with pytest.raises(rnnviz.ConfigError, match="layer=Dense"):
        rnnviz.trace_layer(keras.layers.Dense(2), np.zeros((1, 2, 2)))
    backwards = keras.layers.LSTM(2, go_backwards=True)
    backwards.build((None, 3, 1))
    with pytest.raises(rnnviz.ConfigError, match="go_backwards"):
        rnnviz.trace_layer(backwards, np.zeros((1, 3, 1)))
