"""The char-model API on a tiny model built here (the shipped ones are tested in
test_text_models.py): exact traces, probabilities, bits per character, generation."""

import keras
import numpy as np
import pytest

import rnnviz
from rnnviz.sources.text import charmodel as T
from tests.helpers import TOL
from tests.test_oracle import check_against_oracle

VOCAB = [T.UNKNOWN, "\n", " ", "(", ")", ":", "a", "d", "e", "f", "r", "t", "x"]
SAMPLE = "def f(x):\n    return (x)\n" * 9  # 225 characters: three windows of 100


@pytest.fixture(scope="module", params=["lstm", "gru", "simple_rnn"])
def tiny(request):
    keras.utils.set_random_seed(0)
    model = T.build_model(request.param, len(VOCAB), units=6, embedding=4, batch_size=1)
    model.build((1, None))
    # The embedding's initial values are tiny (±0.05): larger ones make the states move.
    weights = model.get_weights()
    model.set_weights([weights[0] * 20, *weights[1:]])
    return T.CharModel(VOCAB, request.param, model, {})


def keras_layer_outputs(cm, text):
    """The recurrent layer's h and the model's logits for every character, from Keras, each
    in one pass over the whole text."""
    stateless = T.build_model(cm.cell, len(cm.vocab), cm.units, 4, batch_size=1)
    stateless.set_weights(cm.model.get_weights())
    probe = keras.Model(stateless.inputs, stateless.get_layer("rnn").output)
    ids = cm.encode(text)[None]
    stateless.get_layer("rnn").reset_state()  # the layer is stateful: start each pass at 0
    h = probe(ids).numpy()[0]
    stateless.get_layer("rnn").reset_state()
    return h, stateless(ids).numpy()[0]


def test_characters_outside_the_vocabulary_map_to_the_unknown_id(tiny):
    ids = tiny.encode("fé<x")
    np.testing.assert_array_equal(ids, [VOCAB.index("f"), 0, 0, VOCAB.index("x")])
    assert tiny.decode(ids) == "f\ufffd\ufffdx"


def test_trace_text_in_windows_equals_one_keras_pass_over_the_whole_text(tiny):
    trace = T.trace_text(tiny, SAMPLE)
    assert trace.h.shape == (3, 1, 100, 6)
    h, _ = keras_layer_outputs(tiny, SAMPLE)
    np.testing.assert_allclose(T.text_states(trace, len(SAMPLE)), h, **TOL)
    check_against_oracle(trace)


def test_trace_text_labels_each_step_with_its_character_and_padding_with_nothing(tiny):
    trace = T.trace_text(tiny, SAMPLE)
    labels = trace.labels.ravel()
    assert "".join(labels[: len(SAMPLE)]) == SAMPLE
    assert set(labels[len(SAMPLE) :]) == {""}


def test_next_char_probs_are_the_models_softmax_and_rows_sum_to_1(tiny):
    probs = T.next_char_probs(tiny, SAMPLE)
    assert probs.shape == (len(SAMPLE), len(VOCAB))
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    _, logits = keras_layer_outputs(tiny, SAMPLE)
    expected = keras.ops.softmax(logits).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-6)


def test_bits_per_char_is_the_mean_of_minus_log2_of_the_picked_probabilities(tiny):
    probs = T.next_char_probs(tiny, SAMPLE)
    ids = tiny.encode(SAMPLE)
    expected = -np.mean(np.log2(probs[np.arange(len(ids) - 1), ids[1:]].astype(np.float64)))
    assert T.bits_per_char(tiny, SAMPLE) == pytest.approx(expected, rel=1e-9)


def test_generate_is_deterministic_per_seed_and_differs_across_seeds(tiny):
    a = T.generate(tiny, "def ", 60, temperature=1.0, seed=1)
    b = T.generate(tiny, "def ", 60, temperature=1.0, seed=1)
    c = T.generate(tiny, "def ", 60, temperature=1.0, seed=2)
    assert a == b and a != c
    assert len(a) == 60 and T.UNKNOWN not in a and set(a) <= set(VOCAB)


def test_windows_put_each_streams_continuation_in_the_same_row_of_the_next_batch():
    ids = np.arange(2 * 3 * 4 + 1)
    x, y = T.windows(ids, streams=2, window=4)
    # Stream 0 is ids 0..11, stream 1 ids 12..23: batch k = rows 2k, 2k+1.
    np.testing.assert_array_equal(x[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(x[1], [12, 13, 14, 15])
    np.testing.assert_array_equal(x[2], [4, 5, 6, 7])
    np.testing.assert_array_equal(y[0], [1, 2, 3, 4])


def test_corpus_files_are_split_by_file_and_match_their_recorded_hashes():
    import hashlib

    train, val = T.split_files()
    assert set(train).isdisjoint(val) and len(val) == 9
    texts = T.corpus()
    for line in T.FILES_PATH.read_text().splitlines()[1:]:
        sha, chars, name = line.split()
        assert hashlib.sha256(texts[name].encode()).hexdigest() == sha
        assert len(texts[name]) == int(chars)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda cm: T.trace_text(cm, ""), "text"),
        (lambda cm: T.trace_text(cm, "x" * (T.MAX_TEXT + 1)), "text"),
        (lambda cm: T.trace_text(cm, 42), "text"),
        (lambda cm: T.bits_per_char(cm, "x"), "text"),
        (lambda cm: T.generate(cm, "x", 10, temperature=0), "temperature"),
        (lambda cm: T.generate(cm, "x", 10, temperature=-1.0), "temperature"),
        (lambda cm: T.generate(cm, "x", 10, temperature=float("nan")), "temperature"),
        (lambda cm: T.generate(cm, "x", 0), "length"),
        (lambda cm: T.generate(cm, "x", T.MAX_GENERATE + 1), "length"),
        (lambda cm: T.generate(cm, "", 10), "prime"),
        (lambda cm: T.load_char_model("transformer"), "cell"),
    ],
)
def test_bad_input_is_a_config_error_naming_the_field(tiny, call, field):
    with pytest.raises(rnnviz.ConfigError, match=rf"^{field}="):
        call(tiny)


def test_bits_per_char_with_a_given_trace_equals_a_fresh_one(tiny):
    trace = T.trace_text(tiny, SAMPLE)
    assert T.bits_per_char(tiny, SAMPLE, trace) == T.bits_per_char(tiny, SAMPLE)
