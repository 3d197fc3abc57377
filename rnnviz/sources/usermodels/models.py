"""A user's own Keras model: where its recurrent layers are, and the trace of any of them.

    >>> rnnviz.recurrent_layers(model)
    ['encoder/lstm', 'bidirectional/forward', 'bidirectional/backward', 'time_distributed/gru']
    >>> trace = rnnviz.trace_model(model, x, "bidirectional/backward")

A path is the layer names from the model down, joined by "/": through nested models,
`TimeDistributed` and other wrappers, and for a `Bidirectional` its two halves, called
`forward` and `backward` as Keras builds them. `trace_model` traces the layer at a path
on the input (and mask) the model gives it; opening a model file is `rnnviz.load_model`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from rnnviz.core.config import ConfigError, Described
from rnnviz.core.trace import Trace


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


class _Captured(Exception):
    """Raised inside the model's call once the chosen layer's input is recorded."""


_capture_lock = threading.Lock()


@contextlib.contextmanager
def _model_kept(model: Any) -> Iterator[None]:
    """Runs the block alone among the model's callers here, and puts every stateful
    layer's stored state back afterwards: looking at a model does not change it."""
    with _capture_lock:
        stateful = [(v, np.asarray(v)) for sub in _all_layers(model) for v in _states(sub)]
        try:
            yield
        finally:
            for variable, value in stateful:
                variable.assign(value)


@contextlib.contextmanager
def _call_replaced(layer: Any, call: Callable[..., Any]) -> Iterator[None]:
    """The layer's `call` is `call` inside the block (Keras's __call__ looks it up on the
    instance), its own again after."""
    layer.call = call
    try:
        yield
    finally:
        del layer.call


