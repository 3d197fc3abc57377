"""`make models`: train every built-in task with every cell and ship the checkpoints.

Writes assets/models/task_<task>_<cell>.keras (the final model) and .npz (history and the
weights of every epoch, for the Train page's epoch scrubber), and records each in
assets/models/manifest.json with its final metrics and SHA-256. Deterministic: the same
seed gives the same data, initial weights and (on the same machine) the same history.
"""

from __future__ import annotations

import json
import sys
import time

from rnnviz.config import CELLS
from rnnviz.tasks import TASKS
from rnnviz.training import MANIFEST, MODELS_DIR, checkpoint_stem, read_manifest, train


def main() -> int:
    manifest = read_manifest()
    entries = manifest.setdefault("tasks", {})
    total = len(TASKS) * len(CELLS)
    for i, (name, task) in enumerate(TASKS.items()):
        for j, cell in enumerate(CELLS):
            n = i * len(CELLS) + j + 1
            start = time.perf_counter()
            run = train(task, cell, seed=0)
            stem = checkpoint_stem(name, cell)
            entries[stem] = run.save(MODELS_DIR, stem)
            print(
                f"[{n}/{total}] {name} {cell}: {run.epochs_done} epochs in "
                f"{time.perf_counter() - start:.1f} s, val {run.metric_name} "
                f"{run.final():.3f}",
                flush=True,
            )
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {MANIFEST}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
