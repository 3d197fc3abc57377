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


# ----- memory reach -----------------------------------------------------------------------


def small(cell="lstm", **changes):
    sizes = dict(batch_size=2, num_steps=6, num_features=2, hidden_size=3, num_batches=2)
    return rnnviz.run(rnnviz.RunConfig(cell=cell, signal="random", **{**sizes, **changes}))


def oracle_h(trace, x, batch=0):
    """h of every step from the NumPy oracle (float64) on inputs x of one batch."""
    from tests.oracle import recur

    states, _ = recur(trace.config.cell, x, trace.weights, trace.initial_states[batch],
                      trace.config.reset_after)  # fmt: skip
    return states[0]


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru reset before", "simple_rnn"])
def test_connectivity_equals_central_finite_differences_of_the_oracle(cell):
    reset_before = cell == "gru reset before"
    cell = cell.split()[0]
    trace = small(cell, reset_after=False) if reset_before else small(cell)
    target = 4
    reach = analysis.connectivity(trace, target_step=target, batch=1, dtype="float64")
    x = trace.inputs[1].astype(np.float64)
    eps = 1e-5
    expected = np.zeros(reach.shape)
    for t in range(target + 1):
        columns = []
        for f in range(x.shape[2]):
            up, down = x.copy(), x.copy()
            up[:, t, f] += eps
            down[:, t, f] -= eps
            from tests.oracle import recur

            def h_at(inputs):
                states, _ = recur(
                    cell, inputs, trace.weights, trace.initial_states[1], trace.config.reset_after
                )
                return states[0][:, target]

            columns.append((h_at(up) - h_at(down)) / (2 * eps))
        expected[:, t] = np.sqrt(sum((c**2).sum(axis=1) for c in columns))
    np.testing.assert_allclose(reach, expected, rtol=1e-4, atol=1e-9)


def _layer_jacobian_norms(trace, target, batch=0):
    """The old way, kept as a check: tape.batch_jacobian through the whole Keras layer."""
    import tensorflow as tf

    layer = analysis._layer_for(trace)
    x = tf.constant(analysis._in_step_order(trace)[0][batch, :, : target + 1])
    initial = [tf.constant(s) for s in trace.initial_states[batch]]
    masks = {} if trace.mask is None else {"mask": tf.constant(trace.mask[batch, :, : target + 1])}
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = layer(x, initial_state=initial, **masks)[:, -1]
    jac = tape.batch_jacobian(h, x).numpy().astype(np.float64)
    return np.sqrt((jac**2).sum(axis=(1, 3)))


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("masked", [False, True])
def test_connectivity_equals_the_jacobian_of_the_whole_keras_layer(cell, masked):
    import keras

    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}.get(cell, keras.layers.SimpleRNN)
    layer = layer(5, return_sequences=True)
    layer.build((None, None, 2))
    x = np.random.default_rng(5).normal(size=(3, 9, 2)).astype("float32")
    mask = None
    if masked:
        mask = np.ones((3, 9), bool)
        mask[0, 3] = mask[1, 0] = mask[2, 8] = False
    trace = rnnviz.trace_layer(layer, x, mask=mask)
    np.testing.assert_allclose(
        analysis.connectivity(trace, 7)[:, :8], _layer_jacobian_norms(trace, 7), rtol=2e-5
    )


def test_connectivity_of_a_shape_used_twice_is_compiled_with_xla_and_gives_the_same_numbers(
    monkeypatch,
):
    from rnnviz.core import tracer

    cache = tracer.EngineCache(xla="background", prewarm=False, quiet_s=0.0)
    monkeypatch.setattr(tracer, "_default_cache", cache)
    trace = small("gru", hidden_size=4, num_steps=11)  # a shape no other test uses
    first = analysis.connectivity(trace)
    analysis.connectivity(trace)
    cache.wait()
    assert (2, 11) in analysis._reach_function(trace, "float32").xla_ready
    assert cache.xla_compiles == 1
    np.testing.assert_allclose(analysis.connectivity(trace), first, rtol=1e-5, atol=1e-8)


