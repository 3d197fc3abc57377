"""Paths drawn step by step and a cursor over text (rnnviz.views.animation_paths), on the
Why, Stateful and Text pages: every frame's numbers are the trace's up to that step."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz import analysis
from rnnviz.core.config import ConfigError
from rnnviz.views import animation_paths, figures
from tests.test_app import values


def projection(stateful: bool = True):
    """The Why page's trajectory inputs for the Explore layer and its stateful twin."""
    cfg = rnnviz.RunConfig(stateful=stateful)
    other = cfg.replace(stateful=not stateful)
    traces = {f"stateful={stateful}": rnnviz.run(cfg),
              f"stateful={not stateful}": rnnviz.run(other)}  # fmt: skip
    result = analysis.pca(list(traces.values()), n=3)
    projected = {label: result.project(t) for label, t in traces.items()}
    starts = {label: result.project_starts(t) for label, t in traces.items()}
    kinds = {label: t.config.stateful for label, t in traces.items()}
    return projected, starts, kinds, result.explained_variance_ratio


@pytest.fixture(scope="module")
def path():
    projected, starts, kinds, explained = projection()
    fig = animation_paths.trajectory(projected, 0, explained, starts=starts, stateful=kinds)
    return fig.to_plotly_json(), projected, starts


def test_the_trajectory_has_a_frame_per_step_of_every_batch(path):
    fig, _, _ = path
    assert [f["name"] for f in fig["frames"]] == [str(t) for t in range(15)]


def test_frame_t_draws_each_batch_up_to_step_t_from_its_start(path):
    fig, projected, starts = path
    frame = fig["frames"][6]  # batch 1, step 1
    drawn = [(values(d["x"]), values(d["y"])) for d in frame["data"][:-1]]
    p, s = projected["stateful=True"], starts["stateful=True"]
    x, y = drawn[0]  # batch 0 of the stateful layer: its start and all 5 steps
    np.testing.assert_array_equal(x, np.r_[s[0, 0, 0], p[0, 0, :, 0]])
    np.testing.assert_array_equal(y, np.r_[s[0, 0, 1], p[0, 0, :, 1]])
    x, _ = drawn[1]  # batch 1: its start and steps 0, 1
    np.testing.assert_array_equal(x, np.r_[s[1, 0, 0], p[1, 0, :2, 0]])
    assert len(drawn[2][0]) == 0  # batch 2 has not started


def test_a_stateful_batch_starts_where_the_last_ended_and_a_stateless_one_jumps_back(path):
    fig, _, _ = path
    frame = fig["frames"][5]  # batch 1, step 0
    on_end = values(frame["data"][0]["x"])[-1], values(frame["data"][0]["y"])[-1]
    on_start = values(frame["data"][1]["x"])[0], values(frame["data"][1]["y"])[0]
    assert on_start == pytest.approx(on_end, abs=1e-6)
    off_first = values(frame["data"][3]["x"])[0], values(frame["data"][3]["y"])[0]
    off_start = values(frame["data"][4]["x"])[0], values(frame["data"][4]["y"])[0]
    assert off_start == pytest.approx(off_first, abs=1e-6)  # back to the initial state
    words = frame["data"][-1]["text"][0]
    assert "stateful=True: goes on from the last state" in words
    assert "stateful=False: jumps back to the initial state" in words


def test_the_axes_are_fixed_to_the_whole_path(path):
    fig, projected, _ = path
    every = np.concatenate([p[..., 0].ravel() for p in projected.values()])
    low, high = fig["layout"]["xaxis"]["range"]
    assert low < every.min() and high > every.max()


def test_a_3d_figure_is_refused_with_its_reason():
    projected, starts, _, explained = projection()
    fig = figures.trajectories(projected, 0, explained, three_d=True, starts=starts)
    with pytest.raises(ConfigError, match="2-D scatter traces"):
        animation_paths.reveal(fig, [None] * len(fig.data), "x")


def test_the_carried_state_grows_with_the_words_of_each_boundary():
    a = rnnviz.run(rnnviz.RunConfig(stateful=True))
    fig = animation_paths.carried({"continuation": a}, 0, 2, "h",
                                  boundaries={"continuation": ["goes on", "jumps"]})  # fmt: skip
    frame = fig.to_plotly_json()["frames"][7]  # batch 1, step 2
    np.testing.assert_array_equal(values(frame["data"][0]["y"]),
                                  a.h[:, 0, :, 2].reshape(-1)[:8])  # fmt: skip
    assert "batch 1 → 2: continuation: jumps" in fig.frames[10].data[-1].text[0]


