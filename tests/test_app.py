"""The Streamlit page, driven headlessly with streamlit.testing.v1.AppTest.

Every check reads what the page shows: the plotly figures' JSON (trace types,
heatmap shapes, colour scales, batch-boundary lines), tables, alerts, LaTeX and
code. Pages that tests only read are built once per module (`shown`); a test
that interacts with a page builds its own.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.media_file_storage import MediaFileKind
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import rnnviz
from rnnviz.views import export
from rnnviz.views.presets import PRESETS_BY_KEY

# AppTest resolves a relative path against this file, so give it the app's own path.
APP = str(Path(__file__).resolve().parents[1] / "app.py")
#: Keyed widgets the page may show, by AppTest element type.
WIDGET_TYPES = ("selectbox", "number_input", "toggle", "multiselect", "radio")
#: Controls enabled (or given options) by others: set after the others were applied.
DEPENDENT = ("reset_after", "reset_before")
DEFAULTS = rnnviz.RunConfig()


# ---------------------------------------------------------------- helpers


def widget(at: AppTest, key: str):
    """Returns the widget with this key, wherever it is on the page."""
    for kind in WIDGET_TYPES:
        for element in at.get(kind):
            if element.key == key:
                return element
    raise LookupError(f"no widget with key {key!r} on the page")


def change(at: AppTest, **values) -> AppTest:
    """Sets widgets by key as a user would, then reruns the page."""
    later = {k: values.pop(k) for k in DEPENDENT if k in values}
    for stage in (values, later):
        if stage:
            for key, value in stage.items():
                widget(at, key).set_value(value)
            at.run()
    return at


def open_page(view: str = "states", **controls) -> AppTest:
    """Returns a fresh page with these sidebar controls set and this view open."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return change(at, view=view, **controls)


def charts(at: AppTest) -> dict[str, dict]:
    """Returns the page's plotly figures as JSON dicts, by chart key, as the browser first
    shows them: a chart that carries every sample row (switched in the browser) keeps only
    its visible traces. `all_charts` keeps every trace."""
    out = all_charts(at)
    for fig in out.values():
        if "rnnviz_rows" in ((fig.get("layout") or {}).get("meta") or {}):
            fig["data"] = [d for d in fig["data"] if d.get("visible", True) is not False]
    return out


def all_charts(at: AppTest) -> dict[str, dict]:
    """The page's plotly figures as sent, by chart key."""
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def values(array) -> np.ndarray:
    """Decodes a plotly JSON array (a list or a base64 typed array) to NumPy."""
    if isinstance(array, dict) and "bdata" in array:
        out = np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
        if "shape" in array:
            out = out.reshape([int(n) for n in str(array["shape"]).split(",")])
        return out
    return np.asarray(array)


def heatmaps(fig: dict) -> list[dict]:
    return [trace for trace in fig["data"] if trace["type"] == "heatmap"]


def boundary_lines(fig: dict, yaxis: str) -> list[float]:
    """Returns the x of every vertical line drawn across the subplot of this y axis."""
    return sorted(
        shape["x0"]
        for shape in fig["layout"].get("shapes", [])
        if shape["type"] == "line"
        and shape["x0"] == shape["x1"]
        and shape["yref"] == f"{yaxis} domain"
    )


def table_rows(table) -> list[dict]:
    return table.value.to_dict("records")


def served_url(data: str | bytes, mimetype: str, file_name: str) -> str:
    """Returns the URL AppTest's media storage gives exactly these bytes as a download."""
    storage = MemoryMediaFileStorage("/mock/media")
    raw = data.encode() if isinstance(data, str) else data
    return storage.get_url(
        storage.load_and_get_id(raw, mimetype, MediaFileKind.DOWNLOADABLE, file_name)
    )


def pane(at: AppTest, name: str, index: int):
    """The pane of choice `index` that the browser shows (the server draws one per choice,
    a container keyed rnnviz_<name>_<index>), to read its elements."""

    def find(node):
        for child in getattr(node, "children", {}).values():
            if str(getattr(child.proto, "id", "")).endswith(f"-rnnviz_{name}_{index}"):
                return child
            found = find(child)
            if found is not None:
                return found
        return None

    found = find(at.main)
    assert found is not None, f"no pane rnnviz_{name}_{index}"
    return found


