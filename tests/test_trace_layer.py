"""trace_layer traces a user's own Keras layer with its own weights and settings."""

import dataclasses

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


@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize(
    "cls", [keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN], ids=lambda c: c.__name__
)
def test_a_go_backwards_layer_is_traced_in_the_order_keras_processes_the_steps(cls, stateful):
    layer = cls(4, go_backwards=True, return_sequences=True)
    x = np.random.default_rng(6).normal(size=(2, 2, 5, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x[0]))
    trace = rnnviz.trace_layer(layer, x, stateful=stateful)
    np.testing.assert_allclose(trace.h[0], expected, rtol=1e-5, atol=1e-6)
    assert trace.layer_config["go_backwards"] is True
    # Step t of the trace is the layer's t-th step: the oracle, fed the steps reversed.
    check_against_oracle(dataclasses.replace(trace, inputs=trace.inputs[:, :, ::-1]))


def test_the_backward_half_of_a_bidirectional_is_traced_exactly():
    from rnnviz.sources.usermodels.models import find_recurrent_layer

    inputs = keras.Input((6, 2))
    bidi = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), name="bidi")
    model = keras.Model(inputs, bidi(inputs))
    x = np.random.default_rng(7).normal(size=(2, 6, 2)).astype("float32")
    trace = rnnviz.trace_layer(find_recurrent_layer(model, "bidi/backward"), x)
    out = model.predict(x, verbose=0)
    # Bidirectional flips the backward half's outputs back into the original step order.
    np.testing.assert_allclose(trace.h[0][:, ::-1], out[..., 3:], rtol=1e-5, atol=1e-6)


CELLS = [keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN]


@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_a_layer_without_a_bias_is_traced_exactly(cls):
    layer = cls(4, use_bias=False, return_sequences=True)
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x))
    trace = rnnviz.trace_layer(layer, x)
    np.testing.assert_allclose(trace.h[0], expected, rtol=1e-5, atol=1e-6)
    assert not trace.weights[2].any()  # traced with a bias of zeros: the same numbers
    assert trace.layer_config["use_bias"] is False
    check_against_oracle(trace)


@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_an_unrolled_layer_is_traced_exactly(cls):
    inputs = keras.Input((5, 3))
    layer = cls(4, unroll=True, return_sequences=True)
    model = keras.Model(inputs, layer(inputs))  # an unrolled layer needs its steps fixed
    x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype("float32")
    trace = rnnviz.trace_layer(layer, x)
    np.testing.assert_allclose(trace.h[0], model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert trace.layer_config["unroll"] is True
    check_against_oracle(trace)


@pytest.mark.parametrize(
    "activation", ["relu", "sigmoid", "hard_sigmoid", "linear", "softsign", "elu", "tanh"]
)
@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_every_string_activation_is_traced_as_keras_computes_it(cls, activation):
    layer = cls(3, activation=activation, return_sequences=True)
    x = np.random.default_rng(4).normal(size=(2, 4, 2)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(rnnviz.trace_layer(layer, x).h[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", CELLS[:2], ids=lambda c: c.__name__)
def test_a_hard_sigmoid_recurrent_activation_is_traced_as_keras_computes_it(cls):
    layer = cls(3, recurrent_activation="hard_sigmoid", return_sequences=True)
    x = np.random.default_rng(5).normal(size=(2, 4, 2)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(rnnviz.trace_layer(layer, x).h[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_a_mask_keeps_the_state_at_masked_steps_as_keras_does(cls, go_backwards):
    layer = cls(3, return_state=True, go_backwards=go_backwards)
    x = np.random.default_rng(8).normal(size=(2, 6, 2)).astype("float32")
    mask = np.array([[0, 1, 1, 0, 1, 0], [1, 1, 1, 1, 0, 0]], bool)
    final = keras.ops.convert_to_numpy(layer(x, mask=mask)[1])
    trace = rnnviz.trace_layer(layer, x, mask=mask)
    np.testing.assert_allclose(trace.final_states[0][0], final, rtol=1e-5, atol=1e-6)
    order = mask[:, ::-1] if go_backwards else mask
    np.testing.assert_array_equal(trace.mask[0], order)
    for sample, before in np.argwhere(~order[:, 1:]):  # masked steps after the first
        np.testing.assert_array_equal(trace.h[0, sample, before + 1], trace.h[0, sample, before])


def test_a_wrongly_shaped_mask_is_refused_naming_the_shape_it_needs():
    layer = keras.layers.GRU(2)
    layer.build((None, None, 2))
    with pytest.raises(rnnviz.ConfigError, match=r"mask=shape \(1, 2, 5\).*\(1, 2, 6\)"):
        rnnviz.trace_layer(layer, np.zeros((2, 6, 2)), mask=np.ones((2, 5), bool))


@pytest.mark.parametrize(
    "dtype,tol",
    [("float64", {"rtol": 1e-6, "atol": 1e-7}), ("mixed_float16", {"rtol": 0, "atol": 0})],
)
@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_a_layer_is_traced_in_its_own_dtype_and_stored_as_float32(cls, dtype, tol):
    layer = cls(4, return_sequences=True, dtype=dtype)
    x = np.random.default_rng(9).normal(size=(2, 5, 3)).astype("float32")
    layer.build((None, None, 3))
    layer.set_weights([w.astype(np.float32) for w in layer.get_weights()])  # float32-exact
    expected = keras.ops.convert_to_numpy(layer(x)).astype(np.float32)
    trace = rnnviz.trace_layer(layer, x)
    assert trace.h.dtype == np.float32
    # float16 computes the same ops in the same order: bit for bit; float64 to its rounding
    np.testing.assert_allclose(trace.h[0], expected, **tol)


@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_dropout_is_not_applied_because_a_trace_is_inference(cls):
    layer = cls(4, return_sequences=True, dropout=0.5, recurrent_dropout=0.5)
    x = np.random.default_rng(10).normal(size=(2, 5, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(rnnviz.trace_layer(layer, x).h[0], expected, rtol=1e-5, atol=1e-6)
