"""Analysis on Traces: pure functions from a Trace (and plain arrays) to arrays.

Importing this module loads no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from rnnviz.config import ConfigError, Described
from rnnviz.trace import Trace


def _state(trace: Trace, state: str) -> np.ndarray:
    names = trace.config.state_names
    if state not in names:
        raise ConfigError("state", state, f"must be one of {', '.join(names)} for this cell")
    return trace.state(state)


def unit_correlations(trace: Trace, values: np.ndarray, state: str = "h") -> np.ndarray:
    """Returns Pearson r of every unit's state with `values`, over all samples and steps.

    Args:
        trace: any Trace.
        values: one number per (sample, step): shaped like the trace's states without
            the unit axis, (batch_index, sample, time), or (sample, time) for a
            one-batch trace.
        state: "h" or "c".

    Returns:
        (units,) float64; a constant unit (or constant values) gets r = 0, never NaN.
    """
    states = _state(trace, state)
    target = np.asarray(values, dtype=np.float64)
    if target.shape == states.shape[1:3] and states.shape[0] == 1:
        target = target[None]
    if target.shape != states.shape[:3]:
        raise ConfigError(
            "values",
            Described(f"shape {target.shape}"),
            f"must have shape {states.shape[:3]} (batch_index, sample, time)",
        )
    x = states.reshape(-1, states.shape[-1]).astype(np.float64)
    y = target.ravel()
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
