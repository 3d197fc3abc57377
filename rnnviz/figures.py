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


def _time_label(step: int, num_steps: int, num_batches: int) -> str:
    """A global time index in words a student reads: "batch 2, step 3" (counted from 1)."""
    if num_batches == 1:  # one batch (a trained task's samples): the step is all there is
        return f"step {step + 1}"
    return f"batch {step // num_steps + 1}, step {step % num_steps + 1}"


def _hover_labels(k: int, t: int, stride: int) -> np.ndarray:
    return np.array([_time_label(s, t, k) for s in range(0, k * t, stride)])


def _column_labels(k: int, t: int, stride: int) -> np.ndarray:
    """One label per heatmap column, "batch 2, step 4": the x of a categorical axis.

    A label per column, not per cell: per-cell hover labels (strings, or numbers
    Plotly cannot send as binary in 3-D) were three quarters of a chart's bytes.
    Counted from 1, as people count; the exported arrays keep Python's 0-based indices.
    """
    return _hover_labels(k, t, stride)


def _boundary_shapes(num_batches: int, num_steps: int, rows: int, stride: int) -> list[dict]:
    """A dashed line at every batch boundary, in every subplot row, as layout shapes."""
    return [
        dict(
            type="line",
            x0=k * num_steps / stride - 0.5,
            x1=k * num_steps / stride - 0.5,
            y0=0,
            y1=1,
            xref=f"x{'' if row == 1 else row}",
            yref=f"y{'' if row == 1 else row} domain",
            line=dict(width=2, dash="dash", color="black"),
        )
        for row in range(1, rows + 1)
        for k in range(1, num_batches)
    ]


