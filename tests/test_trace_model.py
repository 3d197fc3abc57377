"""Benign model files open through the worker and every recurrent layer in them is traced
exactly: the states and gates equal an independent NumPy recurrence (tests/oracle.py)
fed the input Keras gives that layer, with its mask, activations and step order."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import rnnviz
from rnnviz.sources.usermodels.loader import LoadWorker
from tests.oracle import recur_masked

TOL = {"rtol": 1e-5, "atol": 2e-6}
HALF_TOL = {"rtol": 2e-2, "atol": 2e-2}  # mixed_float16 computes in float16
RNG = np.random.default_rng(10)


@pytest.fixture(scope="module")
def worker():
    w = LoadWorker()
    yield w
    w.close()


@pytest.fixture
def roundtrip(tmp_path, worker):
    """Saves a model as .keras (or .h5), opens it with rnnviz.load_model, checks that the
    loaded model computes what the original does, and returns it."""

    def go(model, x, suffix=".keras"):
        path = tmp_path / f"model{suffix}"
        model.save(path)
        loaded = rnnviz.load_model(path, worker=worker)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        return loaded

    return go


def oracle_check(trace, tol=TOL):
    """The trace equals the NumPy recurrence over the layer's input, mask and step order."""
    config = trace.layer_config
    x = trace.inputs[0]
    backwards = bool(config.get("go_backwards", False))
    steps = x[:, ::-1] if backwards else x
    mask = trace.mask[0] if trace.mask is not None else np.ones(x.shape[:2], bool)
    states, gates = recur_masked(
        trace.config.cell,
        steps,
        trace.weights,
        trace.initial_states[0],
        mask,
        trace.config.reset_after,
        config.get("activation", "tanh"),
        config.get("recurrent_activation", "sigmoid"),
    )
    np.testing.assert_allclose(trace.h[0], states[0], **tol)
    if trace.c is not None:
        np.testing.assert_allclose(trace.c[0], states[1], **tol)
    assert set(trace.gates) == set(gates)
    for name, gate in gates.items():
        np.testing.assert_allclose(trace.gates[name][0], gate, **tol)  # NaN where masked


def signal(batch=2, steps=6, features=3):
    return RNG.normal(size=(batch, steps, features)).astype("float32")


def sequential(*layers, steps=6, features=3):
    return keras.Sequential([keras.Input((steps, features)), *layers])


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.layers.LSTM(4, return_sequences=True),
        lambda: keras.layers.GRU(4, reset_after=True),
        lambda: keras.layers.GRU(4, reset_after=False),
        lambda: keras.layers.SimpleRNN(4, return_state=False),
        lambda: keras.layers.LSTM(3, use_bias=False),
        lambda: keras.layers.GRU(3, unroll=True, return_sequences=True),
        lambda: keras.layers.SimpleRNN(4, activation="relu"),
        lambda: keras.layers.LSTM(4, recurrent_activation="hard_sigmoid"),
        lambda: keras.layers.GRU(4, activation="linear", recurrent_activation="hard_sigmoid"),
        lambda: keras.layers.LSTM(4, go_backwards=True, return_sequences=True),
        lambda: keras.layers.GRU(3, dropout=0.5, recurrent_dropout=0.5),
    ],
    ids=[
        "lstm",
        "gru-reset-after",
        "gru-reset-before",
        "simple-rnn",
        "lstm-no-bias",
        "gru-unrolled",
        "simple-rnn-relu",
        "lstm-hard-sigmoid",
        "gru-linear-hard-sigmoid",
        "lstm-go-backwards",
        "gru-dropout-is-off-at-inference",
    ],
)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_one_layer_model_from_a_file_is_traced_exactly(roundtrip, make, suffix):
    x = signal()
    model = roundtrip(sequential(make(), keras.layers.Dense(1)), x, suffix)
    trace = rnnviz.trace_model(model, x)
    oracle_check(trace)


def test_a_go_backwards_trace_labels_each_step_with_its_original_position(roundtrip):
    x = signal(steps=5)
    model = roundtrip(sequential(keras.layers.GRU(3, go_backwards=True), steps=5), x)
    trace = rnnviz.trace_model(model, x)
    assert trace.labels[0, 0].tolist() == ["4", "3", "2", "1", "0"]


@pytest.mark.parametrize("dtype,tol", [("float64", TOL), ("mixed_float16", HALF_TOL)])
def test_a_layer_computing_in_another_dtype_is_traced_in_that_dtype(roundtrip, dtype, tol):
    x = signal()
    model = roundtrip(sequential(keras.layers.LSTM(4, dtype=dtype), keras.layers.Dense(1)), x)
    trace = rnnviz.trace_model(model, x)
    assert trace.h.dtype == np.float32
    layer = model.layers[0]
    np.testing.assert_allclose(trace.h[0, :, -1], np.asarray(layer(x), np.float32), **TOL)
    oracle_check(trace, tol)


