"""What changes decides what is rebuilt: seed, signal, flags and initial state rebuild nothing."""

import numpy as np

import rnnviz
from rnnviz.tracer import EngineCache
from tests.test_oracle import check_against_oracle


def test_changing_seed_signal_flags_or_initial_state_rebuilds_and_retraces_nothing():
    cache = EngineCache(xla="never", prewarm=True)
    cfg = rnnviz.RunConfig(cell="lstm", batch_size=3, num_steps=7, hidden_size=5)
    rnnviz.run(cfg, engines=cache)
    cache.wait()  # the background thread has built and traced the flag siblings
    builds, traces = cache.builds, cache.traces
    changes = [
        {"seed": 5},
        {"signal": "step"},
        {"return_sequences": False},
        {"return_state": False},
        {"stateful": True},
        {"stateful": True, "return_sequences": False},
        {"initial_state": "random"},
    ]
    for change in changes:
        check_against_oracle(rnnviz.run(cfg.replace(**change), engines=cache))
    assert cache.builds == builds
    assert cache.traces == traces


def test_new_number_of_steps_or_batch_size_reuses_the_stateless_graph():
    cache = EngineCache(xla="never", prewarm=False)
    cfg = rnnviz.RunConfig(cell="gru", batch_size=2, num_steps=5)
    rnnviz.run(cfg, engines=cache)
    builds, traces = cache.builds, cache.traces
    rnnviz.run(cfg.replace(num_steps=17, batch_size=6), engines=cache)
    assert (cache.builds, cache.traces) == (builds, traces)


def test_new_hidden_size_builds_a_new_layer():
    cache = EngineCache(xla="never", prewarm=False)
    rnnviz.run(rnnviz.RunConfig(hidden_size=4), engines=cache)
    rnnviz.run(rnnviz.RunConfig(hidden_size=6), engines=cache)
    assert cache.builds == 2


def test_xla_tier_gives_the_same_numbers_as_the_graph_tier():
    cfg = rnnviz.RunConfig(
        cell="lstm", stateful=True, signal="random", initial_state="random", reset_before=(2,)
    )
    graph = rnnviz.run(cfg, engines=EngineCache(xla="never", prewarm=False))
    xla_cache = EngineCache(xla="background", prewarm=False)
    rnnviz.run(cfg, engines=xla_cache)
    xla_cache.wait()
    assert [e.xla_ready for e in xla_cache._engines.values()] == [{(3, 2, 5)}]
    xla = rnnviz.run(cfg, engines=xla_cache)
    check_against_oracle(xla)
    np.testing.assert_allclose(xla.h, graph.h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xla.c, graph.c, rtol=1e-5, atol=1e-6)
