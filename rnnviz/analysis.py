"""Analysis on Traces: pure functions from a Trace (and plain arrays) to arrays.

Importing this module loads no TensorFlow.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.core.config import ConfigError, Described, usable_cores
from rnnviz.core.trace import Trace


def _numbers(field: str, value: Any, dtype: Any) -> np.ndarray:
    """Returns value as a finite array of dtype, or raises ConfigError naming the field."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            field, Described(type(value).__name__), "must be numbers (an array or a list)"
        ) from None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ConfigError(field, Described("non-finite values"), "must be finite numbers")
    return array


def _state(trace: Trace, state: str) -> np.ndarray:
    names = trace.config.state_names
    if not isinstance(state, str) or state not in names:
        raise ConfigError("state", state, f"must be one of {', '.join(names)} for this cell")
    return trace.state(state)


def unit_correlations(trace: Trace, values: np.ndarray, state: str = "h") -> np.ndarray:
    """Returns Pearson r of every unit's state with `values`, over all samples and steps.

    Args:
        trace: any Trace.
        values: one number per (sample, step): shaped like the trace's states without
            the unit axis, (batch_index, sample, time), or (sample, time) for a
            one-batch trace; for a trace with labels (a text), one number per labelled
            step (character), padding left out.
        state: "h" or "c".

    Returns:
        (units,) float64; a constant unit (or constant values) gets r = 0, never NaN.
    """
    states = _state(trace, state)
    target = _numbers("values", values, np.float64)
    x = states.reshape(-1, states.shape[-1])
    if target.shape == states.shape[1:3] and states.shape[0] == 1:
        target = target[None]
    if target.shape == states.shape[:3]:
        y = target.ravel()
    elif trace.labels is not None and target.shape == (int((trace.labels != "").sum()),):
        # A text trace: one value per character; padding steps are left out.
        x = x[(trace.labels != "").ravel()]
        y = target
    else:
        raise ConfigError(
            "values",
            Described(f"shape {target.shape}"),
            f"must have shape {states.shape[:3]} (batch_index, sample, time)"
            + (", or one value per labelled step" if trace.labels is not None else ""),
        )
    return correlations(x, y)


def correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Returns Pearson r of every column of x (N, units) with y (N,); constant ones get 0."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean()
    denominator = np.sqrt((x * x).sum(axis=0) * (y * y).sum())
    numerator = x.T @ y
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denominator > 1e-12, numerator / np.where(denominator > 0, denominator, 1), 0)
    return np.clip(r, -1.0, 1.0)


def rank_units(trace: Trace, values: np.ndarray, state: str = "h") -> list[tuple[int, float]]:
    """Returns [(unit, r)] sorted by |Pearson r| with `values`, the best first.

    See `unit_correlations` for the shapes; constant units get r = 0.
    """
    r = unit_correlations(trace, values, state)
    order = np.argsort(-np.abs(r), kind="stable")
    return [(int(u), float(r[u])) for u in order]


# ----- memory reach ------------------------------------------------------------------------


def _in_step_order(trace: Trace) -> tuple[np.ndarray, dict[str, Any]]:
    """The trace's inputs in the order its layer processed them, which is the order of its
    states (a go_backwards layer's, from a user's model, is reversed), and the Keras
    arguments of a forward layer that does the same steps in that order."""
    kwargs = dict(trace.layer_config or {"units": trace.config.hidden_size})
    if kwargs.pop("go_backwards", False):
        return trace.inputs[:, :, ::-1], kwargs
    return trace.inputs, kwargs


