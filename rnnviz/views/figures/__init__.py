"""Figures: pure functions from a Trace (or an analysis's arrays) to Plotly figures, by page
area. They compute nothing Keras does; tests assert on their data."""

from rnnviz.views.figures.common import (
    CELL_COLOURS,
    DIVERGING,
    GATE_SCALE,
    GATE_TITLES,
    KIND_COLOURS,
    MAX_DISPLAY_COLUMNS,
    STATE_TITLES,
)
from rnnviz.views.figures.stateful import (
    accuracy_by_order,
    accuracy_by_position,
    boundary_gradient_bars,
    carried_state,
    layout_grid,
    layout_stream,
)
from rnnviz.views.figures.states import (
    carry_over,
    figure_html,
    gate_heatmaps,
    mark_model_steps,
    returned,
    state_heatmaps,
    stateful_vs_stateless,
    unit_lines,
)
from rnnviz.views.figures.text import (
    TEXT_COLUMNS,
    VISIBLE,
    gate_saturation,
    text_grid_layout,
    text_heatmap,
    window_loss,
)
from rnnviz.views.figures.training import (
    METRIC_TITLES,
    final_metric_bars,
    history_curves,
    state_heatmap_row,
    training_curves,
    unit_vs_latent,
)
from rnnviz.views.figures.why import (
    correlation_matrix,
    intervention,
    reach_heatmap,
    reach_lines,
    trajectories,
)

__all__ = [
    "CELL_COLOURS",
    "DIVERGING",
    "GATE_SCALE",
    "GATE_TITLES",
    "KIND_COLOURS",
    "MAX_DISPLAY_COLUMNS",
    "METRIC_TITLES",
    "STATE_TITLES",
    "TEXT_COLUMNS",
    "VISIBLE",
    "accuracy_by_order",
    "accuracy_by_position",
    "boundary_gradient_bars",
    "carried_state",
    "carry_over",
    "correlation_matrix",
    "figure_html",
    "final_metric_bars",
    "gate_heatmaps",
    "gate_saturation",
    "history_curves",
    "intervention",
    "layout_grid",
    "layout_stream",
    "mark_model_steps",
    "reach_heatmap",
    "reach_lines",
    "returned",
    "state_heatmap_row",
    "state_heatmaps",
    "stateful_vs_stateless",
    "text_grid_layout",
    "text_heatmap",
    "training_curves",
    "trajectories",
    "unit_lines",
    "unit_vs_latent",
    "window_loss",
]
