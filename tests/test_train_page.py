"""The Train page, driven headlessly with AppTest: what it shows of a pretrained network."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import analysis
from rnnviz.sources.training.run import load_pretrained
from tests.test_app import APP, values

TRAIN = "app_pages/train.py"


def open_train(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.switch_page(TRAIN).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return open_train()


def test_default_settings_show_the_pretrained_lstm_on_remember(default_page):
    captions = " ".join(c.value for c in default_page.caption)
    assert "LSTM(16) on 'remember', 20 epochs, seed 0 — pretrained checkpoint" in captions
    curves = charts(default_page)["fig_curves"]
    names = [t["name"] for t in curves["data"]]
    assert names == ["LSTM training", "LSTM validation"] * 2
    assert len(values(curves["data"][0]["y"])) == 20


def test_curves_show_the_checkpoints_recorded_history(default_page):
    run = load_pretrained("remember", "lstm")
    curves = charts(default_page)["fig_curves"]
    loss, val_metric = curves["data"][0], curves["data"][3]
    np.testing.assert_allclose(values(loss["y"]), run.history["loss"])
    np.testing.assert_allclose(values(val_metric["y"]), run.history["val_metric"])


def test_state_heatmap_shows_the_trace_of_the_chosen_epoch():
    run = load_pretrained("remember", "lstm")
    at = open_train(epoch=3)
    heat = charts(at)["fig_train_states"]["data"][0]
    expected = run.trace(3, run.validation.x[:64]).h[0, 0].T  # sample 0: units x steps
    np.testing.assert_allclose(values(heat["z"]), expected, rtol=1e-6)
    assert heat["zmid"] == 0.0


def test_epoch_0_shows_the_untrained_network_and_says_so():
    at = open_train(epoch=0)
    assert any(c.value.startswith("Epoch 0:") for c in at.caption)
    trained = charts(open_train())["fig_train_states"]["data"][0]
    untrained = charts(at)["fig_train_states"]["data"][0]
    assert not np.allclose(values(untrained["z"]), values(trained["z"]))


def test_unit_finder_lists_the_three_units_rank_units_finds(default_page):
    run = load_pretrained("remember", "lstm")
    trace = run.trace(-1, run.validation.x[:64])
    best = analysis.rank_units(trace, run.validation.latent[:64])[:3]
    table = default_page.table[0].value.to_dict("records")
    assert [row["unit"] for row in table] == [u for u, _ in best]
    np.testing.assert_allclose([row["r"] for row in table], [round(r, 3) for _, r in best])


def test_a_link_restores_task_cell_and_epoch():
    at = open_train(task="Count open brackets", train_cell="GRU", epoch=4)
    assert at.title[0].value == "Train: Count open brackets"
    assert at.slider(key="epoch").value == 4
    assert any("GRU(16) on 'brackets'" in c.value for c in at.caption)


def test_settings_without_a_checkpoint_ask_for_training_and_offer_the_pretrained_ones():
    at = open_train(train_units=5)
    assert "Press **Train**" in at.info[0].value
    assert "fig_curves" not in charts(at)
    at.button(key="pretrained_button").click().run()
    assert at.number_input(key="train_units").value == 16
    assert "fig_curves" in charts(at)


def test_compare_shows_the_three_cells_from_their_checkpoints():
    at = open_train()
    at.button(key="compare_button").click().run()
    figs = charts(at)
    names = {t["name"] for t in figs["fig_compare_curves"]["data"]}
    assert {"LSTM validation", "GRU validation", "SimpleRNN validation"} <= names
    bars = figs["fig_compare_bars"]["data"][0]
    assert list(bars["x"]) == ["LSTM", "GRU", "SimpleRNN"]
    final = values(bars["y"])
    assert final[0] - final[2] >= 0.2  # the LSTM remembers, the SimpleRNN does not
