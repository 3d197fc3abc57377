"""Benchmark: what `rnnviz.run` costs next to the plain Keras ways of getting the same numbers.

Run it with `python benchmarks/bench_core.py` (or `make bench`); `--quick` takes fewer repeats.

Workload: an LSTM with batch_size 8, num_steps 100, num_features 4, hidden_size 64,
fed 3 batches. Three ratios, each with a goal:

1. Steady state. `rnnviz.run()` when only the seed, the signal or the return flags
   change, cycling through configurations whose engines are built and XLA-compiled,
   ÷ a `tf.function` over a bare `keras.layers.LSTM(64, return_sequences=True,
   return_state=True)`, one call per batch, results converted to NumPy. This is the
   price of everything run() adds: a second (tracing) pass that emits c_t and the
   gates, weights drawn from the seed and assigned, and the Trace arrays. Goal ≤ 1.3.
2. The usual eager way to get c_t, stepping `layer.cell` in a Python loop over the
   timesteps (`out, [h, c] = cell(x[:, t], [h, c])`, no tf.function, the collected
   h_t and c_t converted to NumPy), ÷ steady-state run(). Goal ≥ 30.
3. A new structure. run() with a hidden_size that cache has never seen (since issue 20
   the polymorphic graph of its cell and flags, traced once per process: the run alone;
   before, a layer build, a graph trace and the run) ÷ building a new
   `keras.layers.LSTM` of that size and calling it eagerly on the 3 batches. The XLA
   compile that run() queues in the background is not counted: it is awaited between
   repeats, outside the timed region, so it steals no CPU from the next measurement.
   Goal ≤ 0.5.

Also printed, for information: steady-state run() on the graph tier alone (an
EngineCache with xla="never") ÷ the bare forward, which shows what the XLA tier buys.
Then rapid changes (issue 12) and a never-seen structure of a class exploring freely,
split into build / trace / run before and now (issue 20; goal <= 40 ms).

Shared machines are noisy, so every quantity is timed many times, the
measurements of a ratio's numerator and denominator are interleaved (in an order
shuffled anew every repeat, from a fixed seed), and ratios are ratios of medians.
Background work a run queues (XLA compiles, prebuilding the flag siblings) is let
finish outside the timed regions. The caches are made here with the app's default
settings (xla="background", prewarm on), so RNNVIZ_XLA and RNNVIZ_PREWARM do not
change what is measured. Only rnnviz, Keras, TensorFlow and NumPy are imported: no
Streamlit.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import rnnviz
from rnnviz.core.config import usable_cores
from rnnviz.core.params import make_weights
from rnnviz.core.signals import make_inputs
from rnnviz.core.tracer import EngineCache, layer_kwargs

BASE = rnnviz.RunConfig(
    cell="lstm",
    batch_size=8,
    num_steps=100,
    num_features=4,
    hidden_size=64,
    num_batches=3,
    return_sequences=True,
    return_state=True,
)
#: Signals valid for any shape (some presets need a fixed one).
STEADY_SIGNALS = ("sine", "random", "step", "impulse", "ramp", "ones", "zeros")
#: Distinct steady-state configurations: every seed differs, signals and flags cycle.
NUM_STEADY_CONFIGS = 12
FLAG_COMBOS = ((True, True), (True, False), (False, True), (False, False))
FIRST_NEW_HIDDEN_SIZE = BASE.hidden_size + 1


@dataclass
class Ratio:
    """One line of the results table: median(numerator) / median(denominator)."""

    name: str
    numerator: str
    denominator: str
    goal: str  # "<= 1.3", ">= 30" or "" for an informative line

    def ratio(self, times: dict[str, list[float]]) -> float:
        return statistics.median(times[self.numerator]) / statistics.median(times[self.denominator])

    def verdict(self, times: dict[str, list[float]]) -> str:
        if not self.goal:
            return "info"
        op, bound = self.goal.split()
        value = self.ratio(times)
        ok = value <= float(bound) if op == "<=" else value >= float(bound)
        return "PASS" if ok else "FAIL"


RATIOS = (
    Ratio("1. run() steady, XLA tier / bare tf.function LSTM", "run_xla", "bare_graph", "<= 1.3"),
    Ratio("2. eager cell loop / run() steady, XLA tier", "eager_loop", "run_xla", ">= 30"),
    Ratio("3. run() new hidden_size / new eager LSTM", "run_new", "eager_new", "<= 0.5"),
    Ratio("   run() steady, graph tier / bare tf.function", "run_graph", "bare_graph", ""),
    Ratio("   run() steady, graph tier / XLA tier", "run_graph", "run_xla", ""),
)

DESCRIPTIONS = {
    "run_xla": "run(), steady state, XLA tier (default cache settings)",
    "run_graph": 'run(), steady state, graph tier only (xla="never")',
    "bare_graph": "bare keras LSTM under tf.function, 3 calls + NumPy",
    "eager_loop": "eager loop over layer.cell, 3 x 100 steps + NumPy",
    "run_new": "run(), new hidden_size (the polymorphic graph: the run alone)",
    "eager_new": "new keras LSTM, called eagerly on 3 batches + NumPy",
    "settle_steady": "background work left after a steady run (not timed)",
    "settle_new": "background XLA compile + flag siblings after a new size",
}


def timed(fn: Callable[[], Any]) -> float:
    """Returns the wall-clock seconds fn() takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def settle(cache: EngineCache) -> float:
    """Waits until the background work the last run queued is done; returns the seconds waited.

    Called outside the timed regions. `cache.wait()` would do too, but it shuts the
    worker thread down, so the next timed run would pay for starting a new one,
    which the app (that never calls wait) does not.
    """
    start = time.perf_counter()
    while cache.busy:
        time.sleep(0.0002)
    return time.perf_counter() - start


