"""Figures of the Why page's analyses: memory reach, interventions, trajectories, the matching
of units between two traces."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.core.trace import Trace
from rnnviz.views.figures.common import (
    CELL_COLOURS,
    DIVERGING,
    STATE_TITLES,
    _column_labels,
    _unrolled,
    colorbar,
    panel_px,
)


def reach_heatmap(reach: np.ndarray, target: int, title: str = "") -> go.Figure:
    """Returns |∂h_target/∂x_t| per sample and step on a log colour scale, the target marked."""
    with np.errstate(divide="ignore"):
        logged = np.where(reach > 0, np.log10(np.maximum(reach, 1e-30)), np.nan)
    panel = panel_px(reach.shape[0])
    fig = go.Figure(
        go.Heatmap(
            z=logged.astype(np.float32),
            customdata=reach.astype(np.float32),
            colorscale="Magma",
            colorbar=colorbar("log10 reach", panel),
            hovertemplate="sample %{y}, input step %{x}<br>‖∂h_target/∂x_t‖ = %{customdata:.3e}"
            "<extra></extra>",
        )
    )
    fig.add_vline(x=target, line=dict(color="#1f77b4", width=3), annotation_text="target")
    fig.update_layout(
        title=title or f"How much h at step {target} depends on each input step",
        xaxis_title="input step t",
        yaxis_title="sample",
        height=panel + 60 + 60,
        margin=dict(t=60, b=60),
    )
    return fig


def reach_lines(reaches: dict[str, np.ndarray], target: int) -> go.Figure:
    """Returns the mean reach per input step of several networks, on a log y axis."""
    fig = go.Figure()
    for label, reach in reaches.items():
        colour = CELL_COLOURS.get(label.lower().replace("simplernn", "simple_rnn"))
        mean = reach[:, : target + 1].mean(axis=0)
        fig.add_trace(
            go.Scatter(
                x=np.arange(target + 1),
                y=np.maximum(mean, 1e-30),
                mode="lines+markers",
                name=label,
                line=dict(color=colour),
                hovertemplate=f"{label}<br>input step %{{x}}<br>mean reach %{{y:.3e}}"
                "<extra></extra>",
            )
        )
    fig.update_yaxes(type="log", title_text=f"mean ‖∂h_{target}/∂x_t‖ (log scale)")
    fig.update_layout(
        title=f"How far back each network remembers: the pull of step t on step {target}",
        xaxis_title="input step t",
        height=360,
    )
    return fig


def intervention(
    before: Trace, after: Trace, sample: int, step: int, unit: int, state: str = "h"
) -> go.Figure:
    """Returns the state of one sample before and after an intervention, and the difference."""
    a = _unrolled(before.state(state), sample)
    b = _unrolled(after.state(state), sample)
    diff = b - a
    k, t = before.config.num_batches, before.config.num_steps
    x = _column_labels(k, t, 1)
    bound = float(max(np.abs(a).max(), np.abs(b).max())) or 1.0
    dbound = float(np.abs(diff).max()) or 1.0
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[
            "original",
            f"unit {unit} set at step {step}",
            "difference (after − before)",
        ],
    )
    for row, (z, zb) in enumerate(((a, bound), (b, bound), (diff, dbound)), start=1):
        fig.add_trace(
            go.Heatmap(
                z=z.astype(np.float32),
                x=x,
                colorscale=DIVERGING,
                zmin=-zb,
                zmax=zb,
                colorbar=dict(len=0.3, y=1 - (row - 0.5) / 3),
                hovertemplate="%{x}<br>unit %{y}<br>value %{z:.6f}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="unit", row=row, col=1)
    fig.update_xaxes(title_text="time step", row=3, col=1)
    fig.update_layout(height=640, title=f"{STATE_TITLES[state]} of sample {sample}")
    return fig


def trajectories(
    projected: dict[str, np.ndarray],
    sample: int,
    explained: np.ndarray,
    three_d: bool = False,
    starts: dict[str, np.ndarray] | None = None,
) -> go.Figure:
    """Returns each trace's path through the first principal axes, one line per batch.

    Args:
        projected: label -> (num_batches, batch, steps, n) from PCAResult.project.
        sample: the sample row drawn.
        explained: the axes' explained variance ratios (for the axis titles).
        starts: label -> (num_batches, batch, n), each batch's initial state
            (PCAResult.project_starts); when given, each batch's line begins there, so a
            stateful line continues and a stateless one jumps back.
    """
    fig = go.Figure()
    for i, (label, p) in enumerate(projected.items()):
        colour = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"][i % 4]
        k = p.shape[0]
        for b in range(k):
            path = p[b, sample]
            names = [f"{label}<br>batch {b}, step {t}" for t in range(len(path))]
            if starts is not None and label in starts:
                path = np.vstack([starts[label][b, sample][None], path])
                names = [f"{label}<br>batch {b} starts from here", *names]
            common = dict(
                mode="lines+markers",
                name=label,
                legendgroup=label,
                showlegend=b == 0,
                line=dict(color=colour, dash="solid" if b % 2 == 0 else "dot"),
                marker=dict(size=[10] + [4] * (len(path) - 2) + [10] if len(path) > 1 else [10]),
                text=names,
                hovertemplate="%{text}<extra></extra>",
            )
            if three_d and p.shape[-1] >= 3:
                fig.add_trace(go.Scatter3d(x=path[:, 0], y=path[:, 1], z=path[:, 2], **common))
            else:
                fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], **common))
    axis = [f"PC{i + 1} ({r:.0%} of variance)" for i, r in enumerate(explained)]
    if three_d and len(axis) >= 3:
        fig.update_layout(scene=dict(xaxis_title=axis[0], yaxis_title=axis[1], zaxis_title=axis[2]))
    else:
        fig.update_xaxes(title_text=axis[0])
        fig.update_yaxes(title_text=axis[1] if len(axis) > 1 else "")
    fig.update_layout(
        title=f"Where the state of sample {sample} goes (big dots: batch starts and ends)",
        height=480,
    )
    return fig


def correlation_matrix(r: np.ndarray, matching: np.ndarray, a: str, b: str) -> go.Figure:
    """Returns the unit-by-unit correlation of two traces, the one-to-one matching marked."""
    fig = go.Figure(
        go.Heatmap(
            z=r.astype(np.float32),
            colorscale=DIVERGING,
            zmin=-1,
            zmax=1,
            colorbar=dict(title=dict(text="r")),
            hovertemplate=f"{a} unit %{{y}}<br>{b} unit %{{x}}<br>r = %{{z:.3f}}<extra></extra>",
        )
    )
    rows = np.flatnonzero(matching >= 0)
    fig.add_trace(
        go.Scatter(
            x=matching[rows],
            y=rows,
            mode="markers",
            marker=dict(symbol="square-open", size=10, color="black"),
            name="best one-to-one match",
            hovertemplate=f"{a} unit %{{y}} ↔ {b} unit %{{x}}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Which unit of {b} does what a unit of {a} does?",
        xaxis_title=f"{b} unit",
        yaxis_title=f"{a} unit",
        height=420,
        legend=dict(orientation="h", y=-0.2),
    )
    return fig
