"""Analysis on traces: ranking units by how well they follow a quantity."""

import numpy as np
import pytest

import rnnviz
from rnnviz import analysis


@pytest.fixture(scope="module")
def trace():
    cfg = rnnviz.RunConfig(cell="lstm", batch_size=3, num_steps=20, hidden_size=6, num_batches=2)
    return rnnviz.run(cfg)


def planted(trace, unit, values, noise=0.05, seed=0):
    """A copy of trace whose h[..., unit] is `values` plus noise."""
    import dataclasses

    h = np.array(trace.h)
    rng = np.random.default_rng(seed)
    h[..., unit] = values + rng.normal(0, noise, values.shape)
    return dataclasses.replace(trace, h=h)


def test_rank_units_finds_a_planted_unit_first(trace):
    values = np.random.default_rng(1).normal(size=trace.h.shape[:3])
    ranked = analysis.rank_units(planted(trace, 4, values), values)
    assert ranked[0][0] == 4
    assert ranked[0][1] > 0.95


def test_a_unit_that_follows_the_negated_values_ranks_first_with_negative_r(trace):
    values = np.random.default_rng(2).normal(size=trace.h.shape[:3])
    ranked = analysis.rank_units(planted(trace, 1, -values), values)
    assert ranked[0][0] == 1 and ranked[0][1] < -0.95


def test_a_constant_unit_gets_r_0_not_nan(trace):
    values = np.random.default_rng(3).normal(size=trace.h.shape[:3])
    flat = planted(trace, 2, np.zeros_like(values), noise=0)
    r = analysis.unit_correlations(flat, values)
    assert r[2] == 0.0
    assert np.isfinite(r).all()


def test_constant_values_give_r_0_for_every_unit(trace):
    r = analysis.unit_correlations(trace, np.ones(trace.h.shape[:3]))
    np.testing.assert_array_equal(r, 0.0)


def test_correlations_equal_numpy_corrcoef(trace):
    values = np.random.default_rng(4).normal(size=trace.h.shape[:3])
    r = analysis.unit_correlations(trace, values, state="c")
    c = trace.c.reshape(-1, trace.c.shape[-1])
    expected = [np.corrcoef(c[:, u], values.ravel())[0, 1] for u in range(c.shape[1])]
    np.testing.assert_allclose(r, expected, rtol=1e-9, atol=1e-12)


def test_values_of_the_wrong_shape_are_a_config_error_naming_values(trace):
    with pytest.raises(rnnviz.ConfigError, match=r"^values="):
        analysis.rank_units(trace, np.zeros((2, 2)))


def test_a_state_the_cell_lacks_is_a_config_error_naming_state():
    gru = rnnviz.run(rnnviz.RunConfig(cell="gru"))
    with pytest.raises(rnnviz.ConfigError, match=r"^state='c'"):
        analysis.rank_units(gru, np.zeros(gru.h.shape[:3]), state="c")
