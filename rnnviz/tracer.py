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
import itertools
import json
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnviz.config import GATES

LAYER_CLASSES: dict[str, type] = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
}
KIND_OF_CLASS = {cls: kind for kind, cls in LAYER_CLASSES.items()}

#: How XLA is used: "background" (default), "never" (graph only), "always" (compile inline).
XLA_MODES = ("background", "never", "always")


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
        self.stateful = bool(kwargs.get("stateful", False))
        self.num_features = num_features
        self.units = int(kwargs["units"])
        self.num_states = 2 if kind == "lstm" else 1
        self.lock = threading.Lock()
        self.xla_ready: set[tuple[int, int]] = set()

        layer = LAYER_CLASSES[kind](**kwargs)
        if self.stateful:
            # Keras 3: a stateful layer needs a static batch size, given by its Input.
            layer(keras.Input(batch_shape=(batch_size, None, num_features)))
            x_spec = tf.TensorSpec((batch_size, None, num_features), tf.float32)
        else:
            layer.build((None, None, num_features))
            x_spec = tf.TensorSpec((None, None, num_features), tf.float32)
        self.layer = layer
        self.tracer = keras.layers.RNN(TracingCell(layer.cell, kind), return_sequences=True)
        self.tracer.build((None, None, num_features))
        s_spec = tf.TensorSpec((x_spec.shape[0], self.units), tf.float32)
        signature = [x_spec] + ([] if self.stateful else [s_spec] * self.num_states)
        forward = self._forward_stateful if self.stateful else self._forward
        self._graph_fn = tf.function(forward, input_signature=signature)
        self._xla_fn = tf.function(forward, input_signature=signature, jit_compile=True)

    @property
    def state_size(self) -> Any:
        """The Keras cell's state_size, as Keras reports it."""
        size = self.layer.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else int(size)

    def _forward(self, x: Any, *initial: Any) -> tuple[Any, Any, Any]:
        returned = self.layer(x, initial_state=list(initial))
        seq = self.tracer(x, initial_state=list(initial))
        return _as_tuple(returned), seq, tuple(initial)

    def _forward_stateful(self, x: Any) -> tuple[Any, Any, Any]:
        # Read the layer's stored state first: it is batch k's initial state,
        # and the layer call below overwrites it with batch k's final state.
        initial = [tf.identity(v.value) for v in self.layer.states]
        returned = self.layer(x)
        seq = self.tracer(x, initial_state=initial)
        return _as_tuple(returned), seq, tuple(initial)

    def _function_for(self, shape: tuple[int, int], xla: str) -> Callable[..., Any]:
        if xla == "always" or shape in self.xla_ready:
            return self._xla_fn
        return self._graph_fn

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

    def warm_xla(self, shape: tuple[int, int]) -> None:
        """Compiles the XLA version for (batch_size, num_steps); later runs of that shape use it."""
        with self.lock:
            if shape in self.xla_ready:
                return
            x = np.zeros((*shape, self.num_features), np.float32)
            states = [np.zeros((shape[0], self.units), np.float32)] * self.num_states
            # Harmless for a stateful layer: every run resets its state first.
            self._xla_fn(x, *([] if self.stateful else states))
            self.xla_ready.add(shape)

    def run(
        self,
        inputs: np.ndarray,
        weights: Sequence[np.ndarray],
        initial_state: Sequence[np.ndarray],
        reset_before: Sequence[int] = (),
        xla: str = "background",
    ) -> list[tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]]:
        """Feeds the batches in order; returns per batch (returned tensors, trace, initial state).

        The trace is (batch_size, num_steps, units * (states + gates)). A
        stateful layer starts from `initial_state`, carries its state from
        batch to batch and is reset with `reset_state()` before each batch in
        `reset_before`; a stateless one starts every batch from `initial_state`.
        """
        shape = (int(inputs.shape[1]), int(inputs.shape[2]))
        results = []
        with self.lock:
            self.layer.set_weights(list(weights))
            fn = self._function_for(shape, xla)
            if self.stateful:
                self.layer.reset_state()
                for variable, value in zip(self.layer.states, initial_state, strict=True):
                    variable.assign(value)
            for k in range(inputs.shape[0]):
                if self.stateful and k in reset_before:
                    self.layer.reset_state()
                args = [inputs[k]] if self.stateful else [inputs[k], *initial_state]
                returned, seq, initial = fn(*args)
                results.append(
                    (
                        [np.asarray(t) for t in returned],
                        np.asarray(seq),
                        [np.asarray(s) for s in initial],
                    )
                )
        return results