def test_every_target_step_of_a_trace_shares_one_compiled_function(monkeypatch):
    from rnnviz.core import tracer

    cache = tracer.EngineCache(xla="background", prewarm=False, quiet_s=0.0)
    monkeypatch.setattr(tracer, "_default_cache", cache)
    trace = small("lstm", hidden_size=2, num_steps=9)  # a shape no other test uses
    graph = [analysis.connectivity(trace, target) for target in (8, 8, 3)]
    cache.wait()
    xla = [analysis.connectivity(trace, target) for target in (8, 3, 3, 5)]
    cache.wait()
    assert cache.xla_compiles == 1
    np.testing.assert_allclose(xla[1], graph[2], rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(xla[3][:, 6:], 0)


def test_connectivity_taken_in_parts_equals_it_taken_whole(monkeypatch):
    trace = small("lstm", hidden_size=5, num_steps=7)
    monkeypatch.setattr(analysis, "_reaches", {})
    monkeypatch.setattr(analysis, "REACH_PARTS", 1)
    whole = analysis.connectivity(trace, 6, batch=1)
    assert analysis._reach_function(trace, "float32").parts_for(2) == 1
    monkeypatch.setattr(analysis, "_reaches", {})
    monkeypatch.setattr(analysis, "REACH_PARTS", 3)  # rows of 2 units: the last part has 1
    monkeypatch.setattr(analysis, "REACH_SPLIT_FROM", 0)
    assert analysis._reach_function(trace, "float32").parts_for(2) == 3
    np.testing.assert_allclose(analysis.connectivity(trace, 6, batch=1), whole, rtol=1e-6)


def test_connectivity_of_two_traces_at_once_from_two_threads_equals_each_alone():
    from concurrent.futures import ThreadPoolExecutor

    traces = [small("gru", hidden_size=4, seed=seed) for seed in (1, 2)]  # one layer shape
    alone = [analysis.connectivity(t) for t in traces]
    assert not np.allclose(alone[0], alone[1])
    with ThreadPoolExecutor(2) as pool:
        for _ in range(5):
            together = list(pool.map(analysis.connectivity, traces))
            for got, expected in zip(together, alone, strict=True):
                np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_a_layer_too_big_for_memory_reach_is_a_config_error_naming_batch_size(monkeypatch):
    monkeypatch.setattr(analysis, "MAX_REACH_VALUES", 9 * 2 - 1)  # 3 units, 2 samples: 18
    with pytest.raises(rnnviz.ConfigError, match=r"^batch_size=2 is invalid: .*at most 1 samples"):
        analysis.connectivity(small())


def test_connectivity_is_zero_after_the_target_step():
    reach = analysis.connectivity(small(), target_step=2)
    assert reach.shape == (2, 6)
    np.testing.assert_array_equal(reach[:, 3:], 0)
    assert (reach[:, :3] > 0).all()


def test_a_simple_rnn_with_tiny_recurrent_weights_forgets_with_distance():
    trace = small("simple_rnn")
    weights = [trace.weights[0], trace.weights[1] * 0.1, trace.weights[2]]
    cfg = trace.config
    tiny = rnnviz.run(cfg, inputs=trace.inputs, weights=weights)
    reach = analysis.connectivity(tiny, target_step=-1)
    assert (np.diff(reach, axis=1) > 0).all()  # the nearer the step, the stronger the reach
    assert (reach[:, 0] < 1e-3 * reach[:, -1]).all()


# ----- interventions ------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "state"), [("lstm", "h"), ("lstm", "c"), ("gru", "h")])
def test_intervene_equals_the_oracle_restarted_from_the_modified_state(cell, state):
    from tests.oracle import recur

    trace = small(cell)
    after = analysis.intervene(trace, unit=1, step=2, value=0.9, state=state, batch=0, sample=1)
    start = [trace.h[0, 1:2, 2].astype(np.float64).copy()]
    if cell == "lstm":
        start.append(trace.c[0, 1:2, 2].astype(np.float64).copy())
    start[("h", "c").index(state)][0, 1] = 0.9
    states, gates = recur(cell, trace.inputs[0, 1:2, 3:], trace.weights, start)
    np.testing.assert_allclose(after.h[0, 1, 3:], states[0][0], rtol=1e-5, atol=2e-6)
    if cell == "lstm":
        np.testing.assert_allclose(after.c[0, 1, 3:], states[1][0], rtol=1e-5, atol=2e-6)
    for name, g in gates.items():
        np.testing.assert_allclose(after.gates[name][0, 1, 3:], g[0], rtol=1e-5, atol=2e-6)
    assert after.state(state)[0, 1, 2, 1] == np.float32(0.9)


def test_intervene_leaves_earlier_steps_and_other_samples_unchanged():
    trace = small()
    after = analysis.intervene(trace, unit=0, step=3, value=-0.5, batch=1, sample=0)
    np.testing.assert_array_equal(after.h[0], trace.h[0])
    np.testing.assert_array_equal(after.h[1, :, :3], trace.h[1, :, :3])
    np.testing.assert_array_equal(after.h[1, 1], trace.h[1, 1])
    assert not np.allclose(after.h[1, 0, 4:], trace.h[1, 0, 4:])


def test_intervening_with_the_value_already_there_changes_nothing():
    trace = small("gru")
    same = float(trace.h[0, 0, 1, 2])
    after = analysis.intervene(trace, unit=2, step=1, value=same)
    np.testing.assert_allclose(after.h, trace.h, rtol=1e-6, atol=1e-7)


def test_a_stateful_trace_carries_the_intervention_into_the_next_batch():
    trace = small(stateful=True)
    after = analysis.intervene(trace, unit=0, step=5, value=0.8, batch=0, sample=0)
    np.testing.assert_array_equal(after.initial_states[1][0][0], after.h[0, 0, -1])
    assert not np.allclose(after.h[1, 0], trace.h[1, 0])
    np.testing.assert_array_equal(after.h[1, 1], trace.h[1, 1])


# ----- trajectories ----------------------------------------------------------------------


def test_pca_equals_an_svd_of_the_centred_stacked_states():
    trace = small()
    result = analysis.pca(trace, n=2)
    rows = trace.h.reshape(-1, 3).astype(np.float64)
    centred = rows - rows.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(np.abs(result.components), np.abs(vt[:2]), rtol=1e-9)
    np.testing.assert_allclose(result.explained_variance_ratio, s[:2] ** 2 / (s**2).sum())
    assert result.explained_variance_ratio.sum() <= 1 + 1e-12
    projected = result.project(trace)
    assert projected.shape == (2, 2, 6, 2)
    np.testing.assert_allclose(projected.reshape(-1, 2), centred @ result.components.T)


def test_two_traces_share_pca_axes():
    a, b = small(), small(stateful=True)
    result = analysis.pca([a, b], n=3)
    both = np.concatenate([a.h.reshape(-1, 3), b.h.reshape(-1, 3)]).astype(np.float64)
    np.testing.assert_allclose(result.mean, both.mean(axis=0))
    np.testing.assert_allclose(result.explained_variance_ratio.sum(), 1.0)  # 3 of 3 axes


# ----- select and match ------------------------------------------------------------------


def pattern_trace():
    """A trace whose units 1 and 3 are on (0.8) at steps 5-9 and 30-34 of sample 0 and
    steps 12-16 of sample 1, and off (-0.5) elsewhere; unit 0 is on at 30-34 too."""
    import dataclasses

    cfg = rnnviz.RunConfig(batch_size=2, num_steps=20, hidden_size=5, num_batches=2)
    trace = rnnviz.run(cfg)
    flat = np.full((2, 40, 5), -0.5, np.float32)
    for s, t0 in ((0, 5), (0, 30), (1, 12)):
        flat[s, t0 : t0 + 5, [1, 3]] = 0.8
    flat[0, 30:35, 0] = 0.8
    h = flat.reshape(2, 2, 20, 5).transpose(1, 0, 2, 3)
    return dataclasses.replace(trace, h=h)


def test_match_finds_the_planted_pattern_first_and_ranks_noisier_copies_lower():
    found = analysis.match(pattern_trace(), units=[1, 3], start=5, end=9, sample=0)
    assert (found[0].sample, found[0].start, found[0].end) == (1, 12, 16)
    assert (found[0].hits, found[0].extra) == (2, 0)
    assert (found[1].sample, found[1].start, found[1].score) == (0, 30, 1)  # unit 0 is on too


def test_match_respects_the_threshold():
    assert analysis.match(pattern_trace(), units=[1, 3], start=5, end=9, threshold=0.9) == []


def test_match_refuses_an_empty_selection_or_a_range_out_of_order():
    with pytest.raises(rnnviz.ConfigError, match=r"^units="):
        analysis.match(pattern_trace(), units=[], start=0, end=3)
    with pytest.raises(rnnviz.ConfigError, match=r"^end="):
        analysis.match(pattern_trace(), units=[1], start=5, end=3)
    with pytest.raises(rnnviz.ConfigError, match=r"^start="):
        analysis.match(pattern_trace(), units=[1], start=99, end=100)


# ----- comparing ---------------------------------------------------------------------------


def test_comparing_a_trace_with_itself_gives_zero_difference_identity_matching_r_1():
    trace = small()
    result = analysis.compare(trace, trace)
    np.testing.assert_array_equal(result.h_difference, 0)
    np.testing.assert_array_equal(result.matching, np.arange(3))
    np.testing.assert_allclose(np.diag(result.correlation), 1.0)


def test_compare_matches_permuted_units_back_to_their_partners():
    import dataclasses

    trace = small()
    permuted = dataclasses.replace(trace, h=trace.h[..., [2, 0, 1]])
    result = analysis.compare(trace, permuted)
    np.testing.assert_array_equal(result.matching, [1, 2, 0])


def test_compare_refuses_traces_of_different_input_shapes():
    with pytest.raises(rnnviz.ConfigError, match=r"^b="):
        analysis.compare(small(), rnnviz.run(rnnviz.RunConfig()))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"unit": 3}, "unit"), ({"step": 6}, "step"), ({"state": "c", "cell": "gru"}, "state"),
     ({"value": float("nan")}, "value"), ({"batch": 2}, "batch"), ({"sample": -1}, "sample")],
)  # fmt: skip
def test_bad_intervention_is_a_config_error_naming_the_field(kwargs, field):
    cell = kwargs.pop("cell", "lstm")
    args = {"unit": 0, "step": 0, "value": 0.1, **kwargs}
    with pytest.raises(rnnviz.ConfigError, match=rf"^{field}="):
        analysis.intervene(small(cell), **args)