def step_block(at: AppTest) -> dict:
    """The Step inspector as sent to the browser: every (batch, sample, t, unit)'s HTML."""
    for element in at.get("bidi_component"):
        data = json.loads(element.proto.json or "{}")
        if "text" in data:
            return data["text"]
    raise AssertionError("the page sent no Step inspector block")


def step_lines(at: AppTest, batch: int, sample: int, t: int, unit: int) -> list[list[float]]:
    """The decimal numbers of each equation the browser shows for this choice (MathML)."""
    html = step_block(at)["html"][f"{batch},{sample},{t},{unit}"]
    number = r"<mn>((?:&#x02212;)?\d+\.\d+)</mn>"  # a minus sign is part of its number
    return [
        [float(n.replace("&#x02212;", "-")) for n in re.findall(number, equation)]
        for equation in re.findall(r"<div class='rnnviz-equation'>(.*?)</div>", html)
    ]


@pytest.fixture(scope="module")
def shown():
    """Returns a page per (view, controls), built once per module; tests only read it."""
    pages: dict[tuple, AppTest] = {}

    def get(view: str = "states", **controls) -> AppTest:
        key = (view, tuple(sorted((k, repr(v)) for k, v in controls.items())))
        if key not in pages:
            pages[key] = open_page(view, **controls)
        return pages[key]

    return get


# ---------------------------------------------------------------- every control


def test_hidden_size_sets_the_number_of_heatmap_rows(shown):
    at = shown(hidden_size=5)
    assert not at.exception
    traces = heatmaps(charts(at)["fig_states"])
    assert len(traces) == 2
    for trace in traces:
        assert values(trace["z"]).shape == (5, 3 * 5)
        assert list(values(trace["y"])) == [0, 1, 2, 3, 4]


def test_num_steps_sets_the_heatmap_columns(shown):
    at = shown(num_steps=7)
    assert not at.exception
    shapes = [values(t["z"]).shape for t in heatmaps(charts(at)["fig_states"])]
    assert shapes == [(8, 3 * 7), (8, 3 * 7)]


def test_num_batches_sets_the_heatmap_columns(shown):
    at = shown(num_batches=4)
    assert not at.exception
    shapes = [values(t["z"]).shape for t in heatmaps(charts(at)["fig_states"])]
    assert shapes == [(8, 4 * 5), (8, 4 * 5)]


def test_every_state_subplot_marks_each_batch_boundary_with_a_line(shown):
    fig = charts(shown(num_batches=4))["fig_states"]
    assert len(heatmaps(fig)) == 2
    for trace in heatmaps(fig):
        assert boundary_lines(fig, trace["yaxis"]) == [4.5, 9.5, 14.5]


def test_batch_size_sets_the_first_axis_of_every_returned_tensor(shown):
    at = shown("returns", batch_size=3)
    assert not at.exception
    assert [r["shape"] for r in table_rows(at.table[0])] == ["(3, 5, 8)", "(3, 8)", "(3, 8)"]


def test_num_features_sets_the_length_of_x_t_in_the_step_inspector(shown):
    at = shown("step", num_features=3)
    assert not at.exception
    html = step_block(at)["html"]["0,0,0,0"]
    x_t = re.findall(r"this step:</strong> x_t = <code>\[(.*?)\]</code>", html)
    assert len(x_t) == 1  # in the body text, not a small grey caption
    assert len(x_t[0].split()) == 3


def test_gru_states_view_shows_only_h_and_says_there_is_no_cell_state(shown):
    at = shown(cell="gru")
    assert not at.exception
    info = [i.value for i in at.info]
    assert any("GRU has no cell state" in t and "state_size` = 8" in t for t in info), info
    assert [t["name"] for t in heatmaps(charts(at)["fig_states"])] == ["h"]


def test_gru_gates_view_shows_three_gate_heatmaps(shown):
    at = shown("gates", cell="gru")
    assert not at.exception
    fig = charts(at)["fig_gates"]
    assert [t["name"] for t in heatmaps(fig)] == ["update", "reset", "candidate"]
    assert [values(t["z"]).shape for t in heatmaps(fig)] == [(8, 15)] * 3


def test_simple_rnn_gates_view_says_it_has_no_gates_instead_of_a_chart(shown):
    at = shown("gates", cell="simple_rnn")
    assert not at.exception
    assert any("SimpleRNN has no gates" in i.value for i in at.info)
    assert charts(at) == {}


