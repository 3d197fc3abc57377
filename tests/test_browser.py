"""The Streamlit app in headless Chromium: charts, controls, presets and shared links.

One `streamlit run app.py` serves the whole module; every test opens its own page
(its own Streamlit session). Debian's Chromium is required: without it the tests
skip, except under CI=true where a missing browser is an error.

The URL format of `bind="query-params"` (Streamlit 1.67), which the link tests use:
a selectbox or radio stores its *displayed* option (format_func's label), so
`cell=GRU` and `view=Gates` (`view=What+Keras+returns`), not `cell=gru`; a toggle
stores `true`/`false`; a number input its number; a multiselect repeats the key
(`reset_before=1&reset_before=2`). A value equal to the widget's default is left out.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import expect, sync_playwright

import rnnviz
from scripts.browserkit import CHROMIUM_ARGS, free_port, is_healthy, streamlit_command

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120
#: The first chart needs TensorFlow imported and a Keras layer built in the server.
FIRST_CHART_TIMEOUT_MS = 120_000
#: A rerun of a configuration nobody has run yet (a Keras run of a new shape).
RERUN_TIMEOUT_MS = 60_000

PRESET_LABELS = {
    "lstm_states": "1 · What are h_t and c_t?",
    "initial_state": "2 · Setting a SimpleRNN's initial state",
    "return_sequences": "3 · return_sequences and stateful",
}

#: The charts on show, in page order: the page script keeps the charts of the sample rows
#: it drew ahead (and an original it covers) out of sight, marked data-rnnviz-hidden.
SHOWN_CHARTS_JS = (
    "[...document.querySelectorAll('.stPlotlyChart .js-plotly-plot:not([data-rnnviz-hidden])')]"
)

#: Every Plotly figure on the page: per trace its type, name and z's rows x columns.
PLOT_DATA_JS = "() => " + SHOWN_CHARTS_JS + """.map(
    // what is drawn: a chart that carries every sample row has the others' traces hidden
    (div) => (div._fullData || []).filter((t) => t.visible !== false).map((t) => ({
        type: t.type,
        name: t.name,
        rows: t.z ? t.z.length : null,
        cols: t.z && t.z[0] ? t.z[0].length : null,
        // the numbers drawn, as the browser holds them (typed arrays made plain)
        y: t.y ? Array.from(t.y) : null,
        z: t.z ? Array.from(t.z, (row) => Array.from(row)) : null,
    }))
)
"""


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = (
            "Debian's chromium is not installed (no `chromium` on PATH): "
            "run `make chromium` or `apt-get install -y chromium`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def app_url(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serves app.py on a free port for the module; kills its process group afterwards."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "app.log"
    cmd = streamlit_command("app.py", port)
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(
                    f"streamlit did not become healthy at {url} "
                    f"(exit code {proc.poll()}); log tail:\n{tail}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser(chromium_path: str):
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url: str):
    """A fresh browser context (a new Streamlit session) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=app_url)
    context.set_default_timeout(RERUN_TIMEOUT_MS)
    pg = context.new_page()
    yield pg
    context.close()


def open_app(page, query: str | dict = "", *, wait_for: str = ".stPlotlyChart .js-plotly-plot"):
    """Opens the app at `/?query`, waits for `wait_for` (by default a drawn Plotly chart)
    and for the script run to finish, as a user who waits for the page to load."""
    if isinstance(query, dict):
        query = urlencode(query, doseq=True)
    page.goto("/" + (f"?{query}" if query else ""))
    page.wait_for_selector(wait_for, timeout=FIRST_CHART_TIMEOUT_MS)
    wait_idle(page)
    return page


