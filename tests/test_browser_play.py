"""Animations in headless Chromium: ▶ advances the frames with no websocket message (the
browser plays them), ❚❚ stays on its frame, and the frames show the trace's numbers."""

from __future__ import annotations

import numpy as np
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


def test_the_step_buttons_move_one_frame_on_and_back(page):
    open_animation(page)
    page.get_by_text("step ▶", exact=True).click()
    page.wait_for_function(f"() => ({CURRENT_JS})() === '1'", timeout=5000)
    page.get_by_text("step ▶", exact=True).click()
    page.wait_for_function(f"() => ({CURRENT_JS})() === '2'", timeout=5000)
    page.get_by_text("◀ step", exact=True).click()
    page.wait_for_function(f"() => ({CURRENT_JS})() === '1'", timeout=5000)
    trace = rnnviz.run(rnnviz.RunConfig())
    assert page.evaluate(BARS_JS) == pytest.approx(trace.h[0, 0, 1].tolist(), rel=1e-6)


# ----- the paused frame in the link ------------------------------------------------------

#: The frame the animation shows (null until the chart is drawn).
CURRENT_JS = (
    "() => { const d = document.querySelector('.stPlotlyChart .js-plotly-plot');"
    " return d && d._fullLayout ? d._fullLayout._currentFrame : null; }"
)


def test_pausing_writes_the_frame_into_the_url_and_the_link_reopens_on_it(page):
    open_animation(page)
    page.get_by_text("slow (2/s)", exact=True).click()
    page.wait_for_timeout(1700)
    page.get_by_text("❚❚ pause", exact=True).click()
    paused = page.evaluate(CURRENT_JS)
    page.wait_for_function(f"() => location.search.includes('frame={paused}')", timeout=5000)
    link = page.url
    page.goto(link)
    page.get_by_text("frames, computed once on the server").wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({CURRENT_JS})() === {paused!r}", timeout=10_000)
    trace = rnnviz.run(rnnviz.RunConfig())
    batch, step = divmod(int(paused), trace.config.num_steps)
    assert page.evaluate(BARS_JS) == pytest.approx(trace.h[batch, 0, step].tolist(), rel=1e-6)


def test_play_from_a_links_frame_goes_on_from_that_frame(page):
    page.goto("/?play=true&frame=9")
    page.get_by_text("frames, computed once on the server").wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({CURRENT_JS})() === '9'", timeout=10_000)
    page.evaluate(
        "() => { window.__seen = []; document.querySelector('.stPlotlyChart .js-plotly-plot')"
        ".on('plotly_animatingframe', (e) => window.__seen.push(e.name)); }"
    )
    page.get_by_text("fast (30/s)", exact=True).click()
    page.wait_for_function("() => window.__seen.length >= 2", timeout=10_000)
    assert page.evaluate("() => window.__seen")[:2] == ["10", "11"]


# ----- a display-only selector switched by the browser -----------------------------------

#: The charts on show (the page script keeps the sample rows it drew ahead out of sight,
#: marked data-rnnviz-hidden), in page order.
SHOWN_JS = test_browser.SHOWN_CHARTS_JS
SHOWN_TITLES_JS = f"() => {SHOWN_JS}.map((gd) => gd._fullLayout.title.text)"
#: The h heatmap the States chart shows: the visible trace named h, as drawn.
SHOWN_H_JS = (
    f"() => {{ const gd = {SHOWN_JS}[0];"
    " const d = gd._fullData.find((t) => t.name === 'h' && t.visible === true);"
    " return d.z.map((row) => Array.from(row)); }"
)


def reach_selectors(page) -> None:
    """The pointer on the sample row selector, as before a choice: the page script draws the
    other rows' charts then (in idle time); waits until they are drawn."""
    page.locator("select[data-param=sample]").hover()
    page.wait_for_function("() => window.__rnnviz.ready()", timeout=30_000)


