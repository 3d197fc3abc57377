"""Exports of a trace: every array as .npz, one state as CSV, the figures as standalone HTML."""

from __future__ import annotations

import io
import json

import numpy as np

from rnnviz.core.trace import Trace
from rnnviz.views import figures


def trace_npz(trace: Trace) -> bytes:
    """Returns a compressed .npz of every array of the trace plus its config as JSON."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, config=json.dumps(trace.config.to_dict()), **trace.arrays())
    return buffer.getvalue()


def state_csv(trace: Trace, state: str) -> str:
    """Returns one state as CSV: a row per (batch, sample, t), a column per unit."""
    values = trace.state(state)
    k, b, t, u = values.shape
    index = np.stack(
        np.meshgrid(np.arange(k), np.arange(b), np.arange(t), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    header = "batch,sample,t," + ",".join(f"unit_{i}" for i in range(u))
    body = np.concatenate([index, values.reshape(-1, u)], axis=1)
    out = io.StringIO()
    np.savetxt(out, body, delimiter=",", header=header, comments="", fmt=["%d"] * 3 + ["%.8g"] * u)
    return out.getvalue()


def figures_html(trace: Trace) -> str:
    """Returns one standalone HTML page with the state, gate and carry-over figures."""
    return figures.figure_html(
        [figures.state_heatmaps(trace), figures.gate_heatmaps(trace), figures.carry_over(trace)]
    )


#: An exported animation: at most this many frames (`every=` strides over a longer one).
MAX_EXPORT_FRAMES = 200
#: Seconds an export may take before it is stopped.
EXPORT_SECONDS = 120


def animation(
    trace: Trace,
    view: str,
    path: str,
    fps: float = 5,
    size: tuple[int, int] = (900, 700),
    sample: int = 0,
    every: int = 1,
) -> dict:
    """Writes the animation the page plays (`view`: "states" or "gates") as a GIF, or an MP4
    when `path` ends in .mp4, with its title, axes and colours: the same frames as the page.

    Each frame is drawn by Plotly's image export (Kaleido, which drives Chromium) and the
    file written by imageio. Bounded: `fps` 1-30, `size` 200-2000 px a side, at most
    MAX_EXPORT_FRAMES frames (`every=k` keeps every k-th); a ConfigError names the value.
    Returns {"path", "frames", "seconds"}.
    """
    import time
    from pathlib import Path

    import imageio.v3 as iio
    import plotly.io as pio

    from rnnviz.core.config import ConfigError
    from rnnviz.views import animation as A

    fps = A.check_fps(fps)
    width, height = A.check_size(size)
    if view not in A.VIEWS:
        raise ConfigError("view", view, f"one of {', '.join(A.VIEWS)}")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError("every", every, "a whole number, at least 1")
    target = Path(path)
    if target.suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError("path", target.name, "a .gif or .mp4 file name")
    if target.suffix.lower() == ".mp4" and not mp4_available():
        raise ConfigError(
            "path", target.name,
            "a .gif: MP4 needs an encoder imageio can use (pip install imageio-ffmpeg)",
        )  # fmt: skip
    start = time.perf_counter()
    fig = A.VIEWS[view](trace, sample)
    indices = list(range(0, len(fig.frames), every))
    if len(indices) > MAX_EXPORT_FRAMES:
        need = -(-len(fig.frames) // MAX_EXPORT_FRAMES)
        raise ConfigError(
            "frames", len(indices), f"at most {MAX_EXPORT_FRAMES} per file: pass every={need}"
        )
    import kaleido

    stills = [A.frame_figure(fig, i) for i in indices]
    images = []
    # One Chromium for all the frames (Kaleido starts one per image otherwise: ~2 s each).
    import warnings

    kaleido.start_sync_server(silence_warnings=True)
    try:
        for still in stills:
            with warnings.catch_warnings():  # "kopts is ignored if using a server": intended
                warnings.simplefilter("ignore", UserWarning)
                png = pio.to_image(still, format="png", width=width, height=height)
            images.append(iio.imread(png)[..., :3])
            if time.perf_counter() - start > EXPORT_SECONDS:
                raise ConfigError("frames", len(indices), f"drawn in at most {EXPORT_SECONDS} s")
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    frames = np.stack(images)
    if target.suffix.lower() == ".gif":
        iio.imwrite(target, frames, extension=".gif", duration=1000 / fps, loop=0)
    else:
        iio.imwrite(target, frames, extension=".mp4", fps=fps)
    return {"path": str(target), "frames": len(images), "seconds": time.perf_counter() - start}


def gif_every(cfg) -> int:
    """The `every` that keeps a configuration's animation within MAX_EXPORT_FRAMES."""
    steps = cfg.num_batches * cfg.num_steps
    return max(1, -(-steps // MAX_EXPORT_FRAMES))


def mp4_available() -> bool:
    """Whether imageio has an MP4 encoder here (imageio-ffmpeg or PyAV installed)."""
    import importlib.util

    return any(importlib.util.find_spec(name) for name in ("imageio_ffmpeg", "av"))
