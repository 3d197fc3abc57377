"""Animations of paths and of a cursor over text, played by the browser (Plotly frames).

    fig = animation_paths.reveal(figures.trajectories(...), times, what="...", words=...)
    fig = animation_paths.text_cursor(text, values, top5, title="unit 3 of the LSTM, h")

`reveal` draws any line figure of rnnviz step by step: at frame t each line shows its points
whose time is at most t, on axes fixed to the whole figure's extent (a frame never moves the
axes). The Why page's trajectory grows through the state space (with `stateful`, a batch's
line starts where the previous one ended; without, it jumps back), and the Stateful page's
carried state grows across its batch boundaries. `text_cursor` moves a cursor over the
coloured characters, with the unit's value and the five likeliest next characters beside.

As in rnnviz.views.animation: frames change scatter traces only (plotly.js's fast path,
`redraw: false`, for 2-D figures), a line of words has its own row at the top, and the
frames are at most MAX_FRAMES (every k-th step past that, and the words say so).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from rnnviz.core.config import ConfigError
from rnnviz.views.animation import (
    MAX_FRAMES,
    Timeline,
    _controls,
    _image,
    _lollipop,
    ordinal,
)
from rnnviz.views.figures.common import DIVERGING_COLOURS

#: The attributes of a scatter trace that hold one value per point (sliced per frame).
PER_POINT = ("x", "y", "z", "text", "customdata")
#: A text's frames, at most: a character each (about 300 bytes a frame; a cursor that
#: skipped characters would be hard to follow).
TEXT_FRAMES = 2000
#: The top of the plots' area; the line of words is drawn above it.
TOP = 0.86


def _stride(total: int) -> int:
    return max(1, -(-total // MAX_FRAMES))


def _words_axes(layout: dict) -> tuple[str, str]:
    """Makes room at the top of the figure for a line of words; returns its (x, y) axes.

    Every y axis is squeezed into the bottom TOP of the height, and a hidden pair of axes
    above holds the words, on white."""
    for name, axis in list(layout.items()):
        if name.startswith("yaxis") and "overlaying" not in axis:
            low, high = axis.get("domain", [0, 1])
            axis["domain"] = [low * TOP, high * TOP]
    layout.setdefault("yaxis", {}).setdefault("domain", [0, TOP])
    number = 1 + max(
        [int(k[5:] or 1) for k in layout if k.startswith(("xaxis", "yaxis"))], default=1
    )
    x, y = f"x{number}", f"y{number}"
    hidden = dict(visible=False, range=[0, 1], fixedrange=True)
    layout[f"xaxis{number}"] = {**hidden, "domain": [0, 1], "anchor": y}
    layout[f"yaxis{number}"] = {**hidden, "domain": [TOP + 0.04, 1], "anchor": x}
    layout["shapes"] = [*layout.get("shapes", []), dict(
        type="rect", xref=f"{x} domain", yref=f"{y} domain", x0=0, x1=1, y0=0, y1=1,
        fillcolor="white", line=dict(width=0), layer="below")]  # fmt: skip
    return x, y


def _fixed_ranges(layout: dict, data: list[dict]) -> None:
    """Fixes every axis an animated trace uses to the extent of all its points (plus 5 %)."""
    extents: dict[str, list[float]] = {}
    for trace in data:
        pairs = [("x", "xaxis" + trace.get("xaxis", "x")[1:]),
                 ("y", "yaxis" + trace.get("yaxis", "y")[1:])]  # fmt: skip
        for attribute, axis in pairs:
            values = np.asarray(
                [v for v in np.ravel(trace.get(attribute, [])) if v is not None], dtype=float
            )
            values = values[np.isfinite(values)]
            if values.size:
                lo, hi = extents.get(axis, [np.inf, -np.inf])
                extents[axis] = [min(lo, values.min()), max(hi, values.max())]
    for axis, (lo, hi) in extents.items():
        pad = (hi - lo) * 0.05 or 0.5
        if "range" not in layout.get(axis, {}):
            layout.setdefault(axis, {}).update(range=[lo - pad, hi + pad], autorange=False)


def _plain(values):
    """A per-point attribute as a NumPy array (Plotly may hold a typed array as
    {"dtype", "bdata", "shape"}) or, for words, a list."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        out = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        if "shape" in values:
            out = out.reshape([int(n) for n in str(values["shape"]).split(",")])
        return out
    if isinstance(values, np.ndarray):
        return values
    values = list(values)
    if values and all(isinstance(v, (int, float)) or v is None for v in values):
        return np.asarray([np.nan if v is None else v for v in values], dtype=float)
    return values