def _run_recording(model: Any, x: Any, layer: Any, whole: bool) -> list[dict[str, Any]]:
    """Runs `model(x)` with `layer.call` replaced by a recorder; returns the recorded calls
    (tensors: eager ones, or symbolic ones inside a tf.function being traced)."""
    calls: list[dict[str, Any]] = []
    original = layer.call

    def record(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # RNN.call(sequences, initial_state=None, mask=None, training=False)
        positional = dict(zip(("initial_state", "mask"), args, strict=False))
        state = kwargs.get("initial_state", positional.get("initial_state"))
        if state is not None and not isinstance(state, (list, tuple)):
            state = [state]  # `initial_state=h0`: one tensor for a one-state cell
        calls.append(
            {
                "inputs": inputs,
                "mask": kwargs.get("mask", positional.get("mask")),
                "initial_state": None if state is None else list(state),
            }
        )
        if not whole:
            raise _Captured
        return original(inputs, *args, **kwargs)

    with _call_replaced(layer, record), contextlib.suppress(_Captured):
        model(x, training=False)
    return calls


def _as_arrays(call: dict[str, Any]) -> dict[str, Any]:
    mask, state = call["mask"], call["initial_state"]
    return {
        "inputs": np.asarray(call["inputs"]),
        "mask": None if mask is None else np.asarray(mask).astype(bool),
        "initial_state": None if state is None else [np.asarray(s) for s in state],
    }


#: Per model, per layer: how often its input was recorded eagerly, and, from the second
#: time on, the compiled function that computes it (the layers below run as one graph).
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
COMPILE_AFTER_RUNS = 2


def _compiled_capture(model: Any, layer: Any, xs: list[np.ndarray], first: dict) -> Any:
    """A tf.function computing what `layer` receives, with the structure of its first
    (eager) call: (inputs, mask or nothing, *initial states)."""
    import tensorflow as tf

    specs = [
        tf.TensorSpec(shape, x.dtype)
        for (_, shape, _), x in zip(model_inputs(model), xs, strict=True)
    ]
    has_mask = first["mask"] is not None

    @tf.function(input_signature=specs, autograph=False)
    def capture(*inputs: Any) -> Any:
        call = _run_recording(model, _model_argument(list(inputs)), layer, whole=False)[0]
        out = [call["inputs"]] + ([call["mask"]] if has_mask else [])
        return tuple(out + list(call["initial_state"] or []))

    # The concrete function, called directly: no argument binding per call (a third of the
    # capture's cost for a small model, whose run is short).
    concrete = capture.get_concrete_function(*specs)

    def run(xs: list[np.ndarray]) -> dict[str, Any]:
        out = [np.asarray(t) for t in concrete(*xs)]
        return {
            "inputs": out[0],
            "mask": out[1].astype(bool) if has_mask else None,
            "initial_state": out[1 + has_mask :] or None,
        }

    return run


def _model_argument(arrays: list[Any]) -> Any:
    """What `model(...)` takes: the array for a one-input model, the list otherwise."""
    return arrays[0] if len(arrays) == 1 else list(arrays)


def layer_inputs(model: Any, x: Any, layer: Any, whole: bool = False) -> list[dict[str, Any]]:
    """What `layer` receives when `model` runs on `x` (an array, or a list with one array
    per model input): a list of its calls, each
    {"inputs", "mask", "initial_state"} as NumPy arrays (mask and state may be None).

    The model runs as `model(x)` would, with the layer's `call` replaced for the
    duration by one that records its arguments: the input after every layer before it,
    and the mask Keras propagated to it (Embedding mask_zero, Masking), exactly as Keras
    computed them. The run stops at the first call, unless `whole` (a layer inside
    TimeDistributed is called once per outer step). Stateful layers are put back as
    they were. The first time for a (model, layer), the run is eager; from the second,
    a tf.function traced with the same recorder computes it (eager Keras layers below
    the chosen one cost ~40 times their compiled time).
    """
    xs = [np.asarray(a) for a in x] if isinstance(x, (list, tuple)) else [np.asarray(x)]
    with _model_kept(model):
        per_model = _compiled.setdefault(model, {})
        key = (id(layer), tuple(str(a.dtype) for a in xs))
        entry = per_model.setdefault(key, {"runs": 0, "fn": None})
        if entry["fn"] is not None and not whole:
            return [entry["fn"](xs)]
        calls = [_as_arrays(c) for c in _run_recording(model, _model_argument(xs), layer, whole)]
        entry["runs"] += 1
        if not whole and calls and entry["runs"] >= COMPILE_AFTER_RUNS:
            entry["fn"] = _compiled_capture(model, layer, xs, calls[0])
        return calls


def _all_layers(model: Any) -> list[Any]:
    import keras

    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(_all_layers(layer))
        elif isinstance(layer, keras.layers.Bidirectional):
            out.extend([layer.forward_layer, layer.backward_layer])
        elif isinstance(layer, keras.layers.Wrapper):
            out.append(layer.layer)
    return out


def _states(layer: Any) -> list[Any]:
    states = getattr(layer, "states", None) if getattr(layer, "stateful", False) else None
    return [s for s in (states or []) if s is not None and hasattr(s, "assign")]


def inside_time_distributed(model: Any, target: Any) -> bool:
    """True if `target` sits inside a TimeDistributed wrapper (at any depth) of `model`."""
    import keras

    def walk(layer: Any, inside: bool) -> bool | None:
        if layer is target:
            return inside
        if isinstance(layer, keras.layers.Bidirectional):
            return inside if target in (layer.forward_layer, layer.backward_layer) else None
        if isinstance(layer, keras.layers.Wrapper):
            return walk(layer.layer, inside or isinstance(layer, keras.layers.TimeDistributed))
        if isinstance(layer, keras.Model):
            for sub in layer.layers:
                found = walk(sub, inside)
                if found is not None:
                    return found
        return None

    return bool(walk(model, False))


def model_inputs(model: Any) -> list[tuple[str, tuple[int | None, ...], str]]:
    """(name, shape with None for any size, dtype) of every input of the model, in order."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ConfigError("model", model.name, "has no known input shape (build it on an Input)")
    return [(_input_name(t), tuple(t.shape), str(t.dtype)) for t in inputs]


def _input_name(tensor: Any) -> str:
    history = getattr(tensor, "_keras_history", None)
    return history[0].name if history else tensor.name


def shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("any" if n is None else str(n) for n in shape) + ")"


def takes_token_ids(model: Any, input_index: int = 0) -> int | None:
    """The vocabulary size if the model's input (the first, or the one at `input_index`)
    goes straight into an Embedding."""
    import keras

    inputs = getattr(model, "inputs", None) or []
    if input_index >= len(inputs):
        return None
    target = inputs[input_index]
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            for node in getattr(layer, "_inbound_nodes", []):
                if any(t is target for t in node.input_tensors):
                    return int(layer.input_dim)
    if len(inputs) == 1:
        first = next(
            (lay for lay in model.layers if not isinstance(lay, keras.layers.InputLayer)), None
        )
        if isinstance(first, keras.layers.Embedding):
            return int(first.input_dim)
    return None


def check_model_inputs(model: Any, x: Any) -> list[np.ndarray]:
    """One checked array per model input, from an array (one-input model), a list in the
    model's input order or a dict by input name; a ConfigError names the input and the
    shape it expects."""
    specs = model_inputs(model)
    names = [name for name, _, _ in specs]
    if isinstance(x, dict):
        unknown = sorted(set(map(str, x)) - set(names))
        if unknown:
            raise ConfigError(
                "x", Described(f"inputs {', '.join(unknown)}"),
                f"must be named by the model's inputs: {', '.join(names)}",
            )  # fmt: skip
        missing = [n for n in names if n not in x]
        if missing:
            raise ConfigError(
                "x",
                Described(f"no {', '.join(missing)}"),
                f"must give every input: {', '.join(names)}",
            )
        values = [x[n] for n in names]
    elif isinstance(x, (list, tuple)) and len(specs) > 1:
        values = list(x)
    else:
        values = [x]
    if len(values) != len(specs):
        raise ConfigError(
            "x", Described(f"{len(values)} input{'s' * (len(values) != 1)}"),
            f"must give the model's {len(specs)} inputs: {', '.join(names)}",
        )  # fmt: skip
    arrays = [
        _check_one(model, i, name, shape, dtype, value, len(specs) > 1)
        for i, ((name, shape, dtype), value) in enumerate(zip(specs, values, strict=True))
    ]
    batch = {a.shape[0] for a in arrays}
    if len(batch) > 1:
        sizes = ", ".join(f"{n}: {a.shape[0]}" for n, a in zip(names, arrays, strict=True))
        raise ConfigError(
            "x", Described(f"batch sizes {sizes}"), "must all have the same batch size"
        )
    return arrays


def _check_one(
    model: Any, index: int, name: str, shape: tuple, dtype: str, value: Any, named: bool
) -> np.ndarray:
    field = f"x[{name!r}]" if named else "x"
    want = shape_text(shape)
    try:
        array = np.asarray(value)
    except Exception:
        raise ConfigError(
            field, Described(type(value).__name__), "must be a numeric array"
        ) from None
    if array.dtype.kind not in "biuf":
        raise ConfigError(field, Described(f"dtype {array.dtype}"), "must hold numbers")
    if array.ndim != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, array.shape, strict=False)
    ):
        raise ConfigError(
            field,
            Described(f"shape {array.shape}"),
            f"must have the shape the model expects: {want}",
        )
    if array.size == 0:
        raise ConfigError(field, Described(f"shape {array.shape}"), "must not be empty")
    if not np.all(np.isfinite(array)):
        raise ConfigError(field, Described("non-finite values"), "must hold finite numbers")
    vocab = takes_token_ids(model, index)
    if vocab is not None:
        if not np.array_equal(array, np.round(array)) or array.min() < 0 or array.max() >= vocab:
            raise ConfigError(
                field,
                Described(f"values {array.min():g}..{array.max():g}"),
                f"must be token ids: whole numbers from 0 to {vocab - 1}",
            )
        return array.astype(np.int32)
    if "int" in dtype:
        return array.astype(np.int32)
    return array.astype(np.float32)


def check_model_input(model: Any, x: Any) -> np.ndarray | list[np.ndarray]:
    """x as the model takes it: one array for a one-input model, a list otherwise."""
    return _model_argument(check_model_inputs(model, x))


def _node_of(layer: Any) -> Any:
    nodes = getattr(layer, "_inbound_nodes", None) or []
    return nodes[0] if nodes else None


def _state_names(layer: Any) -> list[str]:
    import keras

    return ["h", "c"] if isinstance(layer, keras.layers.LSTM) else ["h"]


def _state_groups(layer: Any) -> list[tuple[Any, list[int]]] | None:
    """The layers whose outputs the graph feeds `layer` as `initial_state`, with the output
    indices used (None when it gets no initial_state; op None for a foreign tensor)."""
    node = _node_of(layer)
    if node is None:
        return None
    arguments = node.arguments
    state = arguments.kwargs.get("initial_state")
    if state is None and len(arguments.args) > 1:
        state = arguments.args[1]
    if state is None:
        return None
    tensors = state if isinstance(state, (list, tuple)) else [state]
    groups: dict[int, tuple[Any, list[int]]] = {}
    for tensor in tensors:
        history = getattr(tensor, "_keras_history", None)
        op, _, index = history if history is not None else (None, 0, 0)
        groups.setdefault(id(op), (op, []))[1].append(index)
    return list(groups.values())


def state_source(model: Any, layer: Any) -> str | None:
    """The path of the recurrent layer whose returned states `layer` starts from (an
    encoder for its decoder); None if its initial state comes from anything else."""
    groups = _state_groups(layer) or []
    if len(groups) != 1 or not _is_recurrent(groups[0][0]):
        return None
    for path, found in _layers(model):
        if found is groups[0][0]:
            return path
    return None


def initial_state_origin(model: Any, layer: Any) -> str | None:
    """Where the model's graph takes `layer`'s initial state from, in words: "`encoder`
    returned states [h, c]", "`dense_3` output", "input `h0`"; None when the layer starts
    from zeros (or its stored state, if stateful)."""
    import keras

    groups = _state_groups(layer)
    if groups is None:
        return None
    parts: list[str] = []
    for op, indices in groups:
        if op is None:
            parts.append("a tensor from outside the model")
        elif isinstance(op, keras.layers.InputLayer):
            parts.append(f"input `{op.name}`")
        elif _is_recurrent(op) and all(i > 0 for i in indices):
            names = _state_names(op)
            states = ", ".join(names[i - 1] if i - 1 < len(names) else str(i) for i in indices)
            parts.append(f"`{op.name}` returned states [{states}]")
        elif isinstance(op, keras.layers.Bidirectional) and all(i > 0 for i in indices):
            parts.append(f"`{op.name}` returned states {indices}")
        else:
            which = "" if indices == [0] else f" {indices}"
            parts.append(f"`{op.name}` output{which}")
    return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class LayerSummary:
    """One recurrent layer of a user's model, as the page lists it."""

    path: str
    cell: str
    units: int
    return_sequences: bool
    return_state: bool
    stateful: bool
    initial_state: str | None

    def describe(self) -> str:
        flags = [f for f in ("return_sequences", "return_state", "stateful") if getattr(self, f)]
        text = f"{self.path}: {self.cell}({self.units}" + "".join(f", {f}" for f in flags) + ")"
        if self.initial_state:
            text += f", starts from {self.initial_state}"
        return text


def layer_summaries(model: Any) -> list[LayerSummary]:
    """Every recurrent layer of `model` with its flags and where its initial state comes from."""
    from rnnviz.core.tracer import KIND_OF_CLASS

    out = []
    for path, layer in _layers(model):
        out.append(
            LayerSummary(
                path, KIND_OF_CLASS[type(layer)], int(layer.units), bool(layer.return_sequences),
                bool(layer.return_state), bool(layer.stateful), initial_state_origin(model, layer),
            )
        )  # fmt: skip
    return out


def trace_model(model: Any, x: Any, layer: str | None = None, *, engines: Any = None) -> Trace:
    """The exact Trace of one recurrent layer of `model` (default: the first) when the
    model runs on the batch `x`.

    The model runs up to that layer, so the layer gets exactly the input (and the mask,
    from `Embedding(mask_zero=True)` or `Masking`) Keras gives it; then the layer is
    traced as `trace_layer` does. A masked step keeps the previous state, as in Keras,
    and `Trace.mask` says which steps were masked. A `go_backwards` layer, and the
    backward half of a Bidirectional, are traced in the order Keras processes the
    steps; `Trace.labels` holds each step's original position (0 = the first step of
    x). A layer inside TimeDistributed runs once per outer step: its trace has one
    sample per (outer step, sample), outer step first.

    Raises ConfigError for a model with no recurrent layer, an unknown path (naming
    the ones there are), or an `x` the model cannot take (naming the shape it expects).
    """
    from rnnviz.core.run import as_flag, trace_weights
    from rnnviz.core.tracer import KIND_OF_CLASS

    target = find_recurrent_layer(model, layer)
    arrays = check_model_inputs(model, x)
    try:
        calls = layer_inputs(model, arrays, target, whole=inside_time_distributed(model, target))
    except ConfigError:
        raise
    except Exception as error:
        shapes = ", ".join(f"{n} {shape_text(s)}" for n, s, _ in model_inputs(model))
        got = ", ".join(str(a.shape) for a in arrays)
        raise ConfigError(
            "x", Described(f"shape {got}"), f"the model cannot take it ({shapes}): {error}"
        ) from None
    inputs = np.concatenate([c["inputs"] for c in calls]).astype(np.float32)
    masks = [c["mask"] for c in calls]
    mask = (
        None
        if all(m is None for m in masks)
        else np.concatenate(
            [
                np.ones(c["inputs"].shape[:2], bool) if m is None else m
                for c, m in zip(calls, masks, strict=True)
            ]
        )
    )
    config = target.get_config()
    stateful = as_flag("stateful", config.get("stateful", False))
    initial = calls[0]["initial_state"]
    origin = initial_state_origin(model, target) if initial is not None else None
    if stateful and initial is None:
        initial = [np.asarray(s) for s in target.states]
        origin = "the layer's stored state (stateful)"
    trace = trace_weights(
        KIND_OF_CLASS[type(target)],
        config,
        target.get_weights(),
        inputs,
        initial,
        stateful,
        engines=engines,
        mask=mask,
    )
    steps = inputs.shape[1]
    order = (
        np.arange(steps)[::-1]
        if as_flag("go_backwards", config.get("go_backwards", False))
        else np.arange(steps)
    )
    labels = np.broadcast_to(order.astype(str), trace.h.shape[:3]).copy()
    rows = trace.h.shape[1]
    origins = [[origin or "initial state (zeros)"] * rows]
    return dataclasses.replace(trace, labels=labels, origins=origins)


def outputs_with_trace(model: Any, x: Any, layer: str | None, trace: Trace) -> np.ndarray | None:
    """What `model` outputs on `x` when the layer at `layer` returns what `trace` says it
    computed: with the trace `trace_model` made, the model's own output; with a trace an
    intervention changed (rnnviz.analysis.intervene), the model's output after it.

    The layers after it run as Keras runs them. The layer's return value is rebuilt from
    the trace's states as Keras builds it (the sequence or the last step, the final states
    if `return_state`, zeros at masked steps for a Bidirectional's halves). None for a
    layer inside TimeDistributed, whose calls cannot be told apart here.
    """
    import keras

    target = find_recurrent_layer(model, layer)
    if inside_time_distributed(model, target):
        return None
    array = check_model_input(model, x)
    h = trace.h[0]
    sequence = h
    if trace.mask is not None and getattr(target, "zero_output_for_mask", False):
        sequence = np.where(trace.mask[0][..., None], h, 0.0)
    returned = [sequence if target.return_sequences else h[:, -1]]
    if target.return_state:
        returned += [h[:, -1]] + ([trace.c[0][:, -1]] if trace.c is not None else [])
    dtype = target.compute_dtype
    tensors = [keras.ops.convert_to_tensor(r.astype(np.float32), dtype=dtype) for r in returned]

    def replaced(*args: Any, **kwargs: Any) -> Any:
        return tensors if target.return_state else tensors[0]

    with _model_kept(model), _call_replaced(target, replaced):
        out = model(array, training=False)
    out = out[0] if isinstance(out, (list, tuple)) else out
    return np.asarray(out, np.float32)
