"""Browser benchmark of the rnnviz app against minimal Streamlit pages (the floor).

Measured in headless Chromium, app and floor side by side in one run:

(a) control change -> updated chart: the sidebar `seed` number input is set to a
    new value and Enter pressed; the clock stops when the first heatmap's z data
    in the page (Plotly's `_fullData`) has changed. The app runs on the default
    configuration and on the medium one (LSTM, batch_size 8, num_steps 100,
    num_features 4, hidden_size 64, num_batches 3, set through the URL). The
    floor is a minimal Streamlit page that draws a heatmap figure of the same
    size (same traces, same z shape) from precomputed numpy arrays when its
    `seed` number input changes. The four pages take turns, change after change.
(c) epoch scrubber -> updated chart on the Train page: the epoch slider is moved one
    epoch (arrow key) and the clock stops when the state heatmap's z has changed;
    compared with (a)'s default control change on the Explore page, the two taking
    turns on one server. Goal: scrubber <= 1.5 x the control change.
(d) unit change -> updated text on the Text page (2,000 characters of held-out Python, the
    issue's size, coloured by one unit of the char model): the `unit` number input is set to
    the next unit, until the text heatmap's z has changed; taking turns with (a)'s default control
    change on the Explore page, one server. Goal: <= 1.5 x the control change.
(e) layout change -> updated grid on the Stateful page (its sidebar batch_size, no
    training), taking turns with (a)'s default control change. Goal: <= 1.5 x.
(f) a new question -> updated handoff heatmap on the Encoder → decoder page (its sidebar
    question, one never asked before each time), taking turns with (a)'s default control
    change. Goal: <= 1.5 x.
(b) cold start: from launching `streamlit run` to the first chart drawn in a
    fresh browser context, for app.py and for a bare page that does
    `import tensorflow` and then shows a chart; launches interleaved. Then every
    page's first open (Explore, Train, Text, Why, Your model) in a new browser session
    on a server already up, printed for each page (informational).

Goal: app <= 1.5 x floor for each. Informational rows (no goal) separate the
Keras run from the page: revisiting an already computed seed (a cache hit), and
the time until the script run has finished (the sidebar exports come last).
A server-side breakdown (in-process timings of what one rerun does) follows.

    .venv/bin/python scripts/bench_browser.py            # about 4-5 minutes
    .venv/bin/python scripts/bench_browser.py --changes 10 --cold 3 --json out.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from browserkit import CHROMIUM_ARGS, free_port, is_healthy, streamlit_command

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5
DEFAULT = {"batch_size": 2, "num_steps": 5, "num_features": 1, "hidden_size": 8, "num_batches": 3}
MEDIUM = {"batch_size": 8, "num_steps": 100, "num_features": 4, "hidden_size": 64, "num_batches": 3}

# The floor: the same figure shape as the app's state heatmaps (LSTM: h and c,
# units x (num_batches * num_steps)), from arrays computed once per server.
FLOOR_PAGE = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

st.set_page_config(page_title="floor", layout="wide")
units = int(st.query_params.get("units", 8))
steps = int(st.query_params.get("steps", 15))


@st.cache_resource
def arrays(units: int, steps: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.tanh(rng.standard_normal((64, 2, units, steps))).astype(np.float32)


seed = st.sidebar.number_input("seed", min_value=0, max_value=2**31 - 1, value=0, key="seed")
z = arrays(units, steps)[seed % 64]
fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=["h", "c"])
for row, name in enumerate(("h", "c")):
    fig.add_trace(
        go.Heatmap(z=z[row], name=name, colorscale="RdBu_r", zmid=0.0), row=row + 1, col=1
    )
fig.update_layout(height=600)
st.plotly_chart(fig, key="fig")
"""

