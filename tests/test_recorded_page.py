"""A recorded run on the Your model page (AppTest): opened from `rnnviz open` or the server's
RNNVIZ_RUNS_DIR, its curves, the epoch scrubber over every view, refusals in words, and the
Why page's "What changed" between two recorded epochs. Every number is the run's trace."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import rnnviz
from rnnviz import analysis
from tests.test_app import APP, values
from tests.test_recorded import record

PAGE = "app_pages/yourmodel.py"
WHY = "app_pages/why.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    record(root / "first", "lstm", epochs=3)
    record(root / "second", "gru", epochs=2)
    return root


def charts(at: AppTest) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def epoch_slider(at: AppTest):
    return next(s for s in at.select_slider if s.label == "epoch (0 = before training)")


def open_page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_a_run_given_to_rnnviz_open_is_the_pages_default_and_shows_its_last_epoch(
    runs, monkeypatch
):
    monkeypatch.setenv("RNNVIZ_OPEN", str(runs / "first"))
    at = open_page()
    assert at.radio(key="ym_source").value == "run"
    run = rnnviz.open_run(runs / "first")
    shown = values(charts(at)["ym_fig_states"]["data"][0]["z"])
    np.testing.assert_allclose(shown, run.trace(3).h[0, 0].T, rtol=1e-6)


def test_the_epoch_scrubber_changes_every_view_to_that_epochs_weights(runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_OPEN", str(runs / "first"))
    at = open_page()
    assert list(epoch_slider(at).options) == ["0", "1", "2", "3"]
    epoch_slider(at).set_value(1).run()
    run = rnnviz.open_run(runs / "first")
    trace = run.trace(1)
    np.testing.assert_allclose(
        values(charts(at)["ym_fig_states"]["data"][1]["z"]), trace.c[0, 0].T, rtol=1e-6
    )
    at.radio(key="ym_view").set_value("gates").run()
    np.testing.assert_allclose(
        values(charts(at)["ym_fig_gates"]["data"][0]["z"]), trace.gates["input"][0, 0].T,
        rtol=1e-6,
    )  # fmt: skip


def test_the_learning_curves_are_the_runs_history_with_the_shown_epoch_marked(runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_OPEN", str(runs / "first"))
    at = open_page()
    epoch_slider(at).set_value(2).run()
    figure = charts(at)["ym_fig_history"]
    run = rnnviz.open_run(runs / "first")
    lines = {(d["name"]): values(d["y"]) for d in figure["data"]}
    np.testing.assert_allclose(lines["training"], run.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(lines["validation"], run.history["val_loss"], rtol=1e-6)
    assert [s["x0"] for s in figure["layout"]["shapes"]] == [2]


def test_runs_under_rnnviz_runs_dir_are_offered_by_name(runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_RUNS_DIR", str(runs))
    at = open_page()
    box = at.selectbox(key="ym_run")
    assert list(box.options) == ["first", "second"]
    box.set_value("second").run()
    trace = rnnviz.open_run(runs / "second").trace(2)
    assert "GRU(3)" in " ".join(c.value for c in at.caption)
    shown = values(charts(at)["ym_fig_states"]["data"][0]["z"])
    np.testing.assert_allclose(shown, trace.h[0, 0].T, rtol=1e-6)


def test_another_input_is_traced_at_the_chosen_epoch(runs, monkeypatch):
    monkeypatch.setenv("RNNVIZ_OPEN", str(runs / "first"))
    at = open_page()
    at.radio(key="ym_run_input").set_value("other").run()
    epoch_slider(at).set_value(0).run()
    assert not at.exception
    run = rnnviz.open_run(runs / "first")
    from rnnviz.serving.memory import shared_cache

    x = shared_cache("model_inputs").get(at.session_state["your_model_trace"]["key"])
    assert x.shape == (2, 6, 2)  # the page's built-in signal: 2 samples, the model's steps
    shown = values(charts(at)["ym_fig_states"]["data"][0]["z"])
    np.testing.assert_allclose(shown, run.trace(0, x=x).h[0, 0].T, rtol=1e-6)


def test_a_tampered_run_is_refused_with_the_reason_and_nothing_is_drawn(
    runs, tmp_path, monkeypatch
):
    folder = shutil.copytree(runs / "first", tmp_path / "tampered")
    weights = folder / "epochs" / "000002.npz"
    raw = bytearray(weights.read_bytes())
    raw[-8] ^= 0x01
    weights.write_bytes(bytes(raw))
    monkeypatch.setenv("RNNVIZ_OPEN", str(folder))
    at = open_page()
    assert "does not match its SHA-256" in at.error[0].value
    assert not at.get("plotly_chart")


def test_a_model_file_given_to_rnnviz_open_is_opened_through_the_worker(monkeypatch):
    from rnnviz.sources.usermodels.examples import example_models

    path = next(iter(example_models().values()))
    monkeypatch.setenv("RNNVIZ_OPEN", str(path))
    at = open_page()
    assert at.radio(key="ym_source").value == "opened"
    assert any(path.name in c.value for c in at.caption)
    assert [o.split(":")[0] for o in at.selectbox(key=next(
        s.key for s in at.selectbox if s.label == "recurrent layer to trace"
    )).options] == ["bidirectional/forward", "bidirectional/backward", "lstm"]  # fmt: skip


def test_what_changed_on_the_why_page_compares_a_recorded_epoch_with_the_last(
    runs, monkeypatch
):
    monkeypatch.setenv("RNNVIZ_OPEN", str(runs / "first"))
    at = open_page()
    at.session_state["source"] = "model"
    at.session_state["question"] = "compare"
    at.switch_page(WHY).run()
    assert not at.exception, at.exception
    slider = at.select_slider(key="why_run_epoch")
    assert list(slider.options) == ["0", "1", "2"]
    slider.set_value(1).run()
    run = rnnviz.open_run(runs / "first")
    result = analysis.compare(run.trace(1), run.trace(3))
    shown = values(charts(at)["fig_corr"]["data"][0]["z"])
    np.testing.assert_allclose(shown, result.correlation, rtol=1e-5, atol=1e-6)
