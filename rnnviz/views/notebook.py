"""`rnnviz.show`: the page's figures in a notebook (Jupyter, VS Code), from any Trace.

    >>> trace = rnnviz.open_run("runs/exp1").trace(epoch=5)
    >>> rnnviz.show(trace)                      # h_t (and c_t) as heatmaps, inline
    >>> rnnviz.show(trace, "gates", sample=3)
    >>> rnnviz.show(trace, "returns")           # what layer(x) returned

It returns the Plotly figure the app draws for the same view (so `.write_html(...)`,
`.write_image(...)`, `.show()` all work); a notebook displays it as the cell's value.
"""

from __future__ import annotations

from typing import Any

from rnnviz.core.config import ConfigError
from rnnviz.core.trace import Trace

VIEWS = {
    "states": "h_t (and c_t) over time, units x steps, batches end to end",
    "gates": "every gate over time (0..1 for sigmoid gates)",
    "lines": "chosen units' states over time as lines",
    "carry": "each batch's start and end state: what a stateful layer carries over",
    "returns": "what layer(x) returned (output, state_h, state_c) for one batch",
}


def _index(name: str, value: Any, count: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
        raise ConfigError(name, value, f"a whole number from 0 to {count - 1}")
    return value


def show(
    trace: Trace,
    view: str = "states",
    sample: int = 0,
    *,
    batch: int = 0,
    state: str = "h",
    units: list[int] | None = None,
) -> Any:
    """The Plotly figure of one view of `trace` (see VIEWS), as the app draws it.

    Args:
        trace: from `rnnviz.run`, `trace_layer`, `trace_model`, or a `RecordedRun.trace`.
        view: "states", "gates", "lines", "carry" or "returns".
        sample: the sample (row of the batch) shown.
        batch: the batch shown by "returns".
        state: "h" or "c", for "carry".
        units: the units drawn by "lines" (default: the first four).
    """
    from rnnviz.views import figures

    if not isinstance(trace, Trace):
        raise ConfigError("trace", type(trace).__name__, "a rnnviz Trace")
    if view not in VIEWS:
        raise ConfigError("view", view, f"one of {', '.join(VIEWS)}")
    cfg = trace.config
    sample = _index("sample", sample, cfg.batch_size)
    batch = _index("batch", batch, cfg.num_batches)
    if view == "states":
        return figures.state_heatmaps(trace, sample)
    if view == "gates":
        if not trace.gates:
            raise ConfigError(
                "view", view, "a SimpleRNN has no gates: states, lines, carry, returns"
            )
        return figures.gate_heatmaps(trace, sample)
    if view == "lines":
        if units is not None:
            units = [_index("units", u, cfg.hidden_size) for u in units]
        return figures.unit_lines(trace, sample, units)
    if view == "carry":
        if state not in cfg.state_names:
            raise ConfigError("state", state, f"one of {', '.join(cfg.state_names)}")
        return figures.carry_over(trace, sample, state)
    return figures.returned(trace, batch, sample)
