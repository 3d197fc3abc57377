"""run() is safe from several threads at once, as Streamlit sessions call it."""

import concurrent.futures

import rnnviz
from tests.test_oracle import check_against_oracle


def test_concurrent_runs_of_different_configurations_each_match_the_oracle():
    configs = [
        rnnviz.RunConfig(
            cell=cell,
            stateful=stateful,
            seed=seed,
            signal="random",
            initial_state="random",
            num_batches=3,
            reset_before=(2,),
        )
        for cell in rnnviz.CELLS
        for stateful in (False, True)
        for seed in (1, 2)
    ]
    # Same structures with different seeds share one cached engine: the engine
    # lock must keep one run's weights out of another's.
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        traces = list(pool.map(rnnviz.run, configs * 2))
    for cfg, trace in zip(configs * 2, traces, strict=True):
        assert trace.config == cfg
        check_against_oracle(trace)