def _layer_for(trace: Trace, dtype: str = "float32", **overrides: Any) -> Any:
    """Returns a genuine Keras layer with the trace's configuration and weights, stateless,
    that reads the steps in the trace's order (see _in_step_order); `overrides` are Keras
    arguments that change how it computes, not what."""
    from rnnviz.core.tracer import LAYER_CLASSES

    _, kwargs = _in_step_order(trace)
    # The trace's weights always hold a bias (zeros for use_bias=False: the same numbers),
    # and an unrolled layer needs a fixed number of steps: neither changes the values.
    kwargs.pop("use_bias", None)
    kwargs.pop("unroll", None)
    # A Bidirectional's halves return zeros at masked steps; the state they carry is what
    # the analyses follow.
    kwargs["zero_output_for_mask"] = False
    kwargs.update(return_sequences=True, return_state=False, stateful=False, dtype=dtype)
    if trace.config.cell == "gru":
        kwargs.setdefault("reset_after", trace.config.reset_after)
    kwargs.update(overrides)
    layer = LAYER_CLASSES[trace.config.cell](**kwargs)
    layer.build((None, None, trace.config.num_features))
    layer.set_weights(trace.weights)
    return layer


def _check_index(field: str, value: Any, count: int, negative: bool = False) -> int:
    lo = -count if negative else 0
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, value, f"must be a whole number from {lo} to {count - 1}")
    if not lo <= int(value) < count:
        raise ConfigError(field, value, f"must be from {lo} to {count - 1}")
    return int(value) % count


_reaches: dict[str, Any] = {}
_reach_lock = threading.Lock()
#: Memory-reach functions kept (each holds a small Keras layer and its compiled tiers).
MAX_REACHES = 16
#: connectivity carries units x batch_size x units derivatives back through each step (and
#: TensorFlow ~10x that while it takes a step's derivative): 2**22 of them is ~170 MB.
#: The char model (512 units, one text: 2**18) is far below it; on Explore, 256 units
#: reach it at 64 samples.
MAX_REACH_VALUES = 2**22
#: connectivity takes the units' derivatives in this many parts at the same time, one per
#: core this process may run on, at most 4 (decision 46): on 2 cores 2 parts take 0.6x
#: the time of one (3 parts on 2 cores are slower than 2; more cores were not measured).
REACH_PARTS = min(4, usable_cores())
#: Below this many products per unit row and step (units² x batch_size x gates), the
#: second part costs more than it saves: 16 LSTM units x 2 samples take 1.1 ms in one
#: part, 1.3 in two; 64 SimpleRNN units x 8 samples 3.3 ms in one, 2.3 in two.
REACH_SPLIT_FROM = 2**14