def test_the_text_cursor_sits_on_each_character_with_its_top_5():
    text = "ab\ncd"
    top5 = [[(c, 0.5), ("x", 0.2), ("y", 0.1), ("z", 0.1), (" ", 0.05)] for c in "bcdef"]
    fig = animation_paths.text_cursor(text, np.array([0.1, -0.2, 0.3, 0.4, -0.5]), top5,
                                      "unit 0", 1.0)  # fmt: skip
    frame = fig.to_plotly_json()["frames"][3]  # "c": row 1, column 0
    assert (min(frame["data"][0]["x"]), max(frame["data"][0]["x"])) == (-0.5, 0.5)
    assert (min(frame["data"][0]["y"]), max(frame["data"][0]["y"])) == (0.5, 1.5)  # row 1
    assert frame["data"][1]["x"] == [0.5, 0.2, 0.1, 0.1, 0.05]
    assert frame["data"][1]["text"][0] == "e  50%" and frame["data"][1]["text"][4] == "·  5%"
    assert "character 3 'c': value +0.4000" in frame["data"][3]["text"][0]


def test_hovering_a_character_of_the_text_animation_gives_its_index_and_value():
    top5 = [[(c, 0.5), ("x", 0.2), ("y", 0.1), ("z", 0.1), (" ", 0.05)] for c in "bcd"]
    fig = animation_paths.text_cursor("abc", np.array([0.1, -0.2, 0.3]), top5, "unit 0", 1.0)
    text = fig.data[0]
    np.testing.assert_allclose(np.asarray(text.customdata, np.float64),
                               [[0, 0.1], [1, -0.2], [2, 0.3]], rtol=1e-6)  # fmt: skip
    assert "%{customdata[1]:+.4f}" in text.hovertemplate
    assert all(0 not in frame.traces for frame in fig.frames)  # it stays while playing


def test_a_long_text_keeps_every_character_up_to_2000_then_strides():
    n = 3000
    top5 = [[("a", 1.0)] * 5] * n
    fig = animation_paths.text_cursor("a" * n, np.zeros(n), top5, "unit", 1.0)
    assert len(fig.frames) == 1500 and "every 2nd character" in fig.frames[1].data[3].text[0]


def test_each_characters_cell_has_the_colour_of_its_value():
    import base64
    import io

    from PIL import Image
    from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

    text = "ab\ncd"
    value = np.array([0.9, -0.6, 0.0, 0.3, -1.0])
    fig = animation_paths.text_cursor(text, value, [[("a", 1.0)] * 5] * 5, "unit", 1.0)
    source = fig.layout.images[0].source
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))
    rows, cols = figures.text_grid_layout(text)
    down = pixels.shape[0] // (rows.max() + 1)
    across = pixels.shape[1] // (cols.max() + 1)
    for i in range(len(text)):  # row 0 at the top of the image, as on the page
        drawn = pixels[rows[i] * down + down // 2, cols[i] * across + across // 2]
        expected = unlabel_rgb(sample_colorscale(get_colorscale("RdBu_r"), [(value[i] + 1) / 2])[0])
        assert np.abs(drawn.astype(int) - np.array(expected)).max() <= 3, i


# ----- on the pages ---------------------------------------------------------------------


def test_the_why_pages_trajectory_animation_draws_the_pages_projection():
    from tests.test_why_page import charts, open_why

    at = open_why(question="trajectory", why_play="true")
    fig = charts(at)["fig_trajectory_play"]
    projected, starts, _, _ = projection(stateful=False)
    p, s = projected["stateful=False"], starts["stateful=False"]
    frame = fig["frames"][12]  # batch 2, step 2
    np.testing.assert_allclose(values(frame["data"][2]["x"]), np.r_[s[2, 0, 0], p[2, 0, :3, 0]],
                               rtol=1e-5)  # fmt: skip
    assert fig["layout"]["meta"]["rnnviz_animation"]["url_key"] == "why_frame"


def test_the_stateful_pages_carried_state_grows_as_the_still_chart_shows_it():
    from tests.test_stateful_page import charts, open_stateful

    still = charts(open_stateful())["fig_carried"]
    fig = charts(open_stateful(st_play="true"))["fig_carried_play"]
    frame = fig["frames"][23]
    for drawn, whole in zip(frame["data"][:-1], still["data"], strict=True):
        np.testing.assert_array_equal(values(drawn["y"]), values(whole["y"])[:24])
    boundary = fig["frames"][fig["frames"].index(
        next(f for f in fig["frames"] if f["name"] == "10"))]["data"][-1]["text"][0]  # fmt: skip
    assert "batch 0 → 1: continuation: goes on in its stream" in boundary
    assert "in_order: jumps from step" in boundary


def test_the_text_pages_cursor_reads_the_values_the_coloured_text_shows():
    from rnnviz.sources.text import charmodel as T
    from tests.test_text_page import charts, open_text, per_character

    if not T.read_manifest().get("text"):
        pytest.skip("no shipped char models (run `make models`)")
    text = "def f(x):\n    return x"
    still = per_character(charts(open_text(text=text))["fig_text"]["data"][0], text)
    fig = charts(open_text(text=text, text_play="true"))["fig_text_play"]
    assert len(fig["frames"]) == len(text)
    for i in (0, 9, len(text) - 1):
        words = fig["frames"][i]["data"][3]["text"][0]
        assert f"character {i} {text[i]!r}: value {still[i]:+.4f}" in words