def test_choosing_a_sample_row_redraws_both_charts_with_no_websocket_message(page):
    counts = {"messages": 0}
    page.on("websocket", lambda ws: (
        ws.on("framesent", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
        ws.on("framereceived", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
    ))  # fmt: skip
    test_browser.open_app(page)
    page.wait_for_timeout(1000)
    before = counts["messages"]
    page.locator("select[data-param=sample]").select_option("1")
    page.wait_for_function("() => location.search.includes('sample=1')", timeout=5000)
    # Both charts are redrawn by then (the URL is written after they are).
    titles = page.evaluate(SHOWN_TITLES_JS)
    assert "States of sample 1" in titles[0] and "units of sample 1" in titles[1]
    trace = rnnviz.run(rnnviz.RunConfig())
    shown = np.array(page.evaluate(SHOWN_H_JS))
    np.testing.assert_allclose(shown, np.concatenate(list(trace.h[:, 1]), axis=0).T, rtol=1e-6)
    page.wait_for_timeout(500)
    assert counts["messages"] == before


def test_the_sample_row_chosen_in_the_browser_stays_after_a_reload_and_in_another_view(page):
    test_browser.open_app(page)
    page.locator("select[data-param=sample]").select_option("1")
    page.wait_for_function("() => location.search.includes('sample=1')", timeout=5000)
    page.goto(page.url)
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot", timeout=120_000)
    page.wait_for_function(f"() => ({SHOWN_TITLES_JS})()[0].includes('States of sample 1')")
    assert page.locator("select[data-param=sample]").input_value() == "1"
    page.get_by_text("State across batches").click()  # a view whose selector is the server's
    page.wait_for_function(
        f"() => {SHOWN_JS}.some((gd) => gd._fullLayout.title.text.includes('sample 1'))",
        timeout=60_000,
    )
    assert "sample=1" in page.url


def test_a_sample_row_drawn_ahead_is_shown_without_plotly_drawing_anything(page):
    test_browser.open_app(page)
    reach_selectors(page)
    page.evaluate(
        "() => { window.__drawn = 0; document.querySelectorAll('.stPlotlyChart .js-plotly-plot')"
        ".forEach((gd) => gd.on('plotly_afterplot', () => { window.__drawn += 1; })); }"
    )
    page.locator("select[data-param=sample]").select_option("1")
    page.wait_for_function("() => location.search.includes('sample=1')", timeout=5000)
    titles = page.evaluate(SHOWN_TITLES_JS)
    assert "States of sample 1" in titles[0] and "units of sample 1" in titles[1]
    assert page.evaluate("() => window.__drawn") == 0


def test_a_window_resize_keeps_the_sample_row_chosen_in_the_browser(page):
    test_browser.open_app(page)
    reach_selectors(page)
    page.locator("select[data-param=sample]").select_option("1")
    page.wait_for_function("() => location.search.includes('sample=1')", timeout=5000)
    wide = page.evaluate(f"() => {SHOWN_JS}[0]._fullLayout.width")
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_function(f"() => {SHOWN_JS}[0]._fullLayout.width < {wide}", timeout=10_000)
    page.wait_for_timeout(500)
    titles = page.evaluate(SHOWN_TITLES_JS)
    assert "States of sample 1" in titles[0] and "units of sample 1" in titles[1]
    trace = rnnviz.run(rnnviz.RunConfig())
    shown = np.array(page.evaluate(SHOWN_H_JS))
    np.testing.assert_allclose(shown, np.concatenate(list(trace.h[:, 1]), axis=0).T, rtol=1e-6)


def test_choosing_a_unit_in_the_carry_view_shows_its_h_with_no_websocket_message(page):
    counts = {"messages": 0}
    page.on("websocket", lambda ws: (
        ws.on("framesent", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
        ws.on("framereceived", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
    ))  # fmt: skip
    test_browser.open_app(page, "view=State+across+batches")
    reach_selectors(page)
    page.wait_for_timeout(1000)
    before = counts["messages"]
    page.locator("select[data-param=unit]").select_option("3")
    page.wait_for_function("() => location.search.includes('unit=3')", timeout=5000)
    versus = page.evaluate(
        f"() => {SHOWN_JS}.filter((gd) => gd._fullLayout.title.text.includes('stateful vs not'))"
        ".map((gd) => [gd._fullLayout.title.text, gd._fullData.map((t) => Array.from(t.y))])"
    )
    assert len(versus) == 1 and "h[3] of sample 0" in versus[0][0]
    on = rnnviz.run(rnnviz.RunConfig(stateful=True))
    np.testing.assert_allclose(versus[0][1][0], np.concatenate(list(on.h[:, 0, :, 3])),
                               rtol=1e-6)  # fmt: skip
    page.wait_for_timeout(500)
    assert counts["messages"] == before


def test_choosing_a_timestep_in_the_step_inspector_shows_its_equations_with_no_message(page):
    counts = {"messages": 0}
    page.on("websocket", lambda ws: (
        ws.on("framesent", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
        ws.on("framereceived", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
    ))  # fmt: skip
    test_browser.open_app(page, "view=Step+inspector&batch=1&sample=1&unit=2",
                          wait_for=".rnnviz-equation")  # fmt: skip
    page.wait_for_timeout(1000)
    before = counts["messages"]
    page.locator("select[data-param=t]").select_option("3")
    page.wait_for_function("() => location.search.includes('t=3')", timeout=5000)
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.rnnviz-equation')].map((e) => e.textContent)"
    )
    trace = rnnviz.run(rnnviz.RunConfig())
    h = f"{trace.h[1, 1, 3, 2]:.6f}".replace("-", "\u2212")  # MathML's minus sign
    assert len(shown) == 3 and shown[2].startswith("ht=ot·tanh(ct)") and h in shown[2]
    page.wait_for_timeout(500)
    assert counts["messages"] == before


def test_choosing_a_batch_in_what_keras_returns_shows_its_pane_with_no_message(page):
    counts = {"messages": 0}
    page.on("websocket", lambda ws: (
        ws.on("framesent", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
        ws.on("framereceived", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
    ))  # fmt: skip
    test_browser.open_app(page, "view=What+Keras+returns", wait_for="select[data-param=batch]")
    page.wait_for_timeout(1000)
    before = counts["messages"]
    page.locator("select[data-param=batch]").select_option("2")
    page.wait_for_function("() => location.search.includes('batch=2')", timeout=5000)
    shown = page.evaluate(
        "() => [...document.querySelectorAll('[class*=st-key-rnnviz_returns_]')]"
        ".filter((e) => e.offsetParent !== null).map((e) => e.innerText)"
    )
    assert len(shown) == 1 and "for batch 2, in this order" in shown[0]
    page.wait_for_timeout(500)
    assert counts["messages"] == before


# ----- every page's animation plays in the browser ---------------------------------------

PAGES = {
    "why": ("/why?question=trajectory&why_play=true", "why_frame"),
    "text": ("/text?text_play=true", "text_frame"),
    "stateful": ("/stateful?st_play=true", "st_frame"),
    "train": ("/train?train_play=true", "train_frame"),
    "train steps": ("/train?train_steps_play=true", "train_step"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_pages_animation_plays_with_no_message_and_its_stop_goes_into_the_url(page, name):
    path, url_key = PAGES[name]
    counts = {"messages": 0}
    page.on("websocket", lambda ws: (
        ws.on("framesent", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
        ws.on("framereceived", lambda _: counts.__setitem__("messages", counts["messages"] + 1)),
    ))  # fmt: skip
    page.goto(path)
    page.get_by_text("frames, computed once on the server").wait_for(timeout=180_000)
    page.wait_for_timeout(2000)
    chart = "Array.from(document.querySelectorAll('.stPlotlyChart .js-plotly-plot'))" \
            ".find((d) => d.layout.meta && d.layout.meta.rnnviz_animation)"  # fmt: skip
    page.wait_for_function(f"() => !!({chart})", timeout=60_000)
    test_browser.wait_idle(page)
    page.wait_for_timeout(1000)  # the run's last messages
    page.evaluate(f"() => {{ window.__seen = []; ({chart})"
                  ".on('plotly_animatingframe', (e) => window.__seen.push(e.name)); }")  # fmt: skip
    before = counts["messages"]
    page.get_by_text("fast (30/s)", exact=True).click()
    page.wait_for_function("() => window.__seen.length >= 5", timeout=20_000)
    page.get_by_text("❚❚ pause", exact=True).click()
    page.wait_for_function(f"() => location.search.includes('{url_key}=')", timeout=5000)
    assert counts["messages"] == before
    assert page.evaluate("() => window.__seen")[:3] == ["0", "1", "2"]