def _sliced(trace: dict, keep: np.ndarray) -> dict:
    """The per-point attributes of `trace` at the points `keep` (a boolean mask)."""
    out: dict = {"type": trace.get("type", "scatter")}
    for attribute in PER_POINT:
        if attribute in trace and trace[attribute] is not None:
            values = trace[attribute]
            if isinstance(values, np.ndarray):
                out[attribute] = values[keep]
            else:
                out[attribute] = [v for v, k in zip(values, keep, strict=True) if k]
    size = (trace.get("marker") or {}).get("size")
    if isinstance(size, (list, tuple, np.ndarray)):
        out["marker"] = {"size": [s for s, k in zip(size, keep, strict=True) if k]}
    return out


def reveal(
    fig: go.Figure,
    times: Sequence[np.ndarray | None],
    what: str,
    words: Callable[[int], str] | None = None,
    steps: Sequence[int] | None = None,
) -> go.Figure:
    """`fig`'s lines drawn step by step: at frame t, each trace i shows its points with
    times[i] <= t (times[i] None: the trace is drawn whole from the start).

    Args:
        fig: a figure of 2-D scatter traces (a 3-D scene is drawn again for every frame,
            too slow to play, and headless Chromium draws no WebGL for a GIF).
        times: per trace, the time of each of its points (a number per point).
        what: the animation's name, first on its line of words ("Where the state goes").
        words: t -> what to say at step t (where the state came from, ...).
        steps: the times to show (default: every time in `times`, in order).
    """
    spec = fig.to_plotly_json()
    data = [dict(d) for d in spec["data"]]
    if len(times) != len(data):
        raise ConfigError("times", len(times), f"one array per trace ({len(data)})")
    for trace in data:
        for attribute in PER_POINT:
            if attribute in trace:
                trace[attribute] = _plain(trace[attribute])
    if any(d.get("type", "scatter") != "scatter" for d in data):
        raise ConfigError("fig", "a 3-D or non-line figure", "2-D scatter traces (lines)")
    times = [None if t is None else np.asarray(t) for t in times]
    every = sorted({int(v) for t in times if t is not None for v in t})
    shown = list(steps) if steps is not None else every
    if not shown:
        raise ConfigError("times", "empty", "at least one point to animate")
    stride = _stride(len(shown))
    shown = shown[::stride]
    layout = dict(spec["layout"])
    layout = {k: (dict(v) if isinstance(v, dict) else v) for k, v in layout.items()}
    _fixed_ranges(layout, data)
    wx, wy = _words_axes(layout)
    animated = [i for i, t in enumerate(times) if t is not None]
    note = f" (every {ordinal(stride)} step)" if stride > 1 else ""

    def line(t: int) -> str:
        said = words(t) if words else ""
        return f"{what} · step {t}{note}" + (f"<br><sup>{said}</sup>" if said else "<br> ")

    full = [dict(d) for d in data]  # every point: the frames slice these

    def frame_data(t: int) -> list[dict]:
        return [_sliced(full[i], times[i] <= t) for i in animated]

    first = frame_data(shown[0])
    for i, sliced in zip(animated, first, strict=True):
        data[i] = {**data[i], **{k: v for k, v in sliced.items() if k != "marker"}}
        if "marker" in sliced:
            data[i]["marker"] = {**(data[i].get("marker") or {}), **sliced["marker"]}
    text = dict(type="scatter", mode="text", x=[0], y=[0.5], text=[line(shown[0])],
                textposition="middle right", cliponaxis=False, xaxis=wx, yaxis=wy,
                hoverinfo="skip", showlegend=False, textfont=dict(size=14))  # fmt: skip
    data.append(text)
    words_index = len(data) - 1
    frames = [
        dict(name=str(t), traces=[*animated, words_index],
             data=[*frame_data(t), dict(type="scatter", text=[line(t)])])
        for t in shown
    ]  # fmt: skip
    redraw = False  # scatter traces only: plotly.js's fast path
    layout.pop("title", None)  # the line of words says it, and changes with the frame
    margin = dict(layout.get("margin") or {})
    layout["margin"] = {**margin, "t": 30, "b": max(margin.get("b", 80), 150)}
    layout["height"] = max(int(layout.get("height") or 450), 420) + 90
    layout["meta"] = {"rnnviz_animation": {"steps": shown, "stride": stride, "redraw": redraw,
                                           "numbers": sum(int(np.size(t)) for t in times
                                                          if t is not None) * 3 * len(shown)}}
    layout.update(_controls(Timeline(shown, stride, len(every)), "step", redraw=redraw))
    legend = dict(layout.get("legend") or {})
    if legend.get("orientation") == "h":  # below the plot: under the play controls
        legend["y"] = -0.45
        layout["legend"] = legend
    return go.Figure(data=data, layout=layout, frames=frames, _validate=False)


