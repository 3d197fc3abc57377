"""Input signals: deterministic series, distinct per sample row, continuous across batches."""

from __future__ import annotations

import numpy as np

from rnnviz.core.config import ANSWER_002, RunConfig


def make_inputs(cfg: RunConfig) -> np.ndarray:
    """Returns float32 inputs of shape (num_batches, batch_size, num_steps, num_features).

    Each sample row is one long series of num_batches * num_steps values cut
    into batches, so batch k+1 continues where batch k stopped: that is what
    makes a stateful layer's carried state meaningful. Rows differ (phase,
    onset, slope), so the batch axis is visible; features differ too.
    """
    k, b, t, f = cfg.num_batches, cfg.batch_size, cfg.num_steps, cfg.num_features
    total = k * t
    time = np.arange(total, dtype=np.float64)[None, :, None]  # (1, time, 1)
    row = np.arange(b, dtype=np.float64)[:, None, None]  # (row, 1, 1)
    feat = np.arange(f, dtype=np.float64)[None, None, :]  # (1, 1, feature)
    shape = (b, total, f)
    if cfg.signal == "answer_002":
        # The classic answer feeds the same (2, 3, 3) array as every batch.
        return np.broadcast_to(np.array(ANSWER_002, np.float32), (k, b, t, f)).copy()
    if cfg.signal == "zeros":
        series = np.zeros(shape)
    elif cfg.signal == "ones":
        series = np.ones(shape)
    elif cfg.signal == "random":
        series = np.random.default_rng(cfg.seed).standard_normal(shape)
    elif cfg.signal == "sine":
        # About two periods per batch, a different phase per row and feature.
        period = max(t / 2.0, 4.0)
        phase = 2 * np.pi * (row / max(b, 1) + feat / (2.0 * max(f, 1)))
        series = np.sin(2 * np.pi * time / period + phase) + 0.0 * feat
    elif cfg.signal == "step":
        # Zero, then one from an onset that moves later with the row.
        onset = (row + 1) * total / (b + 1)
        series = (time >= np.floor(onset)).astype(np.float64) + 0.0 * feat
    elif cfg.signal == "impulse":
        onset = np.floor(row * total / (b + 1))
        series = (time == onset).astype(np.float64) + 0.0 * feat
    elif cfg.signal == "ramp":
        # From -1 to 1 over the whole series; odd rows fall instead of rise.
        ramp = 2 * time / max(total - 1, 1) - 1
        sign = np.where(row % 2 == 0, 1.0, -1.0)
        series = sign * ramp + 0.0 * feat
    else:  # validate() makes this unreachable
        raise AssertionError(cfg.signal)
    series = np.broadcast_to(series, shape)
    # (row, batch*time, f) -> (batch, row, time, f)
    return np.ascontiguousarray(series.reshape(b, k, t, f).transpose(1, 0, 2, 3), dtype=np.float32)
