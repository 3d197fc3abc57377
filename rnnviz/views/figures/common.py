"""What every figure shares: colour scales, titles, the stacked heatmaps of states and gates
over (batches end to end) time, with the batch boundaries drawn."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from rnnviz.core.trace import Trace

#: Diverging, centred on 0, for tanh-bounded values (h, c, candidate).
DIVERGING = "RdBu_r"
#: Sequential 0..1 for sigmoid gates.
GATE_SCALE = "Viridis"
#: DIVERGING written out, as Plotly's validation would: the figures of every rerun skip
#: validation (see `unvalidated`), and plotly.js does not know the "_r" of a Python name.
DIVERGING_COLOURS = get_colorscale(DIVERGING)
GATE_COLOURS = get_colorscale(GATE_SCALE)


def unvalidated(data: list[dict], layout: dict) -> go.Figure:
    """A Figure built without Plotly's validation of every property and array: the figures
    every Explore rerun draws (states, gates, unit lines) were 12 % of a loaded server's CPU
    in validation alone (issue 20). Only for plain dicts written the way the validator
    would leave them; `tests/test_views.py` checks that validating each such figure changes
    nothing in what is sent to the browser."""
    return go.Figure(data=data, layout=layout, _validate=False)

STATE_TITLES = {"h": "hidden state h_t", "c": "cell state c_t"}
GATE_TITLES = {
    "input": "input gate i_t (σ)",
    "forget": "forget gate f_t (σ)",
    "candidate": "candidate g_t / h̃_t (tanh)",
    "output": "output gate o_t (σ)",
    "update": "update gate z_t (σ)",
    "reset": "reset gate r_t (σ)",
}

#: Colours of the cells wherever they are compared.
CELL_COLOURS = {"lstm": "#1f77b4", "gru": "#2ca02c", "simple_rnn": "#d62728"}

#: Colours of the four stateful layouts wherever they are compared (the Stateful page).
KIND_COLOURS = {
    "continuation": "#2ca02c",
    "in_order": "#d62728",
    "shuffled": "#9467bd",
    "stateless": "#7f7f7f",
}

#: A heatmap panel's plot height: ROW_PX per row, at least MIN_PANEL_PX (a chart of 1 or 2
#: samples is not a sliver) and at most MAX_PANEL_PX (1,024 units do not make it a page
#: long: past it the rows shrink). tests/readability.py checks every chart against these.
ROW_PX = 28
MIN_PANEL_PX = 200
MAX_PANEL_PX = 640


def panel_px(rows: int, row_px: int = ROW_PX) -> int:
    """The plot height in pixels of a heatmap panel of `rows` rows."""
    return int(min(max(rows * row_px, MIN_PANEL_PX), MAX_PANEL_PX))


def colorbar(title: str, panel: float, **extra) -> dict:
    """A colour bar of fixed length in pixels, so it keeps its length whatever the chart's
    height (a fraction of a short chart collapsed it to a few pixels)."""
    return dict(title=dict(text=title), lenmode="pixels", len=int(min(0.9 * panel, 320)), **extra)


#: Heatmaps wider than this many time columns are shown strided (exports keep all data).
MAX_DISPLAY_COLUMNS = 1200


def _stride(total: int, limit: int = MAX_DISPLAY_COLUMNS) -> int:
    return max(1, int(np.ceil(total / limit)))


def _unrolled(values: np.ndarray, sample: int) -> np.ndarray:
    """(batch_index, sample, time, unit) -> (unit, global time) for one sample row."""
    k, _, t, u = values.shape
    return values[:, sample].reshape(k * t, u).T


def _time_label(step: int, num_steps: int, num_batches: int) -> str:
    """A global time index in words a student reads: "batch 1, step 2".

    Counted from 0 like every batch, sample, step and unit rnnviz shows: the index into
    `trace.h[batch, sample, step, unit]`, the generated code and the share link.
    """
    if num_batches == 1:  # one batch (a trained task's samples): the step is all there is
        return f"step {step}"
    return f"batch {step // num_steps}, step {step % num_steps}"


def _hover_labels(k: int, t: int, stride: int) -> np.ndarray:
    return np.array([_time_label(s, t, k) for s in range(0, k * t, stride)])


def _column_labels(k: int, t: int, stride: int) -> np.ndarray:
    """One label per heatmap column, "batch 1, step 3": the x of a categorical axis.

    A label per column, not per cell: per-cell hover labels (strings, or numbers
    Plotly cannot send as binary in 3-D) were three quarters of a chart's bytes.
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


def _heatmap(values: np.ndarray, sample: int, name: str, sigmoid: bool, stride: int) -> dict:
    k, _, t, u = values.shape
    # float32 as computed: half the bytes sent to the browser of a float64 copy.
    z = np.ascontiguousarray(_unrolled(values, sample)[:, ::stride], dtype=np.float32)
    x = _column_labels(k, t, stride)
    scale = (
        dict(colorscale=GATE_COLOURS, zmin=0.0, zmax=1.0)
        if sigmoid
        else dict(colorscale=DIVERGING_COLOURS, zmid=0.0)
    )
    return dict(
        type="heatmap",
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
        heatmap["colorbar"].update(y=1 - (row - 0.5) / rows, len=0.9 / rows)
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
    return unvalidated(
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