def _as_tuple(returned: Any) -> tuple[Any, ...]:
    return tuple(returned) if isinstance(returned, (list, tuple)) else (returned,)


FLAGS = ("return_sequences", "return_state", "stateful")


class EngineCache:
    """A bounded, thread-safe cache of Engines keyed by what forces a new Keras layer.

    The key is the cell, its Keras arguments, num_features and, for a stateful
    layer only, batch_size. Seed, signal, weights, inputs and initial state are
    not in it: they are assigned into the cached layer's variables.

    The return flags and `stateful` are Keras constructor arguments, so each
    combination is its own genuine layer. After a run, a single background
    thread builds and traces the layers for the other flag combinations of the
    same structure (and compiles XLA for the shape just used), so toggling a
    flag afterwards rebuilds and retraces nothing. Work queued for a structure
    the user has since left is skipped.
    """

    def __init__(self, max_engines: int = 32, xla: str = "background", prewarm: bool = True):
        if xla not in XLA_MODES:
            raise ValueError(f"xla={xla!r} must be one of {XLA_MODES}")
        self.max_engines = max_engines
        self.xla = xla
        self.prewarm = prewarm
        self._engines: collections.OrderedDict[str, Engine] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: set[str] = set()
        self._family: str | None = None  # the structure most recently run
        self.builds = 0  # engines built so far: tests and the benchmark read it

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

    def get(self, kind: str, kwargs: dict[str, Any], num_features: int, batch_size: int) -> Engine:
        """Returns the cached Engine for this structure, building it the first time."""
        key = self._key(kind, kwargs, num_features, batch_size)
        with self._lock:
            engine = self._engines.get(key)
            if engine is not None:
                self._engines.move_to_end(key)
                return engine
            engine = Engine(kind, kwargs, num_features, batch_size)
            self.builds += 1
            self._engines[key] = engine
            while len(self._engines) > self.max_engines:
                self._engines.popitem(last=False)
            return engine

    def run(self, engine: Engine, inputs: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        """Runs the engine, then queues background work that makes the next run fast."""
        results = engine.run(inputs, *args, xla=self.xla, **kwargs)
        shape = (int(inputs.shape[1]), int(inputs.shape[2]))
        family = self._family_key(engine.kind, engine.kwargs, engine.num_features, shape[0])
        with self._lock:
            self._family = family
        if self.xla == "background" and shape not in engine.xla_ready:
            self._submit(f"xla:{id(engine)}:{shape}", engine.warm_xla, shape)
        if self.prewarm:
            for flags in itertools.product([False, True], repeat=len(FLAGS)):
                sibling = {**engine.kwargs, **dict(zip(FLAGS, flags, strict=True))}
                if sibling != engine.kwargs:
                    self._submit(
                        "graph:" + self._key(engine.kind, sibling, engine.num_features, shape[0]),
                        self._warm_sibling,
                        family,
                        engine.kind,
                        sibling,
                        engine.num_features,
                        shape,
                    )
        return results

    def _warm_sibling(
        self,
        family: str,
        kind: str,
        kwargs: dict[str, Any],
        num_features: int,
        shape: tuple[int, int],
    ) -> None:
        if self._family != family:
            return  # the user has moved on to another structure
        self.get(kind, kwargs, num_features, shape[0]).trace_graph()

    def _submit(self, job: str, fn: Callable[..., None], *args: Any) -> None:
        def task() -> None:
            try:
                fn(*args)
            finally:
                with self._lock:
                    self._pending.discard(job)

        with self._lock:
            if job in self._pending:
                return
            self._pending.add(job)
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="rnnviz-warm"
                )
            self._executor.submit(task)

    @property
    def traces(self) -> int:
        """Traces of every cached engine: a rerun that retraces nothing leaves it unchanged."""
        with self._lock:
            return sum(e.traces for e in self._engines.values())

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
