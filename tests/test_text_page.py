"""The Text page with AppTest, on the shipped LSTM char model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import analysis
from rnnviz.sources.text import charmodel as T
from rnnviz.sources.text.concepts import CONCEPTS
from rnnviz.views import figures
from tests.test_app import APP, values

PAGE = "app_pages/text.py"

pytestmark = pytest.mark.skipif(
    not T.read_manifest().get("text"), reason="no shipped char models (run `make models`)"
)


def open_text(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def per_character(heat: dict, text: str) -> np.ndarray:
    """The value the text heatmap gives each character, in the text's order."""
    rows, cols = figures.text_grid_layout(text)
    return values(heat["z"])[rows, cols]


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return open_text()


def test_the_held_out_snippet_is_coloured_by_the_best_in_string_unit(default_page):
    snippet = T.default_snippet()
    cm = T.load_char_model("lstm")
    trace = T.trace_text(cm, snippet)
    best, r = analysis.rank_units(trace, CONCEPTS["in_string"](snippet))[0]
    assert default_page.number_input(key="text_unit").value == best
    heat = charts(default_page)["fig_text"]["data"][0]
    np.testing.assert_allclose(
        per_character(heat, snippet), T.text_states(trace, len(snippet))[:, best], rtol=1e-6
    )
    assert heat["zmid"] == 0.0
    buttons = [b.label for b in default_page.button if b.key and b.key.startswith("pick_")]
    assert buttons[0] == f"unit {best} · r = {r:+.2f}"


def test_hover_shows_the_units_value_gates_and_the_top_5_next_characters(default_page):
    heat = charts(default_page)["fig_text"]["data"][0]
    unit = default_page.number_input(key="text_unit").value
    template = heat["hovertemplate"]
    assert f"unit {unit}: h = %{{customdata[1]:+.4f}}" in template
    assert "c = %{customdata[2]" in template and "forget %{customdata[4]:.2f}" in template
    index, h, c, *gates, predictions = heat["customdata"][0][0]
    trace = T.trace_text(T.load_char_model("lstm"), T.default_snippet())
    assert index == 0
    assert h == pytest.approx(trace.h[0, 0, 0, unit], abs=5e-5)
    assert c == pytest.approx(trace.c[0, 0, 0, unit], abs=5e-5)
    assert gates[1] == pytest.approx(trace.gates["forget"][0, 0, 0, unit], abs=5e-3)
    assert predictions.startswith("<br>next: ") and predictions.count("%") == 5


def test_pasted_html_is_escaped_before_it_reaches_the_page():
    at = open_text(text="x = '<script>alert(1)</script>'\n")
    heat = charts(at)["fig_text"]["data"][0]
    cells = [c for row in heat["text"] for c in row]
    assert "<" not in "".join(cells)
    assert "&lt;" in cells
    assert all("<script" not in c for row in heat["customdata"] for c in row)


def test_choosing_a_concept_offers_its_three_best_units_and_colours_by_the_first():
    at = open_text(concept="bracket depth")
    snippet = T.default_snippet()
    trace = T.trace_text(T.load_char_model("lstm"), snippet)
    ranked = analysis.rank_units(trace, CONCEPTS["bracket_depth"](snippet))[:3]
    labels = [b.label for b in at.button if b.key and b.key.startswith("pick_")]
    assert labels == [f"unit {u} · r = {r:+.2f}" for u, r in ranked]
    assert at.number_input(key="text_unit").value == ranked[0][0]


def test_the_lstm_cell_state_can_be_chosen_and_colours_by_c():
    at = open_text(text_state="cell state c", concept="indentation")
    snippet = T.default_snippet()
    trace = T.trace_text(T.load_char_model("lstm"), snippet)
    best, _ = analysis.rank_units(trace, CONCEPTS["indent"](snippet), state="c")[0]
    assert at.number_input(key="text_unit").value == best
    np.testing.assert_allclose(
        per_character(charts(at)["fig_text"]["data"][0], snippet),
        T.text_states(trace, len(snippet), "c")[:, best],
        rtol=1e-6,
    )


def test_the_gate_saturation_chart_is_drawn_only_once_its_expander_is_opened():
    at = open_text(concept="units by number", text_unit=7)
    assert "fig_saturation" not in charts(at)
    at.session_state["saturation"] = True
    at.run()
    data = charts(at)["fig_saturation"]["data"]
    stars = [t for t in data if t["name"] == "unit 7"]
    assert len(stars) == len(data) // 2 >= 2  # every gate's panel stars unit 7
    snippet = T.default_snippet()
    trace = T.trace_text(T.load_char_model("lstm"), snippet)
    expected = T.gate_saturation(trace, len(snippet))
    everyone = [t for t in data if t["name"] == "all units"]
    for panel, (closed, opened) in zip(everyone, expected.values(), strict=True):
        np.testing.assert_allclose(values(panel["x"]), closed)
        np.testing.assert_allclose(values(panel["y"]), opened)
    assert [values(s["x"])[0] for s in stars] == [expected[g][0][7] for g in expected]


def test_the_window_loss_chart_is_the_measured_loss_with_and_without_carried_state():
    from rnnviz.serving.memory import shared_cache

    at = open_text()
    at.toggle(key="measure_stateful").set_value(True).run()
    fig = charts(at)["fig_window_loss"]

    def not_measured():
        raise AssertionError("the page did not measure the LSTM's window loss")

    # What the page measured (T.stateful_vs_stateless on 5,000 held-out characters; that
    # function is checked against next_char_probs window by window in test_views).
    curves = shared_cache("window curves").get_or_create("lstm", not_measured)
    carried, fresh = fig["data"]
    np.testing.assert_allclose(values(carried["y"]), curves["stateful"], rtol=1e-6)
    np.testing.assert_allclose(values(fresh["y"]), curves["stateless"], rtol=1e-6)
