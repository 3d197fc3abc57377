"""The shape-polymorphic path (issue 20): one traced graph per cell kind and flags serves
every hidden size, number of features, batch size and number of steps. Every number equals
the NumPy oracle and the structure's own genuine Keras layer, stateful carry and resets
included, and a structure never seen builds no layer and traces nothing."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.core.tracer import EngineCache, PolyEngine, layer_kwargs
from tests.test_oracle import check_against_oracle

#: One cache for every example: a structure met for the first time is served by the graph
#: its cell and flags traced once, whatever its sizes.
CACHE = EngineCache(xla="never", prewarm=False)
OWN = EngineCache(xla="never", prewarm=False)  # the structure's own genuine layer


@st.composite
def configs(draw):
    cell = draw(st.sampled_from(["lstm", "gru", "simple_rnn"]))
    stateful = draw(st.booleans())
    num_batches = draw(st.integers(1, 3))
    return rnnviz.RunConfig(
        cell=cell,
        hidden_size=draw(st.integers(1, 33)),
        num_steps=draw(st.integers(1, 50)),
        batch_size=draw(st.integers(1, 9)),
        num_features=draw(st.integers(1, 6)),
        num_batches=num_batches,
        return_sequences=draw(st.booleans()),
        return_state=draw(st.booleans()),
        stateful=stateful,
        reset_after=draw(st.booleans()) if cell == "gru" else True,
        initial_state=draw(st.sampled_from(["zeros", "random"])),
        signal=draw(st.sampled_from(["sine", "random", "step"])),
        seed=draw(st.integers(0, 10_000)),
        reset_before=tuple(
            sorted(draw(st.sets(st.integers(1, num_batches - 1), max_size=1)))
            if stateful and num_batches > 1
            else ()
        ),
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(configs())
def test_every_structure_on_the_polymorphic_graph_equals_the_oracle_and_its_own_layer(cfg):
    trace = rnnviz.run(cfg, engines=CACHE)
    check_against_oracle(trace)
    own = rnnviz.run(cfg, engines=OWN, layer_kwargs=layer_kwargs(cfg))
    np.testing.assert_allclose(trace.h, own.h, rtol=1e-6, atol=1e-7)
    for mine, theirs in zip(trace.outputs, own.outputs, strict=True):
        assert [n for n, _ in mine] == [n for n, _ in theirs]
        for (_, a), (_, b) in zip(mine, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(trace.initial_states, own.initial_states, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    assert trace.state_size == own.state_size
    assert CACHE.builds == 0


def test_the_polymorphic_graphs_are_traced_once_per_cell_and_flags():
    cache = EngineCache(xla="never", prewarm=False)
    for units, steps, batch, features in [(3, 4, 2, 1), (17, 9, 5, 4), (32, 50, 1, 6)]:
        cfg = rnnviz.RunConfig(hidden_size=units, num_steps=steps, batch_size=batch,
                               num_features=features)  # fmt: skip
        rnnviz.run(cfg, engines=cache)
    assert cache.traces == 1 and cache.poly_builds == 1 and cache.builds == 0


def test_a_stateful_structure_carries_each_rows_final_state_into_the_next_batch():
    cfg = rnnviz.RunConfig(stateful=True, num_batches=3, hidden_size=7, initial_state="random")
    trace = rnnviz.run(cfg, engines=EngineCache(xla="never", prewarm=False))
    np.testing.assert_array_equal(trace.initial_states[1][0], trace.final_states[0][0])
    np.testing.assert_array_equal(trace.initial_states[2][1], trace.final_states[1][1])


def test_a_reset_before_a_batch_starts_it_from_zeros_as_reset_state_does():
    cfg = rnnviz.RunConfig(stateful=True, num_batches=3, reset_before=(2,), initial_state="random")
    trace = rnnviz.run(cfg, engines=EngineCache(xla="never", prewarm=False))
    assert not np.any(trace.initial_states[2][0]) and np.all(trace.initial_states[0][0] != 0)


def test_the_cells_weights_are_its_variables_again_after_a_polymorphic_run():
    engine = PolyEngine("lstm", layer_kwargs(rnnviz.RunConfig()))
    cfg = rnnviz.RunConfig(hidden_size=9, num_features=3)
    engine.run(np.zeros((1, 2, 5, 3), np.float32), rnnviz.run(cfg).weights,
               [np.zeros((2, 9), np.float32)] * 2)  # fmt: skip
    cell = engine.layer.cell
    assert [v is w for v, w in zip((cell.kernel, cell.recurrent_kernel, cell.bias),
                                   engine.layer.weights, strict=True)] == [True] * 3  # fmt: skip
    assert cell.units == 1 and len(engine.layer.weights) == 3
