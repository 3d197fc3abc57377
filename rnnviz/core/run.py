"""`run` and `trace_layer`: feed batches to a genuine Keras layer and record everything."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnviz.core.config import ACTIVATIONS, GATES, ConfigError, Described, RunConfig, layer_limits
from rnnviz.core.params import make_initial_state, make_weights, weight_shapes
from rnnviz.core.signals import make_inputs
from rnnviz.core.trace import Trace


def _check_array(field: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Returns value as a float32 array of exactly `shape`, or raises ConfigError."""
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and odd objects
        raise ConfigError(
            field, Described(type(value).__name__), f"must be a numeric array: {exc}"
        ) from None
    if array.dtype.kind not in "biuf":
        raise ConfigError(
            field, Described(f"dtype {array.dtype}"), "must be a numeric (int or float) array"
        )
    if array.shape != shape:
        raise ConfigError(field, Described(f"shape {array.shape}"), f"must have shape {shape}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ConfigError(
            field, Described("non-finite values"), "must hold finite numbers (no NaN or inf)"
        )
    return array


def _check_list(field: str, value: Any, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    if isinstance(value, np.ndarray) and len(shapes) == 1 and value.shape == shapes[0]:
        value = [value]
    if not isinstance(value, (list, tuple)) or len(value) != len(shapes):
        raise ConfigError(
            field, Described(type(value).__name__), f"must be a list of {len(shapes)} arrays"
        )
    return [
        _check_array(f"{field}[{i}]", v, shape)
        for i, (v, shape) in enumerate(zip(value, shapes, strict=True))
    ]


def output_names(cfg: RunConfig) -> list[str]:
    """Returns the names of what the Keras layer returns, in order."""
    if not cfg.return_state:
        return ["output"]
    return ["output", "state_h", "state_c"] if cfg.has_cell_state else ["output", "state_h"]


def run(
    cfg: RunConfig,
    inputs: Any = None,
    weights: Any = None,
    initial_state: Any = None,
    *,
    engines: Any = None,
    layer_kwargs: dict[str, Any] | None = None,
    mask: np.ndarray | None = None,
) -> Trace:
    """Returns the Trace of a genuine Keras layer fed cfg.num_batches batches.

    Args:
        cfg: the configuration.
        inputs: optional (num_batches, batch_size, num_steps, num_features)
            array; by default generated from cfg.signal and cfg.seed.
        weights: optional list as `layer.get_weights()` returns it; by default
            drawn from cfg.seed the way Keras initialises.
        initial_state: optional list [h] or [h, c] of (batch_size, hidden_size)
            arrays; by default from cfg.initial_state.
        engines: an EngineCache; by default the process-wide one.
        layer_kwargs: Keras layer arguments replacing those cfg stands for
            (used by trace_layer for a user's own layer).
        mask: optional (num_batches, batch_size, num_steps) booleans, False for a
            step Keras must skip (see `Trace.mask`).

    Example:
        >>> trace = run(RunConfig(cell="lstm", stateful=True))
        >>> trace.h.shape, trace.c.shape
        ((3, 2, 5, 8), (3, 2, 5, 8))
    """
    from rnnviz.core import tracer

    if not isinstance(cfg, RunConfig):
        raise ConfigError("cfg", Described(type(cfg).__name__), "must be an rnnviz.RunConfig")
    k, b, t, f, u = (
        cfg.num_batches,
        cfg.batch_size,
        cfg.num_steps,
        cfg.num_features,
        cfg.hidden_size,
    )
    x = make_inputs(cfg) if inputs is None else _check_array("inputs", inputs, (k, b, t, f))
    w = (
        make_weights(cfg)
        if weights is None
        else _check_list("weights", weights, weight_shapes(cfg))
    )
    n_states = len(cfg.state_names)
    s0 = (
        make_initial_state(cfg)
        if initial_state is None
        else _check_list("initial_state", initial_state, [(b, u)] * n_states)
    )

    cache = engines if engines is not None else tracer.default_cache()
    kwargs = layer_kwargs if layer_kwargs is not None else tracer.layer_kwargs(cfg)
    if mask is not None:
        mask = _check_mask(mask, (k, b, t))
        kwargs = {**kwargs, tracer.MASKED: True}
    # RunConfig's own layers (not a user's layer, no mask) may run on a PolyEngine: a
    # structure never seen costs a run, not a layer build and a trace.
    engine = cache.get(
        cfg.cell, kwargs, f, b, poly=layer_kwargs is None and mask is None, shape=(k, b, t)
    )
    returned, seq, initial = cache.run(
        engine,
        x,
        w,
        s0,
        reset_before=cfg.reset_before if cfg.stateful else (),
        **({"mask": mask} if mask is not None else {}),
    )
    if mask is not None:
        if kwargs.get("go_backwards"):
            mask = mask[..., ::-1]  # the trace's step order: the order Keras processed them
        seq = _hold_masked_steps(seq, mask, initial, n_states * u)
    # Views into the one array the engine returned: no copies on the hot path.
    blocks = [seq[..., i * u : (i + 1) * u] for i in range(seq.shape[-1] // u)]
    h = blocks[0]
    c = blocks[1] if cfg.has_cell_state else None
    gates = {name: blocks[n_states + i] for i, name in enumerate(GATES[cfg.cell])}
    finals = [[h[i, :, -1]] + ([c[i, :, -1]] if c is not None else []) for i in range(k)]
    names = output_names(cfg)
    return Trace(
        config=cfg,
        inputs=x,
        weights=w,
        h=h,
        c=c,
        gates=gates,
        initial_states=[[state[i] for state in initial] for i in range(k)],
        final_states=finals,
        outputs=[[(name, r[i]) for name, r in zip(names, returned, strict=True)] for i in range(k)],
        state_size=engine.state_size_for(u),
        layer_config={key: value for key, value in kwargs.items() if key != tracer.MASKED},
        mask=mask,
        origins=origins(cfg, given=initial_state is not None),
    )


def origins(cfg: RunConfig, given: bool = False) -> list[list[str]]:
    """Where each batch's and row's initial state comes from, as `run` feeds the layer:
    batch 0 (and every batch of a stateless layer) from the initial state; a stateful
    layer's later batches from the same row's end of the batch before, or zeros after
    `reset_state()`."""
    first = "given initial state" if given else f"initial state ({cfg.initial_state})"
    out = []
    for k in range(cfg.num_batches):
        if k == 0 or not cfg.stateful:
            out.append([first] * cfg.batch_size)
        elif k in cfg.reset_before:
            out.append(["reset_state(): zeros"] * cfg.batch_size)
        else:
            out.append([f"carried from row {i} of batch {k - 1}" for i in range(cfg.batch_size)])
    return out


def _check_mask(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value)
    if array.shape != shape:
        raise ConfigError("mask", Described(f"shape {array.shape}"), f"must have shape {shape}")
    if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
        raise ConfigError("mask", Described(f"dtype {array.dtype}"), "must hold True/False")
    return array.astype(bool)


def _hold_masked_steps(
    seq: np.ndarray, mask: np.ndarray, initial: list[np.ndarray], state_width: int
) -> np.ndarray:
    """At a masked step Keras keeps the previous states and uses no gate: the trace
    says so. (The tracer's own output there is its previous output, which is zeros
    before the first unmasked step, not the initial state.)"""
    seq = np.array(seq)
    start = np.concatenate(initial, axis=-1)  # (num_batches, batch_size, state_width)
    for step in range(seq.shape[2]):
        held = ~mask[:, :, step]
        if held.any():
            previous = seq[:, :, step - 1, :state_width] if step else start
            seq[:, :, step, :state_width][held] = previous[held]
            seq[:, :, step, state_width:][held] = np.nan
    return seq


def trace_layer(
    layer: Any,
    x: Any,
    initial_state: Any = None,
    stateful: bool = False,
    *,
    engines: Any = None,
    mask: Any = None,
) -> Trace:
    """Returns the Trace of an existing Keras LSTM, GRU or SimpleRNN layer on inputs x.

    The layer's weights and configuration (activations, flags, GRU reset_after)
    are copied into a cached engine; the layer itself is not modified.

    Args:
        layer: a built keras.layers.LSTM, GRU or SimpleRNN.
        x: (batch_size, num_steps, num_features) for one batch, or
            (num_batches, batch_size, num_steps, num_features) for consecutive batches.
        initial_state: optional [h] or [h, c], each (batch_size, units); zeros by default.
        stateful: carry the state from batch to batch (Keras `stateful=True`).
        mask: optional (batch_size, num_steps) booleans (or one per batch), False for
            the steps Keras skips; recorded in `Trace.mask`.

    A `go_backwards` layer is traced in the order it processes the steps, the order its
    outputs come in: step t of the trace is input step num_steps - 1 - t.
    """
    from rnnviz.core import tracer

    kind = tracer.KIND_OF_CLASS.get(type(layer))
    if kind is None:
        raise ConfigError(
            "layer",
            Described(type(layer).__name__),
            "must be a keras.layers.LSTM, GRU or SimpleRNN",
        )
    if not layer.built:
        raise ConfigError("layer", layer.name, "must be built (call it once, or build it)")
    _check_activations(layer)
    if mask is None:
        # What layer(x) does: Keras reads the mask a masking layer attached to x
        # (Embedding(mask_zero=True), Masking) from the tensor itself.
        mask = getattr(x, "_keras_mask", None)
        if mask is not None:
            mask = np.asarray(mask)
    return trace_weights(
        kind,
        layer.get_config(),
        layer.get_weights(),
        x,
        initial_state,
        stateful,
        engines=engines,
        mask=mask,
    )


def _check_activations(layer: Any) -> None:
    """Refuses a layer whose activation is a Python function instead of one of Keras's:
    the engine rebuilds the layer from its config, which can only name Keras's own."""
    import keras

    for field in ("activation", "recurrent_activation"):
        function = getattr(layer.cell, field, None)
        if function is None:
            continue
        name = getattr(function, "__name__", type(function).__name__)
        known = name in ACTIVATIONS and keras.activations.get(name) is function
        if not known:
            raise ConfigError(
                field,
                Described(f"the Python function {name!r}"),
                f"must be one of Keras's activations by name ({', '.join(sorted(ACTIVATIONS))})",
            )


#: Keras layer arguments that do not change what a trace computes. `unroll` is how Keras
#: runs the steps (a Python loop instead of a while loop: the same operations per step),
#: and an unrolled layer needs a fixed number of steps the engine's graph does not have.
_IGNORED_KWARGS = (
    "unroll",
    "name",
    "trainable",
    "seed",
    "dtype",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
)


DTYPE_POLICIES = ("float32", "float64", "mixed_float16", "float16", "bfloat16", "mixed_bfloat16")


def dtype_policy_name(value: Any) -> str:
    """The dtype policy's name in a layer config ("float32" when it names none)."""
    if isinstance(value, dict):
        value = value.get("config", {}).get("name")
    if value is None:
        return "float32"
    if value not in DTYPE_POLICIES:
        raise ConfigError("dtype", value, f"must be one of {', '.join(DTYPE_POLICIES)}")
    return str(value)


def as_flag(field: str, value: Any) -> bool:
    """A flag from a config file: True/False, 0/1 or "true"/"false"; anything else refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(field, value, "must be True or False")


def trace_weights(
    kind: str,
    config: dict[str, Any],
    weights: Any,
    x: Any,
    initial_state: Any = None,
    stateful: bool = False,
    *,
    engines: Any = None,
    mask: Any = None,
) -> Trace:
    """Returns the Trace of a Keras layer given by its config and weights on inputs x.

    The same as `trace_layer`, for weights that are not in a layer (a training run's
    snapshot of one epoch, a checkpoint).

    Args:
        kind: "lstm", "gru" or "simple_rnn".
        config: the layer's `get_config()`.
        weights: [kernel, recurrent_kernel, bias] as `get_weights()` returns them.
        x, initial_state, stateful: as for `trace_layer`.
        mask: optional booleans shaped like x without its features axis: False where
            Keras skips a step (Embedding mask_zero, Masking).

    A float64 or mixed_float16 layer is traced in its own dtype; the Trace holds float32.
    Dropout is not applied: a trace is inference, as `model.predict` is.
    """
    if not isinstance(stateful, (bool, np.bool_)):
        raise ConfigError("stateful", stateful, "must be True or False")
    try:
        array = np.asarray(x)
    except (ValueError, TypeError) as error:  # ragged nested lists, odd objects
        raise ConfigError(
            "x", Described(type(x).__name__), f"must be a rectangular numeric array: {error}"
        ) from None
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ConfigError(
            "x",
            Described(f"shape {array.shape}"),
            "must be (batch_size, num_steps, num_features) or "
            "(num_batches, batch_size, num_steps, num_features)",
        )
    weights = list(weights)
    width = np.shape(weights[0])[0] if weights else None
    if width is not None and array.shape[-1] != width:
        raise ConfigError(
            "x",
            Described(f"shape {array.shape}"),
            f"must have {width} features in its last axis, the layer's input width",
        )
    with layer_limits():
        cfg = _layer_config(kind, config, array.shape, stateful)
    kwargs = {key: value for key, value in config.items() if key not in _IGNORED_KWARGS}
    kwargs["stateful"] = bool(stateful)
    for flag in ("return_sequences", "return_state", "go_backwards"):
        if flag in kwargs:
            kwargs[flag] = as_flag(flag, kwargs[flag])
    policy = dtype_policy_name(config.get("dtype"))
    if policy != "float32":
        kwargs["dtype"] = policy
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim == 2:
            mask = mask[None]
    if config.get("use_bias") is False:
        # Traced with a bias of zeros: x W + h U + 0 is the layer's own x W + h U.
        kwargs.pop("use_bias")
        weights = [*list(weights)[:2], np.zeros(weight_shapes(cfg)[2], np.float32)]
    state = initial_state if initial_state is not None else make_initial_state(cfg)
    trace = run(
        cfg,
        inputs=array,
        weights=weights,
        initial_state=state,
        engines=engines,
        layer_kwargs=kwargs,
        mask=mask,
    )
    # The Trace describes the user's layer, also where the engine ran an equivalent one.
    kept = {key: config[key] for key in ("use_bias", "unroll") if key in config}
    return dataclasses.replace(trace, layer_config={**trace.layer_config, **kept})


def _layer_config(
    kind: str, config: dict[str, Any], shape: tuple[int, ...], stateful: bool
) -> RunConfig:
    k, b, t, f = shape
    return RunConfig(
        cell=kind,
        batch_size=b,
        num_steps=t,
        num_features=f,
        hidden_size=int(config["units"]),
        num_batches=k,
        return_sequences=as_flag("return_sequences", config.get("return_sequences", False)),
        return_state=as_flag("return_state", config.get("return_state", False)),
        stateful=bool(stateful),
        reset_after=bool(config.get("reset_after", True)),
    )
