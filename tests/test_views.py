"""Every view draws the numbers it claims to draw: each figure's data is compared with the
trace it shows (whose numbers the oracle checks in test_keras_numbers), or with an
independent computation. A view that drew zeros, swapped two units, plotted the next unit
or the next sample would fail here (issue 23; how this was checked: docs/decisions.md).
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

import rnnviz
from rnnviz import analysis
from rnnviz.views import export, figures
from tests.helpers import TOL
from tests.oracle import recur_batches
from tests.test_app import values

#: Distinct numbers everywhere: a random signal and initial state, 3 samples, 3 units,
#: 3 batches of 4 steps, stateful with a reset before batch 2.
CFG = rnnviz.RunConfig(
    cell="lstm",
    batch_size=3,
    num_steps=4,
    hidden_size=3,
    num_batches=3,
    stateful=True,
    reset_before=(2,),
    signal="random",
    initial_state="random",
    seed=3,
)


@pytest.fixture(scope="module")
def trace():
    return rnnviz.run(CFG)


def as_json(fig) -> dict:
    return json.loads(fig.to_json())


def heatmap_z(fig: dict) -> list[np.ndarray]:
    return [values(t["z"]).astype(np.float64) for t in fig["data"] if t["type"] == "heatmap"]


def unrolled(array: np.ndarray, sample: int) -> np.ndarray:
    """(batch_index, sample, time, unit) -> (unit, batches end to end): what a heatmap shows."""
    k, _, t, u = array.shape
    return array[:, sample].reshape(k * t, u).T


# ----- the trace itself equals the oracle, so comparing with it is comparing with the oracle ---


def test_the_view_fixture_trace_equals_the_numpy_oracle(trace):
    oracle = recur_batches(
        "lstm", trace.inputs, trace.weights, trace.initial_states[0], True, CFG.reset_before
    )
    for k, (_, states, gates) in enumerate(oracle):
        np.testing.assert_allclose(trace.h[k], states[0], **TOL)
        np.testing.assert_allclose(trace.c[k], states[1], **TOL)
        for name in ("input", "forget", "candidate", "output"):
            np.testing.assert_allclose(trace.gates[name][k], gates[name], **TOL)


# ----- Explore ------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", [0, 2])
def test_state_heatmaps_draw_h_and_c_of_the_chosen_sample_units_by_steps(trace, sample):
    z_h, z_c = heatmap_z(as_json(figures.state_heatmaps(trace, sample)))
    np.testing.assert_array_equal(z_h, unrolled(trace.h, sample))
    np.testing.assert_array_equal(z_c, unrolled(trace.c, sample))


def test_state_heatmaps_are_centred_on_zero_and_gates_run_from_0_to_1(trace):
    states = as_json(figures.state_heatmaps(trace))["data"]
    gates = {t["name"]: t for t in as_json(figures.gate_heatmaps(trace))["data"]}
    assert all(t["zmid"] == 0 for t in states)
    for name in ("input", "forget", "output"):
        assert (gates[name]["zmin"], gates[name]["zmax"]) == (0, 1)
    assert gates["candidate"]["zmid"] == 0  # tanh: diverging


def test_gate_heatmaps_draw_each_gate_in_keras_order(trace):
    fig = as_json(figures.gate_heatmaps(trace, 1))
    drawn = heatmap_z(fig)
    names = [t["name"] for t in fig["data"]]
    assert names == ["input", "forget", "candidate", "output"]
    for name, z in zip(names, drawn, strict=True):
        np.testing.assert_array_equal(z, unrolled(trace.gates[name], 1))


def test_unit_lines_draw_each_chosen_unit_of_h_and_c(trace):
    fig = as_json(figures.unit_lines(trace, sample=2, units=[2, 0]))
    lines = {t["name"]: values(t["y"]) for t in fig["data"]}
    assert list(lines) == ["h[2]", "h[0]", "c[2]", "c[0]"]
    for name, y in lines.items():
        state, unit = name[0], int(name[2])
        np.testing.assert_array_equal(y, unrolled(trace.state(state), 2)[unit])


def test_the_carry_chart_puts_each_batchs_initial_and_final_state_side_by_side(trace):
    fig = as_json(figures.carry_over(trace, sample=1, state="c"))
    (z,) = heatmap_z(fig)
    expected = []
    for k in range(CFG.num_batches):
        expected += [trace.initial_states[k][1][1], trace.final_states[k][1][1]]
    np.testing.assert_array_equal(z, np.stack(expected, axis=1))
    x = fig["data"][0]["x"]
    assert x[4] == "batch 2 start (reset)" and not z[:, 4].any()  # the reset: zeros
    np.testing.assert_array_equal(z[:, 2], z[:, 1])  # stateful: batch 1 starts at batch 0's end


def test_stateful_vs_stateless_overlays_one_units_h_from_both_runs(trace):
    stateless = rnnviz.run(CFG.replace(stateful=False))
    fig = as_json(figures.stateful_vs_stateless(trace, stateless, sample=2, unit=1))
    a, b = (values(t["y"]) for t in fig["data"])
    np.testing.assert_array_equal(a, unrolled(trace.h, 2)[1])
    np.testing.assert_array_equal(b, unrolled(stateless.h, 2)[1])


def test_a_user_models_backward_layer_labels_each_column_by_its_input_step(trace):
    import dataclasses

    one = rnnviz.run(CFG.replace(num_batches=1, reset_before=()))
    labels = np.broadcast_to(np.array(["3", "2", "1", "0"], object), one.h.shape[:3]).copy()
    fig = as_json(
        figures.mark_model_steps(
            figures.state_heatmaps(one), dataclasses.replace(one, labels=labels)
        )
    )
    assert fig["data"][0]["x"] == [
        "step 0 (input 3)",
        "step 1 (input 2)",
        "step 2 (input 1)",
        "step 3 (input 0)",
    ]


# ----- exports ------------------------------------------------------------------------------


def test_the_npz_export_holds_every_array_of_the_trace_and_its_config(trace):
    saved = np.load(io.BytesIO(export.trace_npz(trace)))
    np.testing.assert_array_equal(saved["h"], trace.h)
    np.testing.assert_array_equal(saved["c"], trace.c)
    np.testing.assert_array_equal(saved["gate_forget"], trace.gates["forget"])
    np.testing.assert_array_equal(saved["inputs"], trace.inputs)
    np.testing.assert_array_equal(saved["weights_recurrent_kernel"], trace.weights[1])
    np.testing.assert_array_equal(saved["initial_state_c"][2], trace.initial_states[2][1])
    np.testing.assert_array_equal(saved["final_state_h"][1], trace.final_states[1][0])
    np.testing.assert_array_equal(saved["returned_b1_state_c"], trace.output(1, "state_c"))
    assert json.loads(str(saved["config"])) == CFG.to_dict()


def test_the_csv_export_has_one_row_per_batch_sample_step_and_the_states_values(trace):
    rows = np.loadtxt(io.StringIO(export.state_csv(trace, "c")), delimiter=",", skiprows=1)
    assert rows.shape == (3 * 3 * 4, 3 + 3)
    k, b, t = rows[:, :3].astype(int).T
    np.testing.assert_allclose(rows[:, 3:], trace.c[k, b, t], rtol=1e-7)


def test_the_html_export_embeds_the_state_gate_and_carry_figures_with_their_numbers(trace):
    html = export.figures_html(trace)
    assert html.count("plotly.js") >= 1 and html.count('class="plotly-graph-div"') == 3
    specs = re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S)
    first = json.loads(specs[0])  # the state heatmaps
    np.testing.assert_array_equal(values(first[0]["z"]), unrolled(trace.h, 0))


# ----- Train --------------------------------------------------------------------------------

HISTORY = {"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.6, 0.4],
           "metric": [0.4, 0.7, 0.9], "val_metric": [0.3, 0.6, 0.8]}  # fmt: skip


def test_training_curves_draw_each_runs_history_by_epoch():
    other = {k: [v + 0.01 for v in vals] for k, vals in HISTORY.items()}
    fig = as_json(figures.training_curves({"LSTM": HISTORY, "GRU": other}, "accuracy"))
    drawn = {t["name"] + ("" if t["xaxis"] == "x" else " metric"): t for t in fig["data"]}
    np.testing.assert_array_equal(values(drawn["LSTM training"]["y"]), HISTORY["loss"])
    np.testing.assert_array_equal(
        values(drawn["LSTM validation metric"]["y"]), HISTORY["val_metric"]
    )
    np.testing.assert_array_equal(values(drawn["GRU validation"]["y"]), other["val_loss"])
    np.testing.assert_array_equal(values(drawn["GRU training"]["x"]), [1, 2, 3])


def test_final_metric_bars_draw_each_runs_final_metric_and_the_target():
    fig = as_json(figures.final_metric_bars({"LSTM": 0.97, "SimpleRNN": 0.48}, "accuracy", 0.9))
    bars = fig["data"][0]
    assert list(bars["x"]) == ["LSTM", "SimpleRNN"]
    np.testing.assert_array_equal(values(bars["y"]), [0.97, 0.48])
    assert fig["layout"]["shapes"][0]["y0"] == 0.9


def test_unit_vs_latent_draws_the_chosen_unit_and_the_samples_latent(trace):
    latent = np.arange(12, dtype=float).reshape(3, 4)
    fig = as_json(figures.unit_vs_latent(trace, latent, unit=2, sample=1, latent_name="depth"))
    unit, hidden = fig["data"]
    np.testing.assert_array_equal(values(unit["y"]), trace.h[0, 1, :, 2])
    np.testing.assert_array_equal(values(hidden["y"]), latent[1])


def test_the_state_heatmap_row_draws_each_network_on_one_shared_scale(trace):
    gru = rnnviz.run(CFG.replace(cell="gru"))
    fig = as_json(figures.state_heatmap_row({"LSTM": trace, "GRU": gru}, sample=2))
    a, b = heatmap_z(fig)
    np.testing.assert_array_equal(a, trace.h[0, 2].T)
    np.testing.assert_array_equal(b, gru.h[0, 2].T)
    bound = max(np.abs(trace.h[0, 2]).max(), np.abs(gru.h[0, 2]).max())
    assert {(t["zmin"], t["zmax"]) for t in fig["data"]} == {(-bound, bound)}


# ----- Text ---------------------------------------------------------------------------------


def test_the_text_heatmap_colours_each_character_by_its_value_where_it_stands():
    text = "ab\n\tc d"
    fig = as_json(figures.text_heatmap(text, np.arange(7, dtype=float), None, bound=10))
    z = values(fig["data"][0]["z"])
    labels = fig["data"][0]["text"]
    assert [labels[0][0], labels[0][1], labels[0][2]] == ["a", "b", "↵"]
    assert [labels[1][0], labels[1][1], labels[1][2], labels[1][3]] == ["→", "c", "·", "d"]
    np.testing.assert_array_equal(z[0, :3], [0, 1, 2])
    np.testing.assert_array_equal(z[1, :4], [3, 4, 5, 6])
    assert np.isnan(z[0, 3:]).all()


def test_gate_saturation_draws_each_units_closed_and_open_fractions_and_marks_the_unit():
    saturation = {"forget": (np.array([0.1, 0.2, 0.7]), np.array([0.8, 0.5, 0.0]))}
    fig = as_json(figures.gate_saturation(saturation, unit=2))
    everyone, chosen = fig["data"]
    np.testing.assert_array_equal(values(everyone["x"]), [0.1, 0.2, 0.7])
    np.testing.assert_array_equal(values(everyone["y"]), [0.8, 0.5, 0.0])
    assert (values(chosen["x"]).tolist(), values(chosen["y"]).tolist()) == ([0.7], [0.0])


def test_gate_saturation_counts_the_steps_below_and_above_the_thresholds(trace):
    from rnnviz.sources.text.charmodel import gate_saturation

    result = gate_saturation(trace, length=36)  # all 3 x 3 x 4 steps
    forget = trace.gates["forget"].reshape(-1, 3)
    for unit in range(3):
        closed = sum(1 for v in forget[:, unit] if v < 0.1) / 36
        opened = sum(1 for v in forget[:, unit] if v > 0.9) / 36
        assert (result["forget"][0][unit], result["forget"][1][unit]) == (closed, opened)
    assert set(result) == {"input", "forget", "output"}  # the candidate is tanh


def test_the_window_loss_chart_draws_both_curves_by_position():
    curves = {"position": np.arange(4), "stateful": np.array([2.0, 1.5, 1.4, 1.3]),
              "stateless": np.array([4.0, 2.5, 1.6, 1.4])}  # fmt: skip
    fig = as_json(figures.window_loss(curves, window=4))
    carried, fresh = fig["data"]
    np.testing.assert_array_equal(values(carried["y"]), curves["stateful"])
    np.testing.assert_array_equal(values(fresh["y"]), curves["stateless"])
    assert "carried" in carried["name"] and "zero state" in fresh["name"]


# ----- Why ----------------------------------------------------------------------------------


def test_the_reach_heatmap_draws_log10_of_each_samples_reach(trace):
    reach = analysis.connectivity(trace, target_step=3, batch=1)
    (z,) = heatmap_z(as_json(figures.reach_heatmap(reach, 3)))
    np.testing.assert_allclose(z, np.log10(reach).astype(np.float32), rtol=1e-6)


def test_the_intervention_chart_draws_before_after_and_their_difference(trace):
    after = analysis.intervene(trace, unit=1, step=2, value=0.9, batch=0, sample=2)
    a, b, d = heatmap_z(as_json(figures.intervention(trace, after, 2, 2, 1)))
    np.testing.assert_array_equal(a, unrolled(trace.h, 2))
    np.testing.assert_array_equal(b, unrolled(after.h, 2))
    np.testing.assert_allclose(d, unrolled(after.h, 2) - unrolled(trace.h, 2), atol=1e-7)
    assert b[1, 2] == np.float32(0.9)  # the unit set at the step


def test_trajectories_draw_each_batchs_path_through_the_principal_axes(trace):
    pca = analysis.pca(trace)
    projected = pca.project(trace)
    starts = pca.project_starts(trace)
    fig = as_json(
        figures.trajectories(
            {"LSTM": projected}, 1, pca.explained_variance_ratio, starts={"LSTM": starts}
        )
    )
    assert len(fig["data"]) == 3  # one line per batch
    for k, line in enumerate(fig["data"]):
        path = np.vstack([starts[k, 1][None], projected[k, 1]])
        np.testing.assert_allclose(values(line["x"]), path[:, 0], rtol=1e-6)
        np.testing.assert_allclose(values(line["y"]), path[:, 1], rtol=1e-6)


def test_the_projection_is_the_centred_states_times_the_axes(trace):
    pca = analysis.pca(trace)
    flat = trace.h.reshape(-1, 3).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:3].T
    got = pca.project(trace).reshape(-1, expected.shape[1])
    # axes are defined up to their sign
    np.testing.assert_allclose(np.abs(got), np.abs(expected), rtol=1e-5, atol=1e-6)


def test_the_correlation_matrix_draws_r_and_marks_the_matching(trace):
    gru = rnnviz.run(CFG.replace(cell="gru"))
    result = analysis.compare(trace, gru)
    fig = as_json(figures.correlation_matrix(result.correlation, result.matching, "LSTM", "GRU"))
    (z,) = heatmap_z(fig)
    a = trace.h.reshape(-1, 3).astype(np.float64)
    b = gru.h.reshape(-1, 3).astype(np.float64)
    expected = np.array([[np.corrcoef(a[:, i], b[:, j])[0, 1] for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(z, expected, atol=1e-5)
    marks = fig["data"][1]
    np.testing.assert_array_equal(values(marks["x"]), result.matching)
    np.testing.assert_array_equal(values(marks["y"]), [0, 1, 2])


def test_the_compare_matching_maximises_the_summed_absolute_correlation(trace):
    import itertools

    gru = rnnviz.run(CFG.replace(cell="gru"))
    result = analysis.compare(trace, gru)
    r = np.abs(result.correlation)
    best = max(itertools.permutations(range(3)), key=lambda p: sum(r[i, p[i]] for i in range(3)))
    assert sum(r[i, result.matching[i]] for i in range(3)) == pytest.approx(
        sum(r[i, best[i]] for i in range(3))
    )


def test_the_window_loss_is_each_windows_own_loss_stateless_and_the_whole_texts_stateful():
    from rnnviz.sources.text import charmodel as T

    cm = T.load_char_model("simple_rnn")
    window = 20
    text = T.split_text()[1][: 3 * window + 1]
    curves = T.stateful_vs_stateless(cm, text, window=window)
    ids = cm.encode(text)

    def bits(piece: str) -> np.ndarray:  # -log2 p of each next character, from zero state
        probs = T.next_char_probs(cm, piece)
        targets = cm.encode(piece)[1:]
        return -np.log2(probs[np.arange(len(targets)), targets].astype(np.float64))

    # stateless: every window (and the character after it) from the zero state
    fresh = np.mean([bits(text[w * window : (w + 1) * window + 1]) for w in range(3)], axis=0)
    # stateful: one pass over the whole text, cut into the same windows
    carried = bits(text[: 3 * window + 1]).reshape(3, window).mean(axis=0)
    assert len(ids) == 3 * window + 1
    np.testing.assert_allclose(curves["stateless"], fresh, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(curves["stateful"], carried, rtol=1e-4, atol=1e-4)


# ----- Stateful -----------------------------------------------------------------------------


def test_the_stream_chart_colours_each_step_by_the_batch_and_row_that_read_it():
    from rnnviz.sources.stateful.layout import layout

    lay = layout(43, 2, 5, "continuation")  # rows read steps 0-19 and 21-40
    heat = as_json(figures.layout_stream(lay.index, 43))["data"][0]
    batch, row = values(heat["z"])[0], values(heat["customdata"])[0]
    assert batch[:20].tolist() == [k for k in range(4) for _ in range(5)]
    assert row[21:41].tolist() == [1] * 20 and row[:20].tolist() == [0] * 20
    assert np.isnan(batch[[20, 41, 42]]).all()  # dropped steps: no batch


def test_accuracy_by_position_draws_each_layouts_curve():
    curves = {"continuation": np.array([0.9, 0.95]), "stateless": np.array([0.5, 0.6])}
    lines = as_json(figures.accuracy_by_position(curves))["data"]
    assert [t["name"] for t in lines] == ["continuation", "stateless"]
    np.testing.assert_array_equal(values(lines[1]["y"]), [0.5, 0.6])


# ----- figures built without Plotly's validation (issue 20) ---------------------------------


@pytest.mark.parametrize("make", ["state_heatmaps", "gate_heatmaps", "unit_lines"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_figure_built_without_validation_is_what_validation_would_send(make, cell):
    trace = rnnviz.run(rnnviz.RunConfig(cell=cell, hidden_size=5, num_batches=2))
    fig = getattr(figures, make)(trace)
    assert json.loads(fig.to_json()) == json.loads(go.Figure(fig.to_dict()).to_json())
