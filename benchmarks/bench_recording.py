"""Benchmark of a user's own training recorded and opened (issue 21), printed side by side.

1. RecordStates' overhead on `model.fit`: a 64-unit LSTM model (2,000 samples of 50 steps
   x 8 features, batch 64), 20 epochs with the callback and 20 without, the two fits
   taking turns twice; per-epoch seconds (the first epoch of each fit, which compiles,
   left out), medians. Goal: <= 1.10.
2. The run's size for that model and 100 epochs under the default max_mb (200): recorded
   for real, on a small slice of the data so that 100 epochs take seconds.
3. `rnnviz open` on a 5 MB model file to the Your model page's first chart in Chromium,
   against `make run`'s command (`streamlit run app.py`) to the Explore page's first
   chart: launches interleaved, medians. Goal: <= 1.5.

    .venv/bin/python benchmarks/bench_recording.py            # about 4 minutes on 2 cores
    .venv/bin/python benchmarks/bench_recording.py --no-browser
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from browserkit import CHROMIUM_ARGS, free_port, is_healthy, streamlit_command  # noqa: E402

#: The first chart of a page holds data (Plotly's _fullData).
DRAWN_JS = (
    "() => [...document.querySelectorAll('.stPlotlyChart .js-plotly-plot')]"
    ".some((d) => (d._fullData || []).length > 0)"
)


def model_and_data(seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, 50, 8)).astype(np.float32)
    y = (x[:, :10, 0].sum(axis=1) > 0).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((50, 8)), keras.layers.LSTM(64), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model, x, y


def epoch_seconds(record: Path | None, epochs: int) -> list[float]:
    """Seconds of each epoch of one fit (with RecordStates writing to `record`, or not)."""
    import keras

    from rnnviz.callbacks import RecordStates

    model, x, y = model_and_data()
    ends: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter() - self.start)

    callbacks = [RecordStates(record)] if record is not None else []
    # The clock last: an epoch's time includes what RecordStates does at its end.
    model.fit(x[:1600], y[:1600], validation_data=(x[1600:], y[1600:]), epochs=epochs,
              batch_size=64, verbose=0, callbacks=[*callbacks, Clock()])  # fmt: skip
    return ends[1:]


def overhead(work: Path, epochs: int, rounds: int) -> dict:
    plain: list[float] = []
    recorded: list[float] = []
    for r in range(rounds):
        for name in ("plain", "recorded"):
            folder = work / f"overhead-{r}" if name == "recorded" else None
            seconds = epoch_seconds(folder, epochs)
            (recorded if folder else plain).extend(seconds)
            print(f"  round {r + 1}/{rounds}, {name}: median epoch "
                  f"{statistics.median(seconds):.3f} s", flush=True)  # fmt: skip
    ratio = statistics.median(recorded) / statistics.median(plain)
    return {"plain s/epoch": statistics.median(plain),
            "recorded s/epoch": statistics.median(recorded), "ratio": ratio}  # fmt: skip


def size_of_100_epochs(work: Path) -> dict:
    from rnnviz.callbacks import RecordStates

    model, x, y = model_and_data()
    folder = work / "hundred"
    start = time.perf_counter()
    model.fit(x[:64], y[:64], validation_data=(x[64:96], y[64:96]), epochs=100, batch_size=64,
              verbose=0, callbacks=[RecordStates(folder)])  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text())
    on_disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {
        "epochs kept": len(manifest["epochs"]),
        "thinned": manifest["thinned"],
        "MB on disk": on_disk / 2**20,
        "seconds": time.perf_counter() - start,
    }


# ----- rnnviz open vs make run ------------------------------------------------------------


def five_mb_model(path: Path) -> float:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((30, 64)), keras.layers.LSTM(544, name="lstm"), keras.layers.Dense(4)]
    )
    model.save(path)
    return path.stat().st_size / 2**20


def launch_to_chart(command: list[str], url: str, browser, log: Path, timeout_s: float) -> float:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        base = url.split("/", 3)[:3]
        while not is_healthy("/".join(base)):
            if process.poll() is not None or time.perf_counter() - started > timeout_s:
                raise RuntimeError(log.read_text(errors="replace")[-3000:])
            time.sleep(0.05)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(DRAWN_JS, polling="raf", timeout=timeout_s * 1000)
        elapsed = time.perf_counter() - started
        context.close()
        return elapsed
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def open_vs_run(work: Path, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    model = work / "five_mb.keras"
    size = five_mb_model(model)
    rnnviz_command = shutil.which("rnnviz", path=str(Path(sys.executable).parent))
    opened, served = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                     args=CHROMIUM_ARGS)  # fmt: skip
        for i in range(repeats):
            port = free_port()
            opened.append(launch_to_chart(
                [rnnviz_command, "open", str(model), "--no-browser", "--port", str(port)],
                f"http://127.0.0.1:{port}/yourmodel", browser, work / f"open-{i}.log", 240,
            ))  # fmt: skip
            port = free_port()
            served.append(launch_to_chart(
                streamlit_command("app.py", port), f"http://127.0.0.1:{port}/", browser,
                work / f"run-{i}.log", 240,
            ))  # fmt: skip
            print(f"  launch {i + 1}/{repeats}: rnnviz open {opened[-1]:.2f} s, "
                  f"make run's app {served[-1]:.2f} s", flush=True)  # fmt: skip
        browser.close()
    return {"model MB": size, "rnnviz open s": statistics.median(opened),
            "make run s": statistics.median(served),
            "ratio": statistics.median(opened) / statistics.median(served)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rnnviz-bench-recording-"))
    failed = False
    try:
        print(f"1. RecordStates overhead: 64-unit LSTM, {args.epochs} epochs x {args.rounds} "
              "rounds, with and without, taking turns", flush=True)  # fmt: skip
        cost = overhead(work, args.epochs, args.rounds)
        ok = cost["ratio"] <= 1.10
        failed |= not ok
        print(f"   per epoch: without {cost['plain s/epoch']:.3f} s, with "
              f"{cost['recorded s/epoch']:.3f} s -> {cost['ratio']:.3f} x "
              f"(goal <= 1.10: {'PASS' if ok else 'FAIL'})")  # fmt: skip
        print("2. Run size: the same model, 100 epochs, max_mb=200 (default)", flush=True)
        size = size_of_100_epochs(work)
        print(f"   {size['epochs kept']} epochs kept (0..100), {size['MB on disk']:.1f} MB on "
              f"disk, thinned: {size['thinned'] or 'no'}")  # fmt: skip
        if not args.no_browser:
            print("3. rnnviz open (5 MB model) -> Your model's first chart, against make run's "
                  "app -> Explore's first chart, launches interleaved", flush=True)  # fmt: skip
            launch = open_vs_run(work, args.launches)
            ok = launch["ratio"] <= 1.5
            failed |= not ok
            print(f"   {launch['model MB']:.1f} MB model: rnnviz open {launch['rnnviz open s']:.2f}"
                  f" s, make run {launch['make run s']:.2f} s -> {launch['ratio']:.2f} x "
                  f"(goal <= 1.5: {'PASS' if ok else 'FAIL'})")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