def test_return_sequences_off_returns_only_the_last_steps_output(shown):
    at = shown("returns", return_sequences=False)
    assert not at.exception
    assert table_rows(at.table[0])[0] == {"name": "output", "shape": "(2, 8)", "dtype": "float32"}


def test_return_state_off_returns_only_output(shown):
    at = shown("returns", return_state=False)
    assert not at.exception
    assert [r["name"] for r in table_rows(at.table[0])] == ["output"]


def test_stateful_on_carries_each_rows_state_into_the_next_batch(shown):
    on, off = shown("carry", stateful=True), shown("carry")
    assert not on.exception and not off.exception
    carried = table_rows(on.table[0])
    assert [r["what happened"] for r in carried] == ["carried over"] * 2
    assert all(r["largest difference"] == 0.0 for r in carried)
    question = "does the later batch start where the earlier one ended?"
    assert [r[question] for r in carried] == ["yes", "yes"]
    restarted = table_rows(off.table[0])
    assert [r["what happened"] for r in restarted] == ["started from the initial state"] * 2
    assert all(r["largest difference"] > 0.0 for r in restarted)
    assert [r[question] for r in restarted] == ["no", "no"]


def test_reset_before_resets_the_state_at_that_boundary(shown):
    at = shown("carry", stateful=True, reset_before=[2])
    assert not at.exception
    rows = table_rows(at.table[0])
    assert [r["what happened"] for r in rows] == ["carried over", "reset_state(): zeros"]
    carry = heatmaps(charts(at)["fig_carry"])[0]
    assert "batch 2 start (reset)" in carry["x"]  # reset_before=[2]: the third batch
    assert not values(carry["z"])[:, carry["x"].index("batch 2 start (reset)")].any()


def test_reset_before_is_disabled_unless_stateful(shown):
    assert widget(shown(), "reset_before").disabled
    assert not widget(shown("carry", stateful=True), "reset_before").disabled


def test_reset_after_is_enabled_only_for_gru(shown):
    assert widget(shown(), "reset_after").disabled
    assert not widget(shown(cell="gru"), "reset_after").disabled


def test_shrinking_num_batches_drops_resets_that_no_longer_exist():
    at = open_page("carry", stateful=True, num_batches=4, reset_before=[1, 3])
    assert widget(at, "reset_before").value == [1, 3]
    change(at, num_batches=2)
    assert not at.exception
    assert not at.sidebar.error
    assert widget(at, "reset_before").value == [1]


def state_values(at: AppTest) -> np.ndarray:
    return values(heatmaps(charts(at)["fig_states"])[0]["z"])


def test_seed_changes_the_values_shown(shown):
    before, after = state_values(shown()), state_values(shown(seed=1))
    assert before.shape == after.shape
    assert not np.allclose(before, after)


def test_signal_changes_the_values_shown(shown):
    before, after = state_values(shown()), state_values(shown(signal="ramp"))
    assert before.shape == after.shape
    assert not np.allclose(before, after)


def test_reset_after_changes_the_gru_values_shown(shown):
    before = state_values(shown(cell="gru"))
    after = state_values(shown(cell="gru", reset_after=False))
    assert not np.allclose(before, after)


def test_initial_state_random_starts_batch_0_from_a_nonzero_state(shown):
    def batch_0_start(at: AppTest) -> np.ndarray:
        carry = heatmaps(charts(at)["fig_carry"])[0]
        assert carry["x"][0] == "batch 0 start"
        return values(carry["z"])[:, 0]

    assert not batch_0_start(shown("carry")).any()
    assert batch_0_start(shown("carry", initial_state="random")).all()


def test_a_link_with_query_parameters_restores_the_controls_and_view():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params = {"cell": "GRU", "view": "Gates", "hidden_size": "5", "stateful": "true"}
    at.run()
    assert not at.exception
    assert widget(at, "view").value == "gates"
    assert widget(at, "cell").value == "gru"
    assert widget(at, "stateful").value is True
    assert [values(t["z"]).shape for t in heatmaps(charts(at)["fig_gates"])] == [(5, 15)] * 3


# ---------------------------------------------------------------- each view


def test_states_view_shows_a_heatmap_of_h_and_c_over_units_and_time(shown):
    at = shown()
    assert not at.exception
    fig = charts(at)["fig_states"]
    assert [(t["type"], t["name"]) for t in fig["data"]] == [("heatmap", "h"), ("heatmap", "c")]
    assert [values(t["z"]).shape for t in fig["data"]] == [(8, 15), (8, 15)]


