"""The Why page with AppTest: every question draws its figure from the analysis functions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import analysis
from rnnviz.sources.training.run import load_pretrained
from tests.test_app import APP, values

WHY = "app_pages/why.py"
QUESTIONS = {
    "reach": "How far back does it remember?",
    "unit": "What does this unit do?",
    "trajectory": "Where does the state go?",
    "pattern": "Where else does this pattern occur?",
    "compare": "What changed?",
}
TASK = "A trained task"


def open_why(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.switch_page(WHY).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


@pytest.mark.parametrize(
    ("question", "figure"),
    [("reach", "fig_reach"), ("unit", "fig_intervene"), ("trajectory", "fig_trajectory"),
     ("compare", "fig_corr")],
)  # fmt: skip
def test_each_question_draws_its_figure_on_the_default_source(question, figure):
    at = open_why(question=QUESTIONS[question])
    assert at.title[0].value == QUESTIONS[question]
    assert figure in charts(at)


def test_the_pattern_question_lists_what_match_finds_for_the_preselected_units():
    at = open_why(question=QUESTIONS["pattern"], source=TASK, why_start=0, why_end=2)
    trace = load_pretrained("remember", "lstm").trace(-1)
    on = (trace.h[0, 0, 0:3] > 0.3).all(axis=0)
    units = np.flatnonzero(on)[:8]
    assert units.size  # the trained LSTM has units on from the first steps
    expected = analysis.match(trace, units, 0, 2, 0.3)
    shown = at.dataframe[0].value
    assert list(shown["steps"]) == [f"{m.start}–{m.end}" for m in expected]
    assert list(shown["pattern units on"]) == [m.hits for m in expected]


def test_reach_on_a_trained_task_shows_the_lstm_remembering_and_the_simple_rnn_forgetting():
    at = open_why(question=QUESTIONS["reach"], source=TASK)
    lines = {t["name"]: values(t["y"]) for t in charts(at)["fig_reach_lines"]["data"]}
    assert lines["LSTM"][0] > 1e4 * lines["SimpleRNN"][0]


def test_reach_heatmap_is_the_log_of_connectivity_of_the_trace():
    at = open_why(question=QUESTIONS["reach"], source=TASK, target=20)
    heat = charts(at)["fig_reach"]["data"][0]
    run = load_pretrained("remember", "lstm")
    expected = analysis.connectivity(run.trace(-1), 20)
    np.testing.assert_allclose(values(heat["customdata"]), expected, rtol=1e-5)
    np.testing.assert_allclose(values(heat["z"])[:, :21], np.log10(expected[:, :21]), rtol=1e-4)


def test_a_layer_too_big_for_memory_reach_gets_a_message_naming_the_limit(monkeypatch):
    monkeypatch.setattr(analysis, "MAX_REACH_VALUES", 10)
    at = open_why(question=QUESTIONS["reach"])
    assert "fig_reach" not in charts(at)
    assert "batch_size=" in at.error[0].value and "units² × batch_size ≤ 10" in at.error[0].value


def test_the_intervention_table_shows_the_task_output_before_and_after():
    at = open_why(question=QUESTIONS["unit"], source=TASK, why_step=2, why_value=-4.0)
    table = at.table[0].value
    assert list(table.iloc[:, 0]) == ["before", "after"]
    assert table.shape[1] == 5  # the label column and four symbol probabilities


def test_the_explore_source_analyses_the_configuration_last_shown_on_explore():
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.selectbox(key="cell").set_value("gru").run()
    at.switch_page(WHY).run()
    assert not at.exception, at.exception
    assert "GRU(8)" in at.caption[0].value
    heat = charts(at)["fig_reach"]["data"][0]
    assert values(heat["customdata"]).shape == (2, 5)  # Explore's batch_size x num_steps


def test_text_matches_are_shown_in_context_with_the_html_escaped():
    at = open_why(question=QUESTIONS["pattern"], source="The char model", why_start=40, why_end=44)
    if not at.dataframe:
        pytest.skip("no unit is on throughout the default selection")
    shown = at.get("html")[0].proto.body
    assert shown.count("<mark") == len(at.dataframe[0].value) + 1
    assert "<script" not in shown


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("reach", "fig_reach"),
        ("unit", "fig_intervene"),
        ("trajectory", "fig_trajectory"),
        ("compare", "fig_corr"),
    ],
)
def test_the_layer_open_on_the_your_model_page_is_a_source_for_every_question(question, figure):
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("app_pages/yourmodel.py").run()
    assert not at.exception, at.exception
    at.session_state["source"] = "model"
    at.session_state["question"] = question
    at.switch_page(WHY).run()
    assert not at.exception, at.exception
    assert "your model's layer bidirectional/forward" in at.caption[0].value
    assert figure in charts(at)


def test_memory_reach_of_your_models_layer_is_the_analysis_of_its_trace():
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("app_pages/yourmodel.py").run()
    at.session_state["source"] = "model"
    at.session_state["question"] = "reach"
    at.switch_page(WHY).run()
    from rnnviz.serving.memory import shared_cache

    trace = shared_cache("model_traces").get(at.session_state["your_model_trace"]["key"])
    target = trace.config.num_steps - 1
    shown = values(charts(at)["fig_reach"]["data"][0]["customdata"])  # the unlogged reach
    np.testing.assert_allclose(shown, analysis.connectivity(trace, target), rtol=1e-5)
    assert (shown[0, 10:] == 0).all()  # sample 0's padding: nothing depends on it


def test_without_a_model_opened_the_your_model_source_is_not_offered():
    at = open_why()
    source = next(s for s in at.selectbox if s.key == "source")
    assert "model" not in source.options


def test_overwriting_a_unit_of_your_models_layer_shows_how_the_models_output_changes():
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("app_pages/yourmodel.py").run()
    at.session_state["source"] = "model"
    at.session_state["question"] = "unit"
    at.switch_page(WHY).run()
    assert not at.exception, at.exception
    assert any("What your model outputs for sample 0" in m.value for m in at.markdown)
    table = at.table[0].value
    assert list(table.columns) == ["output entry", "before", "after", "change"]
    assert any(float(c) != 0.0 for c in table["change"])