def wait_idle(page) -> None:
    """Waits until the Streamlit script has finished its run."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )


def current_query(page) -> str:
    """The address bar's query string (read in the page: Page.url can lag behind
    history.replaceState until Playwright next processes events)."""
    return page.evaluate("location.search.slice(1)")


def plots(page) -> list[list[dict]]:
    return page.evaluate(PLOT_DATA_JS)


def heatmaps(page) -> dict[str, tuple[int, int]]:
    """Returns each heatmap trace on the page by name: (rows = units, columns = steps)."""
    return {
        t["name"]: (t["rows"], t["cols"])
        for fig in plots(page)
        for t in fig
        if t["type"] == "heatmap"
    }


def drawn_heatmaps(page) -> dict[str, np.ndarray]:
    """The z of each heatmap on the page by name, as the browser drew it (float32)."""
    return {
        t["name"]: np.asarray(t["z"], np.float32)
        for fig in plots(page)
        for t in fig
        if t["type"] == "heatmap"
    }


def wait_heatmaps(page, names: list[str], rows: int) -> None:
    """Waits until heatmaps of exactly these trace names, each with `rows` rows, are drawn."""
    page.wait_for_function(
        f"""([names, rows]) => {{
            const traces = ({PLOT_DATA_JS})().flat().filter((t) => t.type === 'heatmap');
            return traces.length === names.length
                && traces.every((t, i) => t.name === names[i] && t.rows === rows);
        }}""",
        arg=[names, rows],
    )


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def set_number(page, name: str, value: int) -> None:
    field = (
        sidebar(page).get_by_test_id("stNumberInput").filter(has=page.get_by_text(name, exact=True))
    )
    field.locator("input").fill(str(value))
    field.locator("input").press("Enter")


def choose(page, name: str, option: str) -> None:
    sidebar(page).get_by_role("combobox", name=name).click()
    page.get_by_role("option", name=option, exact=True).click()


def caption(page) -> str:
    """The main area's one-line summary `keras.layers.LSTM(8, ...) · input (...)`."""
    return (
        page.get_by_test_id("stMain")
        .get_by_test_id("stCaptionContainer")
        .filter(has_text="keras.layers.")
        .first.inner_text()
    )


def assert_no_exception(page) -> None:
    errors = page.get_by_test_id("stException").all_inner_texts()
    assert not errors, f"the app raised: {errors}"


@pytest.mark.browser
def test_page_loads_with_state_heatmaps(page):
    open_app(page)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    wait_heatmaps(page, ["h", "c"], rows=8)
    # The default LSTM(8): 8 units x (3 batches x 5 steps), h and c.
    assert heatmaps(page) == {"h": (8, 15), "c": (8, 15)}
    drawn = drawn_heatmaps(page)
    trace = rnnviz.run(rnnviz.RunConfig())
    for name in ("h", "c"):  # the numbers the browser holds are the trace's, sample 0
        expected = trace.state(name)[:, 0].reshape(15, 8).T
        np.testing.assert_array_equal(drawn[name], expected)
    assert page.get_by_role("radio", name="States over time").is_checked()
    assert_no_exception(page)


@pytest.mark.browser
def test_hidden_size_input_redraws_heatmaps(page):
    open_app(page)
    set_number(page, "hidden_size", 5)
    wait_heatmaps(page, ["h", "c"], rows=5)
    assert heatmaps(page) == {"h": (5, 15), "c": (5, 15)}
    expected = rnnviz.run(rnnviz.RunConfig(hidden_size=5)).h[:, 0].reshape(15, 5).T
    np.testing.assert_array_equal(drawn_heatmaps(page)["h"], expected)
    assert "keras.layers.LSTM(5," in caption(page)
    assert_no_exception(page)


@pytest.mark.browser
def test_cell_select_gru_drops_cell_state(page):
    open_app(page)
    choose(page, "cell", "GRU")
    wait_heatmaps(page, ["h"], rows=8)  # GRU has no c_t: one heatmap left
    assert "keras.layers.GRU(8," in caption(page)
    main = page.get_by_test_id("stMain")
    assert main.get_by_text("GRU has no cell state c_t").is_visible()
    assert_no_exception(page)


@pytest.mark.browser
def test_control_change_is_written_to_url(page):
    open_app(page)
    choose(page, "cell", "GRU")
    page.wait_for_url(re.compile(r"[?&]cell=GRU(&|$)"), timeout=10_000)
    set_number(page, "seed", 3)
    page.wait_for_url(re.compile(r"[?&]seed=3(&|$)"), timeout=10_000)
    assert "cell=GRU" in current_query(page).split("&")


@pytest.mark.browser
def test_shared_link_restores_gru_gates_with_5_units(page):
    open_app(page, "cell=GRU&hidden_size=5&view=Gates")
    wait_heatmaps(page, ["update", "reset", "candidate"], rows=5)
    assert page.get_by_role("radio", name="Gates").is_checked()
    assert "keras.layers.GRU(5," in caption(page)
    assert_no_exception(page)