def test_state_heatmaps_are_centred_on_zero(shown):
    traces = heatmaps(charts(shown())["fig_states"])
    assert len(traces) == 2
    for trace in traces:
        assert trace["zmid"] == 0.0
        assert "zmin" not in trace and "zmax" not in trace


def test_state_heatmap_axes_are_titled_unit_and_time(shown):
    layout = charts(shown())["fig_states"]["layout"]
    assert layout["yaxis"]["title"]["text"] == "unit"
    assert layout["yaxis2"]["title"]["text"] == "unit"
    assert layout["xaxis2"]["title"]["text"] == "time step (batches end to end)"


def test_states_view_plots_the_chosen_units_as_lines():
    at = open_page("states")
    assert [t["name"] for t in charts(at)["fig_lines"]["data"]][:4] == [
        "h[0]",
        "h[1]",
        "h[2]",
        "h[3]",
    ]
    change(at, units=[1, 6])
    assert not at.exception
    lines = charts(at)["fig_lines"]["data"]
    assert [(t["type"], t["name"]) for t in lines] == [
        ("scatter", "h[1]"),
        ("scatter", "h[6]"),
        ("scatter", "c[1]"),
        ("scatter", "c[6]"),
    ]


def test_lstm_gates_view_shows_four_gate_heatmaps_with_batch_boundaries(shown):
    at = shown("gates")
    assert not at.exception
    fig = charts(at)["fig_gates"]
    gates = heatmaps(fig)
    assert [t["name"] for t in gates] == ["input", "forget", "candidate", "output"]
    assert [values(t["z"]).shape for t in gates] == [(8, 15)] * 4
    for trace in gates:
        assert boundary_lines(fig, trace["yaxis"]) == [4.5, 9.5]


def test_sigmoid_gates_use_a_0_to_1_scale_and_the_candidate_is_centred_on_0(shown):
    gates = {t["name"]: t for t in heatmaps(charts(shown("gates"))["fig_gates"])}
    for name in ("input", "forget", "output"):
        assert (gates[name]["zmin"], gates[name]["zmax"]) == (0.0, 1.0)
        assert "zmid" not in gates[name]
    assert gates["candidate"]["zmid"] == 0.0
    assert "zmin" not in gates["candidate"]


def test_gate_heatmap_axes_are_titled_unit_and_time(shown):
    layout = charts(shown("gates"))["fig_gates"]["layout"]
    assert [layout[f"yaxis{n}"]["title"]["text"] for n in ("", "2", "3", "4")] == ["unit"] * 4
    assert layout["xaxis4"]["title"]["text"] == "time step (batches end to end)"


def test_returns_view_lists_the_returned_tensors_in_keras_order(shown):
    at = shown("returns")
    assert not at.exception
    assert table_rows(at.table[0]) == [
        {"name": "output", "shape": "(2, 5, 8)", "dtype": "float32"},
        {"name": "state_h", "shape": "(2, 8)", "dtype": "float32"},
        {"name": "state_c", "shape": "(2, 8)", "dtype": "float32"},
    ]


@pytest.mark.parametrize(
    ("controls", "checks"),
    [
        ({}, 6),
        ({"cell": "gru", "return_sequences": False}, 5),
        ({"cell": "simple_rnn", "stateful": True, "initial_state": "random"}, 5),
    ],
    ids=["lstm", "gru-last-step", "simple_rnn-stateful"],
)
def test_returns_view_live_checks_all_hold(shown, controls, checks):
    at = shown("returns", **controls)
    assert not at.exception
    assert [e.value for e in at.error] == []
    for batch in range(3):  # each batch's pane has its checks
        assert len(pane(at, "returns", batch).get("success")) == checks


def test_returns_view_shows_what_the_flipped_return_sequences_returns(shown):
    flipped = table_rows(shown("returns").table[1])
    assert flipped == [
        {"name": "output", "shape": "(2, 8)"},
        {"name": "state_h", "shape": "(2, 8)"},
        {"name": "state_c", "shape": "(2, 8)"},
    ]


