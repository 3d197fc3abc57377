"""Pictures of an animation's frames, drawn by plotly.js in one headless Chromium.

    pngs = render.frames(fig, [0, 1, 2], width=900, height=700)   # PNG bytes per frame

The figure is plotted once in a page that has plotly.js loaded; each frame is then played
there with `Plotly.animate` (the page's own frames, as the browser plays them) and the page
photographed. The browser is driven by choreographer (Plotly's driver, the one Kaleido
uses) and kept open for IDLE_SECONDS after a use, so the next export starts warm: starting
Chromium and parsing plotly.js take about 2 s, a frame about 0.1 s (decision 59).

One export at a time per process (a lock); callers run it outside Streamlit's script
thread (the job queue). Chromium is found as Kaleido finds it (BROWSER_PATH, or the
usual install paths; Debian's `chromium` package).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import plotly.graph_objects as go

#: Seconds the browser stays open after an export, for the next one.
IDLE_SECONDS = 120.0

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><script src="plotly.js"></script>
</head><body style="margin:0;background:white"><div id="gd"></div></body></html>"""

_PLOT = r"""async (spec) => {
  const gd = document.getElementById('gd');
  Plotly.purge(gd);
  await Plotly.newPlot(gd, spec.data, spec.layout, {staticPlot: true});
  if (spec.frames.length) await Plotly.addFrames(gd, spec.frames);
  return 'ok';
}"""

_FRAME = r"""async (name) => {
  const gd = document.getElementById('gd');
  await Plotly.animate(gd, [name], {mode: 'immediate', transition: {duration: 0},
                                    frame: {duration: 0, redraw: %s}});
  return 'ok';
}"""


class RenderError(RuntimeError):
    """The browser could not draw the figure (plotly.js's message, or the browser's)."""


def _static(fig: go.Figure, width: int, height: int) -> dict:
    """The figure as plotly.js takes it, at this size, without play buttons and slider."""
    spec = json.loads(fig.to_json())
    layout = spec.setdefault("layout", {})
    layout.update(width=width, height=height, updatemenus=[], sliders=[])
    layout["margin"] = {**layout.get("margin", {}), "b": 60}
    spec.setdefault("frames", [])
    return spec


