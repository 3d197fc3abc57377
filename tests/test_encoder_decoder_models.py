"""Users' models with several inputs, whose recurrent layer starts from a state another layer
computes: an encoder's returned states (lstm_seq2seq), a Dense (an image feature into a
captioning LSTM), an Input. The decoder's trace equals the NumPy recurrence started from the
initial state Keras gives it, and Keras's own decoder outputs; the trace says where that state
came from; bad inputs are refused naming the input and the shape it expects."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import rnnviz
from rnnviz.core.config import ConfigError
from rnnviz.sources.usermodels.models import layer_inputs, layer_summaries, model_inputs
from tests.oracle import recur_masked
from tests.test_trace_model import TOL, oracle_check

RNG = np.random.default_rng(19)
UNITS = 5


def seq2seq(cell="lstm", mask_zero=False, vocab=9):
    """Keras's lstm_seq2seq with Embedding inputs: encoder states → decoder initial_state."""
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    keras.utils.set_random_seed(3)
    question = keras.Input((None,), dtype="int32", name="question")
    x = keras.layers.Embedding(vocab, 4, mask_zero=mask_zero, name="q_embed")(question)
    _, *states = rnn(UNITS, return_state=True, name="encoder")(x)
    so_far = keras.Input((None,), dtype="int32", name="so_far")
    y = keras.layers.Embedding(vocab, 4, mask_zero=mask_zero, name="a_embed")(so_far)
    y, *_ = rnn(UNITS, return_sequences=True, return_state=True, name="decoder")(
        y, initial_state=states
    )
    out = keras.layers.Dense(vocab, activation="softmax", name="next")(y)
    return keras.Model([question, so_far], out)


def captioner():
    """An image feature through Dense gives the LSTM's [h, c]; the LSTM reads word vectors."""
    keras.utils.set_random_seed(4)
    image = keras.Input((6,), name="image")
    h0 = keras.layers.Dense(UNITS, activation="tanh", name="to_h")(image)
    c0 = keras.layers.Dense(UNITS, name="to_c")(image)
    words = keras.Input((7, 3), name="words")
    y = keras.layers.LSTM(UNITS, return_sequences=True, name="captioner")(
        words, initial_state=[h0, c0]
    )
    return keras.Model([image, words], keras.layers.Dense(2, name="out")(y))


def given_state():
    """The GRU's initial state is an input of the model."""
    keras.utils.set_random_seed(5)
    h0 = keras.Input((UNITS,), name="h0")
    seq = keras.Input((6, 3), name="seq")
    y = keras.layers.GRU(UNITS, name="gru")(seq, initial_state=h0)
    return keras.Model([seq, h0], y)


def example_input(shape, dtype, batch=2):
    """A batch for an input of this shape (4 steps where any length goes)."""
    size = (batch, *(4 if n is None else n for n in shape[1:]))
    if "int" in dtype:
        return RNG.integers(1, 9, size).astype(dtype)
    return RNG.normal(size=size).astype(dtype)


def ids(batch, steps, vocab=9, low=1):
    return RNG.integers(low, vocab, (batch, steps)).astype("int32")


