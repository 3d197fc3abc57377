"""What a user can configure, and the limits every field is checked against.

Importing this module loads no TensorFlow, so an app can validate input before
the (slow) TensorFlow import has finished.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CELLS = ("lstm", "gru", "simple_rnn")
SIGNALS = ("sine", "zeros", "ones", "random", "step", "impulse", "ramp", "answer_002")

#: The 2 x 3 x 3 array of the third classic answer (seeds/002), every batch the same.
ANSWER_002 = (((1, 2, 3), (4, 5, 6), (7, 8, 9)), ((1, 2, 3), (4, 5, 6), (0, 0, 0)))
INITIAL_STATES = ("zeros", "random")

#: Inclusive ranges of the integer fields.
LIMITS: dict[str, tuple[int, int]] = {
    "batch_size": (1, 256),
    "num_steps": (1, 2000),
    "num_features": (1, 64),
    "hidden_size": (1, 1024),
    "num_batches": (1, 20),
    "seed": (0, 2**31 - 1),
}

#: Largest num_batches * batch_size * num_steps * hidden_size a trace may hold.
#: An LSTM trace keeps six arrays of that many float32 (h, c, four gates):
#: 4M values is 96 MB, the most a shared machine should spend on one trace.
MAX_TRACE_VALUES = 4_000_000

#: Largest num_batches * batch_size * num_steps * num_features of the inputs.
MAX_INPUT_VALUES = 4_000_000


def usable_cores() -> int:
    """The number of cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: Keras's own activations by name: what a model file may name (its other functions are
#: refused) and what a traced layer may use (a Python function cannot be rebuilt).
ACTIVATIONS = frozenset(
    {
        "tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "linear", "softmax", "softsign",
        "softplus", "elu", "selu", "gelu", "silu", "swish", "exponential", "leaky_relu",
        "log_softmax", "mish", "hard_silu", "hard_swish",
    }
)  # fmt: skip


def _assets_dir() -> Path:
    """The shipped checkpoints and corpus: inside an installed wheel (rnnviz/_app/assets,
    see setup.py), or assets/ beside the package in a checkout."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_app" / "assets"
    return packaged if packaged.is_dir() else package.parent / "assets"


ASSETS_DIR = _assets_dir()


def env_int(name: str, default: int, minimum: int, environ: Mapping[str, str] | None = None) -> int:
    """The whole number in environment variable `name` (`default` when unset or empty).

    A value that is not a whole number, or is below `minimum`, raises a ValueError naming
    the variable and what is allowed: a server setting is never silently replaced.
    """
    raw = (os.environ if environ is None else environ).get(name, "")
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{name}={raw!r} must be a whole number, at least {minimum}")
    return value


class ConfigError(ValueError):
    """A field or array a user gave is invalid; the message names it and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}={_short(value)} is invalid: {allowed}")


class Described(str):
    """A description standing for a value too large to print (its repr has no quotes)."""

    def __repr__(self) -> str:
        return str(self)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class RunConfig:
    """One experiment: a Keras recurrent layer, its flags, and the batches fed to it.

    Args:
        cell: "lstm", "gru" or "simple_rnn" (keras.layers.LSTM, GRU, SimpleRNN).
        batch_size: samples per batch (rows), the first axis Keras sees.
        num_steps: timesteps per batch.
        num_features: input features per timestep.
        hidden_size: the layer's `units`; h_t and c_t have this many values.
        num_batches: consecutive batches fed to the layer, in order.
        return_sequences: the layer returns h_t for every t, not only the last.
        return_state: the layer also returns its final states (h, and c for LSTM).
        stateful: batch k+1 starts from batch k's final state, row by row.
        signal: the input generator, one of SIGNALS.
        initial_state: "zeros" or "random", the state batch 0 starts from
            (and every batch, when not stateful).
        seed: drives the weights, the random inputs and a random initial state.
        reset_after: GRU only, Keras's `reset_after` (True is the Keras default).
        reset_before: batch indices before which a stateful layer is reset with
            `reset_state()` (its state becomes zeros).

    Example:
        >>> cfg = RunConfig(cell="gru", hidden_size=4, stateful=True, reset_before=(2,))
    """

    cell: str = "lstm"
    batch_size: int = 2
    num_steps: int = 5
    num_features: int = 1
    hidden_size: int = 8
    num_batches: int = 3
    return_sequences: bool = True
    return_state: bool = True
    stateful: bool = False
    signal: str = "sine"
    initial_state: str = "zeros"
    seed: int = 0
    reset_after: bool = True
    reset_before: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # NumPy's whole numbers and flags (a notebook's np.int64(4)) are read as Python's.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.bool_):
                object.__setattr__(self, f.name, bool(value))
            elif isinstance(value, np.integer):
                object.__setattr__(self, f.name, int(value))
        # reset_before is a set of batches: a list or tuple in any order, repeats
        # allowed, is kept as the sorted, hashable tuple (a link may list them any way).
        rb = self.reset_before
        if isinstance(rb, (list, tuple)) and all(
            isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in rb
        ):
            object.__setattr__(self, "reset_before", tuple(sorted({int(k) for k in rb})))
        elif isinstance(rb, list):
            object.__setattr__(self, "reset_before", tuple(rb))
        validate(self)

    @property
    def has_cell_state(self) -> bool:
        """True for LSTM, the one cell with a cell state c_t."""
        return self.cell == "lstm"

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the layer's states in Keras order: ("h", "c") or ("h",)."""
        return ("h", "c") if self.has_cell_state else ("h",)

    @property
    def gate_names(self) -> tuple[str, ...]:
        """Names of the gates the trace holds for this cell, in Keras weight order."""
        return GATES[self.cell]

    def replace(self, **changes: Any) -> RunConfig:
        """Returns a copy with the given fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Returns the fields as plain Python values (reset_before as a list)."""
        d = dataclasses.asdict(self)
        d["reset_before"] = list(self.reset_before)
        return d