def test_carry_view_shows_the_start_and_end_of_every_batch(shown):
    at = shown("carry")
    assert not at.exception
    carry = heatmaps(charts(at)["fig_carry"])[0]
    assert carry["x"] == [f"batch {k} {end}" for k in (0, 1, 2) for end in ("start", "end")]
    assert values(carry["z"]).shape == (8, 6)


def test_carry_view_overlays_stateful_and_stateless_h(shown):
    fig = charts(shown("carry"))["fig_vs"]
    assert [(t["type"], t["name"]) for t in fig["data"]] == [
        ("scatter", "stateful=True"),
        ("scatter", "stateful=False"),
    ]
    # Batch 0 starts from the same state either way; batch 1 differs.
    on, off = (values(t["y"]) for t in fig["data"])
    np.testing.assert_allclose(on[:5], off[:5], atol=1e-6)
    assert not np.allclose(on[5:10], off[5:10])


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_step_inspector_shows_the_traced_numbers_at_the_chosen_position(cell):
    batch, sample, t, unit = 1, 1, 3, 2
    at = open_page("step", cell=cell)
    assert not at.exception
    lines = step_lines(at, batch, sample, t, unit)
    trace = rnnviz.run(rnnviz.RunConfig(cell=cell))
    at_ = (batch, sample, t, unit)
    prev = (batch, sample, t - 1, unit)
    close = {"atol": 1e-6, "rtol": 0}
    if cell == "lstm":
        gates = [trace.gates[g][at_] for g in ("input", "forget", "candidate", "output")]
        assert len(lines) == 3
        np.testing.assert_allclose(lines[0], gates, **close)
        np.testing.assert_allclose(lines[1][1], trace.c[prev], **close)
        np.testing.assert_allclose(lines[1][-1], trace.c[at_], **close)
        np.testing.assert_allclose(lines[2][-1], trace.h[at_], **close)
    elif cell == "gru":
        gates = [trace.gates[g][at_] for g in ("update", "reset", "candidate")]
        assert len(lines) == 2
        np.testing.assert_allclose(lines[0], gates, **close)
        np.testing.assert_allclose(lines[1][1], trace.h[prev], **close)
        np.testing.assert_allclose(lines[1][-1], trace.h[at_], **close)
    else:
        assert len(lines) == 1
        np.testing.assert_allclose(lines[0][-1], trace.h[at_], **close)


def test_code_view_script_uses_batch_shape_exactly_when_stateful(shown):
    stateful, stateless = shown("code", stateful=True), shown("code")
    assert not stateful.exception and not stateless.exception
    assert "keras.Input(batch_shape=" in stateful.code[0].value
    assert "keras.Input(batch_shape=" not in stateless.code[0].value


def test_code_view_shows_the_keras3_error_of_each_keras2_idiom(shown):
    at = shown("code")
    assert not at.exception
    errors = [e.value for e in at.error]
    expected = [
        # seeds/000's state trap, run live: K.variable, the direct call, the wrong shape
        "has no attribute 'variable'",
        "Matrix size-incompatible: In[0]: [2,2]",
        "must match. variable.shape=(2, 8), Received: value.shape=(2, 2)",
        # the idioms
        "Unrecognized keyword arguments",
        "has no attribute 'set_value'",
        "unexpected keyword argument 'states'",
        "has no attribute 'reset_states'",
    ]
    assert len(errors) == len(expected)
    for error, text in zip(errors, expected, strict=True):
        assert text in error


# ---------------------------------------------------------------- presets


@pytest.fixture(scope="module")
def preset_page():
    """Returns the page after a preset's button was clicked on a page set up otherwise."""
    pages: dict[str, AppTest] = {}

    def get(key: str) -> AppTest:
        if key not in pages:
            at = open_page("gates", cell="gru", hidden_size=3, seed=9, return_state=False)
            pages[key] = at.button(key=f"preset_{key}").click().run()
        return pages[key]

    return get


@pytest.mark.parametrize("key", list(PRESETS_BY_KEY))
def test_preset_sets_every_control_and_opens_its_view(preset_page, key):
    preset = PRESETS_BY_KEY[key]
    at = preset_page(key)
    assert not at.exception
    for name, value in preset.config.to_dict().items():
        assert widget(at, name).value == value, name
    assert widget(at, "view").value == preset.view


@pytest.mark.parametrize("key", list(PRESETS_BY_KEY))
def test_preset_shows_the_question_it_answers(preset_page, key):
    assert [i.value for i in preset_page(key).info] == [PRESETS_BY_KEY[key].question]


