"""Weights and initial states drawn from a seed, the way Keras initialises a layer."""

from __future__ import annotations

import numpy as np
from threadpoolctl import ThreadpoolController

from rnnviz.core.config import RunConfig
from rnnviz.serving.memory import shared_cache

_controller: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    """The process's thread pools, found once: `threadpool_limits` looks for the loaded
    libraries again on every call (3.5 % of a loaded server's CPU, issue 20's profile)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


#: Width of the kernel per unit: LSTM has 4 blocks (i, f, c, o), GRU 3 (z, r, h).
BLOCKS = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def weight_shapes(cfg: RunConfig) -> list[tuple[int, ...]]:
    """Returns the shapes of layer.get_weights(): kernel, recurrent_kernel, bias."""
    n = BLOCKS[cfg.cell] * cfg.hidden_size
    bias = (2, n) if cfg.cell == "gru" and cfg.reset_after else (n,)
    return [(cfg.num_features, n), (cfg.hidden_size, n), bias]


def _orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    # Keras's Orthogonal initializer: QR of a normal matrix, signs fixed by diag(R).
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return q.T if rows < cols else q


def make_weights(cfg: RunConfig) -> list[np.ndarray]:
    """Returns the weights for cfg (see _draw_weights), shared read-only arrays."""
    gru_bias_rows = cfg.cell == "gru" and cfg.reset_after
    key = (cfg.cell, cfg.num_features, cfg.hidden_size, gru_bias_rows, cfg.seed)
    # In the byte budget with every other cache: 64 entries by count held up to 1 GB of
    # hidden_size=1024 weights (a soak of 24 near-cap links grew by hundreds of MB).
    return list(shared_cache("weights").get_or_create(key, lambda: _draw_weights(*key)))


def _draw_weights(
    cell: str, num_features: int, hidden_size: int, gru_bias_rows: bool, seed: int
) -> tuple[np.ndarray, ...]:
    """Returns float32 weights in get_weights() order, as Keras's defaults would draw them.

    Kernel: Glorot uniform. Recurrent kernel: orthogonal. Bias: zeros, with the
    LSTM forget block at 1 (`unit_forget_bias=True`). Drawn by NumPy from
    cfg.seed, so they are the same on every machine and cost no TensorFlow call.
    """
    cfg = RunConfig(
        cell=cell,
        num_features=num_features,
        hidden_size=hidden_size,
        reset_after=gru_bias_rows or cell != "gru",
        seed=seed,
    )
    rng = np.random.default_rng([cfg.seed, 1])
    k_shape, r_shape, b_shape = weight_shapes(cfg)
    limit = np.sqrt(6.0 / (k_shape[0] + k_shape[1]))
    kernel = rng.uniform(-limit, limit, size=k_shape)
    # One BLAS thread: on two shared cores, OpenBLAS's spinning threads for this
    # small QR stole up to 200 ms from TensorFlow under load.
    with _blas().limit(limits=1, user_api="blas"):
        recurrent = _orthogonal(rng, *r_shape)
    bias = np.zeros(b_shape)
    if cfg.cell == "lstm":
        h = cfg.hidden_size
        bias[h : 2 * h] = 1.0
    out = tuple(w.astype(np.float32) for w in (kernel, recurrent, bias))
    for w in out:
        w.flags.writeable = False  # cached and shared: nobody may change them
    return out


def make_initial_state(cfg: RunConfig) -> list[np.ndarray]:
    """Returns the state batch 0 starts from: [h] or [h, c], each (batch_size, hidden_size).

    "random" draws uniformly from [-1, 1), the range of a tanh-bounded h.
    """
    shape = (cfg.batch_size, cfg.hidden_size)
    n = len(cfg.state_names)
    if cfg.initial_state == "zeros":
        return [np.zeros(shape, np.float32) for _ in range(n)]
    rng = np.random.default_rng([cfg.seed, 2])
    return [rng.uniform(-1.0, 1.0, size=shape).astype(np.float32) for _ in range(n)]
