"""What changes decides what is rebuilt: seed, signal, flags and initial state rebuild nothing."""

import numpy as np

import rnnviz
from rnnviz.core.tracer import EngineCache, layer_kwargs
from tests.test_oracle import check_against_oracle


def test_changing_seed_signal_a_return_flag_or_initial_state_rebuilds_and_retraces_nothing():
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


def test_a_new_hidden_size_or_number_of_features_builds_no_layer_and_traces_nothing():
    cache = EngineCache(xla="never", prewarm=False)
    rnnviz.run(rnnviz.RunConfig(hidden_size=4), engines=cache)
    traces = cache.traces
    for change in ({"hidden_size": 6}, {"hidden_size": 31, "num_features": 5}):
        check_against_oracle(rnnviz.run(rnnviz.RunConfig(**change), engines=cache))
    assert (cache.builds, cache.poly_builds, cache.traces) == (0, 1, traces)


def test_a_users_layer_arguments_get_a_layer_of_their_own():
    cache = EngineCache(xla="never", prewarm=False)
    for units in (4, 6):
        cfg = rnnviz.RunConfig(hidden_size=units)
        rnnviz.run(cfg, engines=cache, layer_kwargs=layer_kwargs(cfg))
    assert (cache.builds, cache.poly_builds) == (2, 0)


def test_xla_tier_gives_the_same_numbers_as_the_graph_tier():
    cfg = rnnviz.RunConfig(
        cell="lstm", stateful=True, signal="random", initial_state="random", reset_before=(2,)
    )
    graph = rnnviz.run(cfg, engines=EngineCache(xla="never", prewarm=False))
    xla_cache = EngineCache(xla="background", prewarm=False, quiet_s=0.0)
    rnnviz.run(cfg, engines=xla_cache)
    rnnviz.run(cfg, engines=xla_cache)  # compiled from a shape's second run on
    xla_cache.wait()
    assert [e.xla_ready for e in xla_cache._engines.values()] == [{(3, 2, 5)}]
    xla = rnnviz.run(cfg, engines=xla_cache)
    check_against_oracle(xla)
    np.testing.assert_allclose(xla.h, graph.h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xla.c, graph.c, rtol=1e-5, atol=1e-6)


def test_a_shape_run_only_once_is_never_compiled_with_xla():
    cache = EngineCache(xla="background", prewarm=False, quiet_s=0.0)
    rnnviz.run(rnnviz.RunConfig(hidden_size=3), engines=cache)
    cache.wait()
    assert cache.xla_compiles == 0
    assert cache._engines == {}  # nothing built: the shared polymorphic graph served it


def test_xla_compiles_stop_at_the_limit_because_tensorflow_never_frees_them():
    cache = EngineCache(xla="background", prewarm=False, quiet_s=0.0, max_xla_compiles=1)
    for steps in (4, 4, 6, 6):
        check_against_oracle(rnnviz.run(rnnviz.RunConfig(num_steps=steps), engines=cache))
        cache.wait()
    assert cache.xla_compiles == 1
    (engine,) = cache._engines.values()
    assert engine.xla_ready == {(3, 2, 4)}  # the second shape is served by the graph tier


def test_a_compile_asked_of_a_cache_that_never_uses_xla_is_never_run():
    cache = EngineCache(xla="never", prewarm=False, quiet_s=0.0)
    ran = []
    cache.compile_later("job", lambda: ran.append(1))
    cache.wait()
    assert ran == [] and cache.xla_compiles == 0


def test_compiles_asked_by_other_modules_count_against_the_same_limit():
    cache = EngineCache(xla="background", prewarm=False, quiet_s=0.0, max_xla_compiles=1)
    ran = []
    cache.compile_later("a", lambda: ran.append("a"))
    cache.wait()
    cache.compile_later("b", lambda: ran.append("b"))
    cache.wait()
    assert ran == ["a"] and cache.xla_compiles == 1
