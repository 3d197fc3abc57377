"""The Stateful page with AppTest: every chart draws the layout, the runs and the traces it
says it draws, and its link round-trips (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.sources.stateful import layout as L
from rnnviz.sources.stateful.training import KINDS, boundary_gradient, load_stateful
from rnnviz.views import figures
from tests.test_app import APP, values

PAGE = "app_pages/stateful.py"


def open_stateful(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return open_stateful()


@pytest.fixture(scope="module")
def shipped():
    return {kind: load_stateful(kind) for kind in KINDS}


def test_the_layout_grid_draws_where_each_window_of_the_default_layout_starts(default_page):
    lay = L.layout(400, 8, 10, "continuation")
    grid = charts(default_page)["fig_layout_grid"]["data"][0]
    np.testing.assert_array_equal(values(grid["z"]), lay.index[:, :, 0].T)


def test_a_link_to_the_in_order_layout_draws_it_and_marks_every_broken_row():
    at = open_stateful(layout="in_order", stream_len=120, batch_size=3, window=5)
    lay = L.layout(120, 3, 5, "in_order")
    data = charts(at)["fig_layout_grid"]["data"]
    np.testing.assert_array_equal(values(data[0]["z"]), lay.index[:, :, 0].T)
    broken = [t for t in data if t.get("name", "").startswith("broken")]
    assert len(values(broken[0]["x"])) == lay.continues.size  # every boundary broken
    assert at.radio(key="kind").value == "in_order"


def test_the_shuffled_layouts_epoch_picker_draws_that_epochs_order():
    at = open_stateful(layout="shuffled", epoch=3)
    lay = L.layout(400, 8, 10, "shuffled", seed=0, epoch=3)
    np.testing.assert_array_equal(
        values(charts(at)["fig_layout_grid"]["data"][0]["z"]), lay.index[:, :, 0].T
    )


def test_the_curves_are_each_layouts_recorded_history(default_page, shipped):
    curves = charts(default_page)["fig_stateful_curves"]["data"]
    by_name = {}
    for trace in curves:
        by_name.setdefault(trace["name"], values(trace["y"]))
    for kind, run in shipped.items():
        np.testing.assert_allclose(by_name[f"{kind} training"], run.history["loss"])
        np.testing.assert_allclose(by_name[f"{kind} validation"], run.history["val_loss"])


def test_the_accuracy_bars_are_the_held_out_evaluation_in_both_orders(default_page, shipped):
    right, own = charts(default_page)["fig_stateful_accuracy"]["data"]
    expected_right = [shipped[k].evaluate(-1, "continuation")["accuracy"] for k in KINDS]
    expected_own = [
        shipped[k].evaluate(-1, "continuation" if k == "stateless" else k)["accuracy"]
        for k in KINDS
    ]
    np.testing.assert_allclose(values(right["y"]), expected_right)
    np.testing.assert_allclose(values(own["y"]), expected_own)
    sentence = next(m.value for m in default_page.markdown if m.value.startswith("Measured here"))
    assert f"**{expected_right[0]:.1%}**" in sentence


def test_the_carried_state_is_the_units_h_of_the_row_across_batches(shipped):
    at = open_stateful(row=2, unit=5)
    lines = [t for t in charts(at)["fig_carried"]["data"] if t.get("yaxis", "y") == "y"]
    trace = shipped["continuation"].trace(-1, "continuation", batches=8)
    np.testing.assert_array_equal(values(lines[0]["y"]), trace.h[:, 2, :, 5].reshape(-1))
    wrong = shipped["in_order"].trace(-1, "in_order", batches=8)
    np.testing.assert_array_equal(values(lines[1]["y"]), wrong.h[:, 2, :, 5].reshape(-1))


def test_the_boundary_table_says_which_rows_continue_and_that_states_carry_exactly(default_page):
    (table,) = default_page.dataframe
    rows = table.value
    continuation = rows[rows["layout"] == "continuation"]
    in_order = rows[rows["layout"] == "in_order"]
    assert (continuation["does row continue the stream?"] == "yes").all()
    assert in_order["does row continue the stream?"].str.startswith("no").all()
    assert (rows["largest |start − previous end| of the state"] == 0).all()
    captions = " ".join(c.value for c in default_page.caption)
    assert "carry their state exactly (start = previous end, a largest difference of 0)" in captions


def test_the_gradient_chart_is_zero_for_fit_and_the_carried_states_otherwise(default_page, shipped):
    state, fit = charts(default_page)["fig_gradient"]["data"]
    result = boundary_gradient(shipped["continuation"], batch=3)
    np.testing.assert_allclose(values(state["y"]), np.linalg.norm(result["state"], axis=(0, 2)),
                               rtol=1e-5)  # fmt: skip
    assert not values(fit["y"]).any()


def test_your_stream_shows_its_layout_and_the_script_for_it():
    at = open_stateful(yours_len=503, yours_features=2)
    lay = L.layout(503, 8, 25, "continuation")
    np.testing.assert_array_equal(
        values(charts(at)["fig_yours_grid"]["data"][0]["z"]), lay.index[:, :, 0].T
    )
    assert len(lay.unused) == 503 - 2 * 8 * 25  # each row's 62 steps hold two windows
    assert any("read 400 of 503 steps (103 dropped)" in m.value for m in at.markdown)
    code = at.code[0].value
    assert "BATCH_SIZE = 8" in code and "WINDOW = 25" in code and "shuffle=False" in code


def test_a_stream_too_short_for_one_batch_is_named_and_the_page_goes_on():
    at = open_stateful(yours_len=100)  # 8 rows x 25 steps need 200
    assert any("stream_len=100 is invalid" in e.value for e in at.error)
    assert "fig_carried" in charts(at)


def test_a_layout_figure_marks_continuing_rows_and_broken_ones():
    lay = L.layout(40, 2, 5, "in_order")
    fig = json.loads(figures.layout_grid(lay.index, lay.continues, 40).to_json())
    names = [t.get("name") for t in fig["data"]]
    assert names[0] == "windows" and names[1].startswith("broken")
    assert len(fig["data"]) == 2  # no row continues


def test_a_preset_sets_the_layout_and_sizes_that_show_its_answer():
    at = open_stateful()
    next(b for b in at.button if b.key == "preset_in_order").click().run()
    assert at.radio(key="kind").value == "in_order"
    lay = L.layout(200, 4, 10, "in_order")
    np.testing.assert_array_equal(
        values(charts(at)["fig_layout_grid"]["data"][0]["z"]), lay.index[:, :, 0].T
    )