# JS: a checksum of the first heatmap's z on the page, or null before one is drawn.
SIGNATURE_JS = """
() => {
    for (const div of document.querySelectorAll('.stPlotlyChart .js-plotly-plot')) {
        const trace = (div._fullData || []).find((t) => t.type === 'heatmap' && t.z);
        if (!trace) continue;
        let sum = 0, i = 0;
        // v === v skips NaN (the Text page's empty grid cells)
        for (const row of trace.z) for (const v of row) if (v === v) sum += (++i % 97 + 1) * v;
        return `${trace.z.length}x${trace.z[0].length}:${sum}`;
    }
    return null;
}
"""
CHANGED_JS = (
    f"(previous) => {{ const s = ({SIGNATURE_JS})(); "
    "return s !== null && s !== previous ? s : null; }"
)
DRAWN_JS = f"() => ({SIGNATURE_JS})()"
IDLE_JS = (
    "() => document.querySelector('[data-testid=stApp]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)


# --------------------------------------------------------------------------- servers


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


@dataclass
class Server:
    script: Path
    port: int
    proc: subprocess.Popen
    log: Path
    started: float  # time.perf_counter() at launch

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        return is_healthy(self.url)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.script.name} did not start; log:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_quiet(self, window: float = 0.5, busy: float = 0.15, timeout: float = 90) -> None:
        """Waits until the server uses < `busy` of a CPU over `window` seconds
        (background XLA compiles or engine pre-builds have finished)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(window)
            if self.cpu_seconds() - before < busy * window:
                return

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine (/proc/stat's first line)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def wait_machine_quiet(window: float = 0.5, busy: float = 0.25, timeout: float = 30) -> None:
    """Waits until the whole machine is under `busy` of its CPUs for `window` seconds: the
    server's children too (the Chromium the app opens for GIFs when Animate is switched
    on takes 2-3 s of CPU to start, and would be measured as a slow animation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b0, t0 = _cpu_times()
        time.sleep(window)
        b1, t1 = _cpu_times()
        if (b1 - b0) < busy * max(t1 - t0, 1):
            return


def start_server(script: Path, logdir: Path) -> Server:
    port = free_port()
    log = logdir / f"{script.stem}-{port}.log"
    cmd = streamlit_command(str(script), port)
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=server_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(script, port, proc, log, started)


# ------------------------------------------------------------------------- measures


@dataclass
class Target:
    """One open page whose `seed` input is changed again and again."""

    name: str
    server: Server
    query: str
    page: object = None
    signature: str | None = None
    chart: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    cached_chart: list[float] = field(default_factory=list)

    def open(self, browser, timeout_ms: int) -> None:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = context.new_page()
        self.page.goto(f"{self.server.url}/?{self.query}")
        self.signature = self.page.wait_for_function(DRAWN_JS, timeout=timeout_ms).json_value()
        self.page.wait_for_function(IDLE_JS, timeout=timeout_ms)

    def change_seed(self, seed: int, timeout_ms: int) -> tuple[float, float]:
        """Returns (seconds to the changed chart, seconds to the end of the script run)."""
        page = self.page
        page.bring_to_front()
        self.server.wait_quiet()
        field_ = (
            page.get_by_test_id("stSidebar")
            .get_by_test_id("stNumberInput")
            .filter(has=page.get_by_text("seed", exact=True))
            .locator("input")
        )
        field_.fill(str(seed))
        start = time.perf_counter()
        field_.press("Enter")
        self.signature = page.wait_for_function(
            CHANGED_JS, arg=self.signature, polling="raf", timeout=timeout_ms
        ).json_value()
        chart = time.perf_counter() - start
        page.wait_for_function(IDLE_JS, timeout=timeout_ms)
        return chart, time.perf_counter() - start


def scrub_epoch(
    page, server: Server, signature: str, key: str, timeout_ms: int
) -> tuple[float, str]:
    """Moves the Train page's epoch slider one step; returns (seconds to chart, signature)."""
    page.bring_to_front()
    server.wait_quiet()
    slider = page.get_by_test_id("stSlider").locator("input")
    slider.focus()
    start = time.perf_counter()
    slider.press(key)
    signature = page.wait_for_function(
        CHANGED_JS, arg=signature, polling="raf", timeout=timeout_ms
    ).json_value()
    elapsed = time.perf_counter() - start
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)
    return elapsed, signature


def measure_scrubber(browser, work: Path, changes: int, warmup: int, timeout_ms: int) -> dict:
    """(c): epoch scrubber on the Train page vs a control change on the Explore page."""
    app = start_server(ROOT / "app.py", work)
    try:
        app.wait_healthy()
        explore = Target("app default", app, "")
        explore.open(browser, timeout_ms)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        train = context.new_page()
        train.goto(f"{app.url}/train")
        signature = train.wait_for_function(DRAWN_JS, timeout=timeout_ms).json_value()
        train.wait_for_function(IDLE_JS, timeout=timeout_ms)
        scrub: list[float] = []
        for i in range(warmup + changes):
            chart, _ = explore.change_seed(1000 + i, timeout_ms)
            # Down then up: epochs 20 -> 19 -> 20 ... (the pretrained run has 20).
            seconds, signature = scrub_epoch(
                train, app, signature, "ArrowLeft" if i % 2 == 0 else "ArrowRight", timeout_ms
            )
            if i >= warmup:
                explore.chart.append(chart)
                scrub.append(seconds)
            print(
                f"scrub {i + 1}/{warmup + changes}: explore change {chart:.3f}s, "
                f"epoch scrubber {seconds:.3f}s",
                flush=True,
            )
        return row("epoch scrubber -> chart (vs explore change)", scrub, explore.chart, True)
    finally:
        app.stop()


