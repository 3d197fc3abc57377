"""Share links of every page are read leniently: short keys and labels both, and whatever a
link asks for that the page cannot honour is named in one notice, never a crash (issue 23)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rnnviz.views.urlstate import choice_field, flag_field, number_field, read_link, whole_field
from tests.test_app import APP

PAGES = {
    "explore": None,
    "why": "app_pages/why.py",
    "text": "app_pages/text.py",
    "train": "app_pages/train.py",
    "seq2seq": "app_pages/seq2seq.py",
}


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = str(value)
    if PAGES[page]:
        at.switch_page(PAGES[page])
    at.run()
    assert not at.exception, at.exception
    return at


def notice(at: AppTest) -> str:
    return "\n".join(t.value for t in at.text)


# ----- read_link, the reader every page declares its fields for ------------------------------

FIELDS = {
    "question": choice_field({"reach": "How far back?", "compare": "What changed?"}, "reach", "q"),
    "why_unit": whole_field(0, 7, 0, "unit"),
    "why_value": number_field(-5.0, 5.0, 1.0, "value"),
    "why_3d": flag_field(False, "3d"),
}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"question": "compare"}, {"question": "compare"}),
        ({"question": "What changed?"}, {"question": "compare"}),  # an old link's label
        ({"q": " WHAT CHANGED? "}, {"question": "compare"}),
        ({"unit": "3.0"}, {"why_unit": 3}),
        ({"why_unit": "+7"}, {"why_unit": 7}),
        ({"value": "-2.5"}, {"why_value": -2.5}),
        ({"3d": "yes"}, {"why_3d": True}),
    ],
)
def test_a_link_may_use_short_keys_values_or_labels(params, expected):
    values, notices = read_link(params, FIELDS)
    assert (values, notices) == (expected, [])


@pytest.mark.parametrize(
    "params, said",
    [
        (
            {"question": "why?"},
            "question=why? is not one of How far back?, What changed?: used How far back?",
        ),
        ({"unit": "inf"}, "unit=inf is not a whole number from 0 to 7: used 0"),
        ({"unit": "8"}, "unit=8 is not a whole number from 0 to 7: used 0"),
        ({"value": "nan"}, "value=nan is not a number from -5 to 5: used 1.0"),
        ({"value": "1e309"}, "value=1e309 is not a number from -5 to 5: used 1.0"),
        ({"3d": "maybe"}, "3d=maybe is not true or false: used False"),
        ({"colour": "red"}, "colour=red is not a parameter of this page: ignored"),
    ],
)
def test_what_a_link_asks_and_cannot_be_honoured_is_named(params, said):
    values, notices = read_link(params, FIELDS)
    assert values == {} and notices == [said]


@settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(
    st.dictionaries(
        st.sampled_from(["question", "q", "unit", "why_unit", "value", "3d", "x"]),
        st.one_of(st.text(max_size=8), st.floats().map(str), st.integers().map(str)),
        max_size=4,
    )
)
def test_every_parameter_is_honoured_within_range_or_named(params):
    values, notices = read_link(params, FIELDS)
    for key in params:
        assert any(key == k or key in FIELDS[k].aliases for k in values) or any(
            line.startswith(f"{key}=") for line in notices
        )
    if "why_unit" in values:
        assert isinstance(values["why_unit"], int) and 0 <= values["why_unit"] <= 7
    if "why_value" in values:
        assert math.isfinite(values["why_value"]) and -5 <= values["why_value"] <= 5


# ----- the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["batch_size", "hidden_size", "num_steps"])
@pytest.mark.parametrize("value", ["inf", "-inf", "1e309"])
def test_explore_names_an_infinite_number_in_a_link_instead_of_crashing(key, value):
    at = open_page("explore", **{key: value})
    assert f"{key}={value} is not a whole number" in notice(at)


@pytest.mark.parametrize(
    "question, title",
    [
        ("unit", "What does this unit do?"),
        ("trajectory", "Where does the state go?"),
        ("compare", "What changed?"),
        ("What changed?", "What changed?"),  # the link format Streamlit writes
    ],
)
def test_why_opens_the_question_a_short_link_names(question, title):
    at = open_page("why", question=question)
    assert at.title[0].value == title
    assert "cannot show" not in "\n".join(m.value for m in at.markdown)


def test_why_names_a_question_it_does_not_have_and_opens_the_first():
    at = open_page("why", question="everything")
    assert at.title[0].value == "How far back does it remember?"
    assert "question=everything is not one of" in notice(at)


def test_why_brings_a_linked_unit_beyond_the_layer_into_range_and_says_so():
    at = open_page("why", question="unit", unit="50")  # the Explore layer has 8 units
    assert at.number_input(key="why_unit").value == 7
    assert "why_unit=50 is outside 0 to 7 here: used 7" in notice(at)


def test_why_names_a_state_the_cell_does_not_have():
    at = open_page("why", question="unit", source="synthetic", cell="gru", state="c")
    assert at.selectbox(key="why_state").value == "h"
    assert "why_state=c is not one of h here: used h" in notice(at)


def test_train_reads_a_short_cell_key_and_names_an_unknown_task():
    at = open_page("train", cell="gru", task="juggling")
    assert at.selectbox(key="train_cell").value == "gru"
    assert "task=juggling is not one of" in notice(at)


def test_text_names_a_unit_beyond_the_char_model():
    at = open_page("text", cell="gru", unit="99999")
    assert "is not a whole number from 0 to 4095" in notice(at)


def test_a_widgets_own_key_wins_over_an_alias_left_in_the_link():
    # the link said unit=3; the student then changed the unit, which Streamlit wrote as why_unit
    values, notices = read_link({"why_unit": "5", "unit": "3"}, FIELDS)
    assert values == {"why_unit": 5} and notices == []


def test_the_your_model_page_names_every_parameter_a_link_brings():
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["model"] = "/etc/passwd"
    at.switch_page("app_pages/yourmodel.py").run()
    assert not at.exception
    assert "model=/etc/passwd is not a parameter of this page: ignored" in notice(at)


def test_the_encoder_decoder_page_names_a_cell_and_a_unit_it_does_not_have():
    at = open_page("seq2seq", cell="simple_rnn", unit="500", message="unit")
    said = notice(at)
    assert "cell=simple_rnn is not one of" in said
    assert "unit=500 is not a whole number from 0 to 127: used 0" in said
    assert at.radio(key="s2s_cell").value == "lstm"


def test_the_encoder_decoder_page_names_a_c_state_for_the_gru_and_shows_h():
    at = open_page("seq2seq", cell="gru", state="c")
    assert at.radio(key="s2s_state").value == "h"
    assert "s2s_state=c is not one of h here: used h" in notice(at)