def _add_boundaries(
    fig: go.Figure, num_batches: int, num_steps: int, rows: int = 1, stride: int = 1
) -> None:
    """Marks every batch boundary with a dashed line, in every subplot row, in one update.

    Positions are in columns: a heatmap shown every `stride` steps has its boundary
    k * num_steps / stride columns in.
    """
    # One layout update: add_vline per line re-validated the whole layout each time
    # (3 s for a 20-batch gate figure).
    shapes = _boundary_shapes(num_batches, num_steps, rows, stride)
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
            f"{name}<br>sample {sample}<br>%{{x}}{' (batch, step)' if k > 1 else ''}"
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
    """Heatmaps (name, values, title, sigmoid) stacked on one shared time axis.

    The layout is written out (what make_subplots would make) and the Figure built in
    one call: make_subplots and the per-row updates re-validated the layout each time,
    two thirds of the chart's server time on a busy classroom server (issue 12).
    """
    cfg = trace.config
    rows = len(panels)
    stride = _stride(cfg.num_batches * cfg.num_steps)
    height = (1 - spacing * (rows - 1)) / rows
    data, layout = [], {}
    annotations = []
    for row, (name, values, title, sigmoid) in enumerate(panels, start=1):
        top = 1 - (row - 1) * (height + spacing)
        suffix = "" if row == 1 else str(row)
        heatmap = _heatmap(values, sample, name, sigmoid, stride)
        heatmap.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        heatmap.colorbar.update(y=1 - (row - 0.5) / rows, len=0.9 / rows)
        data.append(heatmap)
        layout[f"xaxis{suffix}"] = dict(
            anchor=f"y{suffix}",
            domain=[0.0, 1.0],
            **({} if row == rows else dict(matches=f"x{rows}", showticklabels=False)),
            **(dict(title=dict(text="time step (batches end to end)")) if row == rows else {}),
        )
        layout[f"yaxis{suffix}"] = dict(
            anchor=f"x{suffix}",
            domain=[max(0.0, top - height), min(1.0, top)],
            title=dict(text="unit"),
        )
        annotations.append(
            dict(
                text=title,
                x=0.5,
                xref="paper",
                xanchor="center",
                y=top,
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=16),
            )
        )
    return go.Figure(
        data=data,
        layout=dict(
            **layout,
            annotations=annotations,
            shapes=_boundary_shapes(cfg.num_batches, cfg.num_steps, rows, stride),
            title=dict(
                text=f"{what} of sample {sample}"
                + (f" (every {stride}th step shown)" if stride > 1 else "")
            ),
            height=row_height * rows + 80,
            margin=dict(t=70),
        ),
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
    return go.Figure(
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
        labels.append(f"batch {b + 1} start" + (" (reset)" if reset else ""))
        columns.append(trace.final_states[b][idx][sample])
        labels.append(f"batch {b + 1} end")
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


#: Colours of the cells wherever they are compared.
CELL_COLOURS = {"lstm": "#1f77b4", "gru": "#2ca02c", "simple_rnn": "#d62728"}
METRIC_TITLES = {
    "accuracy": "accuracy (higher is better)",
    "mae": "mean abs. error (lower is better)",
}


def training_curves(histories: dict[str, dict[str, list[float]]], metric_name: str) -> go.Figure:
    """Returns loss and metric per epoch, training solid and validation dashed, per run.

    Args:
        histories: run label -> history with "loss", "val_loss", "metric", "val_metric".
        metric_name: "accuracy" or "mae".
    """
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=["loss", METRIC_TITLES.get(metric_name, metric_name)]
    )
    for i, (label, history) in enumerate(histories.items()):
        colour = CELL_COLOURS.get(label.lower().replace("simplernn", "simple_rnn"))
        colour = colour or f"hsl({(i * 97) % 360},60%,45%)"
        for col, key in ((1, "loss"), (2, "metric")):
            for prefix, dash, part in (("", "solid", "training"), ("val_", "dash", "validation")):
                values = history[prefix + key]
                fig.add_trace(
                    go.Scatter(
                        x=np.arange(1, len(values) + 1),
                        y=values,
                        mode="lines+markers",
                        name=f"{label} {part}",
                        legendgroup=label,
                        showlegend=col == 1,
                        line=dict(color=colour, dash=dash),
                        hovertemplate=f"{label} {part}<br>epoch %{{x}}<br>{key} %{{y:.4f}}"
                        "<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text=metric_name, row=1, col=2)
    if metric_name == "accuracy":
        fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=340, margin=dict(t=50), legend=dict(orientation="h", y=-0.25))
    return fig


def unit_vs_latent(
    trace: Trace, latent: np.ndarray, unit: int, sample: int, latent_name: str, state: str = "h"
) -> go.Figure:
    """Returns one unit's state and the task's latent over time for one sample, two y axes."""
    values = trace.state(state)[0, sample, :, unit]
    steps = np.arange(values.shape[0])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=values,
            name=f"{state}[{unit}]",
            mode="lines+markers",
            hovertemplate=f"step %{{x}}<br>{state}[{unit}] %{{y:.6f}}<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=np.asarray(latent)[sample],
            name=latent_name,
            mode="lines",
            line=dict(dash="dot", color="black", shape="hv"),
            hovertemplate=f"step %{{x}}<br>{latent_name} %{{y:.3f}}<extra></extra>",
        ),
        secondary_y=True,
    )
    fig.update_xaxes(title_text="time step")
    fig.update_yaxes(title_text=f"unit {unit}: {state} value", secondary_y=False)
    fig.update_yaxes(title_text=latent_name, secondary_y=True)
    fig.update_layout(
        title=f"Unit {unit} of sample {sample} against {latent_name}",
        height=320,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def final_metric_bars(finals: dict[str, float], metric_name: str, target: float) -> go.Figure:
    """Returns one bar per run with its final validation metric, and the task's target line."""
    labels = list(finals)
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=[finals[k] for k in labels],
            marker_color=[
                CELL_COLOURS.get(k.lower().replace("simplernn", "simple_rnn"), "#888")
                for k in labels
            ],
            text=[f"{finals[k]:.3f}" for k in labels],
            textposition="outside",
            hovertemplate="%{x}<br>validation " + metric_name + " %{y:.4f}<extra></extra>",
        )
    )
    fig.add_hline(y=target, line=dict(dash="dash"), annotation_text="target")
    fig.update_layout(
        title=f"Final validation {metric_name}",
        yaxis_title=metric_name,
        yaxis_range=[0, 1.1] if metric_name == "accuracy" else None,
        height=320,
    )
    return fig


