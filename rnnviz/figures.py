"""Figures: pure functions from a Trace to plotly Figures. They compute nothing Keras does."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.config import SIGMOID_GATES
from rnnviz.trace import Trace

#: Diverging, centred on 0, for tanh-bounded values (h, c, candidate).
DIVERGING = "RdBu_r"
#: Sequential 0..1 for sigmoid gates.
GATE_SCALE = "Viridis"

STATE_TITLES = {"h": "hidden state h_t", "c": "cell state c_t"}
GATE_TITLES = {
    "input": "input gate i_t (σ)",
    "forget": "forget gate f_t (σ)",
    "candidate": "candidate g_t / h̃_t (tanh)",
    "output": "output gate o_t (σ)",
    "update": "update gate z_t (σ)",
    "reset": "reset gate r_t (σ)",
}

#: Heatmaps wider than this many time columns are shown strided (exports keep all data).
MAX_DISPLAY_COLUMNS = 1200


def _stride(total: int, limit: int = MAX_DISPLAY_COLUMNS) -> int:
    return max(1, int(np.ceil(total / limit)))


def _unrolled(values: np.ndarray, sample: int) -> np.ndarray:
    """(batch_index, sample, time, unit) -> (unit, global time) for one sample row."""
    k, _, t, u = values.shape
    return values[:, sample].reshape(k * t, u).T


def _hover_labels(k: int, t: int, stride: int) -> np.ndarray:
    steps = np.arange(0, k * t, stride)
    return np.array([f"batch {s // t}, t={s % t}" for s in steps])


def _column_labels(k: int, t: int, stride: int) -> np.ndarray:
    """One label per heatmap column, "b1 t3" for batch 1, step 3: the x of a categorical axis.

    A label per column, not per cell: per-cell hover labels (strings, or numbers
    Plotly cannot send as binary in 3-D) were three quarters of a chart's bytes.
    """
    steps = np.arange(0, k * t, stride)
    return np.array([f"b{s // t} t{s % t}" for s in steps])


def _add_boundaries(
    fig: go.Figure, num_batches: int, num_steps: int, rows: int = 1, stride: int = 1
) -> None:
    """Marks every batch boundary with a dashed line, in every subplot row, in one update.

    Positions are in columns: a heatmap shown every `stride` steps has its boundary
    k * num_steps / stride columns in.
    """
    shapes = []
    for row in range(1, rows + 1):
        axis = "" if row == 1 else str(row)
        for k in range(1, num_batches):
            shapes.append(
                dict(
                    type="line",
                    x0=k * num_steps / stride - 0.5,
                    x1=k * num_steps / stride - 0.5,
                    y0=0,
                    y1=1,
                    xref=f"x{axis}",
                    yref=f"y{axis} domain",
                    line=dict(width=2, dash="dash", color="black"),
                )
            )
    # One layout update: add_vline per line re-validated the whole layout each time
    # (3 s for a 20-batch gate figure).
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes)


def _heatmap(values: np.ndarray, sample: int, name: str, sigmoid: bool, stride: int) -> go.Heatmap:
    k, _, t, u = values.shape
    # float32 as computed: half the bytes sent to the browser of a float64 copy.
    z = np.ascontiguousarray(_unrolled(values, sample)[:, ::stride], dtype=np.float32)
    x = _column_labels(k, t, stride)
    scale = (
        dict(colorscale=GATE_SCALE, zmin=0.0, zmax=1.0)
        if sigmoid
        else dict(colorscale=DIVERGING, zmid=0.0)
    )
    return go.Heatmap(
        z=z,
        x=x,
        y=np.arange(u),
        name=name,
        **scale,
        colorbar=dict(title=dict(text="value"), len=0.45),
        hovertemplate=(
            f"{name}<br>sample {sample}<br>%{{x}} (batch, step)"
            "<br>unit %{y}"
            "<br>value %{z:.6f}<extra></extra>"
        ),
    )


def _stacked_heatmaps(
    trace: Trace,
    panels: list[tuple[str, np.ndarray, str, bool]],
    sample: int,
    what: str,
    row_height: int,
    spacing: float,
) -> go.Figure:
    """Heatmaps (name, values, title, sigmoid) stacked on one shared time axis."""
    cfg = trace.config
    rows = len(panels)
    stride = _stride(cfg.num_batches * cfg.num_steps)
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=spacing,
        subplot_titles=[title for _, _, title, _ in panels],
    )
    for row, (name, values, _, sigmoid) in enumerate(panels, start=1):
        fig.add_trace(_heatmap(values, sample, name, sigmoid, stride), row=row, col=1)
        fig.data[-1].colorbar.update(y=1 - (row - 0.5) / rows, len=0.9 / rows)
        fig.update_yaxes(title_text="unit", row=row, col=1)
    _add_boundaries(fig, cfg.num_batches, cfg.num_steps, rows=rows, stride=stride)
    fig.update_xaxes(title_text="time step (batches end to end)", row=rows, col=1)
    fig.update_layout(
        title=f"{what} of sample {sample}"
        + (f" (every {stride}th step shown)" if stride > 1 else ""),
        height=row_height * rows + 80,
        margin=dict(t=70),
    )
    return fig


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
    fig = go.Figure()
    for name in cfg.state_names:
        series = _unrolled(trace.state(name), sample)
        for unit in units:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=series[unit],
                    mode="lines+markers" if k * t <= 60 else "lines",
                    name=f"{name}[{unit}]",
                    customdata=labels,
                    line=dict(dash="solid" if name == "h" else "dot"),
                    hovertemplate=(
                        f"{name}, sample {sample}, unit {unit}<br>%{{customdata}}"
                        "<br>value %{y:.6f}<extra></extra>"
                    ),
                )
            )
    _add_boundaries(fig, k, t)
    fig.update_layout(
        title=f"Chosen units of sample {sample} over time",
        xaxis_title="time step (batches end to end)",
        yaxis_title="state value",
        height=360,
        hovermode="closest",
    )
    return fig


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
        yaxis_title=f"h[{unit}]",
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
