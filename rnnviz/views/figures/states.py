"""Figures of one trace's states over time: h / c / gate heatmaps, unit lines, the state carried
across batches, and the columns of a user model's layer (Explore, Train, Your model)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.core.config import SIGMOID_GATES
from rnnviz.core.trace import Trace
from rnnviz.views.figures.common import (
    DIVERGING,
    GATE_TITLES,
    STATE_TITLES,
    _add_boundaries,
    _boundary_shapes,
    _hover_labels,
    _stacked_heatmaps,
    _stride,
    _unrolled,
    unvalidated,
)


def state_heatmaps(trace: Trace, sample: int = 0) -> go.Figure:
    """Returns heatmaps of h_t (and c_t for LSTM), units x time, batches end to end."""
    panels = [(n, trace.state(n), STATE_TITLES[n], False) for n in trace.config.state_names]
    return _stacked_heatmaps(trace, panels, sample, "States", row_height=260, spacing=0.12)


def unit_lines(trace: Trace, sample: int = 0, units: list[int] | None = None) -> go.Figure:
    """Returns line plots over time of chosen units of h_t (and c_t), batches end to end."""
    cfg = trace.config
    units = units if units else list(range(min(cfg.hidden_size, 4)))
    k, t = cfg.num_batches, cfg.num_steps
    x = np.arange(k * t)
    labels = _hover_labels(k, t, 1)
    lines = [
        dict(
            type="scatter",
            x=x,
            y=_unrolled(trace.state(name), sample)[unit],
            mode="lines+markers" if k * t <= 60 else "lines",
            name=f"{name}[{unit}]",
            customdata=labels,
            line=dict(dash="solid" if name == "h" else "dot"),
            hovertemplate=(
                f"{name}, sample {sample}, unit {unit}<br>%{{customdata}}"
                "<br>value %{y:.6f}<extra></extra>"
            ),
        )
        for name in cfg.state_names
        for unit in units
    ]
    # One Figure call, no add_trace / update_layout: each re-validated (issue 12).
    return unvalidated(
        data=lines,
        layout=dict(
            shapes=_boundary_shapes(k, t, 1, 1),
            title=dict(text=f"Chosen units of sample {sample} over time"),
            xaxis=dict(title=dict(text="time step (batches end to end)")),
            yaxis=dict(title=dict(text="state value")),
            height=360,
            hovermode="closest",
        ),
    )


def gate_heatmaps(trace: Trace, sample: int = 0) -> go.Figure:
    """Returns one heatmap per gate (0..1 scale for σ gates, centred on 0 for tanh)."""
    if not trace.gates:
        return go.Figure(layout=dict(title="SimpleRNN has no gates"))
    panels = [(n, g, GATE_TITLES[n], n in SIGMOID_GATES) for n, g in trace.gates.items()]
    return _stacked_heatmaps(trace, panels, sample, "Gates", row_height=200, spacing=0.07)


def carry_over(trace: Trace, sample: int = 0, state: str = "h") -> go.Figure:
    """Returns, per batch boundary, batch k's final state beside batch k+1's initial state."""
    cfg = trace.config
    idx = cfg.state_names.index(state)
    k = cfg.num_batches
    columns, labels = [], []
    for b in range(k):
        columns.append(trace.initial_states[b][idx][sample])
        reset = cfg.stateful and b in cfg.reset_before
        labels.append(f"batch {b} start" + (" (reset)" if reset else ""))
        columns.append(trace.final_states[b][idx][sample])
        labels.append(f"batch {b} end")
    z = np.stack(columns, axis=1)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=np.arange(cfg.hidden_size),
            colorscale=DIVERGING,
            zmid=0.0,
            colorbar=dict(title=dict(text="value")),
            hovertemplate=f"{state}, sample {sample}<br>%{{x}}<br>unit %{{y}}<br>value %{{z:.6f}}"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{state}: start and end of each batch, sample {sample} "
        f"({'stateful: each start = previous end' if cfg.stateful else 'not stateful'})",
        xaxis_title="batch boundary",
        yaxis_title="unit",
        height=360,
    )
    return fig


def stateful_vs_stateless(
    stateful: Trace, stateless: Trace, sample: int = 0, unit: int = 0
) -> go.Figure:
    """Returns h_t of one unit for the same input with stateful on and off, overlaid."""
    cfg = stateful.config
    k, t = cfg.num_batches, cfg.num_steps
    x = np.arange(k * t)
    labels = _hover_labels(k, t, 1)
    fig = go.Figure()
    for trace, name, dash in (
        (stateful, "stateful=True", "solid"),
        (stateless, "stateful=False", "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_unrolled(trace.h, sample)[unit],
                name=name,
                mode="lines+markers",
                line=dict(dash=dash),
                customdata=labels,
                hovertemplate=f"{name}<br>%{{customdata}}<br>h[{unit}] %{{y:.6f}}<extra></extra>",
            )
        )
    _add_boundaries(fig, k, t)
    fig.update_layout(
        title=f"Same input, stateful vs not: h[{unit}] of sample {sample}",
        xaxis_title="time step (batches end to end)",
        yaxis_title="h of the unit",  # the same for every unit: the browser switches units
        height=340,
    )
    return fig


def figure_html(figures: list[go.Figure]) -> str:
    """Returns one standalone HTML page holding the figures (plotly.js inlined once)."""
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>rnnviz</title></head>"
        "<body>" + "\n".join(parts) + "</body></html>"
    )


def mark_model_steps(fig: go.Figure, trace: Trace, sample: int = 0) -> go.Figure:
    """For a trace of a model's layer (rnnviz.trace_model): names each column by the input
    step it processed, where that is not its own position (a go_backwards layer reads
    the last step first), and greys out the steps Keras skipped (masked).

    Works on the stacked heatmaps of one batch (state_heatmaps, gate_heatmaps).
    """
    if trace.config.num_batches != 1:
        return fig
    steps = trace.config.num_steps
    stride = _stride(steps)
    labels = trace.labels[0, sample] if trace.labels is not None else None
    heatmaps = [d for d in fig.data if isinstance(d, go.Heatmap)]
    if labels is not None and any(labels[t] != str(t) for t in range(steps)):
        x = [f"step {t} (input {labels[t]})" for t in range(0, steps, stride)]
        for heatmap in heatmaps:
            heatmap.x = x
    if trace.mask is None or stride != 1:
        return fig
    masked = ~trace.mask[0, sample]
    runs, t = [], 0
    while t < steps:
        if masked[t]:
            start = t
            while t < steps and masked[t]:
                t += 1
            runs.append((start, t - 1))
        else:
            t += 1
    shapes = [
        dict(
            type="rect",
            x0=start - 0.5,
            x1=end + 0.5,
            y0=0,
            y1=1,
            xref=f"x{'' if row == 1 else row}",
            yref=f"y{'' if row == 1 else row} domain",
            fillcolor="rgba(128,128,128,0.65)",
            line=dict(width=0),
            layer="above",
        )
        for row in range(1, len(heatmaps) + 1)
        for start, end in runs
    ]
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes)
    return fig


def returned(trace: Trace, batch: int = 0, sample: int = 0) -> go.Figure:
    """Returns what `layer(x)` returned for one batch, one panel per returned tensor in
    Keras's order: a sequence output as units x steps of `sample`, anything without a time
    axis (the last output, state_h, state_c) as units x samples. Values are Keras's own."""
    from plotly.subplots import make_subplots

    tensors = trace.outputs[batch]
    titles = []
    for name, array in tensors:
        part = f", sample {sample}" if array.ndim == 3 else ""
        titles.append(f"{name} {tuple(array.shape)}{part}")
    fig = make_subplots(rows=1, cols=len(tensors), subplot_titles=titles, horizontal_spacing=0.08)
    for col, (name, array) in enumerate(tensors, start=1):
        if array.ndim == 3:  # (samples, steps, units)
            z, x, axis = array[sample].T, [f"step {t}" for t in range(array.shape[1])], "time step"
        else:  # (samples, units)
            z, x, axis = array.T, [f"sample {s}" for s in range(array.shape[0])], "sample"
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=x,
                y=np.arange(z.shape[0]),
                colorscale=DIVERGING,
                zmid=0.0,
                coloraxis="coloraxis",
                hovertemplate=f"{name}<br>%{{x}}<br>unit %{{y}}<br>value %{{z:.6f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=axis, row=1, col=col)
        fig.update_yaxes(title_text="unit", row=1, col=col)
    limit = max(float(np.abs(a).max()) for _, a in tensors) or 1.0
    fig.update_layout(
        title=f"What layer(x) returned for batch {batch}: [{', '.join(n for n, _ in tensors)}]",
        coloraxis=dict(colorscale=DIVERGING, cmin=-limit, cmax=limit, cmid=0.0,
                       colorbar=dict(title=dict(text="value"))),
        height=360,
    )  # fmt: skip
    return fig
