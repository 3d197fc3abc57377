"""rnnviz.show: the page's figures in a notebook, with the trace's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.core.config import ConfigError
from tests.test_app import values


@pytest.fixture(scope="module")
def trace():
    return rnnviz.run(rnnviz.RunConfig(return_state=True, return_sequences=True, hidden_size=4))


def test_states_shows_h_and_c_of_the_sample_units_by_steps(trace):
    figure = rnnviz.show(trace, "states", sample=1)
    h = np.concatenate(list(trace.h[:, 1]), axis=0).T  # batches end to end
    np.testing.assert_allclose(values(figure.data[0].z), h, rtol=1e-6)
    np.testing.assert_allclose(
        values(figure.data[1].z), np.concatenate(list(trace.c[:, 1]), axis=0).T, rtol=1e-6
    )


def test_returns_shows_each_returned_tensor_of_the_batch_in_kerass_order(trace):
    figure = rnnviz.show(trace, "returns", batch=2, sample=1)
    returned = trace.outputs[2]
    assert [d.hovertemplate.split("<br>")[0] for d in figure.data] == [
        "output", "state_h", "state_c"
    ]  # fmt: skip
    np.testing.assert_allclose(values(figure.data[0].z), returned[0][1][1].T, rtol=1e-6)
    np.testing.assert_allclose(values(figure.data[1].z), returned[1][1].T, rtol=1e-6)
    assert figure.layout.coloraxis.cmid == 0.0


def test_carry_shows_each_batchs_start_and_end_state(trace):
    figure = rnnviz.show(trace, "carry", sample=0, state="c")
    z = values(figure.data[0].z)
    np.testing.assert_allclose(z[:, 1], trace.final_states[0][1][0], rtol=1e-6)
    np.testing.assert_allclose(z[:, 2], trace.initial_states[1][1][0], rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,field",
    [({"view": "heatmap"}, "view"), ({"sample": 9}, "sample"), ({"batch": -1}, "batch"),
     ({"view": "carry", "state": "x"}, "state"), ({"view": "lines", "units": [4]}, "units")],
)  # fmt: skip
def test_a_value_show_does_not_take_is_named_with_what_it_allows(trace, kwargs, field):
    with pytest.raises(ConfigError, match=field):
        rnnviz.show(trace, **kwargs)


def test_a_simple_rnn_has_no_gates_view():
    trace = rnnviz.run(rnnviz.RunConfig(cell="simple_rnn"))
    with pytest.raises(ConfigError, match="SimpleRNN has no gates"):
        rnnviz.show(trace, "gates")
