"""Weights and initial states drawn from a seed, the way Keras initialises a layer."""

from __future__ import annotations

import numpy as np

from rnnviz.config import RunConfig

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
    """Returns float32 weights in get_weights() order, as Keras's defaults would draw them.

    Kernel: Glorot uniform. Recurrent kernel: orthogonal. Bias: zeros, with the
    LSTM forget block at 1 (`unit_forget_bias=True`). Drawn by NumPy from
    cfg.seed, so they are the same on every machine and cost no TensorFlow call.
    """
    rng = np.random.default_rng([cfg.seed, 1])
    k_shape, r_shape, b_shape = weight_shapes(cfg)
    limit = np.sqrt(6.0 / (k_shape[0] + k_shape[1]))
    kernel = rng.uniform(-limit, limit, size=k_shape)
    recurrent = _orthogonal(rng, *r_shape)
    bias = np.zeros(b_shape)
    if cfg.cell == "lstm":
        h = cfg.hidden_size
        bias[h : 2 * h] = 1.0
    return [w.astype(np.float32) for w in (kernel, recurrent, bias)]


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