def test_both_halves_of_a_bidirectional_are_traced_exactly(roundtrip):
    x = signal()
    bidi = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), name="bidi")
    model = roundtrip(sequential(bidi), x)
    assert rnnviz.recurrent_layers(model) == ["bidi/forward", "bidi/backward"]
    out = model.predict(x, verbose=0)
    forward = rnnviz.trace_model(model, x, "bidi/forward")
    backward = rnnviz.trace_model(model, x, "bidi/backward")
    np.testing.assert_allclose(forward.h[0], out[..., :3], **TOL)
    np.testing.assert_allclose(backward.h[0][:, ::-1], out[..., 3:], **TOL)
    oracle_check(forward)
    oracle_check(backward)


def test_each_layer_of_a_stack_is_traced_on_the_output_of_the_one_below(roundtrip):
    x = signal()
    first = keras.layers.LSTM(4, return_sequences=True, name="low")
    second = keras.layers.GRU(3, return_sequences=True, name="high")
    model = roundtrip(sequential(first, second), x)
    low = rnnviz.trace_model(model, x, "low")
    high = rnnviz.trace_model(model, x, "high")
    np.testing.assert_allclose(high.inputs[0], low.h[0], **TOL)
    np.testing.assert_allclose(high.h[0], model.predict(x, verbose=0), **TOL)
    oracle_check(low)
    oracle_check(high)


def test_padding_zeros_after_an_embedding_with_mask_zero_keep_the_state(roundtrip):
    ids = np.array([[4, 7, 2, 0, 0, 0], [0, 0, 3, 9, 1, 5]])
    model = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(12, 3, mask_zero=True),
            keras.layers.LSTM(4, return_sequences=True),
        ]
    )
    model = roundtrip(model, ids)
    trace = rnnviz.trace_model(model, ids)
    np.testing.assert_array_equal(trace.mask[0], ids != 0)
    # After the last real token the state stays where it was; before the first it is h0.
    np.testing.assert_array_equal(trace.h[0, 0, 3:], np.repeat(trace.h[0, 0, 2:3], 3, axis=0))
    np.testing.assert_array_equal(trace.h[0, 1, :2], np.zeros((2, 4), np.float32))
    assert np.isnan(trace.gates["forget"][0, 0, 3:]).all()
    oracle_check(trace)


def test_steps_of_all_mask_values_after_masking_are_skipped_as_keras_skips_them(roundtrip):
    x = signal()
    x[0, 2:4] = 0.0
    x[1, :1] = 0.0
    model = roundtrip(sequential(keras.layers.Masking(0.0), keras.layers.GRU(3)), x)
    trace = rnnviz.trace_model(model, x)
    assert trace.mask[0].tolist() == [
        [True, True, False, False, True, True],
        [False, True, True, True, True, True],
    ]
    np.testing.assert_allclose(trace.h[0, :, -1], model.predict(x, verbose=0), **TOL)
    oracle_check(trace)


def test_a_layer_inside_a_nested_functional_model_is_traced_by_its_path(roundtrip):
    inner_in = keras.Input((6, 3))
    encoder = keras.Model(inner_in, keras.layers.LSTM(4, name="lstm")(inner_in), name="encoder")
    outer_in = keras.Input((6, 3))
    model = keras.Model(outer_in, keras.layers.Dense(2)(encoder(outer_in)))
    x = signal()
    model = roundtrip(model, x)
    assert rnnviz.recurrent_layers(model) == ["encoder/lstm"]
    trace = rnnviz.trace_model(model, x, "encoder/lstm")
    np.testing.assert_allclose(trace.h[0, :, -1], model.layers[1].predict(x, verbose=0), **TOL)
    oracle_check(trace)


def test_time_distributed_around_a_dense_layer_is_not_a_recurrent_layer(roundtrip):
    x = signal()
    model = roundtrip(
        sequential(
            keras.layers.TimeDistributed(keras.layers.Dense(2)),
            keras.layers.SimpleRNN(3, name="rnn"),
        ),
        x,
    )
    assert rnnviz.recurrent_layers(model) == ["rnn"]
    oracle_check(rnnviz.trace_model(model, x))


def test_a_gru_inside_time_distributed_is_traced_once_per_outer_step(roundtrip):
    x = RNG.normal(size=(2, 3, 5, 2)).astype("float32")  # (batch, outer, steps, features)
    model = keras.Sequential(
        [
            keras.Input((3, 5, 2)),
            keras.layers.TimeDistributed(keras.layers.GRU(4, name="gru"), name="td"),
        ]
    )
    model = roundtrip(model, x)
    trace = rnnviz.trace_model(model, x, "td/gru")
    assert trace.h.shape == (1, 6, 5, 4)  # outer step first: sample = outer * batch + b
    out = model.predict(x, verbose=0)  # (batch, outer, units)
    np.testing.assert_allclose(trace.h[0, 1 * 2 + 0, -1], out[0, 1], **TOL)
    oracle_check(trace)


# ---------------------------------------------------------------- errors