class _Reach:
    """Norms of ∂h_target/∂x_t for every step t, by backpropagation through a genuine cell.

    From the target step back to the first, tf.GradientTape takes the vector-Jacobian
    product of the Keras layer's own cell (`layer.cell`, which the layer calls once per
    step) at the state the trace holds before that step, for all units at once
    (vectorised by pfor), carrying ∂h_target/∂state back one step: the chain rule of
    backpropagation through time, with every derivative taken by TensorFlow from the
    cell's code. It equals the Jacobian of the whole layer (tests/test_analysis.py checks
    it against `batch_jacobian` through the layer and against finite differences).

    The states are the trace's own (the genuine layer's, decision 46), so no forward pass
    is repeated; in float64 a forward loop of the cell recomputes them in float64. The
    units' rows are split into REACH_PARTS parts that TensorFlow's inter-op threads take
    at the same time, one per core: each step's products are too small for one call to
    keep two cores busy (a layer below REACH_SPLIT_FROM keeps one part).

    Two tiers, as for the forward trace: a graph for any shape, traced once per layer
    configuration and number of parts; and, from a shape's second use, an XLA executable
    compiled in quiet time by the engine cache's background thread (counted in its cap on
    compiles), which later calls of that shape use. No call waits on a compile.
    """

    def __init__(self, trace: Trace, dtype: str):
        import tensorflow as tf

        # A GRU computes with implementation=1 here, one product per gate: the same
        # numbers, but its derivative has no slices of one product, whose gradients XLA
        # fuses into a slow padded sum (10.8 -> 5.8 ms on the benchmark's size, decision 46).
        # An LSTM's is fastest as it is (implementation=1: 8.0 ms instead of 6.8).
        faster = {"implementation": 1} if trace.config.cell == "gru" else {}
        self.layer = _layer_for(trace, dtype, **faster)
        self.num_features = trace.config.num_features
        self.units = trace.config.hidden_size
        self.num_states = len(trace.config.state_names)
        self.dtype = dtype
        self.masked = trace.mask is not None
        self.gates = {"lstm": 4, "gru": 3}.get(trace.config.cell, 1)
        self.xla_ready: set[tuple[int, int]] = set()
        self.uses: dict[tuple[int, int], int] = {}
        self._tiers: dict[tuple[bool, int], Any] = {}
        x = tf.TensorSpec((None, None, self.num_features), dtype)  # any batch and length
        initial = [tf.TensorSpec((None, self.units), dtype)] * self.num_states
        before = [tf.TensorSpec((None, None, self.units), dtype)] * self.num_states
        mask = tf.TensorSpec((None, None), tf.bool)
        scalar = tf.TensorSpec((), tf.int32)
        weights = [tf.TensorSpec(v.shape, dtype) for v in self.layer.weights]
        self._specs = [x, before, mask, scalar, weights]
        self.forward = tf.function(self._forward, input_signature=[x, initial, mask, weights])

    def parts_for(self, batch_size: int) -> int:
        """How many parts the units' rows are taken in for a batch of batch_size: one
        below REACH_SPLIT_FROM products per unit row and step."""
        if self.units**2 * batch_size * self.gates < REACH_SPLIT_FROM:
            return 1
        return min(REACH_PARTS, self.units)

    def tier(self, xla: bool, parts: int) -> Any:
        """The graph (any shape) or XLA (compiled per shape) function taking the norms in
        `parts` parts; built on first use, traced on its first call."""
        import tensorflow as tf

        with _reach_lock:
            fn = self._tiers.get((xla, parts))
            if fn is None:
                rows = -(-self.units // parts)  # units' rows per part
                x, before, mask, scalar, weights = self._specs

                def one(x: Any, before: Any, mask: Any, target: Any, first: Any, w: Any) -> Any:
                    return self._part(x, before, mask, target, first, w, rows)

                part = tf.function(
                    one, input_signature=[x, before, mask, scalar, scalar, weights], jit_compile=xla
                )
                fn = self._tiers[(xla, parts)] = tf.function(
                    self._norms(part, parts, rows), input_signature=self._specs
                )
            return fn

    def _weights(self, weights: list[Any]) -> Any:
        """A scope in which the cell reads `weights` instead of its variables: no call
        assigns them, so calls need no lock and no set_weights (~0.2-0.5 ms)."""
        import keras

        return keras.StatelessScope(
            state_mapping=list(zip(self.layer.weights, weights, strict=True))
        )

    def _forward(self, x: Any, initial: list[Any], mask: Any, weights: list[Any]) -> list[Any]:
        """Each state before each step, (steps, batch, units), as the cell computes them."""
        import tensorflow as tf

        cell = self.layer.cell
        steps = tf.shape(x)[1]
        xs = tf.transpose(x, (1, 0, 2))  # (steps, batch, features)
        ms = tf.transpose(mask)[:, :, None]  # (steps, batch, 1)

        def step(t: Any, states: list[Any], before: list[Any]) -> tuple[Any, ...]:
            before = [b.write(t, s) for b, s in zip(before, states, strict=True)]
            _, new = cell(xs[t], list(states), training=False)
            # a masked step leaves the state as it was, as in the layer
            new = [tf.where(ms[t], n, s) for n, s in zip(new, states, strict=True)]
            return t + 1, new, before

        before = [tf.TensorArray(x.dtype, size=steps) for _ in initial]
        with self._weights(weights):
            _, _, before = tf.while_loop(lambda t, *_: t < steps, step, (0, list(initial), before))
        return [b.stack() for b in before]

    def _part(
        self,
        x: Any,
        before: list[Any],
        mask: Any,
        target: Any,
        first: Any,
        weights: list[Any],
        rows: int,
    ) -> Any:
        """(batch, steps): Σ ‖∂h_target[u]/∂x_t‖² over units u = first .. first+rows-1 (a
        unit past the last adds nothing), for t ≤ target; 0 after. The target is an
        argument, not a cut of x, so one compiled function serves every target."""
        import tensorflow as tf

        cell = self.layer.cell
        batch, steps = tf.shape(x)[0], tf.shape(x)[1]
        xs = tf.transpose(x, (1, 0, 2))  # (steps, batch, features)
        ms = tf.transpose(mask)[:, :, None]  # (steps, batch, 1)
        # ∂h_target[u]/∂state for each unit u of the part: (rows, batch, units) per state.
        ones = tf.one_hot(first + tf.range(rows), self.units, dtype=x.dtype)
        eye = tf.tile(ones[:, None, :], [1, batch, 1])
        adjoint = [eye] + [tf.zeros_like(eye)] * (len(before) - 1)

        def backward(t: Any, adjoint: list[Any], squares: Any) -> tuple[Any, ...]:
            xt, states = xs[t], [b[t] for b in before]
            with tf.GradientTape() as tape:
                tape.watch([xt, *states])
                _, new = cell(xt, states, training=False)

            def vjp(a: list[Any]) -> list[Any]:
                return tape.gradient(new, [xt, *states], output_gradients=a)

            dx, *dstates = tf.vectorized_map(vjp, adjoint)
            if self.masked:  # at a masked step nothing depends on x_t; the state passes
                on = tf.cast(ms[t][None], x.dtype)
                dx = dx * on
                adjoint = [a + on * (d - a) for d, a in zip(dstates, adjoint, strict=True)]
            else:
                adjoint = dstates
            row = tf.reduce_sum(dx * dx, axis=(0, 2))
            squares = tf.tensor_scatter_nd_update(squares, [[t]], row[None])
            return t - 1, adjoint, squares

        squares = tf.zeros([steps, batch], x.dtype)  # h_target depends on no later step
        with self._weights(weights):
            _, _, squares = tf.while_loop(
                lambda t, *_: t >= 0, backward, (target, adjoint, squares)
            )
        return tf.transpose(squares)  # (batch, steps)

    @staticmethod
    def _norms(part: Any, parts: int, rows: int) -> Any:
        """The norms from `part` run once per part; independent calls, so TensorFlow runs
        them on its inter-op threads at the same time."""
        import tensorflow as tf

        def norms(x: Any, before: list[Any], mask: Any, target: Any, weights: list[Any]) -> Any:
            squares = [part(x, before, mask, target, i * rows, weights) for i in range(parts)]
            return tf.sqrt(tf.add_n(squares))

        return norms

    def states_before(
        self, trace: Trace, batch: int, x: np.ndarray, mask: np.ndarray, weights: list[np.ndarray]
    ) -> list[np.ndarray]:
        """Each state before each step of batch `batch`, (steps, batch_size, units): the
        initial state, then the trace's states; recomputed in float64 for that dtype."""
        initial = [np.asarray(s, dtype=self.dtype) for s in trace.initial_states[batch]]
        if self.dtype != "float32":
            return [s.numpy() for s in self.forward(x, initial, mask, weights)]
        before = []
        for name, start in zip(trace.config.state_names, initial, strict=True):
            after = np.asarray(trace.state(name)[batch], dtype=self.dtype)  # (batch, steps, units)
            sequence = np.concatenate([start[:, None], after[:, :-1]], axis=1)
            before.append(np.ascontiguousarray(sequence.transpose(1, 0, 2)))
        return before

    def __call__(
        self,
        x: np.ndarray,
        before: list[np.ndarray],
        mask: np.ndarray,
        target: int,
        weights: list[np.ndarray],
    ) -> np.ndarray:
        """Norms (batch, steps) for inputs x (batch, steps, features)."""
        from rnnviz.core.tracer import XLA_AFTER_RUNS, default_cache

        shape = (int(x.shape[0]), int(x.shape[1]))
        fn = self.tier(shape in self.xla_ready, self.parts_for(shape[0]))
        try:
            out = fn(x, before, mask, np.int32(target), weights).numpy()
        finally:
            default_cache().busy_now()
        with _reach_lock:
            self.uses[shape] = uses = self.uses.get(shape, 0) + 1
        if uses >= XLA_AFTER_RUNS and shape not in self.xla_ready:
            # Asked again on later uses if a busy server dropped it; queued once at a time.
            self._compile_later(shape, default_cache())
        return out

    def _compile_later(self, shape: tuple[int, int], cache: Any) -> None:
        def compile_xla() -> None:
            # Runs on zeros while the serving tier keeps answering; its result is unused.
            dtype = np.dtype(self.dtype)
            x = np.zeros((*shape, self.num_features), dtype)
            before = [np.zeros((shape[1], shape[0], self.units), dtype)] * self.num_states
            weights = [np.zeros(v.shape, dtype) for v in self.layer.weights]
            xla = self.tier(True, self.parts_for(shape[0]))
            xla(x, before, np.ones(shape, bool), np.int32(shape[1] - 1), weights)
            self.xla_ready.add(shape)

        cache.compile_later(f"reach:{id(self)}:{shape}", compile_xla)


def _reach_function(trace: Trace, dtype: str) -> _Reach:
    """Returns the cached _Reach for the trace's kind of layer.

    Keyed by the layer's configuration, not its weights (assigned per call): a new seed or
    epoch retraces nothing.
    """
    import json

    masked = trace.mask is not None
    key = json.dumps(
        [trace.config.cell, trace.layer_config, trace.config.num_features, dtype, masked],
        sort_keys=True,
        default=str,
    )
    with _reach_lock:
        fn = _reaches.get(key)
        if fn is None:
            if len(_reaches) >= MAX_REACHES:
                _reaches.pop(next(iter(_reaches)))
            fn = _reaches[key] = _Reach(trace, dtype)
        return fn


def connectivity(
    trace: Trace, target_step: int = -1, batch: int = 0, dtype: str = "float32"
) -> np.ndarray:
    """Returns how strongly h at target_step depends on each input step: (batch_size, num_steps).

    Entry (s, t) is the Frobenius norm of the Jacobian ∂h_target/∂x_t (units × features) of
    sample s of batch `batch`, computed by tf.GradientTape through the genuine Keras cell of
    a layer with the trace's weights, at the states the trace holds for that batch (see
    _Reach). Zero after target_step.
    Steps are the trace's: for a go_backwards layer, step t is the t-th step it read; a
    masked step (Trace.mask) is skipped as Keras skips it, so nothing depends on it.
    `dtype="float64"` computes in double precision (for checking against finite
    differences).
    """
    cfg = trace.config
    batch = _check_index("batch", batch, cfg.num_batches)
    target = _check_index("target_step", target_step, cfg.num_steps, negative=True)
    if dtype not in ("float32", "float64"):
        raise ConfigError("dtype", dtype, "must be float32 or float64")
    values = cfg.hidden_size**2 * cfg.batch_size
    if values > MAX_REACH_VALUES:
        raise ConfigError(
            "batch_size",
            cfg.batch_size,
            f"memory reach of {cfg.hidden_size} units needs units² × batch_size ≤ "
            f"{MAX_REACH_VALUES:,} (here {values:,}): at most "
            f"{max(MAX_REACH_VALUES // cfg.hidden_size**2, 0)} samples at once",
        )
    reach = _reach_function(trace, dtype)
    inputs, _ = _in_step_order(trace)
    x = np.ascontiguousarray(inputs[batch], dtype=dtype)
    mask = np.ones(x.shape[:2], bool) if trace.mask is None else trace.mask[batch]
    mask = np.ascontiguousarray(mask)
    weights = [np.asarray(w, dtype=dtype) for w in trace.weights]
    before = reach.states_before(trace, batch, x, mask, weights)
    return reach(x, before, mask, target, weights).astype(np.float64)


# ----- interventions ---------------------------------------------------------------------------


def intervene(
    trace: Trace,
    unit: int,
    step: int,
    value: float,
    state: str = "h",
    batch: int = 0,
    sample: int = 0,
) -> Trace:
    """Returns the Trace after setting one unit's state at one step and running on.

    The state `state` ("h", or "c" of an LSTM) of `unit` in sample `sample` is set to
    `value` right after step `step` of batch `batch`; the genuine layer then continues
    from that state over the rest of the batch and, for a stateful trace, through the
    following batches (reset_state() where the trace had one). Everything before is
    unchanged, and so are the other samples.
    """
    import dataclasses
    import math

    from rnnviz.core.run import trace_weights

    cfg = trace.config
    unit = _check_index("unit", unit, cfg.hidden_size)
    step = _check_index("step", step, cfg.num_steps)
    batch = _check_index("batch", batch, cfg.num_batches)
    sample = _check_index("sample", sample, cfg.batch_size)
    names = cfg.state_names
    if not isinstance(state, str) or state not in names:
        raise ConfigError("state", state, f"must be one of {', '.join(names)} for this cell")
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
    ):
        raise ConfigError("value", value, "must be a finite number")
    h = np.array(trace.h)
    c = None if trace.c is None else np.array(trace.c)
    gates = {k: np.array(v) for k, v in trace.gates.items()}
    arrays = {"h": h, "c": c}
    current = [arrays[n][batch, sample, step].copy() for n in names]
    current[names.index(state)][unit] = value
    for n, s in zip(names, current, strict=True):
        arrays[n][batch, sample, step] = s
    inputs, kwargs = _in_step_order(trace)

    def continue_from(k: int, t0: int, start: list[np.ndarray]) -> list[np.ndarray]:
        x = inputs[k, sample : sample + 1, t0:]
        if x.shape[1] == 0:
            return start
        piece = trace_weights(
            cfg.cell,
            {**kwargs, "units": cfg.hidden_size, "return_sequences": True, "return_state": False},
            trace.weights,
            x,
            initial_state=[s[None] for s in start],
            mask=None if trace.mask is None else trace.mask[k, sample : sample + 1, t0:],
        )
        for n in names:
            arrays[n][k, sample, t0:] = piece.state(n)[0, 0]
        for g in gates:
            gates[g][k, sample, t0:] = piece.gates[g][0, 0]
        return [piece.state(n)[0, 0, -1] for n in names]

    end = continue_from(batch, step + 1, current)
    initial_states = [[s.copy() for s in per] for per in trace.initial_states]
    final_states = [[s.copy() for s in per] for per in trace.final_states]
    for i, n in enumerate(names):
        final_states[batch][i][sample] = arrays[n][batch, sample, -1]
    if cfg.stateful:
        for k in range(batch + 1, cfg.num_batches):
            start = (
                [np.zeros(cfg.hidden_size, np.float32) for _ in names]
                if k in cfg.reset_before
                else end
            )
            for i in range(len(names)):
                initial_states[k][i][sample] = start[i]
            end = continue_from(k, 0, start)
            for i, n in enumerate(names):
                final_states[k][i][sample] = arrays[n][k, sample, -1]
    outputs = []
    for k, returned in enumerate(trace.outputs):
        new = []
        for name, array in returned:
            if name == "output":
                array = h[k] if cfg.return_sequences else h[k, :, -1]
            elif name == "state_h":
                array = h[k, :, -1]
            elif name == "state_c":
                array = c[k, :, -1]
            new.append((name, np.array(array)))
        outputs.append(new)
    return dataclasses.replace(
        trace,
        h=h,
        c=c,
        gates=gates,
        initial_states=initial_states,
        final_states=final_states,
        outputs=outputs,
    )


