"""One byte budget for every cache: least recently used first, nothing kept beyond it."""

import threading
import time

import numpy as np
import pytest

import rnnviz
from rnnviz.core.tracer import EngineCache, layer_kwargs
from rnnviz.serving.memory import Budget, ByteCache, cache_limit_mb, nbytes

MB = 2**20


def array(mb):
    return np.zeros(int(mb * MB), np.uint8)


def test_the_budget_evicts_the_least_recently_used_entry_of_any_cache():
    budget = Budget(10 * MB)
    traces, models = ByteCache("traces", budget), ByteCache("models", budget)
    for key in "abcd":
        (traces if key in "ac" else models).put(key, array(2))
    traces.get("a")  # now "b" is the least recently used
    models.put("e", array(2.5))
    assert "a" in traces and "e" in models and "b" not in models
    assert budget.used == 8.5 * MB


def test_an_entry_larger_than_the_whole_budget_is_returned_but_not_kept():
    cache = ByteCache("traces", Budget(1 * MB))
    value = cache.get_or_create("big", lambda: array(2))
    assert value.nbytes == 2 * MB
    assert "big" not in cache and cache.budget.used == 0


def test_concurrent_requests_for_one_missing_key_compute_it_once():
    cache, calls = ByteCache("traces", Budget(10 * MB)), []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return array(1)

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_create("k", slow)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert all(r is results[0] for r in results)


def test_a_failed_computation_is_not_cached_and_the_next_request_tries_again():
    cache = ByteCache("traces", Budget(10 * MB))
    with pytest.raises(ZeroDivisionError):
        cache.get_or_create("k", lambda: 1 / 0)
    assert cache.get_or_create("k", lambda: 5) == 5


def test_nbytes_counts_every_array_of_a_trace():
    trace = rnnviz.run(rnnviz.RunConfig(hidden_size=4))
    assert nbytes(trace) >= trace.h.nbytes + trace.c.nbytes + trace.inputs.nbytes


@pytest.mark.parametrize("raw", ["abc", "1.5", "-3", "8"])
def test_a_cache_size_that_is_not_a_whole_number_of_at_least_16_mb_is_refused_by_name(raw):
    with pytest.raises(ValueError, match="RNNVIZ_CACHE_MB="):
        cache_limit_mb({"RNNVIZ_CACHE_MB": raw})


def test_the_cache_size_defaults_to_256_mb_and_reads_the_environment():
    assert cache_limit_mb({}) == 256
    assert cache_limit_mb({"RNNVIZ_CACHE_MB": "1024"}) == 1024


def test_compiled_layers_stay_within_the_byte_budget_and_evicted_ones_are_rebuilt_exactly():
    budget = Budget(20 * MB)  # room for about four small engines
    cache = EngineCache(budget=budget, xla="never", prewarm=False)
    def own_layer(units):  # a layer of its own per structure, as a user's layer gets
        cfg = rnnviz.RunConfig(hidden_size=units)
        return rnnviz.run(cfg, engines=cache, layer_kwargs=layer_kwargs(cfg))

    first = own_layer(1)
    for units in range(2, 12):
        own_layer(units)
        assert budget.used <= budget.limit
    assert len(cache) <= 5
    again = own_layer(1)  # evicted: rebuilt
    np.testing.assert_array_equal(again.h, first.h)
