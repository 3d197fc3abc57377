"""Display-only selectors switched by the browser, and an animation's frame in the link
(rnnviz.views.browser, app_pages/inbrowser.py): what the server sends for them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import rnnviz
from rnnviz.views import animation, browser, figures
from tests.test_app import (
    APP,
    all_charts,
    change,
    charts,
    heatmaps,
    pane,
    step_block,
    step_lines,
    values,
)


def open_with(query: dict[str, str], view: str = "states", **controls) -> AppTest:
    """The Explore page opened from a link with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return change(at, view=view, **controls) if view != "states" or controls else at


def owned(fig: dict, row: int) -> list[dict]:
    """The traces of one sample row in a chart that carries every row."""
    owner = fig["layout"]["meta"]["rnnviz_rows"]["owner"]
    return [d for d, o in zip(fig["data"], owner, strict=True) if o == str(row)]


def unrolled(state: np.ndarray, sample: int) -> np.ndarray:
    """(units, batches * steps): one sample row of a state, batches end to end."""
    return np.concatenate(list(state[:, sample]), axis=0).T


@pytest.fixture(scope="module")
def page():
    return open_with({})


def test_the_states_chart_carries_every_sample_rows_h_and_c(page):
    fig = all_charts(page)["fig_states"]
    trace = rnnviz.run(rnnviz.RunConfig())
    for row in range(trace.config.batch_size):
        h, c = heatmaps({"data": owned(fig, row)})
        np.testing.assert_array_equal(values(h["z"]), unrolled(trace.h, row))
        np.testing.assert_array_equal(values(c["z"]), unrolled(trace.c, row))


def test_only_sample_row_0_is_shown_before_any_choice(page):
    fig = all_charts(page)["fig_states"]
    assert [d.get("visible") for d in owned(fig, 0)] == [True, True]
    assert [d.get("visible") for d in owned(fig, 1)] == [False, False]
    assert fig["layout"]["title"]["text"] == "States of sample 0"


def test_the_unit_lines_carry_every_sample_row_too(page):
    fig = all_charts(page)["fig_lines"]
    trace = rnnviz.run(rnnviz.RunConfig())
    first_h = next(d for d in owned(fig, 1) if d["name"] == "h[0]")
    np.testing.assert_array_equal(values(first_h["y"]), unrolled(trace.h, 1)[0])
    titles = fig["layout"]["meta"]["rnnviz_rows"]["titles"]
    assert titles["1"] == "Chosen units of sample 1 over time"


def test_the_states_view_has_no_server_side_sample_selector_when_rows_fit(page):
    assert "sample" not in [s.key for s in page.selectbox]


def test_a_links_sample_row_is_the_one_shown_first():
    at = open_with({"sample": "1"})
    fig = charts(at)["fig_states"]
    trace = rnnviz.run(rnnviz.RunConfig())
    np.testing.assert_array_equal(values(heatmaps(fig)[0]["z"]), unrolled(trace.h, 1))
    assert fig["layout"]["title"]["text"] == "States of sample 1"
    assert at.session_state["sample"] == 1


def test_a_links_sample_row_beyond_the_batch_shows_row_0_and_says_so():
    at = open_with({"sample": "5"})
    assert charts(at)["fig_states"]["layout"]["title"]["text"] == "States of sample 0"
    assert any("sample=5 is beyond 1: used 0" in t.value for t in at.text)


def test_the_gates_view_switches_sample_rows_in_the_browser_too():
    at = open_with({"sample": "1"}, view="gates")
    fig = all_charts(at)["fig_gates"]
    trace = rnnviz.run(rnnviz.RunConfig())
    forget = next(d for d in owned(fig, 1) if d["name"] == "forget")
    np.testing.assert_array_equal(values(forget["z"]), unrolled(trace.gates["forget"], 1))
    assert all(d.get("visible") for d in owned(fig, 1))


def test_rows_that_do_not_fit_keep_the_server_side_selector(monkeypatch):
    monkeypatch.setattr(browser, "MAX_BYTES", 10_000)
    at = open_with({"sample": "1"})
    assert "sample" in [s.key for s in at.selectbox]
    assert at.selectbox(key="sample").value == 1
    fig = all_charts(at)["fig_states"]
    assert "rnnviz_rows" not in (fig["layout"].get("meta") or {})
    assert fig["layout"]["title"]["text"] == "States of sample 1"


