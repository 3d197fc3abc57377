"""A user's own Keras model: where its recurrent layers are (issue 10, part 2).

    >>> rnnviz.recurrent_layers(model)
    ['encoder/lstm', 'bidirectional/forward', 'bidirectional/backward', 'time_distributed/gru']

A path is the layer names from the model down, joined by "/": through nested models,
`TimeDistributed` and other wrappers, and for a `Bidirectional` its two halves, called
`forward` and `backward` as Keras builds them. (Tracing a chosen path, and loading a
model file safely, are the parts of issue 10 still to come.)
"""

from __future__ import annotations

from typing import Any

from rnnviz.config import ConfigError


def _is_recurrent(layer: Any) -> bool:
    import keras

    return isinstance(layer, (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN))


def _walk(layer: Any, prefix: str) -> list[tuple[str, Any]]:
    import keras

    path = f"{prefix}{layer.name}"
    if isinstance(layer, keras.layers.Bidirectional):
        halves = [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
        return [(f"{path}/{half}", inner) for half, inner in halves if _is_recurrent(inner)]
    if _is_recurrent(layer):
        return [(path, layer)]
    if isinstance(layer, keras.layers.Wrapper):  # TimeDistributed and the like
        return _walk(layer.layer, path + "/")
    if isinstance(layer, keras.Model):
        return [found for sub in layer.layers for found in _walk(sub, path + "/")]
    return []


def _layers(model: Any) -> list[tuple[str, Any]]:
    import keras

    if not isinstance(model, keras.Model):
        raise ConfigError(
            "model", model, "must be a keras.Model (Sequential, functional or subclassed)"
        )
    return [found for layer in model.layers for found in _walk(layer, "")]


def recurrent_layers(model: Any) -> list[str]:
    """The path of every LSTM, GRU and SimpleRNN inside `model`, in the model's layer order."""
    return [path for path, _ in _layers(model)]


def find_recurrent_layer(model: Any, path: str | None = None) -> Any:
    """The recurrent layer at `path` (default: the first one); a ConfigError naming the
    paths there are if `path` is not one of them, or if the model has none."""
    found = _layers(model)
    if not found:
        raise ConfigError("model", model.name, "has no LSTM, GRU or SimpleRNN layer to trace")
    if path is None:
        return found[0][1]
    for candidate, layer in found:
        if candidate == path:
            return layer
    paths = ", ".join(p for p, _ in found)
    raise ConfigError("layer", path, f"must be one of this model's recurrent layers: {paths}")
