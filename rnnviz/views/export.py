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
#: ... and at most this many pixels in all its frames (200 frames of 900 x 700): the
#: frames are held as PNGs and decoded one at a time, but a bound keeps a file sane.
MAX_EXPORT_PIXELS = 200 * 900 * 700
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

    plotly.js plays the page's own frames in a headless Chromium, which is photographed
    once per frame (`rnnviz.views.render`); Pillow writes the GIF, imageio an MP4.
    Bounded: `fps` 1-30, `size` 200-2000 px a side, at most MAX_EXPORT_FRAMES frames
    (`every=k` keeps every k-th) and MAX_EXPORT_PIXELS pixels in all; a ConfigError names
    the value. Returns {"path", "frames", "seconds"}.
    """
    from rnnviz.core.config import ConfigError
    from rnnviz.views import animation as A

    if view not in A.VIEWS:
        raise ConfigError("view", view, f"one of {', '.join(A.VIEWS)}")
    # Every argument is checked before the (slower) figure is built.
    A.check_fps(fps)
    A.check_size(size)
    _check_every(every)
    _check_path(path)
    return animation_file(A.VIEWS[view](trace, sample), path, fps, size, every)


def _check_every(every: object) -> int:
    from rnnviz.core.config import ConfigError

    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError("every", every, "a whole number, at least 1")
    return every


def _check_path(path: str):
    from pathlib import Path

    from rnnviz.core.config import ConfigError

    target = Path(path)
    if target.suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError("path", target.name, "a .gif or .mp4 file name")
    if target.suffix.lower() == ".mp4" and not mp4_available():
        raise ConfigError(
            "path", target.name,
            "a .gif: MP4 needs an encoder imageio can use (pip install imageio-ffmpeg)",
        )  # fmt: skip
    return target


def animation_file(
    fig, path: str, fps: float = 5, size: tuple[int, int] = (900, 700), every: int = 1
) -> dict:
    """Writes any of rnnviz's animations (a figure from `rnnviz.views.animation`) as a GIF or
    an MP4: frames 0, every, 2*every, ... as the page plays them. Bounded as `animation`."""
    import time

    from rnnviz.core.config import ConfigError
    from rnnviz.views import animation as A
    from rnnviz.views import render

    fps = A.check_fps(fps)
    width, height = A.check_size(size)
    every = _check_every(every)
    target = _check_path(path)
    start = time.perf_counter()
    indices = list(range(0, len(fig.frames), every))
    if len(indices) > MAX_EXPORT_FRAMES:
        need = -(-len(fig.frames) // MAX_EXPORT_FRAMES)
        raise ConfigError(
            "frames", len(indices), f"at most {MAX_EXPORT_FRAMES} per file: pass every={need}"
        )
    if len(indices) * width * height > MAX_EXPORT_PIXELS:
        raise ConfigError(
            "size", (width, height),
            f"at most {MAX_EXPORT_PIXELS // 10**6} million pixels in all {len(indices)} "
            "frames: a smaller size, or fewer frames (every=)",
        )  # fmt: skip
    try:
        pngs = render.default_renderer.frames(fig, indices, width, height, EXPORT_SECONDS)
    except TimeoutError as error:
        raise ConfigError("frames", len(indices), f"drawn in at most {EXPORT_SECONDS} s") from error
    if target.suffix.lower() == ".gif":
        write_gif(target, pngs, fps)
    else:
        write_mp4(target, pngs, fps)
    return {"path": str(target), "frames": len(pngs), "seconds": time.perf_counter() - start}


def write_gif(path, pngs: list[bytes], fps: float) -> None:
    """A looping GIF of these PNGs: each frame decoded when written and given its own 256
    colours (Pillow's fast octree, no dithering: flat cells stay flat)."""
    from PIL import Image

    def quantized(png: bytes) -> Image.Image:
        with Image.open(io.BytesIO(png)) as image:
            return image.convert("RGB").quantize(
                256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
            )

    first, *rest = pngs
    quantized(first).save(
        path, format="GIF", save_all=True, append_images=(quantized(p) for p in rest),
        duration=round(1000 / fps), loop=0, optimize=False,
    )  # fmt: skip


def write_mp4(path, pngs: list[bytes], fps: float) -> None:
    """An MP4 of these PNGs, written a frame at a time by imageio's video writer."""
    import imageio.v2 as imageio
    import imageio.v3 as iio

    with imageio.get_writer(path, fps=fps, macro_block_size=1) as writer:
        for png in pngs:
            writer.append_data(iio.imread(png)[..., :3])


def gif_every(cfg_or_frames) -> int:
    """The `every` that keeps an animation within MAX_EXPORT_FRAMES: of a configuration's
    states / gates animation, or of an animation of this many frames."""
    if isinstance(cfg_or_frames, int):
        frames = cfg_or_frames
    else:
        frames = cfg_or_frames.num_batches * cfg_or_frames.num_steps
    return max(1, -(-frames // MAX_EXPORT_FRAMES))


def mp4_available() -> bool:
    """Whether imageio has an MP4 encoder here (imageio-ffmpeg or PyAV installed)."""
    import importlib.util

    return any(importlib.util.find_spec(name) for name in ("imageio_ffmpeg", "av"))