def test_connectivity_refuses_a_target_step_out_of_range():
    with pytest.raises(rnnviz.ConfigError, match=r"^target_step="):
        analysis.connectivity(small(), target_step=6)


def test_a_stateful_batch_starts_where_the_previous_one_ended_in_pca_space():
    trace = small(stateful=True)
    result = analysis.pca(trace, n=2)
    starts, paths = result.project_starts(trace), result.project(trace)
    np.testing.assert_allclose(starts[1], paths[0, :, -1], atol=1e-6)
    stateless = small(stateful=False)
    np.testing.assert_allclose(
        result.project_starts(stateless)[1], result.project_starts(stateless)[0]
    )  # every stateless batch starts from the same (zero) state


# ----- traces of a user's layer: read backwards, masked ------------------------------------


def _backward_and_forward(cell_cls, mask=None):
    """A go_backwards layer's trace, and the trace of the same weights read forwards over
    the steps reversed: the same computation, step for step."""
    import keras

    x = np.random.default_rng(11).normal(size=(2, 7, 3)).astype("float32")
    backward = cell_cls(4, go_backwards=True, return_sequences=True)
    backward.build((None, None, 3))
    forward = cell_cls(4, return_sequences=True)
    forward.build((None, None, 3))
    forward.set_weights(backward.get_weights())
    reversed_mask = None if mask is None else mask[:, ::-1]
    return (
        rnnviz.trace_layer(backward, x, mask=mask),
        rnnviz.trace_layer(forward, x[:, ::-1], mask=reversed_mask),
        keras,
    )


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_connectivity_of_a_backwards_layer_is_that_of_the_same_layer_on_reversed_steps(name):
    import keras

    back, fwd, _ = _backward_and_forward(getattr(keras.layers, name))
    np.testing.assert_allclose(
        analysis.connectivity(back, 4), analysis.connectivity(fwd, 4), rtol=1e-5, atol=1e-7
    )