def steady_configs() -> list[rnnviz.RunConfig]:
    """Configurations that differ only in seed, signal and the two return flags."""
    return [
        BASE.replace(
            seed=i + 1,
            signal=STEADY_SIGNALS[i % len(STEADY_SIGNALS)],
            return_sequences=FLAG_COMBOS[i % len(FLAG_COMBOS)][0],
            return_state=FLAG_COMBOS[i % len(FLAG_COMBOS)][1],
        )
        for i in range(NUM_STEADY_CONFIGS)
    ]


def warm(cache: EngineCache, configs: Sequence[rnnviz.RunConfig]) -> None:
    """Runs every configuration twice, letting the background work finish after each pass.

    The first pass builds the engines and queues their XLA compiles; after it,
    every later run of these configurations is steady state.
    """
    for _ in range(2):
        for cfg in configs:
            rnnviz.run(cfg, engines=cache)
        cache.wait()


def bare_lstm(units: int) -> keras.layers.LSTM:
    return keras.layers.LSTM(units, return_sequences=True, return_state=True)


def to_numpy(outputs: Sequence[Any]) -> list[np.ndarray]:
    return [np.asarray(t) for t in outputs]


def eager_cell_loop(cell: Any, batches: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The usual eager way to get c_t: step the cell over time, batch by batch."""
    results = []
    for x in batches:
        h = c = np.zeros((x.shape[0], cell.units), np.float32)
        hs, cs = [], []
        for t in range(x.shape[1]):
            _, [h, c] = cell(x[:, t], [h, c])
            hs.append(h)
            cs.append(c)
        results.append((np.stack(to_numpy(hs), axis=1), np.stack(to_numpy(cs), axis=1)))
    return results


def shuffled(items: list[Any], rng: random.Random) -> list[Any]:
    """The items in a random order, so no quantity always follows the same other one.

    What ran just before matters (a run right after another run is faster than one
    after the eager loop), and a fixed rotation would keep the same neighbours.
    """
    return rng.sample(items, len(items))


def measure_steady(
    repeats: int, times: dict[str, list[float]], rng: random.Random
) -> dict[str, int]:
    """Times ratios 1 and 2 and the graph-tier lines, interleaved; returns rebuild counts."""
    configs = steady_configs()
    xla_cache = EngineCache(xla="background")
    graph_cache = EngineCache(xla="never")
    warm(xla_cache, configs)
    warm(graph_cache, configs)
    shape = (BASE.num_batches, BASE.batch_size, BASE.num_steps)
    for cfg in configs:
        engine = xla_cache.get(cfg.cell, layer_kwargs(cfg), cfg.num_features, cfg.batch_size)
        if shape not in engine.xla_ready:
            raise RuntimeError(f"the XLA tier is not ready after warming for {cfg}")

    batches = make_inputs(BASE)
    layer = bare_lstm(BASE.hidden_size)
    spec = tf.TensorSpec(batches.shape[1:], tf.float32)
    forward = tf.function(layer.__call__, input_signature=[spec])

    def bare() -> None:
        for x in batches:
            to_numpy(forward(x))

    bare()
    eager_cell_loop(layer.cell, batches)

    before = {
        "builds": xla_cache.builds + graph_cache.builds,
        "traces": xla_cache.traces + graph_cache.traces,
    }
    for r in range(repeats):
        cfg = configs[r % len(configs)]

        def run_xla(cfg: rnnviz.RunConfig = cfg) -> None:
            times["run_xla"].append(timed(lambda: rnnviz.run(cfg, engines=xla_cache)))
            times["settle_steady"].append(settle(xla_cache))

        def run_graph(cfg: rnnviz.RunConfig = cfg) -> None:
            times["run_graph"].append(timed(lambda: rnnviz.run(cfg, engines=graph_cache)))
            settle(graph_cache)

        def bare_graph() -> None:
            times["bare_graph"].append(timed(bare))

        def eager_loop() -> None:
            times["eager_loop"].append(timed(lambda: eager_cell_loop(layer.cell, batches)))

        for step in shuffled([run_xla, run_graph, bare_graph, eager_loop], rng):
            step()
        print(".", end="", flush=True)
    print()
    return {
        "builds": xla_cache.builds + graph_cache.builds - before["builds"],
        "traces": xla_cache.traces + graph_cache.traces - before["traces"],
    }


def measure_new_structure(repeats: int, times: dict[str, list[float]], rng: random.Random) -> None:
    """Times ratio 3: each repeat uses a hidden_size that neither side has seen."""
    cache = EngineCache(xla="background")
    batches = make_inputs(BASE)
    for r in range(repeats + 1):  # repeat 0 is a warm-up, not recorded
        units = FIRST_NEW_HIDDEN_SIZE + r
        cfg = BASE.replace(hidden_size=units, seed=r)
        run_time = eager_time = settle_time = 0.0

        def new_run(cfg: rnnviz.RunConfig = cfg) -> None:
            nonlocal run_time, settle_time
            run_time = timed(lambda: rnnviz.run(cfg, engines=cache))
            settle_time = timed(cache.wait)

        def new_eager(units: int = units) -> None:
            nonlocal eager_time

            def call() -> None:
                layer = bare_lstm(units)
                for x in batches:
                    to_numpy(layer(x))

            eager_time = timed(call)

        for step in shuffled([new_run, new_eager], rng):
            step()
        if r > 0:
            times["run_new"].append(run_time)
            times["eager_new"].append(eager_time)
            times["settle_new"].append(settle_time)
        print(".", end="", flush=True)
    print()


def measure_rapid_changes(repeats: int) -> list[str]:
    """Issue 12: eight quick changes by one user must not wait on a compile.

    Each repeat makes 8 changes back to back (no pause), each to a shape the layer has
    not run (num_steps 11, 12, ...), once with the app's cache (graph tier now, XLA only
    in quiet time and from a shape's second run) and once the naive way, the structure's
    own layer compiling XLA for the new shape before answering (`xla="always"`). Reported:
    the slowest of the 8 per repeat, medians over repeats, and their ratio (goal <= 0.5).
    """
    worst: dict[str, list[float]] = {"app": [], "naive": []}
    for r in range(repeats):
        for name, mode in (("app", "background"), ("naive", "always")):
            cache = EngineCache(xla=mode)
            cfg = BASE.replace(seed=r)
            # the naive way has a layer of its own (the polymorphic graph has no XLA tier)
            own = {"layer_kwargs": layer_kwargs(cfg)} if name == "naive" else {}
            rnnviz.run(cfg, engines=cache, **own)  # the structure exists: the shapes are new
            cache.wait()
            times = [
                timed(
                    lambda n=n, cfg=cfg, cache=cache, own=own: rnnviz.run(
                        cfg.replace(num_steps=11 + n), engines=cache, **own
                    )
                )
                for n in range(8)
            ]
            worst[name].append(max(times))
            cache.wait()
        print(".", end="", flush=True)
    print()
    app, naive = statistics.median(worst["app"]), statistics.median(worst["naive"])
    return [
        "rapid changes (8 new shapes back to back; slowest of the 8, median of "
        f"{repeats} repeats): app {app:.3f} s, compile-first {naive:.3f} s, "
        f"ratio {app / naive:.2f} (goal <= 0.5): {'PASS' if app / naive <= 0.5 else 'FAIL'}"
    ]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on a shared machine skews timings."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return ", ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1, 5, 15 min)"


def numpy_blas() -> str:
    """NumPy's BLAS and its thread setting: run() draws orthogonal weights with a QR."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{blas['name']} {blas['version']}"
    except Exception:  # the layout of show_config is not a stable API
        name = "unknown"
    return f"{name}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"


def machine_info() -> list[str]:
    cpus = os.cpu_count()
    usable = usable_cores()
    return [
        f"platform   {platform.platform()}",
        f"cpu        {cpu_model()}, {cpus} logical CPUs ({usable} usable)",
        f"load avg   {load_average()} at start",
        f"python     {platform.python_version()}",
        f"versions   tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"numpy {np.__version__}",
        f"numpy BLAS {numpy_blas()}",
    ]


def report(times: dict[str, list[float]], rebuilt: dict[str, int]) -> list[str]:
    lines = ["", "Measurements (seconds)"]
    lines.append(f"  {'quantity':<56} {'n':>3} {'median':>8} {'min':>8} {'p25-p75':>17}")
    for key, description in DESCRIPTIONS.items():
        values = sorted(times[key])
        if not values:
            continue
        q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        lines.append(
            f"  {description:<56} {len(values):>3} {statistics.median(values):>8.4f} "
            f"{values[0]:>8.4f} {q1:>8.4f}-{q3:<8.4f}"
        )
    lines += ["", "Ratios of medians"]
    header = f"  {'ratio':<50} {'numerator':>10} {'denominator':>12} {'ratio':>7} {'goal':>7}"
    lines.append(header + "  result")
    for ratio in RATIOS:
        lines.append(
            f"  {ratio.name:<50} {statistics.median(times[ratio.numerator]):>9.4f}s "
            f"{statistics.median(times[ratio.denominator]):>11.4f}s "
            f"{ratio.ratio(times):>7.2f} {ratio.goal:>7}  {ratio.verdict(times)}"
        )
    lines += [
        "",
        f"Steady state rebuilt {rebuilt['builds']} engines and retraced "
        f"{rebuilt['traces']} functions (both should be 0).",
        f"load avg   {load_average()} at the end",
    ]
    return lines


#: Issue 20's class exploring freely: what a student changes (the Explore page's sizes).
EXPLORE_CELLS = ("lstm", "gru", "simple_rnn")


def explore_structures(count: int, rng: random.Random) -> list[rnnviz.RunConfig]:
    """Structures a class exploring freely reaches: hidden_size 4-32, num_steps 5-50, the
    cell, stateful and return_sequences, the signal and the seed; each one distinct."""
    seen, out = set(), []
    while len(out) < count:
        cfg = rnnviz.RunConfig(
            cell=rng.choice(EXPLORE_CELLS), hidden_size=rng.randint(4, 32),
            num_steps=rng.randint(5, 50), stateful=rng.random() < 0.5,
            return_sequences=rng.random() < 0.5, signal=rng.choice(STEADY_SIGNALS),
            seed=rng.randint(0, 10_000),
        )  # fmt: skip
        key = (cfg.cell, cfg.hidden_size, cfg.stateful, cfg.return_sequences)
        if key not in seen:
            seen.add(key)
            out.append(cfg)
    return out


def measure_never_seen(repeats: int, rng: random.Random) -> list[str]:
    """Issue 20: a layer structure the process has never run, answered (the run, not the
    page). Before: its own Engine (a genuine layer built, its graph traced, then the run).
    Now: the polymorphic graph of its cell and flags, traced once per process (warmed
    first, as the server's first runs do), so the structure costs the run alone. The two
    take turns on distinct structures; medians. Goal: now <= 40 ms."""
    polys = EngineCache(xla="never", prewarm=False)
    for cfg in explore_structures(24, random.Random(99)):  # every cell and flag combination
        rnnviz.run(cfg, engines=polys)
    parts: dict[str, list[float]] = {"build": [], "trace": [], "run": [], "now": []}

    def before(cfg: rnnviz.RunConfig) -> None:
        kwargs, x = layer_kwargs(cfg), make_inputs(cfg)
        weights = make_weights(cfg)
        states = [np.zeros((cfg.batch_size, cfg.hidden_size), np.float32)] * len(cfg.state_names)
        own = EngineCache(xla="never", prewarm=False)
        start = time.perf_counter()
        engine = own.get(cfg.cell, kwargs, cfg.num_features, cfg.batch_size)
        parts["build"].append(time.perf_counter() - start)
        parts["trace"].append(timed(engine.trace_graph))
        parts["run"].append(timed(lambda: engine.run(x, weights, states, xla="never")))

    def now(cfg: rnnviz.RunConfig) -> None:
        fresh = cfg.replace(seed=cfg.seed + 1)  # nothing cached for this run either
        parts["now"].append(timed(lambda: rnnviz.run(fresh, engines=polys)))

    for cfg in explore_structures(repeats, rng):
        for step in shuffled([before, now], rng):
            step(cfg)
        print(".", end="", flush=True)
    print()
    med = {k: statistics.median(v) * 1000 for k, v in parts.items()}
    total = med["build"] + med["trace"] + med["run"]
    ok = med["now"] <= 40
    return [
        "",
        f"A never-seen structure (issue 20; {repeats} distinct structures of the explore mix: "
        "hidden_size 4-32, num_steps 5-50, cell, stateful, return_sequences), medians:",
        f"  before, its own layer: build {med['build']:.1f} ms + trace {med['trace']:.1f} ms + "
        f"run {med['run']:.1f} ms = {total:.1f} ms",
        f"  now, the polymorphic graph: build 0 ms + trace 0 ms + run {med['now']:.1f} ms "
        f"(traced once per cell and flags per process: {polys.poly_builds} graphs)",
        f"  goal <= 40 ms: {'PASS' if ok else 'FAIL'} ({total / med['now']:.1f} x faster)",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_core.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    args = parser.parse_args(argv)
    fast, slow = (5, 3) if args.quick else (21, 7)
    tf.get_logger().setLevel("ERROR")  # new engines make TF warn about retracing

    print("rnnviz benchmark" + (" (quick)" if args.quick else ""))
    print(*machine_info(), sep="\n")
    print(
        f"workload   {BASE.cell} batch_size={BASE.batch_size} num_steps={BASE.num_steps} "
        f"num_features={BASE.num_features} hidden_size={BASE.hidden_size} "
        f"num_batches={BASE.num_batches}"
    )
    times: dict[str, list[float]] = {key: [] for key in DESCRIPTIONS}
    print(f"steady state, {fast} repeats ", end="", flush=True)
    rng = random.Random(0)  # the same orders on every run of the benchmark
    rebuilt = measure_steady(fast, times, rng)
    print(f"new hidden_size, {slow} repeats ", end="", flush=True)
    measure_new_structure(slow, times, rng)
    lines = report(times, rebuilt)
    print(*lines, sep="\n")
    print(f"rapid changes, {slow} repeats ", end="", flush=True)
    lines += measure_rapid_changes(slow)
    print(*lines[-1:], sep="\n")
    print(f"never-seen structures, {3 * slow} repeats ", end="", flush=True)
    never = measure_never_seen(3 * slow, rng)
    print(*never, sep="\n")
    lines += never
    return 1 if any("FAIL" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
