"""The Keras 2 idioms of the classic answers, run live on Keras 3, with the error each raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Idiom:
    """A Keras 2 idiom, its Keras 3 replacement, and what running the old one does today."""

    title: str
    keras2: str
    keras3: str
    error: str  # "ExceptionType: message" raised just now by Keras 3, or "no error"


def _batch_input_shape() -> None:
    import keras

    keras.layers.LSTM(8, stateful=True, batch_input_shape=(2, 5, 1))


def _set_value() -> None:
    from keras import backend as K

    layer = _stateful_lstm()
    K.set_value(layer.states[0], np.random.randn(2, 8))


def _reset_states_with_value() -> None:
    layer = _stateful_lstm()
    layer.reset_states(states=[np.ones((2, 8)), np.ones((2, 8))])


def _wrong_shape_assign() -> None:
    layer = _stateful_lstm()
    layer.states[0].assign(np.random.randn(2, 2))


def _model_reset_states() -> None:
    import keras

    inputs = keras.Input(batch_shape=(2, 5, 1))
    model = keras.Model(inputs, keras.layers.LSTM(8, stateful=True)(inputs))
    model.reset_states()


def _stateful_lstm():
    import keras

    layer = keras.layers.LSTM(8, stateful=True)
    layer(keras.Input(batch_shape=(2, 5, 1)))
    return layer


_IDIOMS: list[tuple[str, str, str, Callable[[], None]]] = [
    (
        "A stateful layer's fixed batch size",
        "LSTM(8, stateful=True, batch_input_shape=(2, 5, 1))",
        "inputs = keras.Input(batch_shape=(2, 5, 1))\nlayer = LSTM(8, stateful=True)\n"
        "outputs = layer(inputs)",
        _batch_input_shape,
    ),
    (
        "Setting a stored state's value",
        "K.set_value(layer.states[0], np.random.randn(2, 8))",
        "layer.states[0].assign(np.random.randn(2, 8))",
        _set_value,
    ),
    (
        "Resetting to a given state",
        "layer.reset_states(states=[h0, c0])",
        "layer.reset_state()            # zeros only\nlayer.states[0].assign(h0)\n"
        "layer.states[1].assign(c0)",
        _reset_states_with_value,
    ),
    (
        "Assigning a state of the wrong shape (seeds/000)",
        "K.set_value(layer.states[0], np.random.randn(2, 2))  # layer has 8 units",
        "layer.states[0].assign(np.random.randn(2, 8))  # shape must match exactly",
        _wrong_shape_assign,
    ),
    (
        "Resetting every stateful layer of a model",
        "model.reset_states()",
        "for layer in model.layers:\n    if getattr(layer, 'stateful', False):\n"
        "        layer.reset_state()",
        _model_reset_states,
    ),
]


def keras2_idioms() -> list[Idiom]:
    """Returns each Keras 2 idiom with the error running it on this Keras raises now."""
    out = []
    for title, old, new, attempt in _IDIOMS:
        try:
            attempt()
            error = "no error"
        except Exception as exc:  # the point is to show whatever Keras raises
            first = str(exc).strip().splitlines()
            error = f"{type(exc).__name__}: {' '.join(first[:3])}"
        out.append(Idiom(title, old, new, error))
    return out
