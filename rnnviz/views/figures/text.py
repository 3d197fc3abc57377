"""Figures of the char model on text (Text page): characters coloured by one unit, gate
saturation, loss by position in a window."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.views.figures.common import (
    DIVERGING,
    GATE_TITLES,
    colorbar,
)

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
    # 19 px a line of text, however long (the characters must stay legible), and enough
    # for the colour bar under a line or two.
    panel = max(19 * n_rows, 120)
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
            colorbar=colorbar("value", panel),
        )
    )
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False, range=[-0.5, max(width, 40) - 0.5])
    fig.update_layout(
        title=title,
        height=panel + (40 if title else 10) + 10,
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