def keras_layer_outputs(model, name, x):
    """What Keras's own layer returns inside the model: [sequence, *states]."""
    out = keras.Model(model.inputs, model.get_layer(name).output)(x)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_decoder_starts_from_the_states_its_encoder_returned(cell):
    model = seq2seq(cell)
    x = [ids(3, 6), ids(3, 4)]
    trace = rnnviz.trace_model(model, x, "decoder")
    _, *returned = keras_layer_outputs(model, "encoder", x)
    for mine, theirs in zip(trace.initial_states[0], returned, strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_decoders_states_and_gates_equal_the_oracle_from_that_initial_state(cell):
    model = seq2seq(cell)
    trace = rnnviz.trace_model(model, [ids(3, 6), ids(3, 4)], "decoder")
    assert np.abs(trace.initial_states[0][0]).max() > 0.01  # not zeros: the test can fail
    oracle_check(trace)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_decoders_trace_equals_what_keras_returns_from_the_decoder(cell):
    model = seq2seq(cell)
    x = [ids(2, 6), ids(2, 5)]
    trace = rnnviz.trace_model(model, x, "decoder")
    sequence, *final = keras_layer_outputs(model, "decoder", x)
    np.testing.assert_allclose(trace.h[0], sequence, **TOL)
    np.testing.assert_allclose(trace.h[0][:, -1], final[0], **TOL)
    if cell == "lstm":
        np.testing.assert_allclose(trace.c[0][:, -1], final[1], **TOL)


def test_a_decoder_called_with_initial_state_gets_no_mask_from_its_embedding_as_in_keras():
    # Keras 3 fills `mask` only for a layer called with one tensor argument; with
    # `initial_state=` the decoder reads its padding. The trace shows what Keras computes.
    model = seq2seq("lstm", mask_zero=True)
    question, answer = ids(2, 6), ids(2, 5)
    answer[1, 3:] = 0
    trace = rnnviz.trace_model(model, [question, answer], "decoder")
    assert trace.mask is None
    oracle_check(trace)
    _, *final = keras_layer_outputs(model, "decoder", [question, answer])
    np.testing.assert_allclose(trace.h[0][:, -1], final[0], **TOL)
    assert np.abs(trace.h[0][1, -1] - trace.h[0][1, 2]).max() > 1e-3  # padding moved it


def test_a_masked_encoder_hands_over_the_state_of_its_last_real_step():
    model = seq2seq("lstm", mask_zero=True)
    question = ids(2, 6)
    question[0, 3:] = 0
    x = [question, ids(2, 4)]
    encoder = rnnviz.trace_model(model, x, "encoder")
    decoder = rnnviz.trace_model(model, x, "decoder")
    np.testing.assert_allclose(decoder.initial_states[0][0][0], encoder.h[0][0, 2], **TOL)
    np.testing.assert_allclose(decoder.initial_states[0][1][0], encoder.c[0][0, 2], **TOL)


def test_an_lstm_whose_initial_state_a_dense_computes_starts_from_that_dense_output():
    model = captioner()
    image, words = RNG.normal(size=(2, 6)).astype("float32"), RNG.normal(size=(2, 7, 3))
    trace = rnnviz.trace_model(model, {"image": image, "words": words}, "captioner")
    h0 = np.asarray(model.get_layer("to_h")(image))
    c0 = np.asarray(model.get_layer("to_c")(image))
    np.testing.assert_allclose(trace.initial_states[0][0], h0, **TOL)
    np.testing.assert_allclose(trace.initial_states[0][1], c0, **TOL)
    oracle_check(trace)


def test_a_gru_whose_initial_state_is_a_model_input_starts_from_that_input():
    model = given_state()
    h0 = RNG.normal(size=(2, UNITS)).astype("float32")
    seq = RNG.normal(size=(2, 6, 3)).astype("float32")
    trace = rnnviz.trace_model(model, [seq, h0], "gru")
    np.testing.assert_array_equal(trace.initial_states[0][0], h0)
    states, _ = recur_masked("gru", seq, trace.weights, [h0], np.ones((2, 6), bool))
    np.testing.assert_allclose(trace.h[0], states[0], **TOL)


@pytest.mark.parametrize(
    "make, path, origin",
    [
        (lambda: seq2seq("lstm"), "decoder", "`encoder` returned states [h, c]"),
        (lambda: seq2seq("gru"), "decoder", "`encoder` returned states [h]"),
        (lambda: seq2seq("lstm"), "encoder", "initial state (zeros)"),
        (captioner, "captioner", "`to_h` output; `to_c` output"),
        (given_state, "gru", "input `h0`"),
    ],
    ids=["lstm-decoder", "gru-decoder", "encoder", "dense", "input"],
)
def test_the_trace_says_where_its_initial_state_came_from(make, path, origin):
    model = make()
    x = [example_input(shape, dtype) for _, shape, dtype in model_inputs(model)]
    trace = rnnviz.trace_model(model, x, path)
    assert trace.origins == [[origin, origin]]


def test_the_layer_list_names_the_decoder_and_says_which_layers_return_their_state():
    summaries = {s.path: s for s in layer_summaries(seq2seq("lstm"))}
    assert list(summaries) == ["encoder", "decoder"] == rnnviz.recurrent_layers(seq2seq("lstm"))
    assert summaries["encoder"].return_state and not summaries["encoder"].return_sequences
    assert summaries["decoder"].initial_state == "`encoder` returned states [h, c]"
    assert summaries["encoder"].initial_state is None
    assert "return_state" in summaries["encoder"].describe()


def test_a_dict_by_input_name_gives_the_same_trace_as_a_list_in_input_order():
    model = seq2seq("gru")
    x = [ids(2, 6), ids(2, 4)]
    by_list = rnnviz.trace_model(model, x, "decoder")
    by_name = rnnviz.trace_model(model, {"so_far": x[1], "question": x[0]}, "decoder")
    np.testing.assert_array_equal(by_list.h, by_name.h)


def test_the_compiled_capture_of_a_later_call_gives_the_same_initial_state_as_the_first():
    model = seq2seq("lstm")
    x = [ids(2, 6), ids(2, 4)]
    layer = model.get_layer("decoder")
    first = layer_inputs(model, x, layer)[0]
    second = layer_inputs(model, x, layer)[0]
    third = layer_inputs(model, x, layer)[0]  # compiled from the second call on
    for a, b in zip(first["initial_state"], third["initial_state"], strict=True):
        np.testing.assert_allclose(a, b, **TOL)
    np.testing.assert_allclose(first["inputs"], second["inputs"], **TOL)
    np.testing.assert_allclose(first["inputs"], third["inputs"], **TOL)


def test_the_model_output_rebuilt_from_a_decoder_trace_is_the_models_own():
    from rnnviz.sources.usermodels.models import outputs_with_trace

    model = seq2seq("lstm")
    x = [ids(2, 6), ids(2, 4)]
    trace = rnnviz.trace_model(model, x, "decoder")
    np.testing.assert_allclose(
        outputs_with_trace(model, x, "decoder", trace), np.asarray(model(x)), **TOL
    )


@pytest.mark.parametrize(
    "x, field, words",
    [
        (lambda: [ids(2, 6)], "x", "must give the model's 2 inputs: question, so_far"),
        (lambda: ids(2, 6), "x", "must give the model's 2 inputs"),
        (lambda: [ids(2, 6), ids(2, 4), ids(2, 4)], "x", "must give the model's 2 inputs"),
        (lambda: {"question": ids(2, 6), "answer": ids(2, 4)}, "x", "must be named by"),
        (lambda: {"question": ids(2, 6)}, "x", "must give every input"),
        (lambda: [ids(2, 6), ids(2, 4, vocab=12)], "x['so_far']", "token ids: whole numbers"),
        (lambda: [ids(2, 6)[..., None], ids(2, 4)], "x['question']", r"shape the model expects"),
        (lambda: [ids(2, 6).astype(str), ids(2, 4)], "x['question']", "must hold numbers"),
        (lambda: [ids(2, 6), ids(3, 4)], "x", "same batch size"),
    ],
    ids=["one", "bare", "three", "unknown", "missing", "range", "shape", "dtype", "batch"],
)
def test_bad_inputs_to_a_two_input_model_are_refused_naming_the_input(x, field, words):
    with pytest.raises(ConfigError, match=words) as caught:
        rnnviz.trace_model(seq2seq("lstm"), x(), "decoder")
    assert caught.value.field == field


def test_a_saved_encoder_decoder_opens_through_the_worker_and_traces_the_same(tmp_path):
    from rnnviz.sources.usermodels.loader import LoadWorker

    model = seq2seq("lstm", mask_zero=True)
    path = tmp_path / "s2s.keras"
    model.save(path)
    x = [ids(2, 6), ids(2, 4)]
    worker = LoadWorker()
    try:
        loaded = rnnviz.load_model(path, worker=worker)
    finally:
        worker.close()
    mine, theirs = (rnnviz.trace_model(m, x, "decoder") for m in (model, loaded))
    np.testing.assert_array_equal(mine.h, theirs.h)
    assert theirs.origins[0][0] == "`encoder` returned states [h, c]"