def test_preset_1_shows_the_lstm_state_shapes_and_state_size(preset_page):
    at = preset_page("lstm_states")
    assert not at.exception
    assert [r["shape"] for r in table_rows(at.table[0])] == ["(2, 5, 8)", "(2, 8)", "(2, 8)"]
    assert "cell.state_size = [8, 8], one entry per state of h and c, each hidden_size" in [
        s.value for s in at.success
    ]


def test_preset_2_shows_the_simple_rnn_state_carried_between_batches(preset_page):
    at = preset_page("initial_state")
    assert not at.exception
    assert [r["what happened"] for r in table_rows(at.table[0])] == ["carried over"]
    carry = heatmaps(charts(at)["fig_carry"])[0]
    z = values(carry["z"])
    assert z.shape == (3, 4)
    assert z[:, 0].all()  # a random, not zero, initial state


def test_preset_2_shows_the_initial_state_as_numbers(preset_page):
    at = preset_page("initial_state")
    (table,) = [d.value for d in at.dataframe if "unit 0" in d.value.columns]
    shown = table.to_numpy()
    expected = rnnviz.run(PRESETS_BY_KEY["initial_state"].config).initial_states[0][0]
    np.testing.assert_array_equal(shown, expected)  # (batch_size, hidden_size): (2, 3)


def test_preset_3_shows_the_answers_input_and_why_its_numbers_differ(preset_page):
    at = pane(preset_page("return_sequences"), "returns", 0)
    (rows,) = [d.value for d in at.get("dataframe") if "sample row" in d.value.columns]
    features = rows[["feature 0", "feature 1", "feature 2"]].to_numpy()
    np.testing.assert_array_equal(
        features, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 2, 3], [4, 5, 6], [0, 0, 0]]
    )
    why = [m.value for m in at.get("markdown")
           if "Why these numbers are not the answer's" in m.value]  # fmt: skip
    assert len(why) == 1 and "tf.set_random_seed(42)" in why[0]
    assert "the two rows get the same h_t at steps 0 and 1" in why[0]
    assert "the shapes match: (2, 3, 4) here and in the answer" in why[0]


def test_preset_4_shows_the_silent_state_trap_beside_the_keras3_way(preset_page):
    at = preset_page("state_trap")
    assert not at.exception
    (warning,) = [w.value for w in at.warning]
    assert "changes nothing" in warning and "to the last bit" in warning
    assert any("predict now starts from h0" in s.value for s in at.success)


def test_preset_3_shows_both_return_sequences_shapes(preset_page):
    at = preset_page("return_sequences")
    assert not at.exception
    assert [r["shape"] for r in table_rows(at.table[0])] == ["(2, 3, 4)"]
    assert [r["shape"] for r in table_rows(at.table[1])] == ["(2, 4)"]


# ---------------------------------------------------------------- invalid input

TOO_LARGE = {"num_steps": 2000, "hidden_size": 1024, "batch_size": 256, "num_batches": 20}


def test_too_large_a_trace_shows_the_config_error_in_the_sidebar(shown):
    at = shown(**TOO_LARGE)
    assert not at.exception
    assert [e.value for e in at.sidebar.error] == [
        "num_batches*batch_size*num_steps*hidden_size=10485760000 is invalid: must be at most "
        "4,000,000 so a trace fits in memory; lower one of them"
    ]
    assert charts(at) == {}
    assert at.warning and "Fix the highlighted control" in at.warning[0].value


def test_fixing_the_invalid_controls_brings_the_charts_back():
    at = open_page(**TOO_LARGE)
    assert charts(at) == {}
    change(at, num_steps=1, hidden_size=4, num_batches=2)
    assert not at.exception
    assert not at.sidebar.error
    shapes = [values(t["z"]).shape for t in heatmaps(charts(at)["fig_states"])]
    assert shapes == [(4, 2 * 1), (4, 2 * 1)]


# ---------------------------------------------------------------- downloads


def test_sidebar_offers_the_trace_csv_and_html_exports(shown):
    buttons = {b.key: b for b in shown().sidebar.download_button}
    assert set(buttons) == {"dl_npz", "dl_csv", "dl_html"}
    assert buttons["dl_npz"].label == "Trace (.npz, all arrays)"
    assert buttons["dl_html"].label == "Figures (standalone .html)"
    # Exports are deferred: the server builds them only when clicked.
    for key in ("dl_npz", "dl_csv", "dl_html"):
        assert buttons[key].proto.deferred_file_id and not buttons[key].proto.url


