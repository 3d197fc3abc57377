"""Every chart of every page is readable on the page's defaults, at the smallest and at the
largest sizes the controls allow: panels and rows tall enough, colour bars that keep their
length (issue 23; the rules are in tests/readability.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import rnnviz
from rnnviz.views import figures
from tests.readability import problems
from tests.test_app import APP

EXPLORE_VIEWS = ["States over time", "Gates", "State across batches"]
WHY_QUESTIONS = ["reach", "unit", "trajectory", "compare"]  # pattern draws a table


def page_charts(page: str | None, **query) -> dict[str, dict]:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def assert_readable(charts: dict[str, dict]) -> None:
    assert charts, "the page drew no chart"
    found = [p for key, figure in charts.items() for p in problems(figure, key)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("view", EXPLORE_VIEWS)
def test_every_explore_chart_is_readable_on_the_defaults(view):
    assert_readable(page_charts(None, view=view))


@pytest.mark.parametrize("question", WHY_QUESTIONS)
def test_every_why_chart_is_readable_on_the_defaults(question):
    assert_readable(page_charts("app_pages/why.py", question=question))


def test_every_text_chart_is_readable_on_the_defaults():
    assert_readable(page_charts("app_pages/text.py"))


def test_every_stateful_chart_is_readable_on_the_defaults():
    assert_readable(page_charts("app_pages/stateful.py"))


@pytest.mark.parametrize("message", ["own", "zeros", "unit"])
def test_every_encoder_decoder_chart_is_readable(message):
    assert_readable(page_charts("app_pages/seq2seq.py", message=message))


def test_every_train_chart_is_readable_on_the_defaults():
    assert_readable(page_charts("app_pages/train.py"))


# ----- the figure functions at the extremes of the controls ---------------------------------


def as_json(fig) -> dict:
    return json.loads(fig.to_json())


@pytest.mark.parametrize("units", [1, 1024])
def test_state_and_gate_heatmaps_are_readable_from_1_to_1024_units(units):
    trace = rnnviz.run(rnnviz.RunConfig(hidden_size=units, num_batches=1, num_steps=2))
    for name, fig in {
        "states": figures.state_heatmaps(trace),
        "gates": figures.gate_heatmaps(trace),
        "carry": figures.carry_over(trace),
    }.items():
        assert not problems(as_json(fig), name)


@pytest.mark.parametrize("samples", [1, 2, 256])
def test_the_reach_heatmap_is_readable_from_1_to_256_samples(samples):
    reach = np.abs(np.random.default_rng(0).standard_normal((samples, 10))) + 1e-3
    assert not problems(as_json(figures.reach_heatmap(reach, 9)), "reach")


@pytest.mark.parametrize("length", [1, 6000])
def test_the_text_heatmap_is_readable_for_one_character_and_the_longest_text(length):
    text = ("x = 1\n" * 1000)[:length]
    fig = figures.text_heatmap(text, np.zeros(length), None)
    assert not problems(as_json(fig), "text")
