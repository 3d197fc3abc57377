"""The Your model page (AppTest): examples open and trace, refusals are shown in words, bad
inputs name the field and the shape, and every figure shows the layer's exact numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import rnnviz
from app_pages.yourmodel import parse_csv, parse_ids
from rnnviz.core.config import ConfigError
from rnnviz.sources.usermodels.examples import example_models, tagger_ids
from tests.test_app import values

PAGE = "app_pages/yourmodel.py"


def run_page(**state) -> AppTest:
    at = AppTest.from_file(f"../{PAGE}", default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def layer_box(at: AppTest):
    return next(s for s in at.selectbox if s.label == "recurrent layer to trace")


def layer_paths(at: AppTest) -> list[str]:
    """The layer list's paths (each option reads "path: cell(units, flags)...")."""
    return [option.split(":")[0] for option in layer_box(at).options]


def test_the_example_tagger_opens_and_its_first_layer_is_traced_with_padding_masked():
    at = run_page()
    assert layer_paths(at) == ["bidirectional/forward", "bidirectional/backward", "lstm"]
    assert any("masked" in i.value for i in at.info)
    z = values(charts(at)[0]["data"][0]["z"])
    # Sample 0 is "a(b(cd)e)f": 10 tokens, then padding; GRU(8) forward half.
    assert z.shape == (8, 20)
    shapes = charts(at)[0]["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [(9.5, 19.5)]


def test_the_traced_states_on_the_page_are_the_layers_exact_numbers():
    at = run_page()
    layer_box(at).set_value("lstm").run()
    z = values(charts(at)[0]["data"][0]["z"])
    model = rnnviz.load_model(next(iter(example_models().values())))
    ids = np.stack([tagger_ids("a(b(cd)e)f"), tagger_ids("(ab)c((d))")])
    trace = rnnviz.trace_model(model, ids, "lstm")
    np.testing.assert_allclose(z, trace.h[0, 0].T, rtol=1e-6)


def test_choosing_upload_without_a_file_asks_for_one_and_draws_nothing():
    at = AppTest.from_file(f"../{PAGE}", default_timeout=60)
    at.run()
    at.radio(key="ym_source").set_value("upload").run()
    assert any("Drop a `.keras`" in i.value for i in at.info)
    assert not at.get("plotly_chart")


@pytest.mark.parametrize(
    "view,expected",
    [("gates", "gate"), ("step", "h_t"), ("carry", "start and end")],
)
def test_every_view_draws_for_the_example(view, expected):
    at = run_page()
    at.radio(key="ym_view").set_value(view).run()
    assert not at.exception
    text = json.dumps([charts(at), [d.value.to_dict() for d in at.dataframe]], default=str)
    text += " ".join(str(m.value) for m in at.markdown) + " ".join(m.value for m in at.latex)
    assert expected in text


def test_a_task_model_takes_a_built_in_signal_of_its_shape():
    title = next(t for t in example_models() if t.startswith("Trained task: remember (lstm)"))
    at = run_page(ym_example=title)
    assert layer_paths(at) == ["rnn"]
    z = values(charts(at)[0]["data"][0]["z"])
    assert z.shape == (16, 30)  # the shipped LSTM(16); the model's Input fixes 30 steps


def test_typed_numbers_are_read_one_step_per_line_and_samples_split_by_blank_lines():
    x = parse_csv("1, 2\n3, 4\n\n5, 6\n7, 8", None, 2)
    assert x.shape == (2, 2, 2)
    assert x[1, 0].tolist() == [5.0, 6.0]


def test_typed_numbers_of_the_wrong_width_name_what_the_model_takes():
    with pytest.raises(ConfigError, match="every line needs 3 comma-separated numbers"):
        parse_csv("1, 2\n3, 4", None, 3)


def test_token_ids_are_padded_with_zeros_and_out_of_range_ids_refused():
    assert parse_ids("3 4\n5", None, 10).tolist() == [[3, 4], [5, 0]]
    with pytest.raises(ConfigError, match="ids go from 0 to 9"):
        parse_ids("3 12", None, 10)


def test_typed_input_beyond_the_sample_and_step_limits_is_refused_naming_them():
    with pytest.raises(ConfigError, match="at most 16 samples"):
        parse_ids("\n".join(["1 2"] * 17), None, 10)
    with pytest.raises(ConfigError, match="at most 500 steps per sample"):
        parse_csv("\n".join(["1"] * 501), None, 1)


# ------------------------------------------------------------ a model with two inputs


def seq2seq_title() -> str:
    return next(t for t in example_models() if t.startswith("Encoder → decoder") and "LSTM" in t)


def open_seq2seq(layer: str = "decoder") -> AppTest:
    at = run_page(ym_example=seq2seq_title())
    layer_box(at).set_value(layer).run()
    assert not at.exception
    return at


def test_the_shipped_encoder_decoder_lists_both_layers_and_says_where_the_decoder_starts():
    at = open_seq2seq()
    assert layer_paths(at) == ["encoder", "decoder"]
    assert layer_box(at).options[0] == "encoder: lstm(128, return_state)"
    assert "starts from `encoder` returned states [h, c]" in "\n".join(c.value for c in at.caption)


def test_each_model_input_gets_its_own_box_filled_with_a_question_and_an_answer_so_far():
    at = open_seq2seq()
    boxes = [a for a in at.text_area if a.label.startswith("token ids")]
    assert [b.value for b in boxes] == ["2 3 4 11 5 6 0", "12 2 7 9"]  # "123+45 ", "=168"


def test_the_decoders_handoff_shows_the_encoders_last_state_and_the_decoders_states():
    from rnnviz.sources.seq2seq.task import to_ids

    at = open_seq2seq()
    fig = next(c for c in charts(at) if "handed over" in c["data"][0]["x"])
    z, x = values(fig["data"][0]["z"]), fig["data"][0]["x"]
    model = rnnviz.load_model(example_models()[seq2seq_title()])
    xs = [to_ids(["123+45 "], 7), to_ids(["=168"], 4)]
    encoder = rnnviz.trace_model(model, xs, "encoder")
    decoder = rnnviz.trace_model(model, xs, "decoder")
    at_handoff = x.index("handed over")
    np.testing.assert_allclose(z[:, at_handoff], encoder.h[0, 0, -1], rtol=1e-6)
    np.testing.assert_allclose(z[:, at_handoff + 1 :], decoder.h[0, 0].T, rtol=1e-6)
    assert "largest difference 0 (sample 0)" in "\n".join(c.value for c in at.caption)


def test_inputs_whose_batch_sizes_differ_are_refused_naming_both():
    at = open_seq2seq()
    box = [a for a in at.text_area if a.label.startswith("token ids")][1]
    box.set_value("12 2 7 9\n12 2 7 9").run()
    assert not at.exception
    assert any("question: 1, answer_so_far: 2" in e.value for e in at.error)


def test_animate_plays_the_traced_layers_h_step_by_step():
    at = run_page()
    layer_box(at).set_value("lstm").run()
    at.toggle(key="ym_play").set_value(True).run()
    assert not at.exception
    (fig,) = [c for c in charts(at) if "rnnviz_animation" in (c["layout"].get("meta") or {})]
    model = rnnviz.load_model(next(iter(example_models().values())))
    ids = np.stack([tagger_ids("a(b(cd)e)f"), tagger_ids("(ab)c((d))")])
    trace = rnnviz.trace_model(model, ids, "lstm")
    steps = trace.config.num_steps
    assert len(fig["frames"]) == steps
    for frame in fig["frames"][:: steps // 4]:
        t = int(frame["name"])
        np.testing.assert_allclose(values(frame["data"][0]["x"]), trace.h[0, 0, t], rtol=1e-6)
    assert fig["layout"]["meta"]["rnnviz_animation"]["url_key"] is None  # not in the URL