def test_nothing_depends_on_a_masked_step():
    import keras

    mask = np.ones((2, 7), bool)
    mask[0, 2] = mask[1, 5] = False
    back, fwd, _ = _backward_and_forward(keras.layers.LSTM, mask)
    reach = analysis.connectivity(back, 6)
    assert reach[0, 4] == 0.0 and reach[1, 1] == 0.0  # steps 2 and 5, read backwards
    assert (np.delete(reach[0], 4) > 0).all()
    np.testing.assert_allclose(reach, analysis.connectivity(fwd, 6), rtol=1e-5, atol=1e-7)


def test_intervening_on_a_masked_backwards_trace_equals_it_on_the_forward_twin():
    import keras

    mask = np.ones((2, 7), bool)
    mask[0, 1] = False
    back, fwd, _ = _backward_and_forward(keras.layers.GRU, mask)
    a = analysis.intervene(back, unit=2, step=1, value=0.9)
    b = analysis.intervene(fwd, unit=2, step=1, value=0.9)
    np.testing.assert_allclose(a.h, b.h, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.h, back.h)
    # the masked step (read 6th) keeps the state it had, as Keras keeps it
    np.testing.assert_array_equal(a.h[0, 0, 5], a.h[0, 0, 4])


def test_connectivity_of_a_layer_without_bias_is_that_of_one_with_a_zero_bias():
    import keras

    x = np.random.default_rng(12).normal(size=(2, 5, 3)).astype("float32")
    bare = keras.layers.LSTM(4, use_bias=False, return_sequences=True)
    bare.build((None, None, 3))
    zero = keras.layers.LSTM(4, return_sequences=True)
    zero.build((None, None, 3))
    zero.set_weights([*bare.get_weights(), np.zeros(16, np.float32)])
    np.testing.assert_allclose(
        analysis.connectivity(rnnviz.trace_layer(bare, x)),
        analysis.connectivity(rnnviz.trace_layer(zero, x)),
        rtol=1e-6,
    )


def test_reach_through_padding_at_the_end_follows_the_carried_state_of_a_bidirectional_half():
    import keras

    bidi = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Embedding(9, 2, mask_zero=True), bidi]
    )
    ids = np.array([[3, 4, 5, 0, 0, 0]])
    trace = rnnviz.trace_model(model, ids, rnnviz.recurrent_layers(model)[0])
    reach = analysis.connectivity(trace, 5)
    # h at the last (padding) step is the state after token 3: it depends on tokens 1-3 only
    assert (reach[0, :3] > 0).all() and (reach[0, 3:] == 0).all()
    np.testing.assert_allclose(reach[0, :3], analysis.connectivity(trace, 2)[0, :3], rtol=1e-6)