#: Post-activation gate values a trace holds, per cell, in Keras weight order.
GATES: dict[str, tuple[str, ...]] = {
    "lstm": ("input", "forget", "candidate", "output"),
    "gru": ("update", "reset", "candidate"),
    "simple_rnn": (),
}

#: Gates squashed by the recurrent activation (sigmoid, 0..1); the others are tanh (-1..1).
SIGMOID_GATES = frozenset({"input", "forget", "output", "update", "reset"})


#: The limits of a user's own layer (trace_layer, trace_model): wider than the Explore
#: page's controls (an LSTM after a 300-wide Embedding has 300 features), still bounded
#: by MAX_TRACE_VALUES and MAX_INPUT_VALUES.
LAYER_LIMITS: dict[str, tuple[int, int]] = {
    **LIMITS,
    "batch_size": (1, 4096),
    "num_steps": (1, 100_000),
    "num_features": (1, 4096),
    "hidden_size": (1, 4096),
    # a stateful network's held-out stream: many consecutive batches (the Stateful page)
    "num_batches": (1, 5000),
}
_active_limits: contextvars.ContextVar[dict[str, tuple[int, int]]] = contextvars.ContextVar(
    "rnnviz_limits", default=LIMITS
)


@contextlib.contextmanager
def layer_limits() -> Iterator[None]:
    """RunConfigs made inside are checked against LAYER_LIMITS instead of LIMITS."""
    token = _active_limits.set(LAYER_LIMITS)
    try:
        yield
    finally:
        _active_limits.reset(token)


def _check_int(cfg: RunConfig, name: str) -> None:
    value = getattr(cfg, name)
    lo, hi = _active_limits.get()[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, value, f"must be a whole number from {lo} to {hi}")
    if not lo <= value <= hi:
        raise ConfigError(name, value, f"must be from {lo} to {hi}")


def _check_choice(cfg: RunConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(cfg, name)
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(name, value, "must be one of " + ", ".join(choices))


def validate(cfg: RunConfig) -> None:
    """Raises ConfigError for the first invalid field of cfg."""
    _check_choice(cfg, "cell", CELLS)
    for name in LIMITS:
        _check_int(cfg, name)
    for name in ("return_sequences", "return_state", "stateful", "reset_after"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(name, getattr(cfg, name), "must be True or False")
    _check_choice(cfg, "signal", SIGNALS)
    _check_choice(cfg, "initial_state", INITIAL_STATES)
    if cfg.signal == "answer_002" and (cfg.batch_size, cfg.num_steps, cfg.num_features) != (
        2,
        3,
        3,
    ):
        raise ConfigError(
            "signal",
            cfg.signal,
            "the answer's array needs batch_size=2, num_steps=3, num_features=3",
        )
    rb = cfg.reset_before
    if not isinstance(rb, tuple) or not all(
        isinstance(k, int) and not isinstance(k, bool) for k in rb
    ):
        raise ConfigError("reset_before", rb, "must be a list of batch indices")
    bad = [k for k in rb if not 1 <= k < cfg.num_batches]
    if bad:
        raise ConfigError(
            "reset_before",
            list(rb),
            f"batch indices must be from 1 to num_batches-1 = {cfg.num_batches - 1}",
        )
    values = cfg.num_batches * cfg.batch_size * cfg.num_steps * cfg.hidden_size
    if values > MAX_TRACE_VALUES:
        raise ConfigError(
            "num_batches*batch_size*num_steps*hidden_size",
            values,
            f"must be at most {MAX_TRACE_VALUES:,} so a trace fits in memory; lower one of them",
        )
    inputs = cfg.num_batches * cfg.batch_size * cfg.num_steps * cfg.num_features
    if inputs > MAX_INPUT_VALUES:
        raise ConfigError(
            "num_batches*batch_size*num_steps*num_features",
            inputs,
            f"must be at most {MAX_INPUT_VALUES:,}; lower one of them",
        )