def test_a_model_without_a_recurrent_layer_is_refused_naming_the_model():
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.Dense(3)])
    with pytest.raises(rnnviz.ConfigError, match=r"model=.*has no LSTM, GRU or SimpleRNN"):
        rnnviz.trace_model(model, np.zeros((1, 4, 2)))


def test_an_unknown_layer_path_is_refused_with_the_paths_there_are():
    model = sequential(keras.layers.LSTM(2, name="enc"))
    with pytest.raises(rnnviz.ConfigError, match=r"layer=.*one of .*enc"):
        rnnviz.trace_model(model, signal(), "dec")


def test_an_input_of_the_wrong_shape_is_refused_with_the_shape_the_model_expects():
    model = sequential(keras.layers.LSTM(2))
    with pytest.raises(rnnviz.ConfigError, match=r"x=shape \(2, 6, 4\).*\(any, 6, 3\)"):
        rnnviz.trace_model(model, np.zeros((2, 6, 4)))


def test_token_ids_outside_the_vocabulary_are_refused_with_the_allowed_range():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Embedding(5, 2), keras.layers.GRU(2)])
    with pytest.raises(rnnviz.ConfigError, match="token ids: whole numbers from 0 to 4"):
        rnnviz.trace_model(model, np.array([[1, 2, 7]]))


def test_text_is_refused_as_an_input_that_holds_no_numbers():
    with pytest.raises(rnnviz.ConfigError, match="must hold numbers"):
        rnnviz.trace_model(sequential(keras.layers.LSTM(2)), np.full((1, 6, 3), "a"))


def test_a_stateful_flag_written_as_a_string_in_a_config_is_read_as_the_flag():
    from rnnviz.core.run import as_flag

    assert as_flag("stateful", "true") is True
    assert as_flag("stateful", 0) is False
    with pytest.raises(rnnviz.ConfigError, match="stateful='maybe'"):
        as_flag("stateful", "maybe")


def test_tracing_a_stateful_model_leaves_its_stored_state_as_it_was():
    model = keras.Sequential(
        [keras.Input(batch_shape=(2, 6, 3)), keras.layers.LSTM(3, stateful=True, name="s")]
    )
    x = signal()
    model.predict(x, verbose=0)
    before = [np.array(v) for v in model.layers[0].states]
    trace = rnnviz.trace_model(model, x)
    after = [np.array(v) for v in model.layers[0].states]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(b, a)
    # and the trace starts from that stored state, as the model's next call would
    np.testing.assert_array_equal(trace.initial_states[0][0], before[0])
    oracle_check(trace)


def test_the_compiled_run_to_a_layer_gives_the_same_trace_as_the_first_eager_one(roundtrip):
    from rnnviz.sources.usermodels import models

    ids = np.array([[4, 7, 2, 0, 0, 0], [0, 0, 3, 9, 1, 5]])
    model = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(12, 3, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True)),
            keras.layers.LSTM(4, return_sequences=True, name="top"),
        ]
    )
    model = roundtrip(model, ids)
    traces = [rnnviz.trace_model(model, ids, "top") for _ in range(models.COMPILE_AFTER_RUNS + 1)]
    assert any(entry["fn"] is not None for entry in models._compiled[model].values())
    for later in traces[1:]:
        np.testing.assert_array_equal(later.inputs, traces[0].inputs)
        np.testing.assert_array_equal(later.mask, traces[0].mask)
        np.testing.assert_array_equal(later.h, traces[0].h)


def tagger_like():
    return keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(12, 3, mask_zero=True),
            keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), name="bidi"),
            keras.layers.LSTM(4, return_sequences=True, name="top"),
            keras.layers.Dense(1),
        ]
    )


@pytest.mark.parametrize("path", ["bidi/forward", "bidi/backward", "top"])
def test_the_model_fed_a_layers_own_trace_outputs_what_it_outputs(path):
    from rnnviz.sources.usermodels.models import outputs_with_trace

    model = tagger_like()
    ids = np.array([[4, 7, 2, 0, 0, 0], [0, 0, 3, 9, 1, 5]])
    trace = rnnviz.trace_model(model, ids, path)
    np.testing.assert_allclose(
        outputs_with_trace(model, ids, path, trace), model.predict(ids, verbose=0), **TOL
    )


def test_an_intervention_changes_the_models_output_from_that_step_on_only():
    from rnnviz import analysis
    from rnnviz.sources.usermodels.models import outputs_with_trace

    model = tagger_like()
    ids = np.array([[4, 7, 2, 6, 1, 3]])
    trace = rnnviz.trace_model(model, ids, "top")
    before = outputs_with_trace(model, ids, "top", trace)
    after = outputs_with_trace(model, ids, "top", analysis.intervene(trace, 0, 2, 0.9))
    np.testing.assert_array_equal(after[0, :2], before[0, :2])
    assert not np.allclose(after[0, 2:], before[0, 2:])  # h at step 2 itself was set