# ----- trajectories -----------------------------------------------------------------------------


def _steps_of(trace: Trace, state: str) -> np.ndarray:
    """All of a trace's states as rows (padding steps of a text trace left out)."""
    values = _state(trace, state)
    rows = values.reshape(-1, values.shape[-1])
    if trace.labels is not None:
        rows = rows[(trace.labels != "").ravel()]
    return rows.astype(np.float64)


@dataclass(frozen=True, eq=False)
class PCAResult:
    """Principal axes fitted on the states of one or more traces.

    Attributes:
        components: (n, units), the axes, by decreasing variance.
        explained_variance_ratio: (n,), the share of the total variance on each axis.
        mean: (units,), subtracted before projecting.
        state: "h" or "c".
    """

    components: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    state: str

    def project(self, trace: Trace) -> np.ndarray:
        """Returns the trace's states on the axes: (num_batches, batch, steps, n)."""
        values = _state(trace, self.state).astype(np.float64)
        if values.shape[-1] != self.mean.shape[0]:
            raise ConfigError(
                "trace",
                Described(f"{values.shape[-1]} units"),
                f"must have {self.mean.shape[0]} units, as the traces the axes were fitted on",
            )
        return (values - self.mean) @ self.components.T

    def project_starts(self, trace: Trace) -> np.ndarray:
        """Returns each batch's initial state on the axes: (num_batches, batch, n)."""
        index = ("h", "c").index(self.state)
        starts = np.stack([s[index] for s in trace.initial_states]).astype(np.float64)
        return (starts - self.mean) @ self.components.T


