"""The Encoder → decoder page's figures: the state over the encoder's steps, the handed-over
vector and the decoder's steps on one axis; where two decoder runs part; the map of many
handed-over states; accuracy by the numbers' length."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnnviz.core.trace import Trace
from rnnviz.views.figures.common import CELL_COLOURS, DIVERGING, STATE_TITLES, colorbar, panel_px

HANDOFF = "handed over"


def _steps(trace: Trace, sample: int, prefix: str) -> list[str]:
    """A step's name: its number, and the character it read (a text trace) or the input
    step it read when that is another one (a layer reading backwards)."""
    n = trace.h.shape[2]
    labels = trace.labels[0, sample] if trace.labels is not None else [str(t) for t in range(n)]
    if all(str(label).isdigit() for label in labels):  # positions (trace_model)
        return [
            f"{prefix} {t}" if label == str(t) else f"{prefix} {t} (input {label})"
            for t, label in enumerate(labels)
        ]
    return [f"{prefix} {t} '{label}'" for t, label in enumerate(labels)]


def handoff_columns(encoder: Trace, decoder: Trace, sample: int = 0) -> list[str]:
    """The x labels of `handoff`: every encoder step, the handed-over vector, every decoder
    step, each named by the character it read."""
    return [*_steps(encoder, sample, "in"), HANDOFF, *_steps(decoder, sample, "out")]


def handoff_values(encoder: Trace, decoder: Trace, state: str = "h", sample: int = 0) -> np.ndarray:
    """(units, columns): the encoder's state after each step, the decoder's initial state,
    the decoder's state after each step."""
    names = decoder.config.state_names
    start = decoder.initial_states[0][names.index(state)][sample]
    return np.concatenate(
        [encoder.state(state)[0, sample].T, start[:, None], decoder.state(state)[0, sample].T],
        axis=1,
    ).astype(np.float32)


def handoff(encoder: Trace, decoder: Trace, state: str = "h", sample: int = 0) -> go.Figure:
    """One heatmap of a state over the encoder's steps, the vector handed to the decoder,
    and the decoder's steps; dashed lines around the handed-over column."""
    z = handoff_values(encoder, decoder, state, sample)
    columns = handoff_columns(encoder, decoder, sample)
    units = z.shape[0]
    at = columns.index(HANDOFF)
    panel = panel_px(units, 5)
    limit = float(np.abs(z).max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=columns,
            y=np.arange(units),
            colorscale=DIVERGING,
            zmid=0.0,
            zmin=-limit,
            zmax=limit,
            colorbar=colorbar(state, panel),
            hovertemplate="%{x}<br>unit %{y}<br>" + state + " = %{z:.6f}<extra></extra>",
        )
    )
    lines = [
        dict(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line=dict(dash="dash", width=2))
        for x in (at - 0.5, at + 0.5)
    ]
    title = STATE_TITLES.get(state, state)
    fig.update_layout(
        title=f"{title}: encoder steps → the vector handed over → decoder steps",
        xaxis=dict(title="step (the character read)", type="category", tickangle=-45),
        yaxis=dict(title="unit"),
        shapes=lines,
        height=panel + 170,
        margin=dict(t=60, b=110),
    )
    return fig


def step_difference(a: Trace, b: Trace, labels: tuple[str, str], state: str = "h") -> go.Figure:
    """Per decoder step, the largest |difference| of a state between two runs of the decoder
    (teacher forcing and the inference loop, or two initial states), with each run's fed
    character in the hover; steps past the shorter run are left out."""
    steps = min(a.h.shape[2], b.h.shape[2])
    diff = np.abs(a.state(state)[0, 0, :steps] - b.state(state)[0, 0, :steps]).max(axis=1)
    fed_a = a.labels[0, 0, :steps] if a.labels is not None else [""] * steps
    fed_b = b.labels[0, 0, :steps] if b.labels is not None else [""] * steps
    custom = np.stack([fed_a, fed_b], axis=1)
    fig = go.Figure(
        go.Bar(
            x=np.arange(steps),
            y=diff.astype(np.float32),
            customdata=custom,
            marker_color=["#2ca02c" if d == 0 else "#d62728" for d in diff],
            hovertemplate=f"step %{{x}}<br>{labels[0]} read '%{{customdata[0]}}'<br>{labels[1]} "
            "read '%{customdata[1]}'<br>largest |difference| %{y:.6f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Largest |{state}({labels[0]}) − {state}({labels[1]})| over the units, per step",
        xaxis=dict(title="decoder step", dtick=1),
        yaxis=dict(title=f"largest |difference| of {state}", rangemode="tozero"),
        height=320,
    )
    return fig


def handoff_map(
    xy: np.ndarray,
    colour: np.ndarray,
    colour_title: str,
    hover: list[str],
    here: np.ndarray | None = None,
    here_label: str = "",
    explained: np.ndarray | None = None,
) -> go.Figure:
    """The handed-over states of many questions on their first two principal components,
    coloured by a property of the question; `here` marks the current question's state."""
    share = ["", ""] if explained is None else [f" ({e:.0%} of the variance)" for e in explained]
    fig = go.Figure(
        go.Scatter(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            name="questions",
            text=hover,
            marker=dict(
                color=colour,
                colorscale="Turbo",
                size=7,
                colorbar=dict(title=dict(text=colour_title)),
            ),
            hovertemplate="%{text}<br>" + colour_title + " %{marker.color}<extra></extra>",
        )
    )
    if here is not None:
        fig.add_trace(
            go.Scatter(
                x=[here[0]], y=[here[1]], mode="markers+text", name=here_label,
                text=[here_label], textposition="top center",
                marker=dict(symbol="star", size=18, color="black"),
                hovertemplate=here_label + "<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"The handed-over states of {len(xy)} questions, coloured by {colour_title}",
        xaxis_title="principal component 1" + share[0],
        yaxis_title="principal component 2" + share[1],
        height=460,
        showlegend=False,
    )
    return fig


def capacity_lines(results: dict[str, dict[int, float]], trained: int) -> go.Figure:
    """Exact-answer accuracy by the numbers' digit count, one line per cell; the trained
    lengths shaded."""
    fig = go.Figure()
    for cell, by_digits in results.items():
        digits = sorted(by_digits)
        fig.add_trace(
            go.Scatter(
                x=digits, y=[by_digits[d] for d in digits], mode="lines+markers",
                name=cell.upper(), line=dict(color=CELL_COLOURS.get(cell)),
                hovertemplate=cell.upper() + ": %{x}-digit numbers, %{y:.1%} exact<extra></extra>",
            )
        )  # fmt: skip
    fig.add_vrect(x0=0.5, x1=trained + 0.5, fillcolor="#2ca02c", opacity=0.08, line_width=0,
                  annotation_text="trained lengths", annotation_position="top left")  # fmt: skip
    fig.update_layout(
        title="Exact answers by the length of the numbers (both numbers d digits)",
        xaxis=dict(title="digits per number", dtick=1),
        yaxis=dict(title="exact answers", range=[0, 1.05], tickformat=".0%"),
        height=360,
    )
    return fig
