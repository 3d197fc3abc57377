"""rnnviz.recurrent_layers finds every LSTM, GRU and SimpleRNN inside a user's model."""

from __future__ import annotations

import keras
import pytest

import rnnviz
from rnnviz.sources.usermodels.models import find_recurrent_layer


def tagger() -> keras.Model:
    """An encoder model nested in a tagger, a Bidirectional GRU, and TimeDistributed."""
    inner_in = keras.Input((7, 3))
    encoder = keras.Model(
        inner_in, keras.layers.LSTM(4, return_sequences=True, name="lstm")(inner_in), name="encoder"
    )
    inputs = keras.Input((7, 3))
    x = encoder(inputs)
    x = keras.layers.Bidirectional(
        keras.layers.GRU(2, return_sequences=True), name="bidirectional"
    )(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(3), name="time_distributed")(x)
    x = keras.layers.SimpleRNN(5, return_sequences=True, name="simple_rnn")(x)
    return keras.Model(inputs, x)


def test_paths_go_through_nested_models_and_name_both_bidirectional_halves():
    assert rnnviz.recurrent_layers(tagger()) == [
        "encoder/lstm",
        "bidirectional/forward",
        "bidirectional/backward",
        "simple_rnn",
    ]


def test_time_distributed_around_nothing_recurrent_is_not_listed():
    paths = rnnviz.recurrent_layers(tagger())
    assert not any(p.startswith("time_distributed") for p in paths)


def test_a_recurrent_layer_inside_time_distributed_is_listed_under_the_wrapper():
    inputs = keras.Input((2, 5, 3))  # (outer steps, inner steps, features)
    outputs = keras.layers.TimeDistributed(keras.layers.GRU(2), name="time_distributed")(inputs)
    model = keras.Model(inputs, outputs)
    assert rnnviz.recurrent_layers(model) == [f"time_distributed/{model.layers[1].layer.name}"]


def test_a_path_finds_the_backward_half_keras_runs():
    model = tagger()
    backward = find_recurrent_layer(model, "bidirectional/backward")
    assert backward is model.get_layer("bidirectional").backward_layer
    assert backward.go_backwards


def test_an_unknown_path_is_refused_with_the_paths_there_are():
    with pytest.raises(rnnviz.ConfigError, match=r"^layer='decoder/lstm'.*encoder/lstm, "):
        find_recurrent_layer(tagger(), "decoder/lstm")


def test_a_model_without_recurrent_layers_is_refused_when_a_layer_is_asked_for():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs), name="plain")
    assert rnnviz.recurrent_layers(model) == []
    with pytest.raises(rnnviz.ConfigError, match="has no LSTM, GRU or SimpleRNN"):
        find_recurrent_layer(model)


@pytest.mark.parametrize("junk", [None, "model.keras", 3, keras.layers.LSTM(2)])
def test_anything_but_a_keras_model_is_refused_naming_the_model_field(junk):
    with pytest.raises(rnnviz.ConfigError, match=r"^model=.*must be a keras.Model"):
        rnnviz.recurrent_layers(junk)
