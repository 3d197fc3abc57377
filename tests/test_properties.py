"""Property-based: any valid configuration matches the oracle (hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnviz
from tests.test_oracle import check_against_oracle


@st.composite
def configs(draw):
    num_batches = draw(st.integers(1, 3))
    stateful = draw(st.booleans())
    resets = draw(st.lists(st.integers(1, max(num_batches - 1, 1)), unique=True, max_size=2))
    return rnnviz.RunConfig(
        cell=draw(st.sampled_from(rnnviz.CELLS)),
        batch_size=draw(st.integers(1, 4)),
        num_steps=draw(st.integers(1, 7)),
        num_features=draw(st.integers(1, 3)),
        hidden_size=draw(st.sampled_from([1, 3, 6])),
        num_batches=num_batches,
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
        stateful=stateful,
        signal=draw(st.sampled_from([s for s in rnnviz.SIGNALS if s != "answer_002"])),
        initial_state=draw(st.sampled_from(rnnviz.INITIAL_STATES)),
        seed=draw(st.integers(0, 2**31 - 1)),
        reset_after=draw(st.booleans()),
        reset_before=tuple(sorted(r for r in resets if r < num_batches)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_any_valid_configuration_matches_the_oracle(cfg):
    check_against_oracle(rnnviz.run(cfg))
