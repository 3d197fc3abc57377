"""Animations of a trace that play in the browser: Plotly frames, computed once.

    fig = animation.states(trace, sample=0)     # ▶ h_t, c_t and x_t step by step
    fig = animation.gates(trace, sample=0)      # ▶ every gate vector at the cursor, 0..1

The heatmaps (units x time, batches end to end) are drawn once, as images; each frame
moves a cursor over them and replaces only the values beside them: the state vector at the
cursor (h_t, and c_t for an LSTM; the gates for `gates`) and the input x_t, as markers on
sticks. At a batch boundary
the frame says where the batch's state came from: carried over (stateful), reset, or the
initial state. Play, pause, the speed and the frame slider are Plotly's own (`animate`):
the browser plays the frames, the server sends them once and nothing per frame.

Bounded: an animation's frames are at most MAX_FRAMES and its data about MAX_BYTES (3 MB
of JSON); past either it strides over time and its title says "every k-th step".
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.core.config import SIGMOID_GATES, ConfigError
from rnnviz.core.trace import Trace
from rnnviz.views.figures.common import (
    DIVERGING_COLOURS,
    GATE_COLOURS,
    GATE_TITLES,
    STATE_TITLES,
)

#: The JSON an animation may send to the browser, about.
MAX_BYTES = 3 * 2**20
MAX_FRAMES = 600
#: Frames per second the speed buttons offer; the middle one is "1×".
SPEEDS = {"slow": 2, "1×": 5, "fast": 30}
#: A screen refresh at 60 Hz, in ms: what browsers pace animation frames by.
VSYNC_MS = 1000 / 60
FPS_RANGE = (1, 30)
#: Exported images: width and height in pixels.
SIZE_RANGE = (200, 2000)
#: A float32 in Plotly's JSON (base64 of 4 bytes), with a margin.
BYTES_PER_NUMBER = 6


@dataclass(frozen=True)
class Timeline:
    """The global steps the frames show, and how the animation was bounded."""

    steps: list[int]  # global time indices (batch * num_steps + step), in order
    stride: int
    total: int

    @property
    def strided(self) -> bool:
        return self.stride > 1


def check_fps(fps: object) -> float:
    lo, hi = FPS_RANGE
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not lo <= fps <= hi:
        raise ConfigError("fps", fps, f"a number of frames per second from {lo} to {hi}")
    return float(fps)


def check_size(size: object) -> tuple[int, int]:
    lo, hi = SIZE_RANGE
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and lo <= n <= hi for n in size)
    ):
        raise ConfigError("size", size, f"(width, height) in pixels, each from {lo} to {hi}")
    return int(size[0]), int(size[1])


def timeline(total: int, numbers_per_step: int, stride: int = 1) -> Timeline:
    """The steps shown: all of them, or every k-th, so that the frames are at most
    MAX_FRAMES and the figure about MAX_BYTES. The heatmaps show the same steps as the
    frames, so both shrink with the stride (a numbers_per_step-high column per step, drawn
    once in the heatmaps and twice in its frame: the bars' lengths and colours)."""
    # + the frame's cursor, title, keys, and its slider step: measured about 2.5 kB
    per_step = 3 * numbers_per_step * BYTES_PER_NUMBER + 2500
    fits = max(1, (MAX_BYTES - 40_000) // per_step)
    stride = max(stride, math.ceil(total / min(MAX_FRAMES, fits)))
    return Timeline(list(range(0, total, stride)), stride, total)


def ordinal(n: int) -> str:
    """2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _where(trace: Trace, t: int) -> tuple[int, int, str]:
    """(batch, step, where the state at this step came from, in words)."""
    cfg = trace.config
    batch, step = divmod(t, cfg.num_steps)
    if step != 0:
        return batch, step, ""
    if batch == 0:
        return batch, step, "the batch starts from the initial state"
    if not cfg.stateful:
        return batch, step, "not stateful: the batch starts again from the initial state"
    if batch in cfg.reset_before:
        return batch, step, "reset_states() before this batch: it starts from zeros"
    return batch, step, f"stateful: batch {batch - 1}'s final state is carried over"


def _title(trace: Trace, t: int, what: str, line: Timeline) -> str:
    cfg = trace.config
    batch, step, came = _where(trace, t)
    place = f"step {step}" if cfg.num_batches == 1 else f"batch {batch}, step {step}"
    note = f"<br><sup>{came}</sup>" if came else "<br><sup> </sup>"
    every = f" (every {ordinal(line.stride)} step)" if line.strided else ""
    return f"{what} at {place}{every}{note}"


def _axis(kind: str, number: int, in_layout: bool = False) -> str:
    """Plotly's name of axis `number`: "x", "x3" in a trace; "xaxis", "xaxis3" in a layout."""
    suffix = "" if number == 1 else str(number)
    return f"{kind}axis{suffix}" if in_layout else f"{kind}{suffix}"


def _controls(line: Timeline, prefix: str, redraw: bool = True) -> dict:
    """Play / pause / speed buttons and the frame slider, as Plotly layout.

    `redraw=False` is plotly.js's fast path: it restyles the scatter traces a frame names
    and blanks any heatmap trace, so the time animations draw their heatmaps as layout
    images. The epochs animation replaces a heatmap's values per frame and redraws."""

    def play(fps: float) -> dict:
        # plotly.js starts the next frame at the first animation frame (every 1/60 s) later
        # than `duration` after the last one began: 1000/30 ms asked for "fast" waited three
        # screen refreshes (20 a second) when two (30) were due. Half a refresh less keeps the
        # rate asked for.
        ms = 1000 / fps - VSYNC_MS / 2
        return dict(
            method="animate",
            args=[None, dict(frame=dict(duration=ms, redraw=redraw), transition=dict(duration=0),
                             fromcurrent=True, mode="immediate")],
        )  # fmt: skip

    buttons = [dict(label="▶ play", **play(SPEEDS["1×"]))]
    buttons.append(
        dict(label="❚❚ pause", method="animate",
             args=[[None], dict(frame=dict(duration=0, redraw=redraw), mode="immediate",
                                transition=dict(duration=0))])
    )  # fmt: skip
    buttons += [dict(label=f"{name} ({fps}/s)", **play(fps)) for name, fps in SPEEDS.items()]
    steps = [
        dict(
            method="animate", label=str(t),
            args=[[str(t)], dict(mode="immediate", frame=dict(duration=0, redraw=redraw),
                                 transition=dict(duration=0))],
        )
        for t in line.steps
    ]  # fmt: skip
    return dict(
        updatemenus=[dict(type="buttons", direction="left", buttons=buttons, showactive=False,
                          x=0, xanchor="left", y=-0.15, yanchor="top", pad=dict(t=8, r=8))],
        sliders=[dict(steps=steps, active=0, x=0.5, len=0.5, y=-0.15, yanchor="top",
                      currentvalue=dict(prefix=f"{prefix} = ", visible=True),
                      transition=dict(duration=0), pad=dict(t=8))],
    )  # fmt: skip


def _animated(
    trace: Trace,
    sample: int,
    panels: list[tuple[str, np.ndarray, bool]],
    what: str,
) -> go.Figure:
    """Heatmaps of `panels` (name, (units, time) values, 0..1 scale?) on the left, their
    column at the cursor as bars on the right, one frame per shown step.

    Built from plain dicts without Plotly's validation (`unvalidated`, decision 55): a
    validated 300-frame figure took seconds to build.
    """
    cfg = trace.config
    total = cfg.num_batches * cfg.num_steps
    x = trace.inputs[:, sample].reshape(total, cfg.num_features).T  # (features, time)
    # C order, float32: Plotly sends each array's own bytes (a transposed view's would be
    # read in the wrong order, and float64 is twice the bytes).
    rows = [(name, np.ascontiguousarray(values, np.float32), sigmoid)
            for name, values, sigmoid in [*panels, ("input x_t", x, False)]]  # fmt: skip
    numbers_per_frame = sum(values.shape[0] for _, values, _ in rows)
    line = timeline(total, numbers_per_frame)
    while True:  # the estimate, then the bytes themselves: never over MAX_BYTES
        fig = _build(trace, rows, what, line, sample)
        if line.stride >= total or len(fig.to_json()) <= MAX_BYTES:
            return fig
        line = timeline(total, numbers_per_frame, line.stride + 1)


def _image(values: np.ndarray, lo: float, hi: float, colours: list, steps: np.ndarray) -> str:
    """The heatmap of `values` at `steps` as a PNG data URI, one flat block per cell (row 0
    at the bottom): a layout image stays on screen while the frames play, where a heatmap
    trace would make every frame redraw it."""
    from PIL import Image
    from plotly.colors import sample_colorscale, unlabel_rgb

    palette = np.array(
        [unlabel_rgb(c) for c in sample_colorscale(colours, np.linspace(0, 1, 256))], np.uint8
    )
    cells = values[:, steps]
    index = np.clip(np.rint((cells - lo) / (hi - lo) * 255), 0, 255).astype(np.intp)
    rows, columns = cells.shape
    across = max(1, min(12, -(-900 // columns)))  # blocks of several pixels: no blur
    down = max(1, min(24, -(-300 // rows)))
    pixels = np.repeat(np.repeat(palette[index[::-1]], down, axis=0), across, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _lollipop(values: np.ndarray) -> tuple[list, list]:
    """One horizontal segment per row, from 0 to the value (a bar drawn as a scatter line)."""
    x: list = []
    y: list = []
    for row, value in enumerate(np.round(values.astype(np.float64), 5).tolist()):
        x += [0.0, value, None]
        y += [row, row, None]
    return x, y


def _colour(values: np.ndarray) -> list[float]:
    """Marker colours (4 decimals are plenty for a colour; the exact values are the x)."""
    return np.round(values.astype(np.float64), 4).tolist()


def _colourbar(domain: list[float], title: str) -> dict:
    """The colour scale of one row (its heatmap and its markers), beside that row."""
    low, high = domain
    return dict(x=1.01, xanchor="left", y=(low + high) / 2, yanchor="middle",
                len=high - low, thickness=12, title=dict(text=title, side="right"))  # fmt: skip


def _hover_cells(name: str, values: np.ndarray, steps: np.ndarray, x: str, y: str) -> dict:
    """An invisible heatmap over a heatmap drawn as an image: hovering a cell gives its step,
    row and value, as over the still heatmaps. It has axes of its own (laid over the
    image's), which no frame touches, so plotly.js leaves it as drawn while it plays."""
    stride = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    return dict(
        type="heatmap", xaxis=x, yaxis=y, z=np.ascontiguousarray(values[:, steps], np.float32),
        x0=int(steps[0]), dx=stride, y0=0, dy=1, opacity=0, showscale=False,
        hoverlabel=dict(bgcolor="white"), name=name,
        hovertemplate=f"{name}<br>t = %{{x}}, row %{{y}}<br>%{{z:.6f}}<extra></extra>",
    )  # fmt: skip


def _cursor_path(t: int, rows: int, stride: int) -> tuple[list, list]:
    half = stride / 2
    return [t - half, t + half, t + half, t - half, t - half], [-0.5, -0.5, rows - 0.5,
                                                                rows - 0.5, -0.5]  # fmt: skip


def _build(trace: Trace, rows: list, what: str, line: Timeline, sample: int) -> go.Figure:
    """The figure: each heatmap a layout image with a cursor over it, its column at the
    cursor as a lollipop chart, and a line of words; a frame changes only those scatter
    traces, so plotly.js plays it without redrawing the images (`redraw=False`)."""
    numbers_per_frame = sum(values.shape[0] for _, values, _ in rows)
    shown = np.array(line.steps)
    # A thin first row for the line of words (what is shown, where the state came from),
    # then a row per panel: its heatmap (axes 2r) and its values at the cursor (2r + 1).
    panel_height = 170
    grid = make_subplots(
        rows=len(rows) + 1, cols=2, column_widths=[0.74, 0.26], horizontal_spacing=0.1,
        row_heights=[50] + [panel_height] * len(rows),
        specs=[[{"colspan": 2}, None]] + [[{}, {}] for _ in rows],
        vertical_spacing=0.14 / max(len(rows), 1) + 0.05,
        subplot_titles=[""] + [title for name, _, _ in rows
                               for title in (name, f"{name} at the cursor")],
    )  # fmt: skip
    layout = grid.layout.to_plotly_json()
    layout["xaxis"].update(visible=False, range=[0, 1], fixedrange=True)
    layout["yaxis"].update(visible=False, range=[0, 1], fixedrange=True)
    layout["shapes"] = [dict(type="rect", xref="x domain", yref="y domain", x0=0, x1=1, y0=0,
                             y1=1, fillcolor="white", line=dict(width=0), layer="below")]
    first = line.steps[0]
    half = line.stride / 2
    images, markers, sticks, cursors, hovers = [], [], [], [], []
    for r, (name, values, sigmoid) in enumerate(rows, start=1):
        left, right = 2 * r, 2 * r + 1
        count = values.shape[0]
        limit = 1.0 if sigmoid else float(np.abs(values).max()) or 1.0
        lo, hi = (0.0, 1.0) if sigmoid else (-limit, limit)
        colours = GATE_COLOURS if sigmoid else DIVERGING_COLOURS
        images.append(dict(
            source=_image(values, lo, hi, colours, shown), xref=_axis("x", left),
            yref=_axis("y", left), x=shown[0] - half, y=count - 0.5,
            sizex=len(shown) * line.stride, sizey=count, sizing="stretch", layer="below",
        ))  # fmt: skip
        markers.append(dict(
            type="scatter", mode="markers", x=values[:, first], y=np.arange(count),
            name=name, xaxis=_axis("x", right), yaxis=_axis("y", right),
            marker=dict(color=_colour(values[:, first]), cmin=lo, cmax=hi, colorscale=colours,
                        size=9, line=dict(color="#333", width=0.5), showscale=True,
                        colorbar=_colourbar(layout[_axis("y", right, True)]["domain"],
                                            "0..1" if sigmoid else "value")),
            hovertemplate=f"{name}<br>row %{{y}}<br>%{{x:.6f}}<extra></extra>",
        ))  # fmt: skip
        x, y = _lollipop(values[:, first])
        sticks.append(dict(
            type="scatter", mode="lines", x=x, y=y, xaxis=_axis("x", right),
            yaxis=_axis("y", right), line=dict(color="#777", width=3), hoverinfo="skip",
        ))  # fmt: skip
        over = 2 * len(rows) + 1 + r  # the hover heatmap's own axes, laid over the image's
        layout[_axis("x", over, True)] = dict(overlaying=_axis("x", left), matches=_axis("x", left),
                                             visible=False)  # fmt: skip
        layout[_axis("y", over, True)] = dict(overlaying=_axis("y", left), matches=_axis("y", left),
                                             visible=False)  # fmt: skip
        hovers.append(_hover_cells(name, values, shown, _axis("x", over), _axis("y", over)))
        x, y = _cursor_path(first, count, line.stride)
        cursors.append(dict(
            type="scatter", mode="lines", x=x, y=y, xaxis=_axis("x", left),
            yaxis=_axis("y", left), line=dict(color="black", width=2), hoverinfo="skip",
        ))  # fmt: skip
        layout[_axis("x", left, True)].update(range=[shown[0] - half, shown[-1] + half])
        layout[_axis("y", left, True)].update(
            range=[-0.5, count - 0.5], title=dict(text="unit" if r < len(rows) else "feature")
        )
        layout[_axis("x", right, True)].update(range=[lo * 1.05, hi * 1.05], zeroline=True)
        layout[_axis("y", right, True)].update(range=[-0.5, count - 0.5])
    layout[_axis("x", 2 * len(rows), True)].update(
        title=dict(text="time step t (batches end to end)")
    )

    def words(t: int) -> dict:
        return dict(type="scatter", mode="text", x=[0], y=[0.5],
                    text=[_title(trace, t, what, line)], textposition="middle right",
                    cliponaxis=False, xaxis="x", yaxis="y", hoverinfo="skip",
                    textfont=dict(size=14))  # fmt: skip

    # No frame names the hover points, so they stay as drawn while it plays; the line of
    # words is the last trace.
    data = [*markers, *sticks, *cursors, *hovers, words(first)]
    changing = [*range(3 * len(rows)), len(data) - 1]
    count_rows = len(rows)
    frames = []
    for t in line.steps:
        changed = []
        for _, values, _ in rows:
            changed.append(dict(type="scatter", x=values[:, t],
                                marker=dict(color=_colour(values[:, t]))))  # fmt: skip
        for _, values, _ in rows:
            x, _ = _lollipop(values[:, t])
            changed.append(dict(type="scatter", x=x))
        for _, values, _ in rows:
            x, _ = _cursor_path(t, values.shape[0], line.stride)
            changed.append(dict(type="scatter", x=x))
        changed.append(dict(type="scatter", text=[_title(trace, t, what, line)]))
        frames.append(dict(name=str(t), traces=changing, data=changed))
    layout.update(
        images=images,
        showlegend=False,
        height=panel_height * len(rows) + 260,
        margin=dict(t=30, b=170),
        meta={"rnnviz_animation": {"steps": line.steps, "stride": line.stride,
                                   "sample": sample, "bars": list(range(count_rows)),
                                   "redraw": False,
                                   "numbers": 4 * numbers_per_frame * len(line.steps)}},
        **_controls(line, "t", redraw=False),
    )  # fmt: skip
    return go.Figure(data=data, layout=layout, frames=frames, _validate=False)


@dataclass(frozen=True)
class Kept:
    """An animation kept in a byte-bounded cache (rnnviz.serving.memory): its size is its
    numbers (held as float arrays) and about a kilobyte of words and shapes per frame."""

    figure: go.Figure

    def nbytes_estimate(self) -> int:
        meta = self.figure.layout.meta["rnnviz_animation"]
        return 8 * meta["numbers"] + 1024 * len(meta["steps"])


def _check_sample(trace: Trace, sample: int) -> int:
    count = trace.config.batch_size
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or not (
        0 <= sample < count
    ):
        raise ConfigError("sample", sample, f"a whole number from 0 to {count - 1}")
    return int(sample)


def states(trace: Trace, sample: int = 0) -> go.Figure:
    """h_t (and c_t) over time with a cursor sweeping them, the vectors at the cursor as bars,
    and the input x_t."""
    sample = _check_sample(trace, sample)
    panels = [
        (STATE_TITLES[name], trace.state(name)[:, sample].reshape(-1, trace.config.hidden_size).T,
         False)
        for name in trace.config.state_names
    ]  # fmt: skip
    return _animated(trace, sample, panels, f"States of sample {sample}")


def gates(trace: Trace, sample: int = 0) -> go.Figure:
    """Every gate over time with a cursor sweeping them, the gate vectors at the cursor as
    bars (0..1 for the sigmoid gates)."""
    sample = _check_sample(trace, sample)
    if not trace.gates:
        raise ConfigError("view", "gates", "a SimpleRNN has no gates")
    units = trace.config.hidden_size
    panels = [
        (GATE_TITLES.get(name, name), values[:, sample].reshape(-1, units).T,
         name in SIGMOID_GATES)
        for name, values in trace.gates.items()
    ]  # fmt: skip
    return _animated(trace, sample, panels, f"Gates of sample {sample}")


VIEWS = {"states": states, "gates": gates}


def at_frame(fig: go.Figure, index: int) -> tuple[list[dict], dict]:
    """(traces, layout) of `fig` as frame `index` shows them: the frame's traces and layout
    applied (markers merged, not replaced). Reads one frame; `fig` is not changed."""
    frame = fig.frames[index]
    data = [d.to_plotly_json() for d in fig.data]
    for trace_index, changed in zip(frame.traces, frame.data, strict=True):
        spec = changed.to_plotly_json()
        merged = {**data[trace_index], **spec}
        if "marker" in spec:
            merged["marker"] = {**data[trace_index].get("marker", {}), **spec["marker"]}
        data[trace_index] = merged
    layout = fig.layout.to_plotly_json()
    if frame.layout is not None:
        layout.update(frame.layout.to_plotly_json())
    return data, layout


def frame_figure(fig: go.Figure, index: int) -> go.Figure:
    """The still figure of frame `index`, without its controls (what a picture of that
    frame shows)."""
    data, layout = at_frame(fig, index)
    layout.update(updatemenus=[], sliders=[])
    layout["margin"] = {**layout.get("margin", {}), "b": 60}
    return go.Figure(data=data, layout=layout, _validate=False)


def epochs(traces: dict[int, Trace], sample: int = 0, state: str = "h",
           notes: dict[int, str] | None = None) -> go.Figure:
    """One state of one sample (units x steps) at every epoch of a training run: each frame
    is the heatmap at that epoch, epoch 0 (before training) to the last.

    Args:
        traces: epoch -> the run's trace at that epoch on the same input.
        notes: epoch -> a line under the title (the validation answer at that epoch).
    """
    if not traces:
        raise ConfigError("traces", "none", "at least one epoch")
    order = sorted(traces)
    first = traces[order[0]]
    sample = _check_sample(first, sample)
    if state not in first.config.state_names:
        raise ConfigError("state", state, f"one of {', '.join(first.config.state_names)}")
    cfg = first.config
    grids = {
        e: np.ascontiguousarray(
            traces[e].state(state)[:, sample].reshape(-1, cfg.hidden_size).T, np.float32)
        for e in order
    }  # fmt: skip
    per_epoch = grids[order[0]].size
    fits = max(1, (MAX_BYTES - 40_000) // (per_epoch * BYTES_PER_NUMBER + 1500))
    stride = max(1, math.ceil(len(order) / min(MAX_FRAMES, fits)))
    shown = order[::stride]
    if shown[-1] != order[-1]:
        shown.append(order[-1])  # the trained network is always the last frame
    limit = max(float(np.abs(g).max()) for g in grids.values()) or 1.0
    notes = notes or {}
    every = f" (every {ordinal(stride)} epoch)" if stride > 1 else ""

    def title(e: int) -> str:
        return (f"{STATE_TITLES[state]} of sample {sample} at epoch {e}{every}"
                f"<br><sup>{notes.get(e, ' ')}</sup>")  # fmt: skip

    steps = grids[order[0]].shape[1]
    data = [dict(
        type="heatmap", z=grids[shown[0]], x=np.arange(steps), y=np.arange(cfg.hidden_size),
        zmin=-limit, zmax=limit, colorscale=DIVERGING_COLOURS,
        colorbar=dict(title=dict(text="value")),
        hovertemplate="step %{x}<br>unit %{y}<br>%{z:.6f}<extra></extra>",
    )]  # fmt: skip
    frames = [dict(name=str(e), traces=[0], data=[dict(type="heatmap", z=grids[e])],
                   layout=dict(title=dict(text=title(e)))) for e in shown]  # fmt: skip
    line = Timeline(shown, stride, len(order))
    layout = dict(
        title=dict(text=title(shown[0])),
        xaxis=dict(title=dict(text="time step")), yaxis=dict(title=dict(text="unit")),
        height=max(28 * cfg.hidden_size, 200) + 260, margin=dict(t=90, b=170),
        meta={"rnnviz_animation": {"steps": shown, "stride": stride, "sample": sample,
                                   "bars": [0], "numbers": per_epoch * (len(shown) + 1),
                                   "redraw": True}},
        **_controls(line, "epoch"),
    )  # fmt: skip
    return go.Figure(data=data, layout=layout, frames=frames, _validate=False)
