"""Benchmark of training on the built-in tasks: time to target, cell gap, overhead, memory.

Run it with `python benchmarks/bench_training.py` (part of `make bench`); `--quick` takes fewer
repeats for the overhead ratio.

1. Time to target: every task with every cell, default settings, seed 0: the seconds of
   `rnnviz.train` (model build and compile included) until the epoch whose validation
   metric first reaches the task's target, and the final metric. Goal: <= 30 s with LSTM.
2. remember: LSTM validation accuracy minus SimpleRNN's, same budget. Goal: >= 20 points.
3. Overhead: `rnnviz.train`'s fit (the recording callback: per-batch stop poll, per-epoch
   weight snapshot) / a bare `model.fit` on the same model and data, per epoch, after a
   first epoch that pays the compile on both. Measured interleaved, median of repeats.
   Goal <= 1.10.
4. Memory: the bytes of 100 epochs' weight snapshots of a 64-unit LSTM on `remember`
   (trained for real on a small sample so it is quick). Goal < 10 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from rnnviz.core.config import CELLS
from rnnviz.sources.training.run import TrainingRun, _recorder, _targets, build_model, train
from rnnviz.sources.training.tasks import TASKS, Task


def reached(task: Task, value: float) -> bool:
    goal = task.target[0]
    return value >= goal if task.metric_name == "accuracy" else value <= goal


def time_to_target() -> tuple[list[str], dict[tuple[str, str], float]]:
    lines = [
        f"{'task':<11} {'cell':<11} {'to target':>10} {'total':>7} {'final':>7}  target",
    ]
    finals: dict[tuple[str, str], float] = {}
    verdicts = []
    for name, task in TASKS.items():
        for cell in CELLS:
            start = time.perf_counter()
            stamps: list[float] = []

            def stamp(_run: object, stamps: list[float] = stamps) -> None:
                stamps.append(time.perf_counter())

            run = train(task, cell, on_epoch=stamp)
            total = time.perf_counter() - start
            values = run.history["val_metric"]
            hit = next((i for i, v in enumerate(values) if reached(task, v)), None)
            to_target = f"{stamps[hit + 1] - start:.1f} s" if hit is not None else "never"
            finals[(name, cell)] = run.final()
            lines.append(
                f"{name:<11} {cell:<11} {to_target:>10} {total:>5.1f} s {run.final():>7.3f}  "
                f"{task.target[1]}"
            )
            if cell == "lstm":
                ok = hit is not None and stamps[hit + 1] - start <= 30
                verdicts.append(
                    f"  {name}: LSTM reaches its target within 30 s: {'PASS' if ok else 'FAIL'}"
                )
            print(lines[-1], flush=True)
    return lines + verdicts, finals


def overhead(repeats: int) -> tuple[float, list[float], list[float]]:
    """Returns (median ratio, recorded per-epoch seconds, bare per-epoch seconds)."""
    task = TASKS["remember"]
    train_data, val_data = task.splits(0)
    epochs = 5
    recorded, bare = [], []
    order = [True, False]
    for r in range(repeats):
        for with_callback in order if r % 2 == 0 else order[::-1]:
            model = build_model(task, "lstm", task.hidden_size, r, False)
            fit_args = dict(
                x=train_data.x,
                y=_targets(task, train_data),
                batch_size=task.batch_size,
                validation_data=(val_data.x, _targets(task, val_data)),
                shuffle=False,
                verbose=0,
            )
            callbacks = []
            if with_callback:
                run = TrainingRun(task, "lstm", task.hidden_size, epochs + 1)
                run.snapshots.append(model.get_weights())
                callbacks = [_recorder(run, None, lambda: False)]
            model.fit(epochs=1, callbacks=callbacks, **fit_args)  # pays the compile
            start = time.perf_counter()
            model.fit(epochs=epochs, callbacks=callbacks, **fit_args)
            per_epoch = (time.perf_counter() - start) / epochs
            (recorded if with_callback else bare).append(per_epoch)
    return statistics.median(recorded) / statistics.median(bare), recorded, bare


def memory() -> int:
    small = Task(**{**TASKS["remember"].__dict__, "num_train": 64, "num_val": 64})
    run = train(small, "lstm", hidden_size=64, epochs=100)
    return run.weight_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer overhead repeats")
    args = parser.parse_args(argv)
    print("Training on the built-in tasks (default settings, seed 0)\n", flush=True)
    lines, finals = time_to_target()
    gap = finals[("remember", "lstm")] - finals[("remember", "simple_rnn")]
    ratio, recorded, bare = overhead(3 if args.quick else 7)
    snapshot_bytes = memory()
    print()
    print("\n".join(lines))
    print(
        f"\nremember, LSTM - SimpleRNN validation accuracy: {gap * 100:.1f} points "
        f"(goal >= 20): {'PASS' if gap >= 0.2 else 'FAIL'}"
    )
    print(
        f"rnnviz.train per epoch / bare model.fit per epoch: {ratio:.3f} "
        f"(medians {statistics.median(recorded) * 1000:.0f} ms / "
        f"{statistics.median(bare) * 1000:.0f} ms over {len(bare)} repeats; goal <= 1.10): "
        f"{'PASS' if ratio <= 1.10 else 'FAIL'}"
    )
    print(
        f"100 epochs of weights, 64-unit LSTM on remember: {snapshot_bytes / 2**20:.2f} MB "
        f"(goal < 10 MB): {'PASS' if snapshot_bytes < 10 * 2**20 else 'FAIL'}"
    )
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = gap >= 0.2 and ratio <= 1.10 and snapshot_bytes < 10 * 2**20
    return 0 if ok and "FAIL" not in "\n".join(lines) else 1


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
