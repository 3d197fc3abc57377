"""The Why and Text pages in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rnnviz.sources.training.run import read_manifest
from tests.test_browser import (
    FIRST_CHART_TIMEOUT_MS,
    assert_no_exception,
    current_query,
    heatmaps,
    wait_idle,
)
from tests.test_browser_train import chromium, new_page, train_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

QUESTIONS = [
    "How far back does it remember?",
    "What does this unit do?",
    "Where does the state go?",
    "Where else does this pattern occur?",
    "What changed?",
]


@pytest.fixture
def page(chromium, train_url):  # noqa: F811
    pg = new_page(chromium, train_url)
    yield pg
    pg.context.close()


def open_page(page, path: str) -> None:
    page.goto(path)
    page.wait_for_selector("[data-testid=stMain] h1", timeout=FIRST_CHART_TIMEOUT_MS)
    wait_idle(page)


def test_every_why_question_draws_a_figure_and_the_url_restores_it(page):
    open_page(page, "/why")
    sidebar = page.get_by_test_id("stSidebar")
    for question in QUESTIONS:
        sidebar.get_by_text(question, exact=True).click()
        expect(page.get_by_role("heading", name=question, level=1)).to_be_visible()
        wait_idle(page)
        if question != "Where else does this pattern occur?":
            page.wait_for_selector(".stPlotlyChart .js-plotly-plot")
        assert_no_exception(page)
    query = current_query(page)
    assert "question=What+changed" in query or "question=What%20changed" in query
    page.reload()
    expect(page.get_by_role("heading", name="What changed?", level=1)).to_be_visible(
        timeout=FIRST_CHART_TIMEOUT_MS
    )
    assert_no_exception(page)


@pytest.mark.skipif(
    not read_manifest().get("text"),
    reason="no shipped char models (run `make models`)",
)
def test_text_page_escapes_pasted_html_ranks_units_hovers_and_generates(page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_page(page, "/text")
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot", timeout=FIRST_CHART_TIMEOUT_MS)
    area = page.get_by_test_id("stTextArea").locator("textarea")
    area.fill("s = '<script>alert(1)</script>'  # (x)\nif (a):\n    b = [1, 2]\n")
    area.press("Control+Enter")
    wait_idle(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]"
        ".some((d) => (d._fullData || []).some((t) => t.type === 'heatmap' && t.text"
        " && t.text[0].join('').includes('&lt;script')))"
    )
    assert dialogs == []
    assert page.locator("[data-testid=stMain] script:text('alert')").count() == 0
    page.get_by_test_id("stSidebar").get_by_text("bracket depth", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("Units that track bracket depth", exact=False)).to_be_visible()
    pick = page.get_by_role("button", name=re.compile(r"^unit \d+ · r = "))
    assert pick.count() == 3
    # Hover a character: the tooltip shows the unit's value and five next-character guesses.
    chart = page.locator(".stPlotlyChart").first
    hover = page.locator(".hoverlayer .hovertext")
    for attempt in range(5):  # a chart redrawn under the pointer drops its tooltip: again
        drag = chart.locator(".nsewdrag").first
        drag.wait_for(state="visible", timeout=30_000)
        box = drag.bounding_box()
        if box is None:  # replaced between the wait and the measure (a redraw)
            page.wait_for_timeout(500)
            continue
        page.mouse.move(box["x"] + 12 + attempt, box["y"] + 10)
        try:
            expect(hover).to_contain_text("next:", timeout=10_000)
            break
        except AssertionError:
            page.mouse.move(0, 0)
    expect(hover).to_contain_text("next:")
    expect(hover).to_contain_text("h = ")
    # The gate-saturation chart is drawn when its expander opens (and not before).
    charts = page.locator(".stPlotlyChart")
    before = charts.count()
    page.get_by_text("how often is this unit's gate saturated", exact=False).click()
    expect(page.get_by_text("Each dot is a unit", exact=False)).to_be_visible(timeout=30_000)
    expect(charts).to_have_count(before + 1)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Generated after", exact=False)).to_be_visible(timeout=60_000)
    assert_no_exception(page)


def test_your_model_traces_an_uploaded_backward_half_and_survives_a_hostile_file(page, tmp_path):
    import keras

    bidi = keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True), name="bidi")
    keras.Sequential([keras.Input((7, 2)), bidi]).save(tmp_path / "mine.keras")
    lambda_file = tmp_path / "evil.keras"
    from tests.test_modelfile import keras_file, layer, sequential

    lambda_file.write_bytes(keras_file(sequential(layer("Lambda", function="x"))))

    open_page(page, "/yourmodel")
    page.get_by_text("Upload your own").click()
    page.locator("input[type=file]").set_input_files(str(tmp_path / "mine.keras"))
    page.get_by_role("combobox", name="recurrent layer to trace").wait_for()
    wait_idle(page)
    page.get_by_role("combobox", name="recurrent layer to trace").click()
    page.get_by_role("option", name="bidi/backward").click()
    expect(page.get_by_text("reads the steps backwards")).to_be_visible()
    wait_idle(page)
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot")
    heatmap = page.evaluate(
        """() => document.querySelector('.stPlotlyChart .js-plotly-plot').data[0]"""
    )
    assert heatmap["x"][0] == "step 0 (input 6)"  # the backward half reads step 6 first
    assert heatmaps(page) == {"h": (5, 7)}  # GRU(5): a row per unit, a column per step
    assert_no_exception(page)

    page.locator("input[type=file]").set_input_files(str(lambda_file))
    expect(page.get_by_text("layer type 'Lambda' is not allowed")).to_be_visible()
    assert_no_exception(page)
    # The page still works: an example model traces after the refusal.
    page.get_by_text("An example model").click()
    wait_idle(page)
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot")
    assert_no_exception(page)


#: Each chart's layout and traces as Chromium drew them, in the shape tests/readability.py reads.
DRAWN_FIGURES_JS = """
() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')].map((div) => {
    const layout = div._fullLayout || {};
    const axes = {};
    for (const key of Object.keys(layout)) {
        if (key.startsWith('yaxis')) axes[key] = {domain: layout[key].domain};
    }
    return {
        layout: {height: layout.height, margin: {t: layout.margin.t, b: layout.margin.b}, ...axes},
        data: (div._fullData || []).filter((t) => t.visible !== false).map((t) => ({
            type: t.type,
            name: t.name,
            yaxis: t.yaxis,
            z: t.type === 'heatmap' ? Array.from(t.z, () => 0) : undefined,
            showscale: t.showscale,
            colorbar: t.colorbar ? {len: t.colorbar.len, lenmode: t.colorbar.lenmode} : undefined,
        })),
    };
})
"""
SIDEBAR_PAGES = ["Explore", "Train", "Stateful", "Encoder → decoder", "Text", "Why", "Your model"]


def test_a_student_clicking_through_every_page_with_the_defaults_sees_readable_charts(page):
    from tests.readability import problems

    page.goto("/")
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot", timeout=FIRST_CHART_TIMEOUT_MS)
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    seen = {}
    for name in SIDEBAR_PAGES:
        sidebar.get_by_role("link", name=name).click()
        wait_idle(page)
        page.wait_for_timeout(300)  # Plotly draws after the run ends
        wait_idle(page)
        assert_no_exception(page)
        drawn = page.evaluate(DRAWN_FIGURES_JS)
        seen[name] = len(drawn)
        found = [p for i, fig in enumerate(drawn) for p in problems(fig, f"{name} chart {i}")]
        assert not found, "\n".join(found)
    drawing = ("Explore", "Train", "Stateful", "Encoder → decoder", "Text", "Why")
    assert all(seen[name] for name in drawing), seen


def test_the_stateful_page_draws_the_linked_layout_and_the_runs_histories_and_keeps_its_link(
    page,
):
    import numpy as np

    from rnnviz.sources.stateful import layout as L
    from rnnviz.sources.stateful.training import load_stateful

    open_page(page, "/stateful?layout=in_order&stream_len=120&batch_size=3&window=5")
    grid = page.wait_for_function(
        """() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]
            .map((d) => d._fullData || []).find((f) => f.length && f[0].name === 'windows')
            ?.map((t) => ({z: t.z ? Array.from(t.z, (r) => Array.from(r)) : null}))""",
        timeout=FIRST_CHART_TIMEOUT_MS,
    ).json_value()
    starts = np.asarray([list(row) for row in grid[0]["z"]], float)
    np.testing.assert_array_equal(starts, L.layout(120, 3, 5, "in_order").index[:, :, 0].T)
    curves = page.wait_for_function(
        """() => {
            const found = [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]
                .flatMap((d) => d._fullData || [])
                .filter((t) => t.name === 'continuation validation').map((t) => Array.from(t.y));
            return found.length ? found : null;
        }""",
        timeout=FIRST_CHART_TIMEOUT_MS,
    ).json_value()
    run = load_stateful("continuation")
    np.testing.assert_allclose(curves[0], run.history["val_loss"], rtol=1e-6)
    # a control change is written back to the link, and the link reopens it
    page.get_by_test_id("stSidebar").get_by_text("stateless (every window from zeros)").click()
    wait_idle(page)
    from urllib.parse import unquote_plus

    assert "kind=stateless" in unquote_plus(current_query(page))
    query = current_query(page)
    page.reload()
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot", timeout=FIRST_CHART_TIMEOUT_MS)
    wait_idle(page)
    (
        expect(page.get_by_text("no state is carried", exact=False).first).to_be_visible(
            timeout=FIRST_CHART_TIMEOUT_MS
        ),
        query,
    )
    assert_no_exception(page)


def test_the_encoder_decoder_page_hands_over_the_state_answers_as_decode_and_keeps_its_link(
    page,
):
    import numpy as np

    from rnnviz.sources.seq2seq import model as S

    open_page(page, "/seq2seq?q=999%2B999")
    expect(page.get_by_text("largest difference 0 over 2 × 128", exact=False)).to_be_visible(
        timeout=FIRST_CHART_TIMEOUT_MS
    )
    model = S.load_pretrained("lstm")
    dec = S.decode(model, "999+999")
    expect(page.get_by_text(f"999+999 = {dec.answer}", exact=False).first).to_be_visible()
    handoff = page.wait_for_function(
        """() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]
            .map((d) => d._fullData || []).find((f) => f.length && f[0].type === 'heatmap'
                && Array.from(f[0].x).includes('handed over'))
            ?.map((t) => ({z: Array.from(t.z, (r) => Array.from(r)), x: Array.from(t.x)}))""",
        timeout=FIRST_CHART_TIMEOUT_MS,
    ).json_value()[0]
    z = np.asarray(handoff["z"], np.float32)
    at = handoff["x"].index("handed over")
    # the server runs with oneDNN off (app.py), this process with it on: float32 precision
    tol = {"rtol": 1e-5, "atol": 2e-6}
    np.testing.assert_allclose(z[:, at], S.encode(model, "999+999").state[0], **tol)
    np.testing.assert_allclose(z[:, at + 1 :], dec.trace.h[0, 0].T, **tol)
    # replacing the message with zeros changes the answer, as decode says it does
    zero = S.decode(model, "999+999", state=[np.zeros(128, np.float32)] * 2)
    page.get_by_text("zeros", exact=True).click()
    wait_idle(page)
    expect(
        page.get_by_text(f"the decoder answers {zero.answer} instead of", exact=False)
    ).to_be_visible()
    from urllib.parse import unquote_plus

    assert "message=zeros" in unquote_plus(current_query(page))
    page.reload()
    page.wait_for_selector(".stPlotlyChart .js-plotly-plot", timeout=FIRST_CHART_TIMEOUT_MS)
    wait_idle(page)
    expect(
        page.get_by_text(f"the decoder answers {zero.answer} instead of", exact=False)
    ).to_be_visible(timeout=FIRST_CHART_TIMEOUT_MS)
    assert_no_exception(page)