def _shown(ch: str) -> str:
    """A character as the animation draws it: a space as ·, a line end as ⏎, a tab as →."""
    return {" ": "·", "\n": "⏎", "\t": "→"}.get(ch, ch)


def text_cursor(
    text: str,
    values: np.ndarray,
    top5: Sequence[Sequence[tuple[str, float]]],
    title: str,
    bound: float,
    columns: int | None = None,
) -> go.Figure:
    """A cursor that moves over the characters of `text`, each coloured by `values` (one
    unit's state after reading it, on a scale of ±bound); beside it, the unit's value and
    the model's five likeliest next characters at the cursor.

    Args:
        top5: per character, [(next character, probability), ...] best first.
    """
    from rnnviz.views.figures.text import TEXT_COLUMNS, text_grid_layout

    columns = columns or TEXT_COLUMNS  # as the page's coloured text
    n = len(text)
    if n == 0 or len(values) != n or len(top5) != n:
        raise ConfigError("text", n, "a text with one value and one top-5 per character")
    rows, cols = text_grid_layout(text, columns)
    height = int(rows.max()) + 1
    width = int(cols.max()) + 1
    grid = np.full((height, width), np.nan, np.float32)
    grid[rows, cols] = values
    stride = max(1, -(-n // TEXT_FRAMES))
    shown = list(range(0, n, stride))
    # the image: one cell per character, white where there is none
    cells = np.nan_to_num(grid, nan=0.0)
    # _image puts row 0 at the bottom; this axis has row 0 at the top
    image = _image(cells[::-1], -bound, bound, DIVERGING_COLOURS, np.arange(width))
    printable = [_shown(ch) for ch in text]

    def cursor(i: int) -> tuple[list, list]:
        x, y = float(cols[i]), float(rows[i])
        return [x - 0.5, x + 0.5, x + 0.5, x - 0.5, x - 0.5], [y - 0.5, y - 0.5, y + 0.5,
                                                               y + 0.5, y - 0.5]  # fmt: skip

    def side(i: int) -> tuple[list, list, list]:
        chars = [_shown(c) for c, _ in top5[i]]
        probs = [round(float(p), 4) for _, p in top5[i]]
        return probs, chars, [f"{c!s}  {p:.0%}" for c, p in zip(chars, probs, strict=True)]

    def words(i: int) -> str:
        note = f" (every {ordinal(stride)} character)" if stride > 1 else ""
        return (f"{title}{note}<br><sup>character {i} {text[i]!r}: value "
                f"{float(values[i]):+.4f}</sup>")  # fmt: skip

    first = shown[0]
    cx, cy = cursor(first)
    probs, _, labels = side(first)
    sticks_x, sticks_y = _lollipop(np.asarray(probs))
    data = [
        dict(type="scatter", mode="text", x=cols.tolist(), y=rows.tolist(), text=printable,
             textfont=dict(family="monospace", size=12, color="black"), xaxis="x2", yaxis="y2",
             customdata=np.stack([np.arange(n), values], axis=1).astype(np.float32),
             hoverlabel=dict(bgcolor="white"),  # no frame names it: it stays while playing
             hovertemplate="character %{customdata[0]} %{text}<br>value "
                           "%{customdata[1]:+.4f}<extra></extra>"),
        dict(type="scatter", mode="lines", x=cx, y=cy, line=dict(color="black", width=2),
             hoverinfo="skip", xaxis="x2", yaxis="y2"),
        dict(type="scatter", mode="markers+text", x=probs, y=[4, 3, 2, 1, 0], text=labels,
             textposition="middle right", cliponaxis=False, xaxis="x3", yaxis="y3",
             marker=dict(size=9, color="#444"),
             hovertemplate="%{text}<extra></extra>"),
        dict(type="scatter", mode="lines", x=sticks_x, y=[4 - v if v is not None else None
                                                        for v in sticks_y],
             line=dict(color="#777", width=3), hoverinfo="skip", xaxis="x3", yaxis="y3"),
        dict(type="scatter", mode="text", x=[0], y=[0.5], text=[words(first)],
             textposition="middle right", cliponaxis=False, xaxis="x", yaxis="y",
             hoverinfo="skip", textfont=dict(size=14)),
    ]  # fmt: skip
    frames = []
    for i in shown:
        cx, cy = cursor(i)
        probs, _, labels = side(i)
        sticks_x, _ = _lollipop(np.asarray(probs))
        frames.append(dict(name=str(i), traces=[1, 2, 3, 4], data=[
            dict(type="scatter", x=cx, y=cy), dict(type="scatter", x=probs, text=labels),
            dict(type="scatter", x=sticks_x), dict(type="scatter", text=[words(i)]),
        ]))  # fmt: skip
    hidden = dict(visible=False, fixedrange=True)
    layout = dict(
        images=[dict(source=image, xref="x2", yref="y2", x=-0.5, y=-0.5, sizex=width,
                     sizey=height, sizing="stretch", layer="below", yanchor="top")],
        xaxis=dict(**hidden, domain=[0, 1], range=[0, 1], anchor="y"),
        yaxis=dict(**hidden, domain=[TOP + 0.04, 1], range=[0, 1], anchor="x"),
        xaxis2=dict(domain=[0, 0.72], range=[-0.5, width - 0.5], showgrid=False,
                    zeroline=False, showticklabels=False, anchor="y2", fixedrange=True),
        yaxis2=dict(domain=[0, TOP], range=[height - 0.5, -0.5], showgrid=False,
                    zeroline=False, showticklabels=False, anchor="x2", fixedrange=True),
        xaxis3=dict(domain=[0.78, 1], range=[0, 1.35], anchor="y3", fixedrange=True,
                    title=dict(text="probability of the next character")),
        yaxis3=dict(domain=[0, TOP], range=[-0.6, 4.6], showticklabels=False, anchor="x3",
                    fixedrange=True),
        showlegend=False, height=max(260, 15 * height + 60) + 230,
        margin=dict(t=30, b=150, l=20, r=20), plot_bgcolor="white",
        meta={"rnnviz_animation": {"steps": shown, "stride": stride, "redraw": False,
                                   "numbers": 12 * len(shown)}},
        **_controls(Timeline(shown, stride, n), "character", redraw=False),
    )  # fmt: skip
    return go.Figure(data=data, layout=layout, frames=frames, _validate=False)


def trajectory(
    projected: dict[str, np.ndarray],
    sample: int,
    explained: np.ndarray,
    starts: dict[str, np.ndarray] | None = None,
    stateful: dict[str, bool] | None = None,
) -> go.Figure:
    """The Why page's "Where does the state go?" drawn step by step, on its first two axes
    (the arguments of figures.trajectories): each batch's line starts at its initial state
    when `starts` are given, so a stateful line goes on where it was and a stateless one
    jumps back.

    Args:
        stateful: label -> whether that trace's layer is stateful (for the words at a
            batch's first step).
    """
    from rnnviz.views import figures

    fig = figures.trajectories(projected, sample, explained, starts=starts)
    times = []
    steps = 0
    for label, p in projected.items():
        batches, steps = p.shape[0], p.shape[2]
        for b in range(batches):
            own = b * steps + np.arange(steps)
            times.append(np.concatenate([[b * steps], own]) if starts and label in starts
                         else own)  # fmt: skip

    def words(t: int) -> str:
        batch, step = divmod(t, steps)
        if step or batch == 0:
            return f"batch {batch}, step {step}"
        said = []
        for label, keeps in (stateful or {}).items():
            said.append(f"{label}: " + ("goes on from the last state" if keeps
                                        else "jumps back to the initial state"))  # fmt: skip
        return f"batch {batch} starts: " + "; ".join(said) if said else f"batch {batch}, step 0"

    return reveal(fig, times, f"Where the state of sample {sample} goes", words)


def carried(
    traces: dict,
    row: int,
    unit: int,
    state: str = "h",
    targets: dict[str, np.ndarray] | None = None,
    boundaries: dict[str, list[str]] | None = None,
) -> go.Figure:
    """The Stateful page's carried state (figures.carried_state) drawn step by step: at each
    batch boundary the words say, per layout, whether the row continues its stream.

    Args:
        boundaries: label -> per boundary k (batch k -> k + 1), what happens there.
    """
    from rnnviz.views import figures

    fig = figures.carried_state(traces, row, unit, state, targets=targets)
    times = [np.arange(np.size(v)) for v in (targets or {}).values()]
    first = next(iter(traces.values()))
    steps = first.config.num_steps
    times += [np.arange(t.config.num_batches * steps) for t in traces.values()]

    def words(t: int) -> str:
        batch, step = divmod(t, steps)
        if step or batch == 0:
            return f"row {row}, batch {batch}, step {step}"
        said = [f"{label}: {lines[batch - 1]}" for label, lines in (boundaries or {}).items()
                if batch - 1 < len(lines)]  # fmt: skip
        return f"batch {batch - 1} → {batch}: " + "; ".join(said)

    return reveal(fig, times, f"{state}[{unit}] of row {row} across batches", words)
