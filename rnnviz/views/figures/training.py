"""Figures of training runs (Train page): curves per epoch, final metrics, a unit against the
task's hidden quantity, the networks' states side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.core.trace import Trace
from rnnviz.views.figures.common import (
    CELL_COLOURS,
    DIVERGING,
    KIND_COLOURS,
    STATE_TITLES,
)

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
        colour = colour or KIND_COLOURS.get(label) or f"hsl({(i * 97) % 360},60%,45%)"
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


def history_curves(history: dict[str, list[float]], epoch: int | None = None) -> go.Figure:
    """A user's Keras history: one panel per quantity (loss, then its metrics in the order
    Keras logged them), training solid and validation (`val_...`) dashed, and the epoch
    the views show marked with a dotted line.

    Args:
        history: Keras's logs per epoch: {"loss": [...], "val_loss": [...], ...}; entry k
            is after epoch k + 1.
        epoch: the epoch the page shows (0 = before training), or None.
    """
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in names]
    names.sort(key=lambda k: k != "loss")
    fig = make_subplots(rows=1, cols=max(len(names), 1), subplot_titles=names or ["no history"])
    for col, name in enumerate(names, start=1):
        for prefix, dash, part in (("", "solid", "training"), ("val_", "dash", "validation")):
            values = history.get(prefix + name)
            if not values:
                continue
            fig.add_trace(
                go.Scatter(
                    x=np.arange(1, len(values) + 1),
                    y=values,
                    mode="lines+markers",
                    name=part,
                    legendgroup=part,
                    showlegend=col == 1,
                    line=dict(color="#1f77b4", dash=dash),
                    hovertemplate=f"{part}<br>epoch %{{x}}<br>{name} %{{y:.4f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_yaxes(title_text=name, row=1, col=col)
        if epoch is not None:
            fig.add_vline(x=epoch, line=dict(color="#555", dash="dot"), row=1, col=col)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_layout(height=300, margin=dict(t=50), legend=dict(orientation="h", y=-0.3))
    return fig