def test_choices_figure_returns_none_past_the_byte_bound():
    trace = rnnviz.run(rnnviz.RunConfig(batch_size=32, hidden_size=64, num_steps=100))
    build = lambda s: figures.state_heatmaps(trace, s)  # noqa: E731
    assert len(build(0).to_json()) * 32 > browser.MAX_BYTES
    one_row = lambda c: build(c["sample"])  # noqa: E731
    assert browser.choices_figure(one_row, {"sample": 32}, {"sample": 0}) is None
    assert browser.choices_figure(one_row, {"sample": 1}, {"sample": 0}) is not None


def test_choices_figure_returns_none_past_the_number_of_choices():
    trace = rnnviz.run(rnnviz.RunConfig())
    build = lambda c: figures.carry_over(trace, 0)  # noqa: E731  (tiny: only the count is over)
    counts = {"sample": 8, "unit": browser.MAX_CHOICES // 8 + 1}
    assert browser.choices_figure(build, counts, {"sample": 0, "unit": 0}) is None


def test_choices_whose_axes_differ_are_refused():
    """A chart drawn ahead in the browser takes the first choice's layout: a figure whose
    axes change with the choice would show the wrong axis titles."""
    trace = rnnviz.run(rnnviz.RunConfig())

    def build(choice):
        fig = figures.carry_over(trace, 0)
        return fig.update_layout(yaxis_title=f"unit {choice['unit']}")

    with pytest.raises(ValueError, match="another layout"):
        browser.choices_figure(build, {"unit": 2}, {"unit": 0})


# ----- the State across batches view: sample row and unit --------------------------------


@pytest.fixture(scope="module")
def carry():
    return open_with({}, view="carry")


def owned_by(fig: dict, key: str) -> list[dict]:
    """The traces of one choice ("sample,unit") in a chart that carries every choice."""
    owner = fig["layout"]["meta"]["rnnviz_rows"]["owner"]
    return [d for d, o in zip(fig["data"], owner, strict=True) if o == key]


def test_the_stateful_vs_stateless_chart_carries_every_sample_row_and_unit(carry):
    fig = all_charts(carry)["fig_vs"]
    on = rnnviz.run(rnnviz.RunConfig(stateful=True))
    off = rnnviz.run(rnnviz.RunConfig(stateful=False))
    assert fig["layout"]["meta"]["rnnviz_rows"]["params"] == ["sample", "unit"]
    stateful, stateless = owned_by(fig, "1,3")
    np.testing.assert_array_equal(values(stateful["y"]), unrolled(on.h, 1)[3])
    np.testing.assert_array_equal(values(stateless["y"]), unrolled(off.h, 1)[3])
    titles = fig["layout"]["meta"]["rnnviz_rows"]["titles"]
    assert titles["1,3"] == "Same input, stateful vs not: h[3] of sample 1"


def test_the_carry_chart_carries_every_sample_row(carry):
    fig = all_charts(carry)["fig_carry"]
    trace = rnnviz.run(rnnviz.RunConfig())
    (heat,) = owned_by(fig, "1")
    starts = values(heat["z"])[:, 0::2]
    np.testing.assert_array_equal(starts, np.stack([trace.initial_states[k][0][1]
                                                    for k in range(3)], axis=1))  # fmt: skip


def test_the_carry_view_has_no_server_side_sample_or_unit_selector_when_they_fit(carry):
    keys = [s.key for s in carry.selectbox]
    assert "sample" not in keys and "unit" not in keys


def test_a_links_unit_is_the_one_the_carry_view_shows_first():
    at = open_with({"unit": "5", "sample": "1"}, view="carry")
    fig = charts(at)["fig_vs"]
    assert fig["layout"]["title"]["text"] == "Same input, stateful vs not: h[5] of sample 1"
    assert len(fig["data"]) == 2


def test_an_animation_link_opens_on_its_frame():
    at = open_with({"play": "true", "frame": "7"})
    fig = all_charts(at)["fig_states_play"]
    trace = rnnviz.run(rnnviz.RunConfig())
    assert fig["layout"]["sliders"][0]["active"] == 7
    np.testing.assert_array_equal(values(fig["data"][0]["x"]), trace.h[1, 0, 2])  # step 7
    meta = fig["layout"]["meta"]["rnnviz_animation"]
    assert (meta["start"], meta["url_key"]) == ("7", "frame")


def test_an_animation_opens_on_its_first_frame_without_a_frame_in_the_link(page):
    at = open_with({"play": "true"})
    fig = all_charts(at)["fig_states_play"]
    assert fig["layout"]["sliders"][0]["active"] == 0
    assert "start" not in fig["layout"]["meta"]["rnnviz_animation"]


def test_a_frame_that_is_not_in_the_animation_is_named_and_it_starts_at_the_first():
    at = open_with({"play": "true", "frame": "99"})
    assert any("frame=99 in the link is not a frame" in c.value for c in at.caption)
    assert all_charts(at)["fig_states_play"]["layout"]["sliders"][0]["active"] == 0


def test_for_page_leaves_the_cached_animation_as_it_was():
    fig = animation.states(rnnviz.run(rnnviz.RunConfig()))
    before = fig.to_json()
    shown = browser.for_page(fig, "frame", "9")
    assert fig.to_json() == before
    assert shown.layout.sliders[0].active == 9 and len(shown.frames) == len(fig.frames)
    with pytest.raises(KeyError):
        browser.for_page(fig, "frame", "nine")


def test_a_frame_in_the_link_is_echoed_without_its_markdown():
    at = open_with({"play": "true", "frame": "[x](javascript:alert(1))"})
    (notice,) = [c.value for c in at.caption if "is not a frame" in c.value]
    assert notice.startswith("frame=xjavascriptalert in the link") and "(" not in notice


# ----- the Step inspector: batch, sample row, timestep and unit --------------------------


def test_the_step_inspector_sends_each_choices_equations_with_the_latex_numbers():
    """The MathML the browser typesets has the numbers of the LaTeX the server would show,
    in the same order, for every (batch, sample, t, unit)."""
    from rnnviz.views.equations import step_equations

    at = open_with({}, view="step")
    block = step_block(at)
    trace = rnnviz.run(rnnviz.RunConfig())
    assert block["params"] == ["batch", "sample", "t", "unit"]
    assert len(block["html"]) == 3 * 2 * 5 * 8
    for batch, sample, t, unit in [(0, 0, 0, 0), (1, 1, 3, 2), (2, 0, 4, 7)]:
        latex = [[float(n) for n in re.findall(r"-?\d+\.\d+", line)]
                 for line in step_equations(trace, batch, sample, t, unit)]  # fmt: skip
        assert step_lines(at, batch, sample, t, unit) == latex


def test_the_step_inspector_has_no_server_side_selectors_when_its_equations_fit():
    at = open_with({}, view="step")
    assert not {"batch", "sample", "t", "unit"} & {s.key for s in at.selectbox}
    assert len(at.latex) == 0


def test_a_links_step_is_the_one_the_browser_shows_first():
    at = open_with({"batch": "2", "sample": "1", "t": "4", "unit": "6"}, view="step")
    assert step_block(at)["chosen"] == {"batch": 2, "sample": 1, "t": 4, "unit": 6}


def test_past_the_bound_the_step_inspector_is_typeset_by_the_server(monkeypatch):
    monkeypatch.setattr(browser, "MAX_TEXT_CHOICES", 10)
    at = open_with({"t": "3"}, view="step")
    assert at.selectbox(key="t").value == 3
    assert len(at.latex) == 3  # LSTM: gates, c_t, h_t
    assert not [e for e in at.get("bidi_component") if "text" in (e.proto.json or "")]


# ----- What Keras returns: the batch -------------------------------------------------------


def test_what_keras_returns_draws_a_pane_per_batch_and_no_server_side_batch_selector():
    at = open_with({}, view="returns")
    trace = rnnviz.run(rnnviz.RunConfig())
    for batch in range(3):
        shown = pane(at, "returns", batch)
        assert f"for batch {batch}, in this order" in shown.get("markdown")[0].value
        values_shown = [d.value.to_numpy() for d in shown.get("dataframe")]
        np.testing.assert_array_equal(values_shown[0], trace.outputs[batch][0][1].reshape(-1, 8))
    assert "batch" not in [s.key for s in at.selectbox]


def test_past_the_bound_what_keras_returns_has_the_servers_batch_selector(monkeypatch):
    monkeypatch.setattr(browser, "MAX_BYTES", 1000)  # 3 batches' arrays: 1,344 bytes
    at = open_with({"batch": "2"}, view="returns")
    assert at.selectbox(key="batch").value == 2
    assert "for batch 2, in this order" in at.markdown[0].value
