"""Animations that play in the browser: every frame's numbers are the trace's at that step,
the bounds hold, and the words at a batch boundary say where the state came from."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import rnnviz
from rnnviz.core.config import ConfigError
from rnnviz.views import animation
from tests.test_app import charts, open_page, values

STATEFUL = rnnviz.RunConfig(stateful=True, reset_before=(2,), hidden_size=4, num_features=2)


@pytest.fixture(scope="module")
def trace():
    return rnnviz.run(STATEFUL)


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def test_every_states_frame_holds_h_c_and_x_of_its_step(trace):
    fig = spec(animation.states(trace, sample=1))
    cfg = trace.config
    assert len(fig["frames"]) == cfg.num_batches * cfg.num_steps
    for frame in fig["frames"]:
        t = int(frame["name"])
        batch, step = divmod(t, cfg.num_steps)
        h, c, x = (values(d["x"]) for d in frame["data"][:3])
        np.testing.assert_array_equal(h, trace.h[batch, 1, step])
        np.testing.assert_array_equal(c, trace.c[batch, 1, step])
        np.testing.assert_array_equal(x, trace.inputs[batch, 1, step])


def test_every_gates_frame_holds_the_gate_vectors_of_its_step(trace):
    fig = spec(animation.gates(trace, sample=0))
    for frame in fig["frames"]:
        batch, step = divmod(int(frame["name"]), trace.config.num_steps)
        shown = [values(d["x"]) for d in frame["data"][:4]]
        for name, bars in zip(trace.gates, shown, strict=True):
            np.testing.assert_array_equal(bars, trace.gates[name][batch, 0, step])


def words(frame_or_figure: dict) -> str:
    """The line of words over the heatmaps (the last trace: a frame's or the figure's)."""
    return frame_or_figure["data"][-1]["text"][0]


def test_the_frames_change_only_scatter_traces_and_the_heatmaps_are_images(trace):
    fig = spec(animation.states(trace, sample=0))
    # markers, sticks and cursors of 3 rows, and the words; never the 3 rows' hover points
    assert all(frame["traces"] == [*range(9), 12] for frame in fig["frames"])
    drawn = [d for d in fig["data"] if d.get("opacity") != 0]
    assert {d["type"] for d in drawn} == {"scatter"}  # the heatmaps are images, hover apart
    assert fig["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["redraw"] is False
    assert len(fig["layout"]["images"]) == 3


def test_hovering_an_animated_heatmap_gives_each_cells_value(trace):
    fig = spec(animation.states(trace, sample=1))
    hover = [d for d in fig["data"] if d.get("opacity") == 0]
    assert [(d["type"], d["name"]) for d in hover] == [
        ("heatmap", "hidden state h_t"), ("heatmap", "cell state c_t"), ("heatmap", "input x_t")]
    h, c, _ = hover
    np.testing.assert_array_equal(values(h["z"]), np.concatenate(list(trace.h[:, 1]), axis=0).T)
    np.testing.assert_array_equal(values(c["z"]), np.concatenate(list(trace.c[:, 1]), axis=0).T)
    assert (h["x0"], h["dx"]) == (0, 1)
    # laid over the image's axes, which the frames never touch
    assert fig["layout"][f"xaxis{h['xaxis'][1:]}"]["overlaying"] == "x2"


def test_the_h_image_shows_h_on_the_diverging_scale_cell_by_cell(trace):
    import base64
    import io

    from PIL import Image
    from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

    fig = spec(animation.states(trace, sample=1))
    source = fig["layout"]["images"][0]["source"]
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))
    h = trace.h[:, 1].reshape(-1, 4).T  # (units, steps)
    units, steps = h.shape
    down, across = pixels.shape[0] // units, pixels.shape[1] // steps
    limit = np.abs(h).max()
    for unit, step in [(0, 0), (3, 7), (2, 14)]:
        drawn = pixels[(units - 1 - unit) * down + down // 2, step * across + across // 2]
        position = (h[unit, step] + limit) / (2 * limit)
        expected = unlabel_rgb(sample_colorscale(get_colorscale("RdBu_r"), [position])[0])
        assert np.abs(drawn.astype(int) - np.array(expected)).max() <= 3, (unit, step)


def test_the_cursor_of_frame_t_is_on_column_t_in_every_row(trace):
    fig = spec(animation.states(trace))
    frame = fig["frames"][7]
    cursors = frame["data"][6:9]
    assert [min(c["x"]) for c in cursors] == [6.5, 6.5, 6.5]
    assert [max(c["x"]) for c in cursors] == [7.5, 7.5, 7.5]
    assert [fig["data"][i]["xaxis"] for i in range(6, 9)] == ["x2", "x4", "x6"]


@pytest.mark.parametrize(
    "t,text",
    [(0, "starts from the initial state"), (5, "batch 0's final state is carried over"),
     (10, "reset_states() before this batch"), (6, "")],
)  # fmt: skip
def test_a_frame_at_a_batch_boundary_says_where_the_state_came_from(trace, t, text):
    line = words(spec(animation.states(trace))["frames"][t])
    assert (text in line) if text else "<sup> </sup>" in line


def test_a_layer_that_is_not_stateful_starts_every_batch_again():
    trace = rnnviz.run(rnnviz.RunConfig(stateful=False))
    line = words(spec(animation.states(trace))["frames"][5])
    assert "not stateful: the batch starts again from the initial state" in line


def test_a_long_trace_is_strided_within_the_byte_and_frame_bounds_and_says_so():
    trace = rnnviz.run(rnnviz.RunConfig(hidden_size=64, num_steps=200, num_batches=5))
    fig = animation.gates(trace)
    meta = fig.layout.meta["rnnviz_animation"]
    stride = meta["stride"]
    assert len(fig.to_json()) <= animation.MAX_BYTES
    assert 2 <= stride <= 4 and len(fig.frames) <= animation.MAX_FRAMES
    assert meta["steps"] == list(range(0, 1000, stride))
    assert f"(every {animation.ordinal(stride)} step)" in fig.data[-1].text[0]


def test_a_default_trace_is_not_strided():
    meta = animation.states(rnnviz.run(rnnviz.RunConfig())).layout.meta["rnnviz_animation"]
    assert meta["stride"] == 1 and meta["steps"] == list(range(15))


def test_fast_asks_plotly_for_each_frame_half_a_screen_refresh_early():
    """plotly.js starts a frame at the first screen refresh (1/60 s) past the duration: at
    exactly 1000/30 ms, "fast" waited three refreshes a frame and played 20 a second."""
    fig = spec(animation.states(rnnviz.run(rnnviz.RunConfig())))
    fast = next(b for b in fig["layout"]["updatemenus"][0]["buttons"] if "fast" in b["label"])
    duration = fast["args"][1]["frame"]["duration"]
    assert 1000 / 30 - 1000 / 60 < duration < 1000 / 30


@pytest.mark.parametrize("n,text", [(2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (21, "21st")])
def test_ordinals_are_english(n, text):
    assert animation.ordinal(n) == text


def test_the_play_button_animates_from_the_current_frame_without_redrawing(trace):
    fig = spec(animation.states(trace))
    play = fig["layout"]["updatemenus"][0]["buttons"][0]
    assert play["method"] == "animate" and play["args"][0] is None
    assert play["args"][1]["fromcurrent"] is True
    assert play["args"][1]["frame"] == {"duration": 200 - 1000 / 120, "redraw": False}
    slider = fig["layout"]["sliders"][0]
    assert [s["args"][0] for s in slider["steps"]] == [[str(t)] for t in range(15)]


def test_frame_figure_is_the_still_picture_of_that_frame(trace):
    fig = animation.states(trace, sample=1)
    still = spec(animation.frame_figure(fig, 9))
    batch, step = divmod(9, 5)
    np.testing.assert_array_equal(values(still["data"][0]["x"]), trace.h[batch, 1, step])
    assert min(still["data"][6]["x"]) == 8.5
    assert not still["layout"]["updatemenus"] and "frames" not in still


@pytest.mark.parametrize("sample", [-1, 2, 1.0, True])
def test_a_sample_outside_the_batch_is_named(trace, sample):
    with pytest.raises(ConfigError, match="sample"):
        animation.states(trace, sample)


def test_a_simple_rnn_has_no_gates_to_animate():
    with pytest.raises(ConfigError, match="SimpleRNN has no gates"):
        animation.gates(rnnviz.run(rnnviz.RunConfig(cell="simple_rnn")))


@pytest.mark.parametrize("fps", [0, 31, "fast", True])
def test_a_frame_rate_outside_1_to_30_is_named(fps):
    with pytest.raises(ConfigError, match="fps"):
        animation.check_fps(fps)


@pytest.mark.parametrize("size", [(100, 400), (640,), (640, 2001), (640.0, 480)])
def test_an_image_size_outside_200_to_2000_pixels_is_named(size):
    with pytest.raises(ConfigError, match="size"):
        animation.check_size(size)


def test_the_explore_pages_animate_switch_plays_the_trace_of_its_controls():
    at = open_page("states", hidden_size=3, stateful=True)
    at.toggle(key="play").set_value(True).run()
    assert not at.exception
    fig = charts(at)["fig_states_play"]
    trace = rnnviz.run(rnnviz.RunConfig(hidden_size=3, stateful=True))
    frame = fig["frames"][7]
    np.testing.assert_array_equal(values(frame["data"][0]["x"]), trace.h[1, 0, 2])
    np.testing.assert_array_equal(values(frame["data"][1]["x"]), trace.c[1, 0, 2])
    assert "15 frames, computed once on the server" in " ".join(c.value for c in at.caption)


def test_the_gates_view_animates_the_gate_vectors():
    at = open_page("gates", cell="gru")
    at.toggle(key="play").set_value(True).run()
    fig = charts(at)["fig_gates_play"]
    trace = rnnviz.run(rnnviz.RunConfig(cell="gru"))
    frame = fig["frames"][3]
    np.testing.assert_array_equal(values(frame["data"][0]["x"]), trace.gates["update"][0, 0, 3])


@pytest.fixture(scope="module")
def gif(tmp_path_factory):
    from tests.test_browser import _chromium

    _chromium()  # Kaleido draws with Chromium: skipped without it, an error under CI=true
    from rnnviz.views import export

    path = tmp_path_factory.mktemp("gif") / "states.gif"
    trace = rnnviz.run(rnnviz.RunConfig(hidden_size=4))
    result = export.animation(trace, "states", str(path), fps=10, size=(480, 360))
    return path, result, trace


def test_the_gif_has_one_frame_per_step_at_the_asked_size(gif):
    import imageio.v3 as iio

    path, result, _ = gif
    frames = iio.imread(path)
    assert frames.shape == (15, 360, 480, 3) and result["frames"] == 15
    assert iio.immeta(path)["duration"] == 100  # ms: 10 frames a second


def test_consecutive_gif_frames_differ_where_the_state_changed(gif):
    import imageio.v3 as iio

    path, _, trace = gif
    frames = iio.imread(path).astype(int)
    h = trace.h[0, 0]
    for k in range(4):  # steps 0..4 of batch 0: h changes at every step
        assert not np.array_equal(h[k], h[k + 1])
        changed = np.abs(frames[k] - frames[k + 1]).sum(axis=-1) > 30
        assert changed.sum() > 200  # the bars and the cursor moved


@pytest.mark.parametrize(
    "kwargs,field",
    [({"fps": 60}, "fps"), ({"size": (50, 50)}, "size"), ({"view": "lines"}, "view"),
     ({"every": 0}, "every"), ({"path": "x.png"}, "path")],
)  # fmt: skip
def test_bad_export_arguments_are_named_before_anything_is_drawn(tmp_path, kwargs, field):
    from rnnviz.views import export

    args = {"view": "states", "path": str(tmp_path / "a.gif"), **kwargs}
    with pytest.raises(ConfigError, match=field):
        export.animation(rnnviz.run(rnnviz.RunConfig()), **args)


def test_an_animation_over_200_frames_asks_for_every():
    from rnnviz.views import export

    trace = rnnviz.run(rnnviz.RunConfig(num_steps=100, num_batches=3))
    with pytest.raises(ConfigError, match="at most 200 per file: pass every=2"):
        export.animation(trace, "states", "/nonexistent/a.gif")


def test_make_a_gif_draws_it_in_the_background_then_offers_the_download(gif):
    at = open_page("states")
    at.toggle(key="play").set_value(True).run()
    at.button(key="gif_states_make").click().run()
    job = at.session_state["gif_states"]
    assert job.wait(120) and job.status == "done", job.error
    at.run()
    download = at.get("download_button")
    assert [d.proto.label for d in download if "GIF" in d.proto.label] == ["Download the GIF"]
    assert job.result[:6] == b"GIF89a"


def test_the_train_pages_epoch_animation_shows_h_at_every_epoch_of_the_checkpoint():
    from rnnviz.sources.training.run import load_pretrained
    from tests.test_train_page import open_train

    at = open_train()
    at.toggle(key="train_play").set_value(True).run()
    assert not at.exception
    fig = charts(at)["fig_train_play"]
    run = load_pretrained("remember", "lstm")
    x = run.validation.x[:64]
    assert [f["name"] for f in fig["frames"]] == [str(e) for e in range(run.epochs_done + 1)]
    for epoch in (0, 7, run.epochs_done):
        shown = values(fig["frames"][epoch]["data"][0]["z"])
        np.testing.assert_allclose(shown, run.trace(epoch, x).h[0, 0].T, rtol=1e-6)
    assert "before training" in fig["frames"][0]["layout"]["title"]["text"]
    assert "validation accuracy after this epoch" in fig["frames"][5]["layout"]["title"]["text"]


def test_the_train_page_plays_the_trained_network_step_by_step_at_the_chosen_epoch():
    from rnnviz.sources.training.run import load_pretrained
    from tests.test_train_page import open_train

    at = open_train()
    at.toggle(key="train_steps_play").set_value(True).run()
    assert not at.exception
    fig = charts(at)["fig_train_steps_play"]
    run = load_pretrained("remember", "lstm")
    trace = run.trace(run.epochs_done, run.validation.x[:64])
    steps = trace.config.num_steps
    assert [f["name"] for f in fig["frames"]] == [str(t) for t in range(steps)]
    for t in (0, steps // 2, steps - 1):
        np.testing.assert_allclose(values(fig["frames"][t]["data"][0]["x"]), trace.h[0, 0, t],
                                   rtol=1e-6)  # fmt: skip


def test_an_epochs_animation_of_many_epochs_strides_and_keeps_the_last():
    trace = rnnviz.run(rnnviz.RunConfig(hidden_size=64, num_steps=100, num_batches=1))
    fig = animation.epochs({e: trace for e in range(601)})
    names = [int(f.name) for f in fig.frames]
    assert names[-1] == 600 and len(names) <= animation.MAX_FRAMES
    assert len(fig.to_json()) <= animation.MAX_BYTES


def test_an_mp4_without_an_encoder_is_refused_with_what_to_install(tmp_path, monkeypatch):
    from rnnviz.views import export

    monkeypatch.setattr(export, "mp4_available", lambda: False)
    with pytest.raises(ConfigError, match="pip install imageio-ffmpeg"):
        export.animation(rnnviz.run(rnnviz.RunConfig()), "states", str(tmp_path / "a.mp4"))


def test_an_export_over_the_pixel_bound_is_refused_naming_the_size(tmp_path):
    from rnnviz.views import export

    trace = rnnviz.run(rnnviz.RunConfig(num_steps=50, num_batches=3))  # 150 frames
    with pytest.raises(ConfigError, match=r"size.*million pixels in all 150 frames"):
        export.animation(trace, "states", str(tmp_path / "a.gif"), size=(2000, 2000))


def test_the_renderer_keeps_its_browser_for_the_next_export_then_closes_it_when_idle(gif):
    from rnnviz.views import render

    renderer = render.Renderer(idle_seconds=1.0)
    fig = animation.states(rnnviz.run(rnnviz.RunConfig(hidden_size=2, num_batches=1)))
    first = renderer.frames(fig, [0, 1], 300, 300)
    opened = renderer._chromium
    second = renderer.frames(fig, [1], 300, 300)
    assert renderer._chromium is opened and renderer.warm
    assert second == [first[1]]  # the same frame, drawn again, is the same picture
    deadline = time.monotonic() + 15
    while renderer.warm and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not renderer.warm


def test_each_row_has_its_colour_bar_centred_on_zero_for_states_and_0_to_1_for_gates():
    trace = rnnviz.run(rnnviz.RunConfig())
    states = animation.states(trace).to_plotly_json()
    limit = float(np.abs(trace.h[:, 0]).max())
    h = states["data"][0]["marker"]
    assert h["showscale"] and (h["cmin"], h["cmax"]) == pytest.approx((-limit, limit))
    gates = animation.gates(trace).to_plotly_json()
    forget = next(d for d in gates["data"] if d.get("name") == "forget gate f_t (σ)")
    marker = forget["marker"]
    assert marker["showscale"] and (marker["cmin"], marker["cmax"]) == (0, 1)
    bars = [d["marker"]["colorbar"] for d in gates["data"] if d.get("mode") == "markers"]
    assert sorted(b["y"] for b in bars) == sorted({b["y"] for b in bars})  # one per row


def test_rnnviz_export_animation_is_reachable_without_an_import_of_its_own():
    import rnnviz as package
    from rnnviz.views import export

    assert package.export.animation is export.animation
    assert package.export.animation_file is export.animation_file


def test_warm_up_opens_the_browser_in_the_background_for_the_next_export(gif, monkeypatch):
    from rnnviz.views import render

    monkeypatch.setenv("RNNVIZ_GIF_WARMUP", "1")
    renderer = render.Renderer(idle_seconds=30)
    renderer.warm_up()  # returns at once
    deadline = time.monotonic() + 60
    while not renderer.warm and time.monotonic() < deadline:
        time.sleep(0.1)
    opened = renderer._chromium
    fig = animation.states(rnnviz.run(rnnviz.RunConfig(hidden_size=2, num_batches=1)))
    renderer.frames(fig, [0], 300, 300)
    assert opened is not None and renderer._chromium is opened
    renderer.close()
    assert not renderer.warm


def test_warm_up_does_nothing_when_turned_off(monkeypatch):
    from rnnviz.views import render

    monkeypatch.setenv("RNNVIZ_GIF_WARMUP", "0")
    renderer = render.Renderer()
    renderer.warm_up()
    time.sleep(1.0)
    assert not renderer.warm and renderer._loop is None


def test_a_gif_of_the_epochs_animation_redraws_its_heatmap_every_frame(gif, tmp_path):
    import imageio.v3 as iio

    from rnnviz.views import export

    traces = {e: rnnviz.run(rnnviz.RunConfig(hidden_size=4, seed=e)) for e in range(3)}
    path = tmp_path / "epochs.gif"
    export.animation_file(animation.epochs(traces), str(path), size=(400, 300))
    frames = iio.imread(path).astype(int)
    assert len(frames) == 3
    for k in range(2):  # another epoch's weights: another heatmap, drawn
        assert (np.abs(frames[k] - frames[k + 1]).sum(axis=-1) > 30).sum() > 500
