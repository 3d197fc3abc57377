"""Generated share links: every parameter is honoured or named in a notice, a link in the
README's format is never refused, nothing breaks the page (hypothesis)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import rnnviz
from rnnviz.core.config import CELLS, INITIAL_STATES, LIMITS, SIGNALS
from rnnviz.views.urlstate import INDEX_KEYS, VIEWS, read_query, to_query

APP = str(Path(__file__).resolve().parents[1] / "app.py")
FUZZ = settings(
    max_examples=int(os.environ.get("RNNVIZ_FUZZ_EXAMPLES", 200)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("RNNVIZ_FUZZ_RANDOM") != "1",
)
KEYS = [*rnnviz.RunConfig().to_dict(), "view", "preset", *INDEX_KEYS]
HOSTILE = [
    "<script>alert(1)</script>", "**bold**", "[x](javascript:alert(1))", "nan", "inf",
    "-inf", "1e309", "", " ", "%00", "\u202e", "8" * 400, "TRUE", "lstm", "SimpleRNN",
]  # fmt: skip
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(0, 30).map(lambda n: f"{n}.0"),
    st.integers(0, 30).map(lambda n: f"+{n}"),
    st.text(max_size=20),
)
PARAMS = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12)),
    st.lists(VALUE, min_size=1, max_size=3),
    max_size=8,
)


@FUZZ
@given(PARAMS)
def test_every_link_parameter_is_honoured_or_named_in_a_notice(params):
    values, notices = read_query(params)
    text = "\n".join(notices)
    for key in params:
        honoured = key in values
        named = key[:39] in text  # notices shorten long keys to 40 characters
        assert honoured or named, (key, params[key], notices)
    for name in LIMITS:
        if name in values:  # no NaN, inf or out-of-range number reaches the controls
            lo, hi = LIMITS[name]
            assert isinstance(values[name], int) and lo <= values[name] <= hi


CONFIGS = st.builds(
    rnnviz.RunConfig,
    cell=st.sampled_from(CELLS),
    batch_size=st.integers(1, 8),
    num_steps=st.integers(1, 50),
    num_features=st.integers(1, 4),
    hidden_size=st.integers(1, 32),
    num_batches=st.integers(1, 4),
    return_sequences=st.booleans(),
    return_state=st.booleans(),
    stateful=st.booleans(),
    signal=st.sampled_from(SIGNALS[:-1]),
    initial_state=st.sampled_from(INITIAL_STATES),
    seed=st.integers(0, 2**31 - 1),
)


@FUZZ
@given(CONFIGS, st.sampled_from(VIEWS))
def test_a_link_in_the_readmes_format_is_read_back_exactly_and_never_refused(cfg, view):
    query = to_query(cfg, view)
    values, notices = read_query({k: v if isinstance(v, list) else [v] for k, v in query.items()})
    assert notices == []
    fields = {k: v for k, v in values.items() if k in cfg.to_dict()}
    assert rnnviz.RunConfig(**{**rnnviz.RunConfig().to_dict(), **fields}) == cfg
    assert values["view"] == view


@settings(
    max_examples=int(os.environ.get("RNNVIZ_FUZZ_PAGES", 12)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("RNNVIZ_FUZZ_RANDOM") != "1",
)
@given(PARAMS)
def test_the_page_opens_on_any_link_and_shows_its_notices_as_plain_text(params):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({k: v[-1] for k, v in params.items()})
    at.run()
    assert not at.exception
    _, notices = read_query({k: [v[-1]] for k, v in params.items()})
    shown = "\n".join(t.value for t in at.text)
    for line in notices:
        assert line in shown  # st.text: hostile strings are shown, never rendered
