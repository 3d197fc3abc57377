"""Figures of the Stateful page: how a layout cuts the stream into batches, what each
layout's network learnt, the state carried across batch boundaries, and the gradient that
stops at them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.core.trace import Trace
from rnnviz.views.figures.common import (
    KIND_COLOURS,
    MAX_DISPLAY_COLUMNS,
    _stride,
    colorbar,
    panel_px,
)


def layout_grid(index: np.ndarray, continues: np.ndarray, stream_len: int) -> go.Figure:
    """Returns the batches × rows grid: each cell the window it holds, coloured by where in
    the stream it starts; between two batches a mark says whether the row continues.

    Args:
        index: the layout's (num_batches, batch_size, window) stream positions.
        continues: (num_batches - 1, batch_size), row i of batch k+1 continues batch k.
    """
    k, b, _ = index.shape
    starts = index[:, :, 0].T.astype(np.float32)  # (row, batch)
    ends = index[:, :, -1].T
    hover = np.char.add(
        np.char.add(np.char.add("steps ", starts.astype(int).astype(str)), "–"),
        ends.astype(str),
    )
    panel = panel_px(b)
    data = [
        go.Heatmap(
            z=starts,
            x=np.arange(k),
            y=np.arange(b),
            customdata=hover,
            colorscale="Viridis",
            zmin=0,
            zmax=stream_len,
            colorbar=colorbar("starts at step", panel),
            hovertemplate="batch %{x}, row %{y}: %{customdata}<extra></extra>",
            name="windows",
        )
    ]
    if k > 1:
        kk, rr = np.meshgrid(np.arange(k - 1) + 0.5, np.arange(b))
        ok = continues.T
        marks = (
            (True, "circle", "#ffffff", "continues: row i of batch k+1 starts where it ended"),
            (False, "x", "#d62728", "broken: row i of batch k+1 starts somewhere else"),
        )
        if (k - 1) * b > 400:  # a dense grid: mark only the broken boundaries
            marks = marks[1:]
        for flag, symbol, colour, label in marks:
            where = ok == flag
            if where.any():
                data.append(
                    go.Scatter(
                        x=kk[where],
                        y=rr[where],
                        mode="markers",
                        marker=dict(symbol=symbol, size=9, color=colour,
                                    line=dict(width=1, color="black")),
                        name=label,
                        hovertemplate=label + "<extra></extra>",
                    )
                )  # fmt: skip
    return go.Figure(
        data=data,
        layout=dict(
            title=dict(text="Which window each row of each batch reads"),
            xaxis=dict(title=dict(text="batch (fed in this order)")),
            yaxis=dict(title=dict(text="row of the batch (sample)"), autorange="reversed"),
            height=panel + 140,
            margin=dict(t=60, b=80),
            legend=dict(orientation="h", y=-0.25),
        ),
    )


def layout_stream(index: np.ndarray, stream_len: int) -> go.Figure:
    """Returns the stream as one line of steps, each coloured by the batch that reads it
    (grey: dropped), hover naming the batch and row."""
    k, b, w = index.shape
    batch_of = np.full(stream_len, np.nan, np.float32)
    row_of = np.full(stream_len, -1, np.int32)
    batch_of[index.reshape(-1)] = np.repeat(np.arange(k), b * w)
    row_of[index.reshape(-1)] = np.tile(np.repeat(np.arange(b), w), k)
    stride = _stride(stream_len, MAX_DISPLAY_COLUMNS)
    x = np.arange(0, stream_len, stride)
    return go.Figure(
        go.Heatmap(
            z=batch_of[::stride][None],
            x=x,
            customdata=row_of[::stride][None],
            colorscale="Turbo",
            colorbar=colorbar("batch", 200),
            hovertemplate="step %{x}: batch %{z}, row %{customdata}<extra></extra>",
            hoverongaps=False,
        ),
        layout=dict(
            title=dict(
                text="The stream, each step coloured by the batch that reads it"
                + (f" (every {stride}th step shown)" if stride > 1 else "")
            ),
            xaxis=dict(title=dict(text="step of the stream")),
            yaxis=dict(visible=False),
            height=200 + 120,
            margin=dict(t=60, b=60),
        ),
    )


def accuracy_by_order(results: dict[str, dict[str, float]]) -> go.Figure:
    """Returns held-out accuracy per layout, fed in the right order and in its own.

    Args:
        results: layout -> {"right": accuracy in the continuation order, "own": in its own}.
    """
    kinds = list(results)
    fig = go.Figure()
    for key, label, pattern in (
        ("right", "held-out stream in the right order", ""),
        ("own", "held-out stream in its own layout", "/"),
    ):
        fig.add_trace(
            go.Bar(
                x=kinds,
                y=[results[k][key] for k in kinds],
                name=label,
                marker=dict(color=[KIND_COLOURS.get(k, "#888") for k in kinds],
                            pattern=dict(shape=pattern)),
                text=[f"{results[k][key]:.1%}" for k in kinds],
                textposition="outside",
                hovertemplate="%{x}<br>" + label + ": %{y:.2%}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        barmode="group",
        title="Held-out accuracy: are the weights bad, or only the feeding?",
        yaxis=dict(title="accuracy", range=[0, 1.12]),
        xaxis_title="the layout the network was trained in",
        height=380,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def accuracy_by_position(curves: dict[str, np.ndarray]) -> go.Figure:
    """Returns held-out accuracy at each position inside a window, one line per layout."""
    fig = go.Figure()
    for kind, values in curves.items():
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(values)),
                y=values,
                mode="lines+markers",
                name=kind,
                line=dict(color=KIND_COLOURS.get(kind)),
                hovertemplate=kind + "<br>position %{x}: %{y:.1%}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Accuracy by position in the window (right order)",
        xaxis_title="position in the window (0 = first step after a boundary)",
        yaxis=dict(title="accuracy", range=[0, 1.05]),
        height=360,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def carried_state(
    traces: dict[str, Trace],
    row: int,
    unit: int,
    state: str = "h",
    targets: dict[str, np.ndarray] | None = None,
) -> go.Figure:
    """Returns one unit's state of one row over consecutive batches, one line per trace, with
    the batch boundaries dashed; `targets` (label -> (batches, steps) of 0/1, the switch the
    row reads) are drawn dotted on a 0..1 axis of their own."""
    fig = go.Figure()
    shapes = []
    for label, values in (targets or {}).items():
        fig.add_trace(
            go.Scatter(
                x=np.arange(values.size),
                y=values.reshape(-1),
                mode="lines",
                name=f"{label}: the switch",
                yaxis="y2",
                line=dict(dash="dot", shape="hv", width=1,
                          color=KIND_COLOURS.get(label.split(" ")[0])),
                hovertemplate="step %{x}: switch %{y}<extra></extra>",
            )
        )  # fmt: skip
    for label, trace in traces.items():
        values = trace.state(state)[:, row, :, unit]  # (batches, steps)
        k, t = values.shape
        fig.add_trace(
            go.Scatter(
                x=np.arange(k * t),
                y=values.reshape(-1),
                mode="lines",
                name=label,
                line=dict(color=KIND_COLOURS.get(label.split(" ")[0])),
                hovertemplate=label + "<br>batch %{customdata[0]}, step %{customdata[1]}"
                "<br>" + f"{state}[{unit}] " + "%{y:.4f}<extra></extra>",
                customdata=np.stack(np.divmod(np.arange(k * t), t), axis=1),
            )
        )
        shapes = [
            dict(type="line", x0=b * t - 0.5, x1=b * t - 0.5, y0=0, y1=1, yref="paper",
                 line=dict(dash="dash", color="#888", width=1))
            for b in range(1, k)
        ]  # fmt: skip
    fig.update_layout(
        title=f"{state}[{unit}] of row {row} across batches (dashed: batch boundaries)",
        xaxis_title="step (batches end to end)",
        yaxis_title=f"{state}[{unit}]",
        yaxis2=dict(title="switch", overlaying="y", side="right", range=[-0.1, 1.1]),
        shapes=shapes,
        height=360,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def boundary_gradient_bars(fit: np.ndarray, state: np.ndarray) -> go.Figure:
    """Returns, for each step of batch k, the size of the gradient of batch k+1's loss
    with respect to that step's input: as fit computes it (zero) and through the state.

    Args:
        fit, state: (batch_size, window, features) gradients (boundary_gradient).
    """
    steps = np.arange(fit.shape[1])
    fig = go.Figure()
    for values, label, colour in (
        (state, "through the carried state (what the loss depends on)", "#1f77b4"),
        (fit, "what fit's gradient sees (one batch per step)", "#d62728"),
    ):
        size = np.linalg.norm(values, axis=(0, 2))
        fig.add_trace(
            go.Bar(
                x=steps,
                y=size,
                name=label,
                marker_color=colour,
                hovertemplate="input step %{x} of batch k<br>%{y:.3e}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title="How much batch k+1's loss depends on each input of batch k",
        xaxis_title="step of batch k",
        yaxis_title="‖∂ loss(k+1) / ∂ x_k‖",
        height=360,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


__all__ = [
    "KIND_COLOURS",
    "accuracy_by_order",
    "accuracy_by_position",
    "boundary_gradient_bars",
    "carried_state",
    "layout_grid",
    "layout_stream",
]
