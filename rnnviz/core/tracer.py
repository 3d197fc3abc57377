"""The genuine Keras layer, a tracer that steps the same cell, and their compiled forms.

An Engine owns one real `keras.layers.LSTM` / `GRU` / `SimpleRNN`, configured
with the user's flags, and a `keras.layers.RNN` over a TracingCell that calls
that layer's own cell, so h_t and c_t are Keras's numbers bit for bit, and
also emits the gates. Both run in one compiled graph per batch.

Compilation is tiered, because tracing costs ~0.15 s and XLA ~0.5 s while a
compiled step costs milliseconds: a new structure first runs as a
shape-polymorphic `tf.function` graph (any batch size and number of steps),
and an XLA version for the shapes actually used is compiled in a background
thread and takes over once ready. Weights and initial states are assigned into
the existing variables, so a new seed, signal or initial state rebuilds nothing.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnviz.core.config import GATES, env_int
from rnnviz.serving.memory import Budget, default_budget

LAYER_CLASSES: dict[str, type] = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
}
KIND_OF_CLASS = {cls: kind for kind, cls in LAYER_CLASSES.items()}

#: How XLA is used: "background" (default), "never" (graph only), "always" (compile inline).
#: Memory of a built and traced engine beyond its weights, and of one XLA executable:
#: RSS growth per engine measured over dozens of engines (docs/performance.md, "Memory").
ENGINE_BYTES = 3_500_000  # measured 3.33-3.45 MB per small engine
XLA_SHAPE_BYTES = 6 * 2**20
#: A shape is compiled with XLA from its second run on (a structure tried once never
#: pays the ~0.5 s compile), and at most MAX_XLA_COMPILES times per process: TensorFlow
#: keeps every XLA executable in a process-wide cache that nothing evicts (a soak grew
#: ~1.1 MB per distinct run with unbounded compiles; docs/performance.md, "Memory").
XLA_AFTER_RUNS = 2
MAX_XLA_COMPILES = env_int("RNNVIZ_MAX_XLA_COMPILES", 32, 0)
#: Background work starts only after this long without a foreground run (see _wait_quiet).
QUIET_S = 0.5
#: At most this many background jobs wait; more are dropped (a later run submits them again).
MAX_PENDING = 16
XLA_MODES = ("background", "never", "always")
#: At most this many (structure, shape) run counts are kept for the PolyEngine's XLA
#: decision; past it they start again from zero (a few hundred kB at most).
MAX_POLY_COUNTS = 10_000
#: The key in an engine's kwargs that says its batches come with a mask (not a Keras one).
MASKED = "_masked"


def _lstm_gates(cell: Any, x: Any, states: Sequence[Any]) -> list[Any]:
    # The same ops, in the same order, as keras LSTMCell.call (implementation 2).
    z = ops.matmul(x, cell.kernel)
    z = ops.add(z, ops.matmul(states[0], cell.recurrent_kernel))
    if cell.use_bias:
        z = ops.add(z, cell.bias)
    z0, z1, z2, z3 = ops.split(z, 4, axis=1)
    act, rec = cell.activation, cell.recurrent_activation
    return [rec(z0), rec(z1), act(z2), rec(z3)]


def _gru_gates(cell: Any, x: Any, states: Sequence[Any]) -> list[Any]:
    # The same ops as keras GRUCell.call (implementation 2), both reset_after modes.
    h_tm1, units = states[0], cell.units
    matrix_x = ops.matmul(x, cell.kernel)
    recurrent_bias = None
    if cell.use_bias:
        if cell.reset_after:
            input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
        else:
            input_bias = cell.bias
        matrix_x = ops.add(matrix_x, input_bias)
    x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
    if cell.reset_after:
        inner = ops.matmul(h_tm1, cell.recurrent_kernel)
        if recurrent_bias is not None:
            inner = inner + recurrent_bias
    else:
        inner = ops.matmul(h_tm1, cell.recurrent_kernel[:, : 2 * units])
    z = cell.recurrent_activation(x_z + inner[:, :units])
    r = cell.recurrent_activation(x_r + inner[:, units : 2 * units])
    if cell.reset_after:
        recurrent_h = r * inner[:, 2 * units :]
    else:
        recurrent_h = ops.matmul(r * h_tm1, cell.recurrent_kernel[:, 2 * units :])
    return [z, r, cell.activation(x_h + recurrent_h)]


GATE_FUNCTIONS: dict[str, Callable[[Any, Any, Sequence[Any]], list[Any]]] = {
    "lstm": _lstm_gates,
    "gru": _gru_gates,
    "simple_rnn": lambda cell, x, states: [],
}


class TracingCell(keras.layers.Layer):
    """A cell that steps a genuine Keras cell and also outputs its states and gates.

    Its per-timestep output is the concatenation [h, (c), gate_1, ...], each
    `units` wide; its states are the inner cell's, unchanged.
    """

    def __init__(self, cell: Any, kind: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.cell = cell
        self.kind = kind
        self.state_size = cell.state_size
        n_states = 2 if kind == "lstm" else 1
        self.output_size = cell.units * (n_states + len(GATES[kind]))

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, states: Any, training: bool = False) -> Any:
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        _, new_states = self.cell(inputs, states, training=False)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        gates = GATE_FUNCTIONS[self.kind](self.cell, inputs, states)
        return ops.concatenate([*new_states, *gates], axis=-1), new_states


def layer_kwargs(cfg: Any) -> dict[str, Any]:
    """Returns the Keras layer arguments a RunConfig stands for."""
    kwargs = {
        "units": cfg.hidden_size,
        "return_sequences": cfg.return_sequences,
        "return_state": cfg.return_state,
        "stateful": cfg.stateful,
    }
    if cfg.cell == "gru":
        kwargs["reset_after"] = cfg.reset_after
    return kwargs


class Engine:
    """A genuine Keras layer and its tracer, built once, fed any weights and batches.

    Not for direct use: `rnnviz.run` gets engines from an EngineCache. Every
    method that touches the layer's variables holds `self.lock`.
    """

    def __init__(self, kind: str, kwargs: dict[str, Any], num_features: int, batch_size: int):
        self.kind = kind
        self.kwargs = dict(kwargs)
        # Not Keras arguments: whether batches come with a mask (issue 10: Embedding
        # mask_zero, Masking), and the layer's dtype policy ("float64", "mixed_float16").
        self.masked = bool(kwargs.get(MASKED, False))
        policy = kwargs.get("dtype")
        # XLA is for the Explore page's float32, unmasked layers; the rest stay on the graph tier.
        self.xla_capable = not self.masked and policy in (None, "float32")
        self.stateful = bool(kwargs.get("stateful", False))
        self.num_features = num_features
        self.units = int(kwargs["units"])
        self.num_states = 2 if kind == "lstm" else 1
        self.lock = threading.Lock()
        self.xla_ready: set[tuple[int, int, int]] = set()  # (batches, batch_size, steps)
        self.shape_runs: collections.Counter[tuple[int, int, int]] = collections.Counter()
        self._weights: list[np.ndarray] | None = None

        layer = LAYER_CLASSES[kind](**{k: v for k, v in kwargs.items() if k != MASKED})
        if self.stateful:
            # Keras 3: a stateful layer needs a static batch size, given by its Input.
            layer(keras.Input(batch_shape=(batch_size, None, num_features)))
        else:
            layer.build((None, None, num_features))
        self.layer = layer
        # In the order the layer processes the steps: a go_backwards layer's last step first.
        self.tracer = keras.layers.RNN(
            TracingCell(layer.cell, kind, dtype=policy),
            return_sequences=True,
            go_backwards=bool(kwargs.get("go_backwards", False)),
            dtype=policy,
        )
        self.tracer.build((None, None, num_features))
        self.num_returned = 1 + (self.num_states if kwargs.get("return_state") else 0)
        b = batch_size if self.stateful else None
        signature = [
            tf.TensorSpec((None, b, None, num_features), tf.float32),  # (batches, B, T, F)
            tf.TensorSpec((None,), tf.bool),  # reset_state() before this batch (stateful)
            *[tf.TensorSpec((b, self.units), tf.float32)] * self.num_states,
        ]
        # Graph tier: one batch per call. Its trace and first instantiation cost
        # less than the all-batches loop's, and a new structure pays both.
        batch_spec = tf.TensorSpec((b, None, num_features), tf.float32)
        mask_spec = [tf.TensorSpec((b, None), tf.bool)] if self.masked else []
        self._graph_fn = tf.function(
            self._forward_batch,
            input_signature=[batch_spec, *mask_spec, *([] if self.stateful else signature[2:])],
            autograph=False,
        )
        # XLA tier: all batches in one dispatch (per-call overhead was a third of a run).
        self._xla_fn = tf.function(self._forward, input_signature=signature, jit_compile=True)

    def nbytes_estimate(self) -> int:
        """The memory this engine holds, as measured on this code (docs/performance.md):
        its traced graphs, its weights three times over (the layer's variables, the
        recorded copy, TensorFlow's buffers) and each XLA executable it compiled."""
        weights = sum(int(np.prod(w.shape)) * 4 for w in self.layer.weights)
        return ENGINE_BYTES + 3 * weights + XLA_SHAPE_BYTES * len(self.xla_ready)

    @property
    def state_size(self) -> Any:
        """The Keras cell's state_size, as Keras reports it."""
        size = self.layer.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else int(size)

    def state_size_for(self, units: int) -> Any:
        return self.state_size

    def _forward(self, x: Any, resets: Any, *initial: Any) -> tuple[Any, Any, Any]:
        """Feeds the batches x[0], x[1], ... to the layer in order, in one compiled call.

        One dispatch for all batches instead of one per batch: per-call overhead
        was a third of a run. The loop body calls the genuine layer on one batch,
        exactly as a user's loop would, and the tracer from the same initial state.
        Returns (returned tensors, trace, initial states), each stacked over batches.
        """
        n = tf.shape(x)[0]
        if self.stateful:
            for variable, value in zip(self.layer.states, initial, strict=True):
                variable.assign(value)

        def body(k: Any, returned_ta: Any, seq_ta: Any, init_ta: Any) -> tuple[Any, ...]:
            if self.stateful:
                # The genuine reset_state(), run only before the batches asked for.
                tf.cond(resets[k], self._reset_state, lambda: tf.constant(False))
            returned, seq, start = self._forward_batch(x[k], *initial)  # unmasked only
            returned_ta = [ta.write(k, t) for ta, t in zip(returned_ta, returned, strict=True)]
            init_ta = [ta.write(k, t) for ta, t in zip(init_ta, start, strict=True)]
            return k + 1, returned_ta, seq_ta.write(k, seq), init_ta

        def arrays(count: int) -> list[Any]:
            return [tf.TensorArray(tf.float32, size=n) for _ in range(count)]

        _, returned_ta, seq_ta, init_ta = tf.while_loop(
            lambda k, *_: k < n,
            body,
            (tf.constant(0), arrays(self.num_returned), arrays(1)[0], arrays(self.num_states)),
        )
        return (
            tuple(ta.stack() for ta in returned_ta),
            seq_ta.stack(),
            tuple(ta.stack() for ta in init_ta),
        )

    def _forward_batch(self, xk: Any, *rest: Any) -> tuple[Any, Any, Any]:
        """Feeds one batch to the genuine layer and to the tracer, from the same state.

        `rest` is (mask, *initial) for a masked engine, else (*initial). Whatever the
        layer computes in (float64, float16), what comes out is float32.
        """
        mask = {"mask": rest[0]} if self.masked else {}
        initial = rest[1:] if self.masked else rest
        if self.stateful:
            # The stored state is this batch's initial state; the layer call
            # below overwrites it with the batch's final state.
            start = [tf.identity(v.value) for v in self.layer.states]
            returned = self.layer(xk, **mask)
        else:
            start = list(initial)
            compute = self.layer.compute_dtype
            returned = self.layer(xk, initial_state=[ops.cast(s, compute) for s in start], **mask)
        seq = self.tracer(
            xk, initial_state=[ops.cast(s, self.layer.compute_dtype) for s in start], **mask
        )
        as_float32 = [ops.cast(t, "float32") for t in _as_tuple(returned)]
        start = [ops.cast(s, "float32") for s in start]
        return tuple(as_float32), ops.cast(seq, "float32"), tuple(start)

    def _reset_state(self) -> Any:
        self.layer.reset_state()
        return tf.constant(True)

    @property
    def traces(self) -> int:
        """How many times the compiled forward has been traced (graph and XLA tiers)."""
        return (
            self._graph_fn.experimental_get_tracing_count()
            + self._xla_fn.experimental_get_tracing_count()
        )

    def trace_graph(self) -> None:
        """Traces the graph tier without running it, so the first run skips the ~0.15 s trace."""
        with self.lock:
            self._graph_fn.get_concrete_function()

    def warm_xla(self, shape: tuple[int, int, int]) -> None:
        """Compiles XLA for (num_batches, batch_size, num_steps); later runs of it use XLA."""
        with self.lock:
            if shape in self.xla_ready:
                return
            num_batches, batch_size, num_steps = shape
            x = np.zeros((num_batches, batch_size, num_steps, self.num_features), np.float32)
            states = [np.zeros((batch_size, self.units), np.float32)] * self.num_states
            # Harmless for a stateful layer: every run assigns its initial state first.
            self._xla_fn(x, np.zeros(num_batches, bool), *states)
            self.xla_ready.add(shape)

    def run(
        self,
        inputs: np.ndarray,
        weights: Sequence[np.ndarray],
        initial_state: Sequence[np.ndarray],
        reset_before: Sequence[int] = (),
        xla: str = "background",
        mask: np.ndarray | None = None,
    ) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
        """Feeds the batches in order; returns (returned tensors, trace, initial states).

        Each is stacked over batches: the i-th returned tensor of batch k is
        `returned[i][k]`; the trace is (num_batches, batch_size, num_steps,
        units * (states + gates)); the initial states are (num_batches, batch_size, units). A
        stateful layer starts from `initial_state`, carries its state from
        batch to batch and is reset with `reset_state()` before each batch in
        `reset_before`; a stateless one starts every batch from `initial_state`.
        A masked engine takes `mask`, (num_batches, batch_size, num_steps) booleans.
        """
        if self.masked != (mask is not None):
            raise ValueError("a masked engine needs a mask, and only a masked one takes it")
        resets = np.array(
            [self.stateful and k in reset_before for k in range(inputs.shape[0])], bool
        )
        with self.lock:
            if not self._weights_equal(weights):
                self.layer.set_weights(list(weights))
                self._weights = [np.array(w) for w in weights]
            if self.xla_capable and (xla == "always" or tuple(inputs.shape[:3]) in self.xla_ready):
                returned, seq, initial = self._xla_fn(inputs, resets, *initial_state)
            else:
                returned, seq, initial = self._run_graph_tier(inputs, resets, initial_state, mask)
            returned = [np.asarray(t) for t in returned]
            seq = np.asarray(seq)
            initial = [np.asarray(s) for s in initial]
        return returned, seq, initial

    def _run_graph_tier(
        self,
        inputs: np.ndarray,
        resets: np.ndarray,
        initial_state: Sequence[np.ndarray],
        mask: np.ndarray | None = None,
    ) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
        # _forward's loop, driven from Python one batch per call.
        if self.stateful:
            for variable, value in zip(self.layer.states, initial_state, strict=True):
                variable.assign(value)
        per_batch = []
        for k in range(inputs.shape[0]):
            if resets[k]:
                self.layer.reset_state()
            args = [] if self.stateful else list(initial_state)
            masks = [] if mask is None else [mask[k]]
            per_batch.append(self._graph_fn(inputs[k], *masks, *args))
        return (
            [np.stack([p[0][i] for p in per_batch]) for i in range(self.num_returned)],
            np.stack([p[1] for p in per_batch]),
            [np.stack([p[2][i] for p in per_batch]) for i in range(self.num_states)],
        )

    def _weights_equal(self, weights: Sequence[np.ndarray]) -> bool:
        # Assigning unchanged weights again is a third of a millisecond per run saved.
        return self._weights is not None and all(
            a.shape == b.shape and np.array_equal(a, b)
            for a, b in zip(self._weights, weights, strict=True)
        )


#: The cell attributes a PolyEngine replaces with its arguments for the length of a trace.
_WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


class PolyEngine:
    """One traced graph per cell kind and return flags, for every hidden size, number of
    features, batch size and number of steps: the weights are arguments, not variables.

    A new layer structure (a hidden_size or num_features the process has never run) costs
    an Engine a genuine layer built and a graph traced (~0.1-0.4 s); here it costs only the
    run. The graph is traced once per (kind, flags) on a genuine Keras layer of that class
    and flags: while it is traced, the layer's cell reads its kernel, recurrent kernel and
    bias from the function's arguments (tensors of unknown shape) and its `units` from the
    recurrent kernel's shape, so the cell's own `call` (and the layer's own loop, flags and
    return values) computes with any sizes. A stateful layer is run stateless, batch after
    batch, each batch started from the previous batch's final state (zeros after a
    `reset_state()`): exactly what the stateful layer's state variables carry (tests compare
    it with a genuine stateful layer).

    Used by EngineCache for `rnnviz.run`'s own configurations (float32, no mask, the
    arguments RunConfig stands for); a user's layer keeps its own Engine.
    """

    def __init__(self, kind: str, kwargs: dict[str, Any]):
        self.kind = kind
        self.kwargs = dict(kwargs)
        self.stateful = bool(kwargs.get("stateful", False))
        self.num_states = 2 if kind == "lstm" else 1
        self.lock = threading.Lock()
        args = {k: v for k, v in kwargs.items() if k not in ("units", "stateful")}
        layer = LAYER_CLASSES[kind](units=1, stateful=False, **args)
        layer.build((None, None, 1))
        self.layer = layer
        self.tracer = keras.layers.RNN(TracingCell(layer.cell, kind), return_sequences=True)
        self.tracer.build((None, None, 1))
        self.num_returned = 1 + (self.num_states if kwargs.get("return_state") else 0)
        bias_shape = (2, None) if kind == "gru" and kwargs.get("reset_after", True) else (None,)
        matrix = tf.TensorSpec((None, None), tf.float32)
        self._concrete: Any = None
        self._fn = tf.function(
            self._forward_batch,
            input_signature=[
                tf.TensorSpec((None, None, None), tf.float32),  # (B, T, F)
                matrix,  # kernel (F, gates * U)
                matrix,  # recurrent kernel (U, gates * U)
                tf.TensorSpec(bias_shape, tf.float32),
                *[matrix] * self.num_states,  # initial states (B, U)
            ],
            autograph=False,
        )

    def state_size_for(self, units: int) -> Any:
        """The Keras cell's state_size for `units`, as Keras reports it."""
        return [units, units] if self.kind == "lstm" else units

    def nbytes_estimate(self) -> int:
        return ENGINE_BYTES

    @property
    def traces(self) -> int:
        return self._fn.experimental_get_tracing_count()

    def trace_graph(self) -> None:
        self._call()

    def _call(self) -> Any:
        """The traced graph (traced the first time), called directly: binding arguments to
        the input signature on every call was 4 % of a loaded server's CPU."""
        with self.lock:
            if self._concrete is None:
                self._concrete = self._fn.get_concrete_function()
            return self._concrete

    def _forward_batch(self, xk: Any, kernel: Any, recurrent: Any, bias: Any, *initial: Any):
        cell = self.layer.cell
        saved = {name: cell.__dict__[name] for name in (*_WEIGHT_NAMES, "units")}
        # Bypassing Layer.__setattr__: nothing is tracked, and everything is put back.
        for name, value in zip(_WEIGHT_NAMES, (kernel, recurrent, bias), strict=True):
            object.__setattr__(cell, name, value)
        object.__setattr__(cell, "units", tf.shape(recurrent)[0])
        try:
            returned = self.layer(xk, initial_state=list(initial))
            seq = self.tracer(xk, initial_state=list(initial))
        finally:
            for name, value in saved.items():
                object.__setattr__(cell, name, value)
        return tuple(_as_tuple(returned)), seq

    def run(
        self,
        inputs: np.ndarray,
        weights: Sequence[np.ndarray],
        initial_state: Sequence[np.ndarray],
        reset_before: Sequence[int] = (),
        xla: str = "background",
        mask: np.ndarray | None = None,
    ) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
        """As Engine.run: (returned tensors, trace, initial states), stacked over batches."""
        if mask is not None:
            raise ValueError("a PolyEngine takes no mask")
        kernel, recurrent, bias = (tf.constant(w, tf.float32) for w in weights)
        state = [np.asarray(s, np.float32) for s in initial_state]
        returned, seqs, starts = [], [], []
        graph = self._call()
        for k in range(inputs.shape[0]):
            if self.stateful and k in reset_before:
                state = [np.zeros_like(s) for s in state]  # what reset_state() leaves
            args = [tf.constant(inputs[k], tf.float32), kernel, recurrent, bias]
            out, seq = graph(*args, *(tf.constant(s) for s in state))
            returned.append([np.asarray(t) for t in out])
            seq = np.asarray(seq)
            seqs.append(seq)
            starts.append(state)
            if self.stateful:  # the next batch starts where this one ended
                u = recurrent.shape[0]
                state = [seq[:, -1, i * u : (i + 1) * u] for i in range(self.num_states)]
        return (
            [np.stack([r[i] for r in returned]) for i in range(self.num_returned)],
            np.stack(seqs),
            [np.stack([s[i] for s in starts]) for i in range(self.num_states)],
        )


def _name_os_thread() -> None:
    """Gives the background thread its name in the OS too (`top -H`, /proc/PID/task/*/comm),
    so a server's CPU can be split into students' runs and background work."""
    try:
        import ctypes

        name = threading.current_thread().name.encode()[:15]
        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass  # not Linux: the name is cosmetic


def _as_tuple(returned: Any) -> tuple[Any, ...]:
    return tuple(returned) if isinstance(returned, (list, tuple)) else (returned,)


FLAGS = ("return_sequences", "return_state", "stateful")
#: The toggles whose sibling layers are built ahead: the two return flags, which the
#: lessons flip back and forth. Not `stateful`: its siblings doubled the layers a class
#: keeps in the cache budget, and the load test's p95 rose 2.7x when they no longer fit.
PREWARM_FLAGS = ("return_sequences", "return_state")


class EngineCache:
    """A bounded, thread-safe cache of Engines keyed by what forces a new Keras layer.

    The key is the cell, its Keras arguments, num_features and, for a stateful
    layer only, batch_size. Seed, signal, weights, inputs and initial state are
    not in it: they are assigned into the cached layer's variables.

    The return flags and `stateful` are Keras constructor arguments, so each
    combination is its own genuine layer. After a run, once the server has been
    quiet for `quiet_s`, a single background thread builds and traces the layers
    one return-flag toggle away (and, from a shape's second run, compiles XLA for
    it), so toggling return_sequences or return_state afterwards rebuilds and
    retraces nothing. Work queued for a structure the user has since left is
    skipped. Engines are charged to a byte Budget (rnnviz.memory), which evicts
    the least recently used.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        xla: str = "background",
        prewarm: bool = True,
        quiet_s: float = QUIET_S,
        max_pending: int = MAX_PENDING,
        max_xla_compiles: int = MAX_XLA_COMPILES,
    ):
        if xla not in XLA_MODES:
            raise ValueError(f"xla={xla!r} must be one of {XLA_MODES}")
        self._budget = budget
        self.xla = xla
        self.prewarm = prewarm
        self.quiet_s = quiet_s
        self.max_pending = max_pending
        self.max_xla_compiles = max_xla_compiles
        self.xla_compiles = 0  # XLA executables compiled so far (TensorFlow never frees them)
        self._last_run = 0.0  # time.monotonic() of the latest foreground run's end
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: set[str] = set()
        self._family: str | None = None  # the structure most recently run
        self._warmed: set[str] = set()  # engine keys whose graph is built and traced
        self.builds = 0  # engines built so far: tests and the benchmark read it
        self._poly: dict[str, PolyEngine] = {}  # by cell kind and flags (no sizes)
        self.poly_builds = 0
        self._all_poly_warmed = False
        #: Runs per (structure, shape) that went to a PolyEngine: from the XLA_AFTER_RUNS-th,
        #: a dedicated Engine is built and compiled for that shape in quiet time.
        self._poly_runs: collections.Counter[tuple[str, tuple[int, int, int]]] = (
            collections.Counter()
        )

    @staticmethod
    def _key(kind: str, kwargs: dict[str, Any], num_features: int, batch_size: int) -> str:
        stateful = bool(kwargs.get("stateful", False))
        return json.dumps(
            [kind, kwargs, num_features, batch_size if stateful else None],
            sort_keys=True,
            default=str,
        )

    @staticmethod
    def _family_key(kind: str, kwargs: dict[str, Any], num_features: int, batch_size: int) -> str:
        rest = {k: v for k, v in kwargs.items() if k not in FLAGS}
        return json.dumps([kind, rest, num_features, batch_size], sort_keys=True, default=str)

    @staticmethod
    def _poly_key(kind: str, kwargs: dict[str, Any]) -> str:
        return json.dumps([kind, {k: v for k, v in kwargs.items() if k != "units"}],
                          sort_keys=True, default=str)  # fmt: skip

    def poly(self, kind: str, kwargs: dict[str, Any]) -> PolyEngine:
        """The PolyEngine of a cell kind and flags, built and traced the first time
        (~0.3 s, once per process for each of the few combinations)."""
        key = self._poly_key(kind, kwargs)
        with self._lock:
            engine = self._poly.get(key)
            new = engine is None
            if new:
                engine = self._poly[key] = PolyEngine(kind, kwargs)
                self.poly_builds += 1
        if new:
            self._charge("poly:" + key, engine)
        else:
            self.budget.touch(id(self), "poly:" + key)
        return engine

    def get(
        self,
        kind: str,
        kwargs: dict[str, Any],
        num_features: int,
        batch_size: int,
        poly: bool = False,
        shape: tuple[int, int, int] | None = None,
    ) -> Engine | PolyEngine:
        """Returns the cached Engine for this structure, building it the first time.

        With `poly` (a configuration PolyEngine computes: float32, no mask, RunConfig's own
        arguments), a structure gets the shared PolyEngine of its cell and flags instead,
        and nothing is built for it, unless its own Engine has XLA compiled for `shape`
        (num_batches, batch_size, num_steps): a dedicated Engine serves only the shapes it
        was compiled for, since its graph tier would cost a trace for any other."""
        key = self._key(kind, kwargs, num_features, batch_size)
        with self._lock:
            engine = self._engines.get(key)
        if poly and (engine is None or shape not in engine.xla_ready):
            return self.poly(kind, kwargs)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                engine = Engine(kind, kwargs, num_features, batch_size)
                self.builds += 1
                self._engines[key] = engine
                new = True
            else:
                new = False
        if new:
            self._charge(key, engine)
        else:
            self.budget.touch(id(self), key)
        return engine

    @property
    def budget(self) -> Budget:
        return self._budget if self._budget is not None else default_budget()

    def _charge(self, key: str, engine: Engine | PolyEngine) -> None:
        """Charges the engine's bytes to the budget; the budget may evict it (or others).
        A PolyEngine's key is its budget key with "poly:" in front."""
        poly = isinstance(engine, PolyEngine)
        store, own = (self._poly, key.removeprefix("poly:")) if poly else (self._engines, key)

        def evict() -> None:
            with self._lock:
                if store.get(own) is engine:
                    del store[own]
                    self._warmed.discard(own)

        if not self.budget.charge(id(self), key, engine.nbytes_estimate(), evict):
            evict()  # larger than the whole budget: this run uses it, nothing keeps it

    def __len__(self) -> int:
        with self._lock:
            return len(self._engines)

    def run(self, engine: Engine | PolyEngine, inputs: np.ndarray, *args: Any, **kw: Any) -> Any:
        """Runs the engine, then queues background work that makes the next run fast."""
        try:
            results = engine.run(inputs, *args, xla=self.xla, **kw)
        finally:
            self.busy_now()
        shape = tuple(int(n) for n in inputs.shape[:3])
        if isinstance(engine, PolyEngine):
            self._after_poly_run(engine, inputs, args[0], shape)
            return results
        engine.shape_runs[shape] += 1
        batch_size = shape[1]
        family = self._family_key(engine.kind, engine.kwargs, engine.num_features, batch_size)
        with self._lock:
            self._family = family
        if (
            self.xla == "background"
            and engine.xla_capable
            and shape not in engine.xla_ready
            and engine.shape_runs[shape] >= XLA_AFTER_RUNS
            and self.xla_compiles + len(engine.xla_ready) + 1 <= self.max_xla_compiles
        ):
            self._submit(f"xla:{id(engine)}:{shape}", self._compile_twin, engine, shape)
        if self.prewarm and engine.nbytes_estimate() * 8 <= self.budget.limit:
            # Only for layers that fit the budget eight times over (three big siblings
            # would evict everything else), and only the siblings one toggle away:
            # building all seven other combinations cost more CPU and, since each build
            # leaves ~0.3 MB TensorFlow never frees, memory (docs/performance.md).
            for flag in PREWARM_FLAGS:
                sibling = {**engine.kwargs, flag: not engine.kwargs.get(flag, False)}
                key = self._key(engine.kind, sibling, engine.num_features, batch_size)
                if key not in self._warmed:
                    self._submit(
                        "graph:" + key,
                        self._warm_sibling,
                        family,
                        key,
                        engine.kind,
                        sibling,
                        engine.num_features,
                        batch_size,
                    )
        return results

    def _after_poly_run(
        self, engine: PolyEngine, inputs: np.ndarray, weights: Any, shape: tuple[int, int, int]
    ) -> None:
        """Background work after a PolyEngine run: the first time, every cell and flag
        combination's PolyEngine traced; from a structure's XLA_AFTER_RUNS-th run of one
        shape, a dedicated Engine built and XLA-compiled for it (a structure explored once
        never pays for it)."""
        units = int(np.shape(weights[1])[0])
        num_features = int(inputs.shape[-1])
        kwargs = {**engine.kwargs, "units": units}
        key = self._key(engine.kind, kwargs, num_features, shape[1])
        with self._lock:
            self._family = self._family_key(engine.kind, kwargs, num_features, shape[1])
            if len(self._poly_runs) >= MAX_POLY_COUNTS:
                self._poly_runs.clear()  # bounded: a class exploring for days adds a key a run
            self._poly_runs[(key, shape)] += 1
            runs = self._poly_runs[(key, shape)]
        if (
            self.xla == "background"
            and runs >= XLA_AFTER_RUNS
            and self.xla_compiles < self.max_xla_compiles
        ):
            self._submit(f"dedicated:{key}:{shape}", self._compile_dedicated, engine.kind,
                         kwargs, num_features, shape)  # fmt: skip
        if self.prewarm and not self._all_poly_warmed:
            self._all_poly_warmed = True
            self._submit("poly:all", self._warm_all_poly)

    def _warm_all_poly(self) -> None:
        """Traces the PolyEngine of every cell and flag combination the Explore page can
        ask for (32 graphs, ~0.3 s each, once per process), each in quiet time: after it,
        no structure a student picks waits on a trace."""
        for kind in LAYER_CLASSES:
            for flags in range(8):
                for reset_after in (True, False) if kind == "gru" else (None,):
                    kwargs = {
                        "units": 1,
                        "return_sequences": bool(flags & 1),
                        "return_state": bool(flags & 2),
                        "stateful": bool(flags & 4),
                        **({} if reset_after is None else {"reset_after": reset_after}),
                    }
                    if self._poly_key(kind, kwargs) not in self._poly:
                        self._wait_quiet()
                        self.poly(kind, kwargs).trace_graph()

    def _compile_dedicated(
        self, kind: str, kwargs: dict[str, Any], num_features: int, shape: tuple[int, int, int]
    ) -> None:
        """Builds the structure's own Engine, compiles XLA for `shape` and caches it: later
        runs of this structure with that shape use it (other shapes stay on the PolyEngine,
        and a later shape's second run compiles it on a twin)."""
        key = self._key(kind, kwargs, num_features, shape[1])
        with self._lock:
            existing = self._engines.get(key)
            if self.xla_compiles >= self.max_xla_compiles:
                return
        if existing is not None:  # another shape of a structure compiled before
            if existing.xla_capable and shape not in existing.xla_ready:
                self._compile_twin(existing, shape)
            return
        engine = Engine(kind, kwargs, num_features, shape[1])
        engine.shape_runs[shape] = XLA_AFTER_RUNS
        if engine.xla_capable:
            engine.warm_xla(shape)
            with self._lock:
                self.xla_compiles += 1
        with self._lock:
            if key in self._engines:
                return
            self._engines[key] = engine
            self.builds += 1
        self._charge(key, engine)

    def _compile_twin(self, engine: Engine, shape: tuple[int, int, int]) -> None:
        """Compiles XLA on a twin of `engine`, then puts the twin in its place.

        The serving engine's lock is never held for the compile (0.5-1 s): runs keep
        using the graph tier meanwhile, and the first run after the swap uses XLA (it
        assigns its own weights: the twin starts with none recorded). Shapes the old
        engine had compiled are compiled again on the twin first.
        """
        key = self._key(engine.kind, engine.kwargs, engine.num_features, shape[1])
        with self._lock:
            if self._engines.get(key) is not engine:
                return  # evicted or already replaced
        twin = Engine(engine.kind, engine.kwargs, engine.num_features, shape[1])
        twin.shape_runs = engine.shape_runs.copy()
        for ready in sorted(engine.xla_ready | {shape}):
            twin.warm_xla(ready)
            with self._lock:
                self.xla_compiles += 1
        with self._lock:
            swapped = self._engines.get(key) is engine
            if swapped:
                self._engines[key] = twin
                self.builds += 1
        if swapped:
            self._charge(key, twin)

    def busy_now(self) -> None:
        """Notes that foreground work (a run, or an analysis) has just ended: background
        work waits for quiet after it."""
        self._last_run = time.monotonic()

    def compile_later(self, job: str, compile_xla: Callable[[], None]) -> None:
        """Queues another module's XLA compile (e.g. connectivity's) for quiet time.

        It shares this cache's background thread, its wait for quiet and its cap on XLA
        executables (TensorFlow never frees them); with xla="never" nothing is queued, and
        nothing once the cap is reached. `job` names it, so asking twice queues it once.
        """
        if self.xla != "background":
            return
        with self._lock:
            if self.xla_compiles >= self.max_xla_compiles:
                return

        def counted() -> None:
            with self._lock:
                if self.xla_compiles >= self.max_xla_compiles:
                    return
                self.xla_compiles += 1
            compile_xla()

        self._submit(job, counted)

    def _warm_sibling(
        self,
        family: str,
        key: str,
        kind: str,
        kwargs: dict[str, Any],
        num_features: int,
        batch_size: int,
    ) -> None:
        if self._family != family:
            return  # the user has moved on to another structure
        self.get(kind, kwargs, num_features, batch_size).trace_graph()
        with self._lock:
            self._warmed.add(key)

    @property
    def busy(self) -> bool:
        """True while background builds, traces or XLA compiles are queued or running."""
        with self._lock:
            return bool(self._pending)

    def _wait_quiet(self) -> None:
        """Blocks until no foreground run has ended for `quiet_s` seconds.

        Background work only makes later runs faster; on a shared server it must not
        take the CPU the students' runs need. With one user it runs in the pauses
        between changes; with a busy class it waits (and new jobs are dropped once
        `max_pending` wait), so the server's CPU goes to the runs that were asked for.
        """
        while (idle := time.monotonic() - self._last_run) < self.quiet_s:
            time.sleep(self.quiet_s - idle)

    def _submit(self, job: str, fn: Callable[..., None], *args: Any) -> None:
        def task() -> None:
            try:
                self._wait_quiet()
                fn(*args)
            finally:
                with self._lock:
                    self._pending.discard(job)

        with self._lock:
            if job in self._pending or len(self._pending) >= self.max_pending:
                return  # queued already, or a busy server: a later run asks again
            self._pending.add(job)
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="rnnviz-warm", initializer=_name_os_thread
                )
            self._executor.submit(task)

    @property
    def traces(self) -> int:
        """Traces of every cached engine: a rerun that retraces nothing leaves it unchanged."""
        with self._lock:
            engines = [*self._engines.values(), *self._poly.values()]
        return sum(e.traces for e in engines)

    def wait(self) -> None:
        """Blocks until every queued background build, trace and XLA compile has finished."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


_default_cache: EngineCache | None = None
_default_lock = threading.Lock()


def default_cache() -> EngineCache:
    """Returns the process-wide EngineCache that `rnnviz.run` uses unless given one."""
    global _default_cache
    with _default_lock:
        if _default_cache is None:
            mode = os.environ.get("RNNVIZ_XLA", "background")
            _default_cache = EngineCache(
                xla=mode if mode in XLA_MODES else "background",
                prewarm=os.environ.get("RNNVIZ_PREWARM", "1") != "0",
            )
        return _default_cache
