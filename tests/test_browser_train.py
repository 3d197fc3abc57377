"""The Train page in headless Chromium: train, watch the curve, stop, scrub, queue, share.

The server runs with RNNVIZ_MAX_TRAININGS=1, so a second session's training queues behind
the first. Training here uses the tiny settings a test can afford (hidden_size 4).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import expect, sync_playwright

from rnnviz.sources.training.run import load_pretrained
from scripts.browserkit import CHROMIUM_ARGS, free_port, is_healthy, streamlit_command
from tests.test_browser import (
    FIRST_CHART_TIMEOUT_MS,
    RERUN_TIMEOUT_MS,
    ROOT,
    START_TIMEOUT_S,
    _chromium,
    assert_no_exception,
    current_query,
    drawn_heatmaps,
    plots,
    wait_idle,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def train_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _chromium()
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "app.log"
    env = {**os.environ, "RNNVIZ_MAX_TRAININGS": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            streamlit_command("app.py", port),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(chromium, url: str):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, base_url=url)
    context.set_default_timeout(RERUN_TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(chromium, train_url):
    pg = new_page(chromium, train_url)
    yield pg
    pg.context.close()


def open_train(page, query: str = "") -> None:
    page.goto("/train" + (f"?{query}" if query else ""))
    page.wait_for_selector(
        ".stPlotlyChart .js-plotly-plot, [data-testid=stAlert]", timeout=FIRST_CHART_TIMEOUT_MS
    )
    wait_idle(page)


#: Settings no checkpoint has: pressing Train is the only way to see them.
TINY = "train_units=4&train_epochs=200&train_seed=7"


def heatmap_z_sum(page) -> float:
    """The sum of the first heatmap's values: changes when the drawn weights change."""
    return page.evaluate(
        """() => {
            const div = [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]
                .find((d) => (d._fullData || []).some((t) => t.type === 'heatmap'));
            const z = div._fullData.find((t) => t.type === 'heatmap').z;
            let total = 0;
            for (const row of z) for (const v of row) total += Math.abs(v);
            return total;
        }"""
    )


def epochs_drawn(page) -> int:
    """How many epochs the drawn training curves have (the longest)."""
    return page.evaluate(
        """() => Math.max(0, ...[...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]
            .flatMap((d) => (d._fullData || []))
            .filter((t) => t.name && t.name.endsWith('training') && t.x)
            .map((t) => t.x.length))"""
    )


def loss_curves(page) -> dict[str, list[float]]:
    """The y of each curve of the loss panel (the first of a name: the metric panel follows)."""
    curves: dict[str, list[float]] = {}
    for fig in plots(page):
        for t in fig:
            if t["type"] == "scatter" and t["y"] is not None:
                curves.setdefault(t["name"], t["y"])
    return curves


def test_a_pretrained_network_shows_at_once_with_curves_and_states(page):
    open_train(page)
    expect(page.get_by_text("pretrained checkpoint", exact=False)).to_be_visible()
    names = [t["name"] for fig in plots(page) for t in fig]
    assert "LSTM validation" in names and "h" in names and "c" in names
    run = load_pretrained("remember", "lstm")
    curves = loss_curves(page)
    np.testing.assert_allclose(curves["LSTM validation"], run.history["val_loss"], rtol=1e-6)
    drawn = drawn_heatmaps(page)["h"]  # sample 0 of the last epoch: units x steps
    expected = run.trace(-1, run.validation.x[:64]).h[0, 0].T
    np.testing.assert_allclose(drawn, expected, rtol=1e-6, atol=1e-7)
    assert_no_exception(page)


def test_training_shows_live_curves_then_stop_keeps_what_was_learnt(page):
    open_train(page, TINY)
    expect(page.get_by_text("No network has been trained with these settings")).to_be_visible()
    page.get_by_role("button", name="Train LSTM").click()
    # The curve grows by itself, without any click, while training runs.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]"
        ".flatMap((d) => d._fullData || []).some((t) => t.name === 'LSTM training'"
        " && t.x.length >= 2)",
        timeout=90_000,
    )
    first = epochs_drawn(page)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("stopped early", exact=False)).to_be_visible(timeout=10_000)
    wait_idle(page)
    assert epochs_drawn(page) >= first
    assert epochs_drawn(page) < 200
    expect(page.get_by_text("Scrub through the epochs")).to_be_visible()
    assert_no_exception(page)


def test_moving_the_epoch_scrubber_redraws_the_heatmap(page):
    open_train(page, "epoch=20")
    trained = heatmap_z_sum(page)
    slider = page.get_by_role("slider")
    slider.focus()
    slider.press("Home")  # epoch 0: the untrained network
    page.wait_for_function("() => location.search.includes('epoch=0')")
    wait_idle(page)
    page.wait_for_function(
        """(before) => {
            const div = [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]
                .find((d) => (d._fullData || []).some((t) => t.type === 'heatmap'));
            const z = div._fullData.find((t) => t.type === 'heatmap').z;
            let total = 0;
            for (const row of z) for (const v of row) total += Math.abs(v);
            return Math.abs(total - before) > 1e-3;
        }""",
        arg=trained,
    )
    expect(page.get_by_text("Epoch 0:", exact=False)).to_be_visible()
    assert_no_exception(page)


def test_a_link_restores_task_cell_and_epoch(page):
    open_train(page, "task=Count+open+brackets&train_cell=GRU&epoch=3")
    expect(page.get_by_role("heading", name="Train: Count open brackets")).to_be_visible()
    expect(page.get_by_text("GRU(16) on 'brackets'", exact=False)).to_be_visible()
    expect(page.get_by_text("Validation accuracy after this epoch", exact=False)).to_be_visible()
    expect(page.get_by_role("slider")).to_have_attribute("aria-valuetext", "3")
    assert "train_cell=GRU" in current_query(page)
    assert_no_exception(page)


def test_comparison_shows_three_cells_curves_and_final_accuracy(page):
    open_train(page)
    page.get_by_role("button", name="Compare LSTM, GRU and SimpleRNN").click()
    expect(page.get_by_text("LSTM vs GRU vs SimpleRNN", exact=False)).to_be_visible()
    wait_idle(page)
    names = {t["name"] for fig in plots(page) for t in fig}
    assert {"LSTM validation", "GRU validation", "SimpleRNN validation"} <= names
    drawn = loss_curves(page)
    for cell, label in (("lstm", "LSTM"), ("gru", "GRU"), ("simple_rnn", "SimpleRNN")):
        history = load_pretrained("remember", cell).history
        np.testing.assert_allclose(drawn[f"{label} validation"], history["val_loss"], rtol=1e-6)
    assert_no_exception(page)


def test_a_second_training_queues_behind_the_first_then_runs(chromium, train_url):
    first, second = new_page(chromium, train_url), new_page(chromium, train_url)
    try:
        open_train(first, "train_units=4&train_epochs=200&train_seed=11")
        open_train(second, "train_units=4&train_epochs=3&train_seed=12")
        first.get_by_role("button", name="Train LSTM").click()
        expect(first.get_by_text("Training: LSTM, epoch", exact=False)).to_be_visible(
            timeout=60_000
        )
        second.get_by_role("button", name="Train LSTM").click()
        expect(second.get_by_text("queued, position 1", exact=False)).to_be_visible()
        first.get_by_role("button", name="Stop").click()
        expect(second.get_by_text("trained here", exact=False)).to_be_visible(timeout=90_000)
        assert_no_exception(first)
        assert_no_exception(second)
    finally:
        first.context.close()
        second.context.close()
