"""Benchmark of the encoder–decoders on addition (issue 19), printed side by side.

1. Each default training (LSTM and GRU, the shipped recipe): seconds, and exact answers on
   the held-out questions of the trained lengths. Goals: each training <= 3 min on 2 cores,
   LSTM >= 95 % exact; the GRU is reported.
2. `trace_model` on the shipped LSTM encoder–decoder (two inputs; the decoder's initial
   state is the encoder's returned [h, c]) against `trace_layer` on the same decoder layer
   alone, given the same input vectors and initial state: calls interleaved, medians, after
   both are warm. Goal <= 1.5.

    .venv/bin/python benchmarks/bench_seq2seq.py            # about 6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_seq2seq.py --no-train # part 2 only, on the shipped files
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import rnnviz
from rnnviz.sources.seq2seq import model as S
from rnnviz.sources.seq2seq.task import to_ids
from rnnviz.sources.usermodels.models import layer_inputs


def trainings(failed: list[str]) -> None:
    print("1. default trainings (50,000 sums of 1-3 digit numbers, 14 epochs)", flush=True)
    for cell in S.CELLS:
        start = time.perf_counter()
        _, record = S.train(cell, seed=0, log=lambda _: None)
        seconds = time.perf_counter() - start
        accuracy = record["heldout_accuracy"][-1]
        ok = seconds <= 180
        failed += [] if ok else [f"{cell} trained in {seconds:.0f} s"]
        goal = ""
        if cell == "lstm":
            good = accuracy >= 0.95
            failed += [] if good else [f"LSTM {accuracy:.1%} exact"]
            goal = f" ({'PASS' if good else 'FAIL'} >= 95 %)"
        print(
            f"  {cell:<5} {seconds:6.1f} s ({'PASS' if ok else 'FAIL'} <= 180 s)  held-out exact "
            f"answers {accuracy:.1%}{goal}",
            flush=True,
        )


def trace_ratio(failed: list[str], repeats: int = 41) -> None:
    print("\n2. trace_model(decoder) on the two-input model / trace_layer(decoder) alone")
    model = S.load_pretrained("lstm")
    xs = [to_ids(["123+45 ", "999+999"], 7), to_ids(["=168", "=199"], 4)]
    decoder = model.get_layer("decoder")
    given = layer_inputs(model, xs, decoder)[0]
    vectors, initial = given["inputs"], given["initial_state"]
    for _ in range(3):  # warm: the compiled capture, the tracer's graph for this structure
        rnnviz.trace_model(model, xs, "decoder")
        rnnviz.trace_layer(decoder, vectors, initial)
    ours, alone = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        a = rnnviz.trace_model(model, xs, "decoder")
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        b = rnnviz.trace_layer(decoder, vectors, initial)
        alone.append(time.perf_counter() - start)
    assert np.array_equal(a.h, b.h)  # the same numbers, or the comparison means nothing
    ratio = statistics.median(ours) / statistics.median(alone)
    ok = ratio <= 1.5
    failed += [] if ok else [f"trace_model / trace_layer {ratio:.2f}"]
    print(
        f"  trace_model {statistics.median(ours) * 1000:.1f} ms, trace_layer "
        f"{statistics.median(alone) * 1000:.1f} ms (medians of {repeats}): ratio {ratio:.2f} "
        f"({'PASS' if ok else 'FAIL'} <= 1.5)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-train", action="store_true", help="skip the two trainings")
    args = parser.parse_args()
    failed: list[str] = []
    if not args.no_train:
        trainings(failed)
    trace_ratio(failed)
    if failed:
        print("\nmissed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
