"""The Keras 2 idioms of the classic answers, run live on Keras 3, with the error each raises."""

from __future__ import annotations

import re
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
        "Resetting every stateful layer of a model",
        "model.reset_states()",
        "for layer in model.layers:\n    if getattr(layer, 'stateful', False):\n"
        "        layer.reset_state()",
        _model_reset_states,
    ),
]


def _error(attempt: Callable[[], object]) -> str:
    """ "ExceptionType: first lines of the message" of what `attempt()` raises, as Keras
    wrote it (terminal colour codes removed), or "no error"."""
    try:
        attempt()
    except Exception as exc:  # the point is to show whatever Keras raises
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
        first = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return f"{type(exc).__name__}: {' '.join(first[:3])}"
    return "no error"


def keras2_idioms() -> list[Idiom]:
    """Returns each Keras 2 idiom with the error running it on this Keras raises now."""
    return [Idiom(title, old, new, _error(attempt)) for title, old, new, attempt in _IDIOMS]


@dataclass(frozen=True)
class StateTrap:
    """What seeds/000's `model.layers[0].states[0] = K.variable(...)` does on Keras 3, live.

    Replacing the list entry points `states[0]` at a new variable; the model's compiled
    predict function still holds the old one, so predict's output does not change and
    nothing says so. Only a later direct call of the layer reads the new variable, and
    with the seed's (batch, 2) shape fails there. `assign` changes the stored state.
    """

    k_variable_error: str  # running the seed's K.variable on Keras 3
    replaced_max_change: float  # predict after `states[0] = keras.Variable(...)`, vs before
    replaced_call_error: str  # a direct layer call afterwards, with the (2, 2) variable
    assign_max_change: float  # predict after `states[0].assign(h0)`, vs before
    wrong_shape_error: str  # `states[0].assign(...)` with the seed's (2, 2) shape


def state_trap(seed: int = 0) -> StateTrap:
    """Runs seeds/000's state replacement and the Keras 3 ways on a stateful LSTM(8).

    Three copies of one model (same weights), each used once (as in the seed's
    training loop) and reset to zeros; then copy 1 predicts as is, copy 2 after
    `states[0] = keras.Variable(h0)`, copy 3 after `states[0].assign(h0)`.
    """
    import keras

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 5, 1)).astype(np.float32)
    h0 = rng.standard_normal((2, 8)).astype(np.float32)
    weights = None

    def used_and_reset():
        nonlocal weights
        inputs = keras.Input(batch_shape=(2, 5, 1))
        layer = keras.layers.LSTM(8, stateful=True)
        model = keras.Model(inputs, layer(inputs))
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.predict(x, verbose=0)
        layer.reset_state()
        return model, layer

    def k_variable():
        from keras import backend as K

        return K.variable(value=h0)

    model, layer = used_and_reset()
    from_zeros = model.predict(x, verbose=0)

    model, layer = used_and_reset()
    model.layers[1].states[0] = keras.Variable(h0)  # the seed's line, K.variable -> keras
    replaced = model.predict(x, verbose=0)
    layer.states[0] = keras.Variable(rng.standard_normal((2, 2)).astype(np.float32))
    replaced_call_error = _error(lambda: layer(x))  # the seed's (batch, 2) shape

    model, layer = used_and_reset()
    layer.states[0].assign(h0)
    assigned = model.predict(x, verbose=0)
    return StateTrap(
        k_variable_error=_error(k_variable),
        replaced_max_change=float(np.abs(replaced - from_zeros).max()),
        replaced_call_error=replaced_call_error,
        assign_max_change=float(np.abs(assigned - from_zeros).max()),
        wrong_shape_error=_error(lambda: layer.states[0].assign(np.zeros((2, 2), np.float32))),
    )