@pytest.mark.browser
def test_shared_link_restores_toggles_and_multiselect(page):
    query = "stateful=true&return_sequences=false&num_batches=4&reset_before=1&reset_before=3"
    open_app(page, query + "&view=State+across+batches")
    main = page.get_by_test_id("stMain")
    table = main.get_by_test_id("stTable").first
    # The boundary table says what happened before each batch: reset before 1 and 3.
    expect(table).to_contain_text("batch 2 and batch 3")
    assert table.inner_text().count("reset_state(): zeros") == 2
    assert table.inner_text().count("carried over") == 1
    assert "return_sequences=False" in caption(page)
    assert "stateful=True" in caption(page)
    chosen = sidebar(page).get_by_test_id("stMultiSelect").locator("span[title]")
    assert chosen.all_inner_texts() == ["1", "3"]
    assert_no_exception(page)


@pytest.mark.browser
def test_returns_view_shows_its_checks_as_success(page):
    open_app(page, "view=What+Keras+returns", wait_for="[data-testid=stAlertContentSuccess]")
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    # What is on show: the batch chosen (the other batches' panes are drawn, hidden).
    shown = main.get_by_test_id("stAlertContentSuccess").filter(visible=True)
    expect(shown).to_have_count(6)
    successes = shown.all_inner_texts()
    assert main.get_by_test_id("stAlertContentError").count() == 0
    assert len(successes) == 6, successes
    assert any("state_h shape = (batch_size, hidden_size) = (2, 8)" in s for s in successes)
    assert any("cell.state_size = [8, 8]" in s for s in successes)
    # The returned arrays themselves: one table of values per returned tensor.
    main.get_by_text("Values", exact=True).filter(visible=True).click()
    expect(main.get_by_test_id("stDataFrame").filter(visible=True)).to_have_count(3)
    assert_no_exception(page)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("preset", "view", "expected"),
    [
        ("lstm_states", "What Keras returns", ["(2, 5, 8)", "[8, 8]"]),
        ("initial_state", "State across batches", ["SimpleRNN(3,", "input (2, 3, 4) × 2"]),
        ("return_sequences", "What Keras returns", ["(2, 3, 4)", "(2, 4)"]),
    ],
)
def test_preset_opens_its_view_with_its_shapes(page, preset, view, expected):
    open_app(page)
    sidebar(page).get_by_role("button", name=PRESET_LABELS[preset]).click()
    main = page.get_by_test_id("stMain")
    expect(page.get_by_role("radio", name=view)).to_be_checked()
    for text in expected:
        expect(main).to_contain_text(text)
    wait_idle(page)
    assert page.get_by_role("radio", name=view).is_checked()
    assert main.get_by_test_id("stAlertContentError").count() == 0
    assert_no_exception(page)


# Share links: a link built by urlstate.to_query, or copied from the address bar
# after a preset or after changing controls, reopens exactly the same layer.


@pytest.mark.browser
def test_link_built_by_urlstate_to_query_restores_view(page):
    from rnnviz.core.config import RunConfig
    from rnnviz.views.urlstate import to_query

    open_app(page, to_query(RunConfig(cell="gru", hidden_size=5), "gates"))
    wait_idle(page)
    assert "keras.layers.GRU(5," in caption(page)
    assert page.get_by_role("radio", name="Gates").is_checked()


@pytest.mark.browser
def test_link_copied_after_two_changes_reopens_the_same_layer(page):
    open_app(page)
    set_number(page, "hidden_size", 5)
    wait_heatmaps(page, ["h", "c"], rows=5)
    set_number(page, "hidden_size", 1)
    wait_heatmaps(page, ["h", "c"], rows=1)
    wait_idle(page)
    shared = page.context.new_page()
    open_app(shared, current_query(page))
    assert "keras.layers.LSTM(1," in caption(shared), current_query(page)


@pytest.mark.browser
def test_link_copied_after_a_preset_reopens_the_same_layer(page):
    open_app(page)
    sidebar(page).get_by_role("button", name=PRESET_LABELS["return_sequences"]).click()
    expect(page.get_by_test_id("stMain")).to_contain_text("(2, 3, 4)")
    wait_idle(page)
    expected = caption(page)
    shared = page.context.new_page()
    open_app(shared, current_query(page), wait_for="[data-testid=stTable]")
    assert shared.get_by_role("radio", name="What Keras returns").is_checked()
    assert caption(shared) == expected, current_query(page)
