"""Benchmark of the analyses on traces (the Why page) and of the char model (the Text page).

Run it with `python benchmarks/bench_analysis.py` (part of `make bench`).

Analyses, on an LSTM with hidden_size 64, 100 steps, batch 8 (one batch), each ratio of
medians measured interleaved with the forward trace it is compared with:
1. connectivity(trace) / the forward Trace (rnnviz.run); both at their steady state, XLA. Goal <= 3.
   Also printed: its matrix products alone (the floor), the ratio with each timed back to
   back instead of interleaved (also in a process held to one core), and the interleaved
   ratio for GRU and SimpleRNN.
2. intervene(trace, step=50) / the forward Trace. Goal <= 1.2.
3. match() over 20,000 steps x 256 units. Goal <= 0.5 s.

Char model (the shipped LSTM), when the checkpoints exist:
4. load_char_model in a fresh process. Goal <= 2 s.
5. trace_text + next_char_probs on 2,000 characters, model loaded. Goal <= 1.0 s.
Also printed: each char model's best unit per concept (|r|), for docs/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import rnnviz
from rnnviz import analysis

CFG = rnnviz.RunConfig(
    cell="lstm", batch_size=8, num_steps=100, num_features=4, hidden_size=64, num_batches=1
)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def settle() -> None:
    from rnnviz.core import tracer

    tracer.default_cache().wait()


def products_alone(trace: rnnviz.Trace):
    """The floor under connectivity: only its matrix products, compiled by XLA.

    The exact Frobenius norms carry one cotangent per unit and sample (64 x 8 rows) back
    through every step, each step a product with the recurrent kernel (256 x 64): 1.7
    GFLOP for the benchmark's trace, against the forward trace's 27 MFLOP. This loop does
    those products and nothing else (no activation's derivative, no input gradient), in
    the same analysis.REACH_PARTS parts taken at the same time as connectivity takes them.
    """
    import tensorflow as tf

    cfg = trace.config
    parts = analysis.REACH_PARTS
    kernel = tf.constant(trace.weights[1])  # (units, 4 units)
    rows = tf.zeros((cfg.hidden_size * cfg.batch_size // parts, 4 * cfg.hidden_size))

    @tf.function(jit_compile=True)
    def loop(z):
        def step(t, z):
            a = tf.matmul(z, kernel, transpose_b=True)  # (rows, units)
            return t + 1, tf.tile(a, [1, 4]) * 0.5

        return tf.while_loop(lambda t, _: t < cfg.num_steps, step, (0, z))[1]

    @tf.function
    def together(z):
        return tf.add_n([loop(z) for _ in range(parts)])  # independent: run at once

    together(rows)
    return lambda: together(rows).numpy()


def steady(cfg: rnnviz.RunConfig) -> None:
    """Brings the forward trace and connectivity of cfg's shape to their steady state: a
    shape's second use queues its XLA compile, which settle() waits for."""
    trace = rnnviz.run(cfg)
    rnnviz.run(cfg)
    analysis.connectivity(trace)
    analysis.connectivity(trace)
    settle()


def back_to_back(cfg: rnnviz.RunConfig, repeats: int) -> tuple[float, float]:
    """Median seconds of the forward trace, then of connectivity, each in a block of calls."""
    steady(cfg)
    traces = [rnnviz.run(cfg.replace(seed=i % 4)) for i in range(repeats)]
    alone = [timed(lambda i=i: rnnviz.run(cfg.replace(seed=i % 4))) for i in range(repeats)]
    block = [timed(lambda t=t: analysis.connectivity(t)) for t in traces]
    return statistics.median(alone), statistics.median(block)


def reach_ratio(cfg: rnnviz.RunConfig, repeats: int) -> tuple[float, float]:
    """Median seconds of the forward trace and of connectivity, interleaved, steady state."""
    steady(cfg)
    forward, reach = [], []
    for i in range(repeats):
        seeded = cfg.replace(seed=i % 4)
        forward.append(timed(lambda seeded=seeded: rnnviz.run(seeded)))
        t = rnnviz.run(seeded)
        reach.append(timed(lambda t=t: analysis.connectivity(t)))
    return statistics.median(forward), statistics.median(reach)


def analyses(repeats: int) -> list[tuple[str, float, str, bool]]:
    rows = []
    # Each side at its steady state: a shape's second use queues its XLA compile (the
    # forward trace's and connectivity's), which settle() waits for.
    trace = rnnviz.run(CFG)
    rnnviz.run(CFG)
    analysis.connectivity(trace)
    analysis.connectivity(trace)
    analysis.intervene(trace, 3, 50, 0.5)
    analysis.intervene(trace, 3, 50, 0.5)
    products = products_alone(trace)
    settle()
    forward, reach, change, floor = [], [], [], []
    for i in range(repeats):
        cfg = CFG.replace(seed=i % 4)  # a few seeds: weights assigned, nothing rebuilt
        forward.append(timed(lambda cfg=cfg: rnnviz.run(cfg)))
        t = rnnviz.run(cfg)
        reach.append(timed(lambda t=t: analysis.connectivity(t)))
        change.append(timed(lambda t=t: analysis.intervene(t, 3, 50, 0.5)))
        floor.append(timed(products))
    f = statistics.median(forward)
    r = statistics.median(reach) / f
    c = statistics.median(change) / f
    p = statistics.median(floor) / f
    rows.append((f"connectivity / forward trace ({statistics.median(reach) * 1000:.1f} ms / "
                 f"{f * 1000:.1f} ms)", r, "<= 3", r <= 3))  # fmt: skip
    rows.append((f"  its matrix products alone, XLA / forward trace "
                 f"({statistics.median(floor) * 1000:.1f} ms)", p, "", True))  # fmt: skip
    # Interleaving lets connectivity's two busy cores slow the forward trace after it;
    # each timed in a block of its own, the forward trace is at its fastest.
    f2, r2 = back_to_back(CFG, repeats)
    rows.append((f"  the same, each timed back to back ({r2 * 1000:.1f} ms / {f2 * 1000:.1f} ms)",
                 r2 / f2, "", True))  # fmt: skip
    rows += one_core(repeats)
    rows.append((f"intervene(step 50) / forward trace ({statistics.median(change) * 1000:.1f} ms)",
                 c, "<= 1.2", c <= 1.2))  # fmt: skip
    for cell in ("gru", "simple_rnn"):  # the goal names no cell; these are for the record
        f, r = reach_ratio(CFG.replace(cell=cell), repeats)
        rows.append((f"  connectivity / forward trace, {cell} ({r * 1000:.1f} ms / "
                     f"{f * 1000:.1f} ms)", r / f, "", True))  # fmt: skip

    import dataclasses

    rng = np.random.default_rng(0)
    # 20,000 steps x 256 units is beyond what a RunConfig allows a trace to hold (a char
    # model's trace of a long text is that big): match reads only h, so h is swapped in.
    small = rnnviz.run(rnnviz.RunConfig(batch_size=1, num_steps=1, hidden_size=1, num_batches=1))
    h = rng.uniform(-1, 1, (20, 1, 1000, 256)).astype(np.float32)
    big = dataclasses.replace(small, h=h)
    times = [timed(lambda: analysis.match(big, [3, 7, 11], 100, 104, threshold=0.2))
             for _ in range(5)]  # fmt: skip
    m = statistics.median(times)
    rows.append(("match over 20,000 steps x 256 units (s)", m, "<= 0.5", m <= 0.5))
    return rows


def one_core(repeats: int) -> list[tuple[str, float, str, bool]]:
    """connectivity / forward trace, back to back, in a process held to one core: how the
    ratio depends on the cores the machine has (Linux only; nothing elsewhere)."""
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        return []
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "from rnnviz import bench_analysis as b; "
        f"f, r = b.back_to_back(b.CFG, {repeats}); print(f, r)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    f, r = (float(v) for v in out.stdout.split()[-2:])
    return [(f"  the same on one core, back to back ({r * 1000:.1f} ms / {f * 1000:.1f} ms)",
             r / f, "", True)]  # fmt: skip


# TensorFlow's import (~3 s) is the app's start-up cost, paid once per server; not timed.
LOAD = (
    "import time, keras, rnnviz.tracer; from rnnviz import text; t = time.perf_counter(); "
    "text.load_char_model('lstm'); print(time.perf_counter() - t)"
)


def char_model(repeats: int) -> list[tuple[str, float, str, bool]]:
    from rnnviz.sources.text import charmodel as T

    if not T.read_manifest().get("text", {}).get("text_lstm"):
        return []
    loads = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", LOAD], capture_output=True, text=True, check=True
        )
        loads.append(float(out.stdout.strip().splitlines()[-1]))
    cm = T.load_char_model("lstm")
    sample = T.split_text()[1][:2000]
    T.next_char_probs(cm, sample)  # first call builds the engine
    settle()
    runs = [timed(lambda: T.next_char_probs(cm, sample, T.trace_text(cm, sample)))
            for _ in range(repeats)]  # fmt: skip
    load = statistics.median(loads)
    run = statistics.median(runs)
    print("\nBest unit per concept (|Pearson r|, validation files' first 6,000 characters):")
    for cell in ("lstm", "gru", "simple_rnn"):
        if not T.read_manifest().get("text", {}).get(f"text_{cell}"):
            continue
        for state, per in T.concept_report(T.load_char_model(cell)).items():
            print(
                f"  {cell:<10} {state}: "
                + ", ".join(f"{name} {abs(r):.2f} (unit {u})" for name, (u, r) in per.items())
            )
    return [
        ("load_char_model('lstm'), TensorFlow already imported (s)", load, "<= 2", load <= 2),
        ("trace_text + next_char_probs, 2,000 characters (s)", run, "<= 1.0", run <= 1.0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 15
    rows = analyses(repeats) + char_model(3 if args.quick else 7)
    print(f"\n{'measure':<72} {'value':>8}  goal")
    for name, value, goal, ok in rows:
        verdict = ("PASS" if ok else "FAIL") if goal else "(no goal: for the record)"
        print(f"{name:<72} {value:>8.3f}  {goal:<7} {verdict}")
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