def pca(traces: Trace | list[Trace], state: str = "h", n: int = 3) -> PCAResult:
    """Returns principal axes of the states of all timesteps of the traces (shared axes).

    Computed with NumPy's SVD of the centred, stacked states.
    """
    if isinstance(traces, Trace):
        traces = [traces]
    if (
        not isinstance(traces, (list, tuple))
        or not traces
        or not all(isinstance(t, Trace) for t in traces)
    ):
        raise ConfigError("traces", Described(type(traces).__name__), "must be one or more Traces")
    rows = [_steps_of(t, state) for t in traces]
    units = {r.shape[1] for r in rows}
    if len(units) != 1:
        raise ConfigError("traces", Described(f"units {sorted(units)}"), "must have the same units")
    stacked = np.concatenate(rows)
    limit = min(stacked.shape)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= limit:
        raise ConfigError("n", n, f"must be a whole number from 1 to {limit}")
    mean = stacked.mean(axis=0)
    _, s, vt = np.linalg.svd(stacked - mean, full_matrices=False)
    variance = s**2
    total = variance.sum()
    ratio = variance[:n] / total if total > 0 else np.zeros(n)
    return PCAResult(vt[:n], ratio, mean, state)


# ----- select and match (LSTMVis) -------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A time range whose on-units resemble a selected pattern.

    Attributes:
        sample: the sample row.
        start, end: first and last step, counted over the batches end to end
            (step = batch_index * num_steps + t).
        score: pattern units on throughout minus other units on throughout.
        hits: how many of the pattern's units are on throughout.
        extra: how many other units are on throughout.
        text: the characters of the range, for a trace with labels ("" otherwise).
    """

    sample: int
    start: int
    end: int
    score: int
    hits: int
    extra: int
    text: str = ""


def _flat(values: np.ndarray) -> np.ndarray:
    """(batch_index, sample, time, unit) -> (sample, batches end to end, unit)."""
    k, b, t, u = values.shape
    return values.transpose(1, 0, 2, 3).reshape(b, k * t, u)


def match(
    trace: Trace,
    units: Any,
    start: int,
    end: int,
    threshold: float = 0.3,
    state: str = "h",
    sample: int = 0,
    limit: int = 20,
) -> list[Match]:
    """Returns other ranges where the selected pattern occurs, best first (LSTMVis's match).

    The pattern is the set of selected `units` whose state stays above `threshold`
    throughout steps start..end (inclusive, over the batches end to end) of `sample`.
    Every other range of the same length, in every sample, is scored by how many pattern
    units are on throughout it minus how many other units are; overlapping ranges keep
    only the best, and the selection itself is left out.
    """
    values = _flat(_state(trace, state))
    b, steps, n_units = values.shape
    sample = _check_index("sample", sample, b)
    start = _check_index("start", start, steps)
    end = _check_index("end", end, steps)
    if end < start:
        raise ConfigError("end", end, f"must be at least start = {start}")
    chosen = (
        np.unique(_numbers("units", units, np.int64).ravel()) if np.size(units) else np.array([])
    )
    if chosen.size == 0:
        raise ConfigError("units", Described("no units"), "must select at least one unit")
    if chosen.min() < 0 or chosen.max() >= n_units:
        raise ConfigError(
            "units", Described(f"{chosen.tolist()[:8]}"), f"must be from 0 to {n_units - 1}"
        )
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not np.isfinite(threshold)
    ):
        raise ConfigError("threshold", threshold, "must be a finite number")
    on = values > threshold
    pattern = np.zeros(n_units, bool)
    pattern[chosen] = on[sample, start : end + 1][:, chosen].all(axis=0)
    length = end - start + 1
    # on throughout a window <=> no "off" step inside it: windowed sums of off via cumsum.
    off = np.concatenate(
        [np.zeros((b, 1, n_units), np.int32), np.cumsum(~on, axis=1, dtype=np.int32)], axis=1
    )
    throughout = (off[:, length:] - off[:, :-length]) == 0  # (b, steps - length + 1, units)
    hits = throughout[..., pattern].sum(axis=-1)
    extra = throughout[..., ~pattern].sum(axis=-1)
    score = hits - extra
    labels = _flat(trace.labels[..., None])[..., 0] if trace.labels is not None else None
    taken = np.zeros((b, steps), bool)
    taken[sample, start : end + 1] = True  # the selection is not a match of itself
    order = np.argsort(-score, axis=None, kind="stable")
    found: list[Match] = []
    for flat_index in order:
        if len(found) >= limit:
            break
        s, t0 = np.unravel_index(flat_index, score.shape)
        if hits[s, t0] == 0:
            break
        if taken[s, t0 : t0 + length].any():
            continue
        taken[s, t0 : t0 + length] = True
        text = "".join(labels[s, t0 : t0 + length]) if labels is not None else ""
        found.append(
            Match(
                int(s),
                int(t0),
                int(t0 + length - 1),
                int(score[s, t0]),
                int(hits[s, t0]),
                int(extra[s, t0]),
                text,
            )
        )
    return found


# ----- comparing two traces -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two traces of the same input shape side by side.

    Attributes:
        h_difference: b.h - a.h, (batch_index, sample, time, unit); None when the two
            layers have different numbers of units.
        c_difference: b.c - a.c when both have a cell state of one size, else None.
        step_difference: (batch_index, sample, time): the norm of the h difference per
            step (None with different units).
        correlation: (units of a, units of b): Pearson r between every pair of units.
        matching: (units of a,) the unit of b matched to each unit of a (one to one,
            maximising the summed |r|; -1 where b has fewer units).
        pca: shared axes fitted on both (None with different units).
    """

    h_difference: np.ndarray | None
    c_difference: np.ndarray | None
    step_difference: np.ndarray | None
    correlation: np.ndarray
    matching: np.ndarray
    pca: PCAResult | None


def compare(a: Trace, b: Trace) -> Comparison:
    """Returns the per-step differences, unit correlations and matching of two traces."""
    from scipy.optimize import linear_sum_assignment

    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, Trace):
            raise ConfigError(name, Described(type(t).__name__), "must be a Trace")
    if a.inputs.shape[:3] != b.inputs.shape[:3]:
        raise ConfigError(
            "b",
            Described(f"input shape {b.inputs.shape[:3]}"),
            f"must have the input shape of a, {a.inputs.shape[:3]} (batches, samples, steps)",
        )
    same = a.h.shape == b.h.shape
    h_diff = (b.h - a.h) if same else None
    c_diff = b.c - a.c if same and a.c is not None and b.c is not None else None
    x = a.h.reshape(-1, a.h.shape[-1]).astype(np.float64)
    y = b.h.reshape(-1, b.h.shape[-1]).astype(np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    nx = np.sqrt((x * x).sum(axis=0))
    ny = np.sqrt((y * y).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x.T @ y) / np.outer(nx, ny)
    r = np.where(np.outer(nx, ny) > 1e-12, r, 0.0)
    rows, cols = linear_sum_assignment(-np.abs(r))
    matching = np.full(r.shape[0], -1)
    matching[rows] = cols
    step = np.sqrt(np.nansum(h_diff.astype(np.float64) ** 2, axis=-1))
    shared = (
        pca([a, b], n=min(3, a.h.shape[-1], b.h.shape[-1]))
        if a.h.shape[-1] == b.h.shape[-1]
        else None
    )
    return Comparison(h_diff, c_diff, step, np.clip(r, -1, 1), matching, shared)