def test_csv_download_holds_the_chosen_state_for_every_batch_sample_and_step(shown):
    at = shown(csv_state="c")
    button = at.sidebar.download_button(key="dl_csv")
    assert button.label == "c (.csv)"
    c = rnnviz.run(DEFAULTS).c
    lines = ["batch,sample,t," + ",".join(f"unit_{u}" for u in range(c.shape[-1]))]
    for k, b, t in np.ndindex(c.shape[:3]):
        lines.append(f"{k},{b},{t}," + ",".join(f"{float(v):.8g}" for v in c[k, b, t]))
    expected = "\n".join(lines) + "\n"
    assert export.state_csv(rnnviz.run(DEFAULTS), "c") == expected


def test_code_download_holds_exactly_the_shown_script(shown):
    at = shown("code", stateful=True)
    script = rnnviz.keras_code(rnnviz.RunConfig(stateful=True))
    assert at.code[0].value == script.rstrip("\n")  # st.code drops the final newline
    button = at.download_button(key="dl_code")
    assert button.proto.url == served_url(script, "text/x-python", "rnnviz_keras3.py")


def test_html_export_inlines_plotly_once_and_holds_every_figure():
    # The npz and html downloads are rebuilt with fresh timestamps and div ids on
    # every run, so their bytes are checked through the functions that make them.
    trace = rnnviz.run(DEFAULTS)
    html = export.figures_html(trace)
    assert html.startswith("<!doctype html>")
    assert html.count('class="plotly-graph-div"') == 3
    assert html.count("plotly.js v") == 1
    assert 'src="https://cdn.plot.ly' not in html


def test_npz_export_holds_every_state_gate_weight_and_returned_tensor():
    trace = rnnviz.run(DEFAULTS)
    with np.load(io.BytesIO(export.trace_npz(trace))) as saved:
        arrays = {name: saved[name] for name in saved.files if name != "config"}
        assert json.loads(str(saved["config"])) == DEFAULTS.to_dict()
    assert set(arrays) == {
        "inputs",
        "h",
        "c",
        *(f"gate_{g}" for g in ("input", "forget", "candidate", "output")),
        *(f"weights_{w}" for w in ("kernel", "recurrent_kernel", "bias")),
        *(f"{k}_state_{s}" for k in ("initial", "final") for s in ("h", "c")),
        *(f"returned_b{b}_{n}" for b in range(3) for n in ("output", "state_h", "state_c")),
    }
    assert arrays["h"].shape == (3, 2, 5, 8)
    assert arrays["initial_state_c"].shape == (3, 2, 8)


def test_preset_1_feeds_an_input_that_moves_the_state():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.button(key="preset_lstm_states").click().run()
    change(at, view="states")
    z = [values(t["z"]) for t in heatmaps(charts(at)["fig_states"])]
    assert len(z) == 2  # h and c
    assert all(np.abs(panel).max() > 0.01 for panel in z)


def test_a_presets_question_stays_visible_while_controls_change():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.button(key="preset_return_sequences").click().run()
    change(at, hidden_size=6)
    assert [i.value for i in at.info] == [PRESETS_BY_KEY["return_sequences"].question]
    assert at.query_params["preset"] in ("return_sequences", ["return_sequences"])


def test_a_link_with_a_preset_opens_with_its_question_and_hide_removes_it():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["preset"] = "initial_state"
    at.run()
    assert [i.value for i in at.info] == [PRESETS_BY_KEY["initial_state"].question]
    at.button(key="hide_question").click().run()
    assert not at.info
    assert "preset" not in at.query_params


def test_a_lenient_link_sets_the_controls_and_a_bad_one_is_named_in_a_notice():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"cell": "gru", "hidden_size": "6.0", "bogus": "<b>x</b>", "seed": "-1"})
    at.run()
    assert widget(at, "cell").value == "gru"
    assert widget(at, "hidden_size").value == 6
    shown = " ".join(t.value for t in at.text)
    assert "bogus=<b>x</b> is not a parameter of this page: ignored" in shown  # as plain text
    assert "seed=-1 is not a whole number from 0 to 2147483647: used 0" in shown
