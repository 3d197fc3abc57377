"""Exports of a trace: every array as .npz, one state as CSV, the figures as standalone HTML."""

from __future__ import annotations

import io
import json

import numpy as np

from rnnviz.core.trace import Trace
from rnnviz.views import figures


def trace_npz(trace: Trace) -> bytes:
    """Returns a compressed .npz of every array of the trace plus its config as JSON."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, config=json.dumps(trace.config.to_dict()), **trace.arrays())
    return buffer.getvalue()


def state_csv(trace: Trace, state: str) -> str:
    """Returns one state as CSV: a row per (batch, sample, t), a column per unit."""
    values = trace.state(state)
    k, b, t, u = values.shape
    index = np.stack(
        np.meshgrid(np.arange(k), np.arange(b), np.arange(t), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    header = "batch,sample,t," + ",".join(f"unit_{i}" for i in range(u))
    body = np.concatenate([index, values.reshape(-1, u)], axis=1)
    out = io.StringIO()
    np.savetxt(out, body, delimiter=",", header=header, comments="", fmt=["%d"] * 3 + ["%.8g"] * u)
    return out.getvalue()


def figures_html(trace: Trace) -> str:
    """Returns one standalone HTML page with the state, gate and carry-over figures."""
    return figures.figure_html(
        [figures.state_heatmaps(trace), figures.gate_heatmaps(trace), figures.carry_over(trace)]
    )