def held_out_text(length: int = 2000) -> str:
    """`length` characters of held-out Python: the Text page's snippet, continued."""
    from rnnviz.sources.text import charmodel as T

    return T.default_snippet(2 * length)[:length]


def measure_text_unit(browser, work: Path, changes: int, warmup: int, timeout_ms: int) -> dict:
    """(d): a unit change on the Text page vs a control change on the Explore page."""
    app = start_server(ROOT / "app.py", work)
    try:
        app.wait_healthy()
        explore = Target("app default", app, "")
        explore.open(browser, timeout_ms)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        text = context.new_page()
        text.goto(f"{app.url}/text?concept=units+by+number")
        signature = text.wait_for_function(DRAWN_JS, timeout=timeout_ms).json_value()
        text.wait_for_function(IDLE_JS, timeout=timeout_ms)
        area = text.get_by_test_id("stTextArea").locator("textarea")
        area.fill(held_out_text())
        area.press("Control+Enter")
        signature = text.wait_for_function(
            CHANGED_JS, arg=signature, polling="raf", timeout=timeout_ms
        ).json_value()
        text.wait_for_function(IDLE_JS, timeout=timeout_ms)
        field_ = (
            text.get_by_test_id("stNumberInput")
            .filter(has=text.get_by_text("unit", exact=True))
            .locator("input")
        )
        seconds: list[float] = []
        for i in range(warmup + changes):
            chart, _ = explore.change_seed(2000 + i, timeout_ms)
            text.bring_to_front()
            app.wait_quiet()
            field_.fill(str(i + 1))
            start = time.perf_counter()
            field_.press("Enter")
            signature = text.wait_for_function(
                CHANGED_JS, arg=signature, polling="raf", timeout=timeout_ms
            ).json_value()
            elapsed = time.perf_counter() - start
            text.wait_for_function(IDLE_JS, timeout=timeout_ms)
            if i >= warmup:
                explore.chart.append(chart)
                seconds.append(elapsed)
            print(
                f"text unit {i + 1}/{warmup + changes}: explore change {chart:.3f}s, "
                f"text page unit change {elapsed:.3f}s",
                flush=True,
            )
        return row(
            "text page unit change -> chart (vs explore change)", seconds, explore.chart, True
        )
    finally:
        app.stop()


def measure_page_change(
    browser, work: Path, path: str, widget: str, label: str, value, what: str, timeout_ms: int,
    changes: int, warmup: int,
) -> dict:
    """A change of one sidebar input (`widget` test id, `label`) on the page at `path`, to
    `value(i)` then Enter, until its first chart has changed; taking turns with a control
    change on the Explore page, on one server."""
    app = start_server(ROOT / "app.py", work)
    try:
        app.wait_healthy()
        explore = Target("app default", app, "")
        explore.open(browser, timeout_ms)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{app.url}/{path}")
        signature = page.wait_for_function(DRAWN_JS, timeout=timeout_ms).json_value()
        page.wait_for_function(IDLE_JS, timeout=timeout_ms)
        field_ = (
            page.get_by_test_id("stSidebar")
            .get_by_test_id(widget)
            .filter(has=page.get_by_text(label, exact=True))
            .locator("input")
        )
        seconds: list[float] = []
        for i in range(warmup + changes):
            chart, _ = explore.change_seed(3000 + i, timeout_ms)
            page.bring_to_front()
            app.wait_quiet()
            field_.fill(str(value(i)))
            start = time.perf_counter()
            field_.press("Enter")
            signature = page.wait_for_function(
                CHANGED_JS, arg=signature, polling="raf", timeout=timeout_ms
            ).json_value()
            elapsed = time.perf_counter() - start
            page.wait_for_function(IDLE_JS, timeout=timeout_ms)
            if i >= warmup:
                explore.chart.append(chart)
                seconds.append(elapsed)
            print(
                f"{what} {i + 1}/{warmup + changes}: explore change {chart:.3f}s, "
                f"{what} {elapsed:.3f}s",
                flush=True,
            )
        return row(f"{what} -> chart (vs explore change)", seconds, explore.chart, True)
    finally:
        app.stop()


def measure_stateful_layout(
    browser, work: Path, changes: int, warmup: int, timeout_ms: int
) -> dict:
    """(e): a layout change on the Stateful page (its batch_size; no training): 2..7 rows,
    every change a new grid."""
    return measure_page_change(
        browser, work, "stateful", "stNumberInput", "batch_size", lambda i: 2 + i % 6,
        "stateful page layout change", timeout_ms, changes, warmup,
    )  # fmt: skip