def state_heatmap_row(traces: dict[str, Trace], sample: int = 0, state: str = "h") -> go.Figure:
    """Returns h_t heatmaps of several traces side by side, one shared diverging scale."""
    labels = list(traces)
    fig = make_subplots(
        rows=1, cols=len(labels), subplot_titles=labels, shared_yaxes=True, horizontal_spacing=0.04
    )
    bound = max(float(np.abs(t.state(state)[0, sample]).max()) for t in traces.values()) or 1.0
    for col, label in enumerate(labels, start=1):
        values = traces[label].state(state)[0, sample].T
        fig.add_trace(
            go.Heatmap(
                z=values.astype(np.float32),
                colorscale=DIVERGING,
                zmin=-bound,
                zmax=bound,
                showscale=col == len(labels),
                colorbar=dict(title=dict(text="value")),
                hovertemplate=f"{label}<br>step %{{x}}<br>unit %{{y}}<br>{state} %{{z:.6f}}"
                "<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="time step", row=1, col=col)
    fig.update_yaxes(title_text="unit", row=1, col=1)
    fig.update_layout(
        title=f"{STATE_TITLES[state]} of sample {sample}, each network after training",
        height=330,
    )
    return fig


#: Wider lines wrap onto the next row of the text grid.
TEXT_COLUMNS = 100
#: How control characters are drawn in the text grid.
VISIBLE = {"\n": "↵", "\t": "→", " ": "·"}


def text_grid_layout(text: str, columns: int = TEXT_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """Returns (row, column) of every character as laid out on a grid, lines kept."""
    rows = np.zeros(len(text), int)
    cols = np.zeros(len(text), int)
    r = c = 0
    for i, ch in enumerate(text):
        if c >= columns:  # wrap a long line
            r, c = r + 1, 0
        rows[i], cols[i] = r, c
        if ch == "\n":
            r, c = r + 1, 0
        else:
            c += 1
    return rows, cols


def text_heatmap(
    text: str,
    values: np.ndarray,
    hover: tuple[list[list], str] | None = None,
    title: str = "",
    bound: float | None = None,
    columns: int = TEXT_COLUMNS,
) -> go.Figure:
    """Returns the text drawn character by character, each cell coloured by its value.

    One heatmap trace (not one element per character): rows are lines (wrapped at
    `columns`), the diverging scale is centred on 0. Characters are escaped before they
    reach Plotly's HTML-like text rendering, so `<script>` shows as text.

    Args:
        text: the characters.
        values: one number per character.
        hover: optional (fields, template): one list of HTML-safe hover fields per
            character and the Plotly hovertemplate that shows them (`%{customdata[k]}` is
            field k, `%{text}` the character).
        bound: the colour scale's ± bound (default: max |values|).
    """
    import html

    rows, cols = text_grid_layout(text, columns)
    n_rows = int(rows.max()) + 1 if len(text) else 1
    width = int(cols.max()) + 1 if len(text) else 1
    z = np.full((n_rows, width), np.nan, np.float32)
    labels = np.full((n_rows, width), "", object)
    tips = np.full((n_rows, width), None, object)  # gaps: no hover (hoverongaps=False)
    z[rows, cols] = values
    labels[rows, cols] = [html.escape(VISIBLE.get(ch, ch), quote=False) for ch in text]
    if hover is not None:
        for row, col, fields in zip(rows, cols, hover[0], strict=True):
            tips[row, col] = fields
    b = bound if bound is not None else float(np.nanmax(np.abs(values))) if len(text) else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=labels,
            texttemplate="%{text}",
            textfont=dict(family="DejaVu Sans Mono, monospace", size=12),
            customdata=tips if hover is not None else None,
            hovertemplate=hover[1] if hover is not None else None,
            hoverongaps=False,
            colorscale=DIVERGING,
            zmid=0.0,
            zmin=-(b or 1.0),
            zmax=b or 1.0,
            xgap=1,
            ygap=1,
            colorbar=dict(title=dict(text="value")),
        )
    )
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False, range=[-0.5, max(width, 40) - 0.5])
    fig.update_layout(
        title=title,
        height=60 + 19 * n_rows,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        plot_bgcolor="white",
    )
    return fig


