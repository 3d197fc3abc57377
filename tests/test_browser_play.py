"""Animations in headless Chromium: ▶ advances the frames with no websocket message (the
browser plays them), ❚❚ stays on its frame, and the frames show the trace's numbers."""

from __future__ import annotations

import pytest

import rnnviz
from tests import test_browser

# The app server, the browser and a fresh page per test, as tests/test_browser.py has them.
chromium_path = test_browser.chromium_path
app_url = test_browser.app_url
browser = test_browser.browser
page = test_browser.page

pytestmark = pytest.mark.browser

LAST_FRAME = "batch 2, step 4"
#: The line of words over the heatmaps: the figure's last trace, as drawn.
TITLE_JS = (
    "() => { const d = document.querySelector('.stPlotlyChart .js-plotly-plot');"
    " return d._fullData[d._fullData.length - 1].text[0]; }"
)
#: The values at the cursor of h (the first trace: its markers), as drawn.
BARS_JS = (
    "() => { const d = document.querySelector('.stPlotlyChart .js-plotly-plot');"
    " return Array.from(d._fullData[0].x); }"
)


def open_animation(page) -> dict:
    """Opens Explore with Animate on; returns a counter of websocket frames both ways."""
    counts = {"messages": 0}

    def watch(ws) -> None:
        def count(_frame) -> None:
            counts["messages"] += 1

        ws.on("framesent", count)
        ws.on("framereceived", count)

    page.on("websocket", watch)
    page.goto("/?play=true")
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot", timeout=120_000)
    page.get_by_text("frames, computed once on the server").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)  # the run's last messages
    return counts


def played_to_the_end(page) -> None:
    """Waits until the animation shows its last frame (a busy machine plays slower)."""
    page.wait_for_function(
        f"() => ({TITLE_JS})().includes({LAST_FRAME!r})", timeout=30_000, polling=100
    )


def test_play_advances_the_frames_with_no_websocket_message(page):
    counts = open_animation(page)
    first = page.evaluate(TITLE_JS)
    before = counts["messages"]
    page.get_by_text("fast (30/s)", exact=True).click()
    played_to_the_end(page)
    assert page.evaluate(TITLE_JS) != first
    assert counts["messages"] == before


def test_pause_stays_on_its_frame(page):
    open_animation(page)
    page.get_by_text("slow (2/s)", exact=True).click()
    page.wait_for_timeout(1200)
    page.get_by_text("❚❚ pause", exact=True).click()
    paused = page.evaluate(TITLE_JS)
    page.wait_for_timeout(1500)
    assert page.evaluate(TITLE_JS) == paused and "step 0<br>" not in paused


def test_the_bars_drawn_at_the_last_frame_are_h_at_the_last_step(page):
    open_animation(page)
    page.get_by_text("fast (30/s)", exact=True).click()
    played_to_the_end(page)
    trace = rnnviz.run(rnnviz.RunConfig())
    drawn = page.evaluate(BARS_JS)
    assert drawn == pytest.approx(trace.h[2, 0, 4].tolist(), rel=1e-6)
