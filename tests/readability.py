"""What makes a chart readable, checked on the figure's own layout (what Plotly draws).

A heatmap panel gets at least MIN_PANEL_PX of plot height and MIN_ROW_PX per row (while
that fits MAX_PANEL_PX: past it rows shrink, the panel does not grow without bound); a
colour bar keeps at least MIN_COLORBAR_PX of length; any chart keeps MIN_PANEL_PX of plot
area. Heights are Plotly's: layout.height less the top and bottom margins (Plotly's default
450 px and margins of 100 and 80 where a figure sets none).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

MIN_PANEL_PX = 120
MIN_ROW_PX = 4
MAX_PANEL_PX = 720
MIN_COLORBAR_PX = 80


def _rows(z: Any) -> int:
    if isinstance(z, dict):  # Plotly's typed array: {"dtype", "bdata", "shape"}
        shape = [int(s) for s in str(z.get("shape", "")).split(",") if s.strip()]
        if shape:
            return shape[0]
        return len(np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]))
    return len(z)


def problems(figure: dict, name: str = "chart") -> list[str]:
    """Everything that makes `figure` (a Plotly figure as JSON) hard to read, in words."""
    layout = figure.get("layout", {})
    height = layout.get("height", 450)
    margin = {"t": 100, "b": 80, **layout.get("margin", {})}
    area = height - margin["t"] - margin["b"]
    out = []
    if area < MIN_PANEL_PX:
        out.append(f"{name}: plot area {area} px tall (height {height}, margins {margin})")
    for trace in figure.get("data", []):
        if trace.get("type") != "heatmap":
            continue
        axis = trace.get("yaxis", "y")
        domain = layout.get("yaxis" + axis[1:], {}).get("domain", [0, 1])
        panel = area * (domain[1] - domain[0])
        rows = _rows(trace["z"])
        label = f"{name} heatmap {trace.get('name', axis)!r}"
        if panel < MIN_PANEL_PX:
            out.append(f"{label}: {panel:.0f} px tall")
        if rows * MIN_ROW_PX <= MAX_PANEL_PX and panel / rows < MIN_ROW_PX:
            out.append(f"{label}: {panel / rows:.1f} px per row for {rows} rows")
        if trace.get("showscale", True) is not False:
            bar = trace.get("colorbar", {})
            length = bar.get("len", 1)
            px = length if bar.get("lenmode") == "pixels" else length * area
            if px < MIN_COLORBAR_PX:
                out.append(f"{label}: colour bar {px:.0f} px long")
    return out