def measure_seq2seq_input(
    browser, work: Path, changes: int, warmup: int, timeout_ms: int
) -> dict:
    """(f): a new question on the Encoder → decoder page (every one never asked before: the
    encoder, the inference loop, teacher forcing and the map's projection all run)."""
    return measure_page_change(
        browser, work, "seq2seq", "stTextInput", "question", lambda i: f"{101 + 7 * i}+{23 + i}",
        "encoder-decoder input change", timeout_ms, changes, warmup,
    )  # fmt: skip


#: Frame timestamps of a Plotly animation, collected in the page.
#: The page's animated chart (the one whose meta says so), or undefined.
ANIMATED_JS = (
    "Array.from(document.querySelectorAll('.stPlotlyChart .js-plotly-plot'))"
    ".find((d) => d.layout && d.layout.meta && d.layout.meta.rnnviz_animation)"
)
FRAMES_JS = (
    f"() => {{ const d = {ANIMATED_JS};"
    " window.__frames = []; d.on('plotly_animatingframe',"
    " () => window.__frames.push(performance.now())); }"
)
#: Animations measured: name -> the page and query that open it playing.
ANIMATIONS = {
    "default": "/?play=true",
    "medium": "/?play=true&" + "&".join(f"{k}={v}" for k, v in MEDIUM.items()),
    "Why trajectory": "/why?question=trajectory&why_play=true",
    "Text cursor (default snippet)": "/text?text_play=true",
    "Stateful carried state": "/stateful?st_play=true",
    "Train epochs": "/train?train_play=true",
}