class _Chromium:
    """One headless Chromium, its tab on a page with plotly.js; lives on the loop thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.browser = None
        self.tab = None
        self.ready = False

    async def open(self) -> None:
        import choreographer as choreo

        self.browser = choreo.Browser(headless=True)
        await self.browser.open()
        self.tab = self.browser.get_tab()
        loaded = self.tab.subscribe_once("Page.loadEventFired")
        await self._send("Page.enable")
        await self._send("Page.navigate", url=(self.folder / "index.html").as_uri())
        await asyncio.wait_for(loaded, 60)
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        if self.browser is not None:
            browser, self.browser, self.tab = self.browser, None, None
            with contextlib.suppress(Exception):  # a dead browser is closed enough
                await browser.close()

    async def _send(self, command: str, **params) -> dict:
        response = await self.tab.send_command(command, params=params)
        if "error" in response:
            raise RenderError(f"{command}: {response['error'].get('message')}")
        return response.get("result", {})

    async def _call(self, function: str, *args) -> object:
        expression = f"({function})(...{json.dumps(list(args))})"
        result = await self._send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            message = details.get("exception", {}).get("description") or details.get("text")
            raise RenderError(f"plotly.js: {message}")
        return result["result"].get("value")

    async def draw(self, spec: dict, names: list[str], width: int, height: int,
                   redraw: bool, deadline: float) -> list[bytes]:  # fmt: skip
        await self._send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                         deviceScaleFactor=1, mobile=False)  # fmt: skip
        await self._call(_PLOT, spec)
        clip = dict(x=0, y=0, width=width, height=height, scale=1)
        frame = _FRAME % ("true" if redraw else "false")
        pngs = []
        for name in names or [None]:
            if name is not None:
                await self._call(frame, name)
            shot = await self._send("Page.captureScreenshot", format="png", clip=clip,
                                    optimizeForSpeed=True)  # fmt: skip
            pngs.append(base64.b64decode(shot["data"]))
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pngs)} of {len(names)} frames drawn")
        return pngs


class Renderer:
    """The process's one browser for pictures: opened on first use, closed when idle."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chromium: _Chromium | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._folder: Path | None = None
        self._opening: asyncio.Lock | None = None
        self._loop_lock = threading.Lock()
        self._busy = 0

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._opening = asyncio.Lock()
                threading.Thread(target=loop.run_forever, name="rnnviz-render",
                                 daemon=True).start()  # fmt: skip
                atexit.register(self.close)
                self._loop = loop
        return self._loop

    def _page_folder(self) -> Path:
        if self._folder is None:
            from plotly.offline import get_plotlyjs

            folder = Path(tempfile.mkdtemp(prefix="rnnviz-render-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            (folder / "plotly.js").write_text(get_plotlyjs(), encoding="utf-8")
            (folder / "index.html").write_text(_PAGE, encoding="utf-8")
            self._folder = folder
        return self._folder

    @property
    def warm(self) -> bool:
        """Whether a browser is open with plotly.js loaded."""
        return self._chromium is not None and self._chromium.ready

    async def _open(self) -> None:
        """Opens the browser unless it is open (or being opened: then waits for it)."""
        if self._idle is not None:
            self._idle.cancel()
        async with self._opening:
            if not self.warm:
                chromium = _Chromium(self._page_folder())
                try:
                    await chromium.open()
                except BaseException:
                    await chromium.close()
                    raise
                self._chromium = chromium

    def _close_later(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.idle_seconds, lambda: loop.create_task(self._close()))

    async def _draw(self, spec, names, width, height, redraw, deadline) -> list[bytes]:
        self._busy += 1
        try:
            await self._open()
            return await self._chromium.draw(spec, names, width, height, redraw, deadline)
        except (RenderError, TimeoutError):
            raise
        except Exception:
            if self._chromium is not None:  # a crashed browser: the next export opens another
                await self._chromium.close()
            raise
        finally:
            self._busy -= 1
            self._close_later()

    async def _close(self) -> None:
        if self._chromium is not None and not self._busy:
            await self._chromium.close()

    def warm_up(self) -> None:
        """Opens the browser in the background if it is not open (returns at once), so that
        the export a user is about to ask for does not wait for Chromium and plotly.js.
        RNNVIZ_GIF_WARMUP=0 turns this off (the first GIF then opens it: 2-3 s more)."""
        if os.environ.get("RNNVIZ_GIF_WARMUP", "1") == "0":
            return
        if not self.warm:
            asyncio.run_coroutine_threadsafe(self._warm_up(), self._start_loop())

    async def _warm_up(self) -> None:
        try:
            await self._open()
        except Exception:  # a warm-up that fails leaves the export to open the browser
            return
        self._close_later()

    def frames(self, fig: go.Figure, indices: list[int] | None, width: int, height: int,
               timeout: float = 120.0) -> list[bytes]:  # fmt: skip
        """PNG bytes of frames `indices` of `fig` (None: the figure as it is), at this size."""
        spec = _static(fig, width, height)
        names = [spec["frames"][i]["name"] for i in indices] if indices is not None else []
        redraw = _needs_redraw(fig)
        deadline = time.monotonic() + timeout
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(
                self._draw(spec, names, width, height, redraw, deadline), self._start_loop()
            )
            try:
                return future.result(timeout + 60)
            except TimeoutError:
                future.cancel()
                raise

    def close(self) -> None:
        """Closes the browser now (it reopens on the next use)."""
        if self._loop is not None and self._loop.is_running():
            with contextlib.suppress(Exception):  # closing at exit: nothing more to do
                asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)


def _needs_redraw(fig: go.Figure) -> bool:
    """Whether plotly.js must redraw each frame (a heatmap trace that changes) or not
    (frames that change scatter traces only), as the animation's meta says; a figure
    that does not say is redrawn."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    return bool(meta.get("rnnviz_animation", {}).get("redraw", True))


#: The renderer the app and `rnnviz.views.export` share.
default_renderer = Renderer()
