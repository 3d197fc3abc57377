"""The Text page with AppTest, on the shipped LSTM char model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import analysis
from rnnviz.sources.text import charmodel as T
from rnnviz.sources.text.concepts import CONCEPTS
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
    z = values(heat["z"])
    shown = z[~np.isnan(z)]
    np.testing.assert_allclose(np.sort(shown), np.sort(T.text_states(trace, len(snippet))[:, best]),
                               rtol=1e-6)  # fmt: skip
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


def test_choosing_a_concept_ranks_units_for_it():
    at = open_text(concept="bracket depth")
    labels = [b.label for b in at.button if b.key and b.key.startswith("pick_")]
    assert len(labels) == 3 and all(label.startswith("unit ") for label in labels)


def test_the_lstm_cell_state_can_be_chosen_and_colours_by_c():
    at = open_text(text_state="cell state c", concept="indentation")
    snippet = T.default_snippet()
    trace = T.trace_text(T.load_char_model("lstm"), snippet)
    best, _ = analysis.rank_units(trace, CONCEPTS["indent"](snippet), state="c")[0]
    assert at.number_input(key="text_unit").value == best
    z = values(charts(at)["fig_text"]["data"][0]["z"])
    np.testing.assert_allclose(
        np.sort(z[~np.isnan(z)]),
        np.sort(T.text_states(trace, len(snippet), "c")[:, best]),
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
