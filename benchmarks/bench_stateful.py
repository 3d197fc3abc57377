"""Benchmark of stateful training on the `switch` stream (issue 18), printed side by side.

1. Each default training (LSTM, the four layouts): seconds, and held-out accuracy in the
   right (continuation) order and in the network's own layout. Goals: continuation
   >= 95 %, each other layout >= 15 points below it, each training <= 60 s.
2. `train_stateful`'s cost per epoch against a bare `model.fit` on the same layout (the
   same model, arrays and reset callback, no recording): epochs interleaved, medians.
   Goal <= 1.10.
3. The shipped checkpoints' bytes (goal: all four <= 2 MB).

    .venv/bin/python benchmarks/bench_stateful.py            # about 3 minutes on 2 cores
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from rnnviz.sources.stateful.layout import KINDS
from rnnviz.sources.stateful.streams import SWITCH
from rnnviz.sources.stateful.training import (
    RNN_NAME,
    build_model,
    checkpoint_stem,
    train_stateful,
)
from rnnviz.sources.training.run import read_manifest


def bare_epochs(kind: str, epochs: int) -> list[float]:
    """Seconds per epoch of model.fit alone on the layout, the state reset each epoch."""
    import keras

    model = build_model(SWITCH, kind, "lstm", SWITCH.hidden_size, SWITCH.batch_size,
                        SWITCH.window, 0)  # fmt: skip
    from rnnviz.sources.stateful.layout import layout

    train = SWITCH.streams(0)[0]
    index = layout(len(train.y), SWITCH.batch_size, SWITCH.window, kind).index
    x = train.x[index.reshape(-1, SWITCH.window)]
    y = train.y[index.reshape(-1, SWITCH.window)][..., None]
    seconds = []

    class Reset(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()
            self.model.get_layer(RNN_NAME).reset_state()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=SWITCH.batch_size, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[Reset()])  # fmt: skip
    return seconds


def main() -> int:
    failed = []
    print("1. default trainings (LSTM, switch, 30 epochs)", flush=True)
    accuracy = {}
    for kind in KINDS:
        start = time.perf_counter()
        run = train_stateful(SWITCH, kind, "lstm", seed=0)
        seconds = time.perf_counter() - start
        right = run.evaluate(-1, "continuation")["accuracy"]
        own = run.evaluate(-1, "continuation" if kind == "stateless" else kind)["accuracy"]
        accuracy[kind] = right
        ok = seconds <= 60
        failed += [] if ok else [f"{kind} trained in {seconds:.1f} s"]
        print(
            f"  {kind:<13} {seconds:5.1f} s ({'PASS' if ok else 'FAIL'} <= 60 s)  held-out "
            f"accuracy {right:.1%} right order, {own:.1%} own layout",
            flush=True,
        )
    best = accuracy["continuation"]
    ok = best >= 0.95
    failed += [] if ok else [f"continuation reaches {best:.1%}"]
    print(f"  continuation {best:.1%}: {'PASS' if ok else 'FAIL'} (>= 95 %)")
    for kind in KINDS[1:]:
        gap = (best - accuracy[kind]) * 100
        ok = gap >= 15
        failed += [] if ok else [f"{kind} only {gap:.0f} points below"]
        print(f"  {kind:<13} {gap:5.1f} points below: {'PASS' if ok else 'FAIL'} (>= 15)")

    print("\n2. train_stateful per epoch / bare model.fit per epoch (continuation, medians)")
    ours, bare = [], []
    for _ in range(3):  # interleaved: 10 epochs of each, three times
        run = train_stateful(SWITCH, "continuation", "lstm", epochs=10, seed=0)
        ours += run.seconds[1:]  # the first epoch compiles in both
        bare += bare_epochs("continuation", 10)[1:]
    ratio = statistics.median(ours) / statistics.median(bare)
    ok = ratio <= 1.10
    failed += [] if ok else [f"per-epoch ratio {ratio:.2f}"]
    print(
        f"  train_stateful {statistics.median(ours) * 1000:.0f} ms, bare fit "
        f"{statistics.median(bare) * 1000:.0f} ms: ratio {ratio:.3f} "
        f"({'PASS' if ok else 'FAIL'} <= 1.10)"
    )

    print("\n3. shipped checkpoints")
    entries = read_manifest().get("stateful", {})
    total = 0
    for kind in KINDS:
        entry = entries.get(checkpoint_stem(kind, "lstm"))
        if entry is None:
            failed.append(f"no shipped {kind} checkpoint")
            continue
        size = sum(f["bytes"] for f in entry["files"].values())
        total += size
        print(f"  {kind:<13} {size / 1e3:7.1f} kB, {entry['epochs']} epochs")
    ok = total <= 2 * 2**20
    failed += [] if ok else [f"checkpoints {total / 2**20:.2f} MB"]
    print(f"  all four {total / 2**20:.2f} MB: {'PASS' if ok else 'FAIL'} (<= 2 MB)")
    assert np.isfinite(total)
    if failed:
        print("\nmissed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