def gate_saturation(saturation: dict, unit: int) -> go.Figure:
    """Returns, per gate, every unit's left- vs right-saturated fraction; `unit` highlighted."""
    names = list(saturation)
    fig = make_subplots(
        rows=1, cols=max(len(names), 1), subplot_titles=[GATE_TITLES[n] for n in names]
    )
    for col, name in enumerate(names, start=1):
        left, right = saturation[name]
        units = np.arange(len(left))
        fig.add_trace(
            go.Scatter(
                x=left,
                y=right,
                mode="markers",
                marker=dict(color="#999", size=6),
                customdata=units,
                name="all units",
                showlegend=col == 1,
                hovertemplate="unit %{customdata}<br>closed (below 0.1) %{x:.1%}"
                "<br>open (above 0.9) %{y:.1%}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=[left[unit]],
                y=[right[unit]],
                mode="markers",
                marker=dict(color="#d62728", size=13, symbol="star"),
                name=f"unit {unit}",
                showlegend=col == 1,
                hovertemplate=f"unit {unit}<br>closed (below 0.1) %{{x:.1%}}"
                "<br>open (above 0.9) %{y:.1%}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(
            title_text="fraction of steps closed (below 0.1)", range=[0, 1], row=1, col=col
        )
        fig.update_yaxes(title_text="fraction open (above 0.9)", range=[0, 1], row=1, col=col)
    fig.update_layout(height=330, title="How often each unit's gates are saturated")
    return fig


def window_loss(curves: dict[str, np.ndarray], window: int) -> go.Figure:
    """Returns bits/char by position in a window, with the state carried and without."""
    fig = go.Figure()
    for name, dash in (("stateful", "solid"), ("stateless", "dash")):
        fig.add_trace(
            go.Scatter(
                x=curves["position"],
                y=curves[name],
                mode="lines",
                name=(
                    "stateful=True: state carried from the previous window"
                    if name == "stateful"
                    else "stateless: every window starts from zero state"
                ),
                line=dict(dash=dash),
                hovertemplate="position %{x}<br>%{y:.3f} bits/char<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"Loss by position within a window of {window} characters",
        xaxis_title="position in the window (characters)",
        yaxis_title="bits per character (lower is better)",
        height=360,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


# ----- the Why page ---------------------------------------------------------------------------


def reach_heatmap(reach: np.ndarray, target: int, title: str = "") -> go.Figure:
    """Returns |∂h_target/∂x_t| per sample and step on a log colour scale, the target marked."""
    with np.errstate(divide="ignore"):
        logged = np.where(reach > 0, np.log10(np.maximum(reach, 1e-30)), np.nan)
    fig = go.Figure(
        go.Heatmap(
            z=logged.astype(np.float32),
            customdata=reach.astype(np.float32),
            colorscale="Magma",
            colorbar=dict(title=dict(text="log10 reach")),
            hovertemplate="sample %{y}, input step %{x}<br>‖∂h_target/∂x_t‖ = %{customdata:.3e}"
            "<extra></extra>",
        )
    )
    fig.add_vline(x=target, line=dict(color="#1f77b4", width=3), annotation_text="target")
    fig.update_layout(
        title=title or f"How much h at step {target} depends on each input step",
        xaxis_title="input step t",
        yaxis_title="sample",
        height=120 + 28 * reach.shape[0],
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
    if labels is not None and any(labels[t] != str(t + 1) for t in range(steps)):
        x = [f"step {t + 1} (input {labels[t]})" for t in range(0, steps, stride)]
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