def measure_animation(browser, work: Path, timeout_ms: int) -> dict:
    """(g) Issue 22: frames per second while playing (fast, 30/s asked) on the default and the
    medium configuration, the websocket messages while playing, the bytes of each animation,
    and the GIF export of the default LSTM(8) animation (in this process)."""
    import rnnviz
    from rnnviz.views import export

    out: dict = {}
    app = start_server(ROOT / "app.py", work)
    try:
        app.wait_healthy()
        for name, path in ANIMATIONS.items():
            context = browser.new_context(viewport={"width": 1400, "height": 1400})
            page = context.new_page()
            messages = {"n": 0}

            def watch(ws, messages=messages) -> None:
                def count(_frame) -> None:
                    messages["n"] += 1

                ws.on("framereceived", count)
                ws.on("framesent", count)

            page.on("websocket", watch)
            page.goto(f"{app.url}{path}")
            page.get_by_text("frames, computed once on the server").wait_for(timeout=timeout_ms)
            page.wait_for_function(f"() => !!({ANIMATED_JS})", timeout=timeout_ms)
            page.wait_for_function(IDLE_JS, timeout=timeout_ms)
            page.wait_for_timeout(1500)
            wait_machine_quiet()
            page.evaluate(FRAMES_JS)
            page.evaluate(f"() => {ANIMATED_JS}.scrollIntoView()")
            # What the figure holds (traces, layout, frames) as sent: plotly.js keeps the
            # numbers as typed arrays, which travel as base64 (4 characters per 3 bytes);
            # JSON.stringify would spell each number out with its index.
            size = page.evaluate(
                f"() => {{ const d = {ANIMATED_JS}; return JSON.stringify({{data: d.data, "
                "layout: d.layout, frames: d._transitionData._frames}, (k, v) => "
                "ArrayBuffer.isView(v) ? 'b'.repeat(Math.ceil(v.byteLength / 3) * 4) : v)"
                ".length; }"
            )  # fmt: skip
            before = messages["n"]
            page.get_by_text("fast (30/s)", exact=True).first.click()
            page.wait_for_timeout(4000)
            stamps = page.evaluate("() => window.__frames")
            gaps = sorted(b - a for a, b in itertools.pairwise(stamps))
            seconds = [sum(1 for t in stamps if s * 1000 <= t - stamps[0] < (s + 1) * 1000)
                       for s in range(int((stamps[-1] - stamps[0]) // 1000))] if stamps else []
            out[name] = {
                "frames": len(stamps),
                "fps_median": 1000 / gaps[len(gaps) // 2] if gaps else float("nan"),
                "fps_slowest_second": min(seconds) if seconds else float("nan"),
                "messages_while_playing": messages["n"] - before,
                "bytes": size,
            }
            context.close()
    finally:
        app.stop()
    trace = rnnviz.run(rnnviz.RunConfig())
    times = []
    for _ in range(3):  # the first opens Chromium and loads plotly.js; the others find it open
        result = export.animation(trace, "states", str(work / "bench.gif"))
        times.append(result["seconds"])
    out["gif_seconds"] = times
    return out


#: The titles of the charts on the page, as drawn.
TITLES_JS = (  # the charts on show: the page script hides the rows it drew ahead
    "() => Array.from(document.querySelectorAll("
    "'.stPlotlyChart .js-plotly-plot:not([data-rnnviz-hidden])'))"
    ".map((gd) => (gd._fullLayout && gd._fullLayout.title.text) || '')"
)


def measure_selector(browser, work: Path, changes: int, warmup: int, timeout_ms: int) -> dict:
    """(h) Issue 22: the sample row of Explore's States view (two charts: the heatmaps and
    the unit lines), switched in the browser and through the server, taking turns.

    In the browser: the page script draws every row's charts ahead, out of sight, in idle
    time once the pointer reaches the selector (the clock starts after that, when
    `__rnnviz.ready()`, as a person moves to a selector and then chooses); a change shows
    the other row's charts. The clock starts at the `<select>` change and stops when both
    charts on show have the other row's titles (Playwright's clock, polling every animation
    frame); the page script's own clock (change event -> the next animation frame, before
    its paint) is kept too.
    Through the server: a second server with RNNVIZ_BROWSER_MB=0 (every selector a round
    trip, as before), its Streamlit selectbox; the clock stops at the same titles."""
    out: dict = {"browser": [], "browser_script": [], "server": [], "messages": 0}
    browser_app = start_server(ROOT / "app.py", work)
    os.environ["RNNVIZ_BROWSER_MB"] = "0"
    try:
        server_app = start_server(ROOT / "app.py", work)
    finally:
        del os.environ["RNNVIZ_BROWSER_MB"]
    pages = []
    try:
        for app in (browser_app, server_app):
            app.wait_healthy()
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(app.url + "/")
            page.wait_for_function(DRAWN_JS, timeout=timeout_ms)
            page.wait_for_function(IDLE_JS, timeout=timeout_ms)
            pages.append(page)
        in_browser, via_server = pages
        counts = {"n": 0}

        def count(_frame) -> None:
            counts["n"] += 1

        in_browser.on("websocket", lambda ws: (ws.on("framesent", count),
                                              ws.on("framereceived", count)))  # fmt: skip
        for i in range(warmup + changes):
            row = str((i + 1) % 2)
            want = f"() => ({TITLES_JS})().filter((t) => t.includes('sample {row}')).length >= 2"
            in_browser.bring_to_front()
            wait_machine_quiet()
            before = counts["n"]
            select = in_browser.locator("select[data-param=sample]")
            select.hover()  # as a person's pointer reaches it, before choosing
            in_browser.wait_for_function("() => window.__rnnviz.ready()", timeout=timeout_ms)
            start = time.perf_counter()
            select.select_option(row)
            in_browser.wait_for_function(want, polling="raf", timeout=timeout_ms)
            took = time.perf_counter() - start
            script = in_browser.evaluate("() => window.__rnnviz.lastSwitchMs") / 1000
            out["messages"] += counts["n"] - before
            via_server.bring_to_front()
            wait_machine_quiet()
            box = via_server.get_by_test_id("stSelectbox").filter(has_text="sample row")
            box.click()
            option = via_server.get_by_role("option", name=row, exact=True)
            start = time.perf_counter()
            option.click()
            via_server.wait_for_function(want, polling="raf", timeout=timeout_ms)
            server = time.perf_counter() - start
            via_server.wait_for_function(IDLE_JS, timeout=timeout_ms)
            if i >= warmup:
                out["browser"].append(took)
                out["browser_script"].append(script)
                out["server"].append(server)
            print(f"sample row change {i + 1}/{warmup + changes}: in the browser {took:.3f} s "
                  f"(page script {script:.3f} s), through the server {server:.3f} s",
                  flush=True)  # fmt: skip
    finally:
        browser_app.stop()
        server_app.stop()
    return out


def cold_start(script: Path, browser, logdir: Path, timeout_ms: int) -> float:
    """Seconds from launching `streamlit run script` to its first chart drawn."""
    server = start_server(script, logdir)
    try:
        server.wait_healthy()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_function(DRAWN_JS, polling="raf", timeout=timeout_ms)
        elapsed = time.perf_counter() - server.started
        context.close()
        return elapsed
    finally:
        server.stop()


#: Every page of the sidebar, by URL path ("" is Explore, the root).
PAGE_PATHS = {
    "Explore": "",
    "Train": "train",
    "Stateful": "stateful",
    "Encoder → decoder": "seq2seq",
    "Text": "text",
    "Why": "why",
    "Your model": "yourmodel",
}
#: A page's first view is drawn: its first Plotly chart holds data, or (a page that opens
#: without a chart, as Your model before a file is chosen) its script run has finished.
FIRST_VIEW_JS = (
    "() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]"
    ".some((d) => (d._fullData || []).length > 0)"
    " || (document.querySelector('[data-testid=stApp]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('.stPlotlyChart'))"
)


def first_opens(script: Path, browser, logdir: Path, repeats: int, timeout_ms: int) -> dict:
    """Seconds from opening each page in a new browser session to its first view, on a
    server that is already up (TensorFlow imported): what a student who follows a link to
    that page waits. The pages take turns, `repeats` times."""
    server = start_server(script, logdir)
    times: dict[str, list[float]] = {name: [] for name in PAGE_PATHS}
    try:
        server.wait_healthy()
        for _ in range(repeats):
            for name, path in PAGE_PATHS.items():
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{server.url}/{path}")
                page.wait_for_function(FIRST_VIEW_JS, polling="raf", timeout=timeout_ms)
                times[name].append(time.perf_counter() - started)
                context.close()
                server.wait_quiet()
        return times
    finally:
        server.stop()


# ------------------------------------------------------------------------ breakdown


BREAKDOWN = """
import io, json, os, sys, time
t = time.perf_counter(); import tensorflow  # noqa
out = {"import tensorflow": time.perf_counter() - t}
t = time.perf_counter(); import numpy as np, rnnviz; from rnnviz import figures
out["import rnnviz"] = time.perf_counter() - t


def timed(fn):
    t = time.perf_counter(); value = fn(); return value, time.perf_counter() - t


for label, fields in json.loads(sys.argv[1]).items():
    cfg = rnnviz.RunConfig(**fields)
    trace, out[f"{label}: first rnnviz.run (build + trace)"] = timed(lambda: rnnviz.run(cfg))
    runs = [timed(lambda s=s: rnnviz.run(cfg.replace(seed=s)))[1] for s in range(1, 6)]
    out[f"{label}: rnnviz.run, new seed (median of 5)"] = sorted(runs)[2]
    fig, out[f"{label}: figures.state_heatmaps"] = timed(lambda: figures.state_heatmaps(trace))
    _, out[f"{label}: figures.unit_lines"] = timed(lambda: figures.unit_lines(trace))
    payload, out[f"{label}: state_heatmaps.to_json"] = timed(fig.to_json)
    out[f"{label}: state_heatmaps JSON bytes"] = len(payload)
    custom = sum(len(json.dumps(np.asarray(t.customdata).tolist())) for t in fig.data)
    out[f"{label}: of which customdata hover labels, bytes"] = custom
    # What app.downloads_ui does on every rerun (replicated, exports not clicked):
    def html():
        return figures.figure_html([figures.state_heatmaps(trace), figures.gate_heatmaps(trace),
                                    figures.carry_over(trace)])
    page, out[f"{label}: exports: figure_html (3 figures)"] = timed(html)
    out[f"{label}: exports: figure_html bytes"] = len(page)
    def npz():
        buffer = io.BytesIO()
        np.savez_compressed(buffer, config=json.dumps(cfg.to_dict()), **trace.arrays())
        return buffer.getvalue()
    data, out[f"{label}: exports: npz (savez_compressed)"] = timed(npz)
    out[f"{label}: exports: npz bytes"] = len(data)
    def csv():
        values = trace.state("h"); k, b, t, u = values.shape
        index = np.stack(np.meshgrid(np.arange(k), np.arange(b), np.arange(t), indexing="ij"),
                         axis=-1).reshape(-1, 3)
        text = io.StringIO()
        np.savetxt(text, np.concatenate([index, values.reshape(-1, u)], axis=1), delimiter=",",
                   fmt=["%d"] * 3 + ["%.8g"] * u)
        return text.getvalue()
    _, out[f"{label}: exports: csv (h)"] = timed(csv)
print(json.dumps(out))
"""


def breakdown() -> dict[str, float]:
    configs = {"default": {}, "medium": {"cell": "lstm", **MEDIUM}}
    result = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, json.dumps(configs)],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- report


def machine_info(browser_version: str) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus usable": str(len(os.sched_getaffinity(0))),
        "memory": mem,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "streamlit": version("streamlit"),
        "plotly": version("plotly"),
        "keras": version("keras"),
        "tensorflow": version("tensorflow-cpu") + " (cpu)"
        if version("tensorflow-cpu") != "-"
        else version("tensorflow"),
        "chromium": browser_version,
        "RNNVIZ_XLA": os.environ.get("RNNVIZ_XLA", "(unset: background)"),
        "RNNVIZ_PREWARM": os.environ.get("RNNVIZ_PREWARM", "(unset: 1)"),
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(measure: str, app: list[float], floor: list[float], goal: bool) -> dict:
    a, f = median(app), median(floor)
    ratio = a / f if f else float("nan")
    verdict = ("PASS" if ratio <= GOAL else "FAIL") if goal else "info"
    return {
        "measure": measure,
        "median_app_s": a,
        "median_floor_s": f,
        "ratio": ratio,
        "goal": f"<= {GOAL}x" if goal else "-",
        "verdict": verdict,
        "n_app": len(app),
        "n_floor": len(floor),
        "app_s": app,
        "floor_s": floor,
    }


def print_table(rows: list[dict]) -> None:
    head = ("measure", "median app", "median floor", "ratio", "goal", "PASS/FAIL")
    width = max(len(r["measure"]) for r in rows) + 2
    print(f"{head[0]:<{width}}{head[1]:>12}{head[2]:>14}{head[3]:>8}{head[4]:>10}{head[5]:>11}")
    for r in rows:
        print(
            f"{r['measure']:<{width}}{r['median_app_s']:>11.3f}s{r['median_floor_s']:>13.3f}s"
            f"{r['ratio']:>7.2f}x{r['goal']:>10}{r['verdict']:>11}"
        )


# ------------------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=12, help="measured changes per page")
    parser.add_argument("--warmup", type=int, default=2, help="unrecorded changes first")
    parser.add_argument("--cold", type=int, default=3, help="cold starts of each server")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per wait")
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument(
        "--only-scrubber",
        action="store_true",
        help="measure (c) and (d) only: the epoch scrubber and the Text page",
    )
    parser.add_argument("--only-animation", action="store_true", help="measure (g), (h) only")
    parser.add_argument("--only-selector", action="store_true", help="measure (h) only")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found: run `make chromium`", file=sys.stderr)
        return 2
    timeout_ms = int(args.timeout * 1000)
    work = Path(tempfile.mkdtemp(prefix="rnnviz-bench-"))
    floor_page = work / "floor.py"
    floor_page.write_text(textwrap.dedent(FLOOR_PAGE))
    floor_tf_page = work / "floor_tf.py"
    floor_tf_page.write_text("import tensorflow  # noqa: F401\n" + textwrap.dedent(FLOOR_PAGE))
    app_page = ROOT / "app.py"
    rows: list[dict] = []

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        info = machine_info(browser.version)
        print("machine:", json.dumps(info, indent=2))

        played = {} if args.only_selector else measure_animation(browser, work, timeout_ms)
        for name in ANIMATIONS if played else ():
            p = played[name]
            print(f"animation, {name}: {p['frames']} frames played, {p['fps_median']:.1f} fps "
                  f"(median), slowest second {p['fps_slowest_second']} frames, "
                  f"{p['messages_while_playing']} websocket messages while playing, "
                  f"{p['bytes'] / 1e6:.2f} MB")  # fmt: skip
        if played:
            cold, *warm = played["gif_seconds"]
            print(f"GIF of the default LSTM(8) animation (15 frames, 900 x 700): {cold:.1f} s with "
                  f"Chromium to start, then {', '.join(f'{t:.1f} s' for t in warm)} with it "
                  "open (the page opens it when Animate is switched on)")  # fmt: skip
        chosen = measure_selector(browser, work, args.changes, args.warmup, timeout_ms)
        print(f"sample row change, States view (2 charts), median of {args.changes}: in the "
              f"browser {median(chosen['browser']) * 1000:.0f} ms (page script "
              f"{median(chosen['browser_script']) * 1000:.0f} ms, "
              f"{chosen['messages']} websocket messages), through the server "
              f"{median(chosen['server']) * 1000:.0f} ms", flush=True)  # fmt: skip
        played["selector"] = chosen
        if args.only_animation or args.only_selector:
            browser.close()
            return 0
        rows.append(measure_scrubber(browser, work, args.changes, args.warmup, timeout_ms))
        if (ROOT / "assets" / "models" / "text_lstm.keras").exists():
            rows.append(measure_text_unit(browser, work, args.changes, args.warmup, timeout_ms))
        rows.append(
            measure_stateful_layout(browser, work, args.changes, args.warmup, timeout_ms)
        )
        rows.append(measure_seq2seq_input(browser, work, args.changes, args.warmup, timeout_ms))
        if args.only_scrubber:
            args.no_breakdown = True
        if not args.only_scrubber:
            # (a) control change -> chart, four pages taking turns.
            app, floor = start_server(app_page, work), start_server(floor_page, work)
            try:
                app.wait_healthy()
                floor.wait_healthy()
                medium_query = "&".join(f"{k}={v}" for k, v in MEDIUM.items())
                steps = {
                    n: c["num_batches"] * c["num_steps"] for n, c in (("d", DEFAULT), ("m", MEDIUM))
                }
                targets = {
                    "app default": Target("app default", app, ""),
                    "floor default": Target(
                        "floor default", floor, f"units={DEFAULT['hidden_size']}&steps={steps['d']}"
                    ),
                    "app medium": Target("app medium", app, medium_query),
                    "floor medium": Target(
                        "floor medium", floor, f"units={MEDIUM['hidden_size']}&steps={steps['m']}"
                    ),
                }
                for target in targets.values():
                    t0 = time.perf_counter()
                    target.open(browser, timeout_ms)
                    print(f"opened {target.name} in {time.perf_counter() - t0:.1f} s", flush=True)
                total = args.warmup + args.changes
                for i in range(total):
                    seed = i + 1  # a seed no page has run yet: a Keras run in the app
                    last = {}
                    for target in targets.values():
                        chart, idle = target.change_seed(seed, timeout_ms)
                        last[target.name] = chart
                        if i >= args.warmup:
                            target.chart.append(chart)
                            target.idle.append(idle)
                    warm = " (warm-up)" if i < args.warmup else ""
                    print(
                        f"change {i + 1}/{total}{warm}: "
                        + ", ".join(f"{name} {sec:.3f}s" for name, sec in last.items()),
                        flush=True,
                    )
                # Revisits: seeds run above, so the app's st.cache_data answers (no Keras).
                for i in range(args.changes):
                    seed = args.warmup + 1 + i % 2  # alternate two cached seeds
                    for name in ("app default", "app medium"):
                        chart, _ = targets[name].change_seed(seed, timeout_ms)
                        targets[name].cached_chart.append(chart)
            finally:
                app.stop()
                floor.stop()

            t = targets
            rows += [
                row(
                    "change -> chart, default (new seed)",
                    t["app default"].chart,
                    t["floor default"].chart,
                    True,
                ),
                row(
                    "change -> chart, medium (new seed)",
                    t["app medium"].chart,
                    t["floor medium"].chart,
                    True,
                ),
                row(
                    "change -> chart, default (cached seed)",
                    t["app default"].cached_chart,
                    t["floor default"].chart,
                    False,
                ),
                row(
                    "change -> chart, medium (cached seed)",
                    t["app medium"].cached_chart,
                    t["floor medium"].chart,
                    False,
                ),
                row(
                    "change -> run finished, default (new seed)",
                    t["app default"].idle,
                    t["floor default"].idle,
                    False,
                ),
                row(
                    "change -> run finished, medium (new seed)",
                    t["app medium"].idle,
                    t["floor medium"].idle,
                    False,
                ),
            ]

            # (b) cold starts, interleaved app / floor.
            cold_app: list[float] = []
            cold_floor: list[float] = []
            for i in range(args.cold):
                cold_app.append(cold_start(app_page, browser, work, timeout_ms))
                cold_floor.append(cold_start(floor_tf_page, browser, work, timeout_ms))
                print(
                    f"cold start {i + 1}/{args.cold}: app {cold_app[-1]:.2f}s, "
                    f"floor (import tensorflow) {cold_floor[-1]:.2f}s",
                    flush=True,
                )
            rows.append(row("cold start -> first chart", cold_app, cold_floor, True))

            # Every page's first open on a running server, beside the bare page's cold start
            # (for scale only: no goal).
            opens = first_opens(app_page, browser, work, args.cold, timeout_ms)
            for name, seconds in opens.items():
                print(f"first open of {name}: {', '.join(f'{s:.2f}s' for s in seconds)}")
                rows.append(row(f"first open of {name} (server up)", seconds, cold_floor, False))
        browser.close()

    print()
    print_table(rows)
    print()
    for key, value in info.items():
        print(f"  {key}: {value}")

    parts: dict[str, float] = {}
    if not args.no_breakdown:
        parts = breakdown()
        print("\nserver-side breakdown (in-process, seconds unless bytes):")
        for key, value in parts.items():
            print(
                f"  {key:<58} {value:>12.3f}" if "bytes" not in key else f"  {key:<58} {value:>12,}"
            )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "rows": rows, "breakdown": parts}, indent=2)
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["verdict"] != "FAIL" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
