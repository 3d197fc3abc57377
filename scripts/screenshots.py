"""Takes the README's screenshots of the running app with Playwright and Debian's Chromium.

Run it with `make screenshots` (or `.venv/bin/python scripts/screenshots.py`). It
starts `streamlit run app.py` on a free port, waits for /_stcore/health, drives a
headless Chromium (1400 × 900) through the default page, the three presets, the
Gates view, the Step inspector and the Keras code view, and writes PNGs into
assets/. Before each shot it waits until the script has finished running, no
spinner or stale element is left and the view's chart or text is on screen, and
it checks that the page shows what the README says it shows.

Options: --out DIR (default assets/), --port N (default: a free one).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from browserkit import CHROMIUM_ARGS, free_port, is_healthy, streamlit_command
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1400, "height": 900}
#: The first run imports TensorFlow and builds a Keras layer: allow for a slow machine.
TIMEOUT_MS = 180_000


@contextlib.contextmanager
def streamlit_app(port: int) -> Iterator[str]:
    """Runs `streamlit run app.py` headless on port; yields its base URL once healthy."""
    command = streamlit_command("app.py", port)
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield _wait_healthy(proc, log, f"http://127.0.0.1:{port}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(proc: subprocess.Popen, log, base: str) -> str:
    """Returns base once /_stcore/health answers "ok"; raises with the log if it never does."""
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{_tail(log)}")
        if is_healthy(base):
            return base
        if time.monotonic() > deadline:
            raise RuntimeError(f"no /_stcore/health after 120 s:\n{_tail(log)}")
        time.sleep(0.3)


def _tail(log, lines: int = 40) -> str:
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-lines:])


def settle(page: Page) -> None:
    """Waits until the script run is over: not running, no spinner, nothing stale, twice."""
    idle = """() => {
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.getAttribute('data-test-script-state') === 'notRunning'
            && !document.querySelector('[data-testid="stSpinner"]')
            && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
            && !document.querySelector('[data-stale="true"]');
    }"""
    for _ in range(2):  # a bound widget may trigger one more rerun right after the first
        page.wait_for_function(idle, timeout=TIMEOUT_MS)
        page.wait_for_timeout(700)
    page.wait_for_function(idle, timeout=TIMEOUT_MS)


def wait_for_charts(page: Page, count: int = 1) -> None:
    """Waits until `count` Plotly charts have drawn their plot area."""
    page.wait_for_function(
        f"""() => document.querySelectorAll(
            '[data-testid="stPlotlyChart"] .js-plotly-plot .plot-container .main-svg'
        ).length >= {count}""",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(500)  # Plotly lays out the colour bars a frame later


def main_text(page: Page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def expect_text(page: Page, *needles: str) -> None:
    """Fails unless every needle is on the main page (checks what the README will claim)."""
    text = main_text(page)
    missing = [n for n in needles if n not in text]
    if missing:
        raise AssertionError(f"{page.url}: expected {missing} on the page")


def choose_view(page: Page, label: str) -> None:
    group = page.locator('[data-testid="stMain"] [data-testid="stRadioGroup"]').first
    group.get_by_text(label, exact=True).click()
    settle(page)


def click_preset(page: Page, label: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name=label).click()
    settle(page)


def shoot(page: Page, path: Path) -> None:
    page.mouse.move(VIEWPORT["width"] - 5, VIEWPORT["height"] // 2)  # no tooltip in the shot
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def take(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            headless=True,
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport=VIEWPORT, color_scheme="light")
        page.set_default_timeout(TIMEOUT_MS)

        # The default page: States over time of an LSTM(8) on a sine, 3 batches of 2 × 5 × 1.
        page.goto(base + "/")
        wait_for_charts(page, 2)
        settle(page)
        expect_text(page, "keras.layers.LSTM(8", "hidden state h_t", "cell state c_t")
        shoot(page, out / "states.png")

        # Gates of the same LSTM: a taller window so all four gates fit.
        choose_view(page, "Gates")
        wait_for_charts(page)
        expect_text(page, "input gate", "forget gate", "candidate", "output gate")
        page.set_viewport_size({"width": VIEWPORT["width"], "height": 1250})
        page.wait_for_timeout(800)
        shoot(page, out / "gates.png")
        page.set_viewport_size(VIEWPORT)

        # Step inspector at batch 1, sample 1, t = 2, unit 3, opened from a shared link.
        page.goto(base + "/?view=Step+inspector&batch=1&sample=1&t=2&unit=3")
        # typeset by the browser (MathML), switched there without the server
        page.wait_for_selector('[data-testid="stMain"] .rnnviz-equation math', timeout=TIMEOUT_MS)
        settle(page)
        expect_text(page, "Keras:")
        shoot(page, out / "step.png")

        # Keras code: the generated script and, below it, the Keras 2 idioms run on Keras 3.
        page.goto(base + "/")
        settle(page)
        choose_view(page, "Keras code")
        page.wait_for_selector('[data-testid="stMain"] [data-testid="stCode"]')
        page.get_by_text("Keras 2 idioms of the classic answers").wait_for()
        settle(page)
        expect_text(page, "import keras", "batch_input_shape", "Error")
        page.get_by_text("Download the script").scroll_into_view_if_needed()
        page.evaluate(
            """() => {
                const h = [...document.querySelectorAll('[data-testid="stMain"] h3')]
                    .find(e => e.innerText.includes('Keras 2 idioms'));
                h.scrollIntoView({block: 'center'});
            }"""
        )
        shoot(page, out / "code.png")

        # The presets, each from a fresh page so each shot shows only its own state.
        presets = [
            ("1 · What are h_t and c_t?", "preset1.png", ["(2, 8)", "state_c", "[8, 8]"], 0),
            ("2 · Setting a SimpleRNN's initial state", "preset2.png", ["SimpleRNN"], 2),
            ("3 · return_sequences and stateful", "preset3.png", ["(2, 3, 4)", "(2, 4)"], 0),
            ("4 · Setting a state from outside (seeds/000)", "preset4.png", ["changes nothing"], 0),
        ]
        for label, name, needles, charts in presets:
            page.goto(base + "/")
            settle(page)
            click_preset(page, label)
            if charts:
                wait_for_charts(page, charts)
            elif name == "preset4.png":  # the Keras code view: no table, the trap's verdict
                page.get_by_text("changes nothing", exact=False).first.wait_for(timeout=60_000)
            else:
                page.wait_for_selector('[data-testid="stMain"] [data-testid="stTable"]')
            settle(page)
            expect_text(page, *needles)
            shoot(page, out / name)
            print(f"  {label}: {page.url.replace(base, '')}")
        take_train(page, base, out)
        take_stateful(page, base, out)
        take_seq2seq(page, base, out)
        take_why(page, base, out)
        take_text(page, base, out)
        take_your_model(page, base, out)
        take_recorded(page, base, out)
        browser.close()


def take_text(page: Page, base: str, out: Path) -> None:
    """The Text page as it opens: held-out code coloured by the LSTM's best string unit."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1300})
    page.goto(base + "/text")
    wait_for_charts(page, 1)
    settle(page)
    expect_text(page, "Read a network's mind", "Units that track in a string")
    page.get_by_text("Units that track").scroll_into_view_if_needed()
    shoot(page, out / "text.png")
    page.set_viewport_size(VIEWPORT)


def take_why(page: Page, base: str, out: Path) -> None:
    """The Why page: memory reach of the three cells trained on `remember`."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1100})
    page.goto(base + "/why?source=A+trained+task")
    wait_for_charts(page, 2)
    settle(page)
    expect_text(page, "How far back does it remember?", "SimpleRNN 1.1e-08")
    shoot(page, out / "why.png")
    page.set_viewport_size(VIEWPORT)


def record_example_run(folder: Path) -> None:
    """A user's training, recorded: examples/quickstart.ipynb's LSTM (remember the first of
    12 noisy numbers), 12 epochs, in a few seconds."""
    import keras
    import numpy as np

    from rnnviz.callbacks import RecordStates

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, size=(1200, 12, 1)).astype("float32")
    y = (x[:, 0, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((12, 1)), keras.layers.LSTM(8, name="lstm"),
                              keras.layers.Dense(1, activation="sigmoid", name="answer")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    model.fit(x[:1000], y[:1000], validation_data=(x[1000:], y[1000:]), epochs=12,
              batch_size=32, verbose=0, callbacks=[RecordStates(folder)])  # fmt: skip


def take_recorded(page: Page, base: str, out: Path) -> None:
    """A recorded run on the Your model page, scrubbed back to epoch 4."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1800})
    page.goto(base + "/yourmodel")
    wait_for_charts(page, 2)
    thumb = page.get_by_role("slider").first
    thumb.focus()
    for _ in range(8):  # from epoch 12 back to 4
        thumb.press("ArrowLeft")
        page.wait_for_timeout(150)
    settle(page)
    wait_for_charts(page, 3)
    settle(page)
    expect_text(page, "Run quickstart", "13 recorded epochs", "16 samples")
    shoot(page, out / "recorded.png")
    page.set_viewport_size(VIEWPORT)


def take_your_model(page: Page, base: str, out: Path) -> None:
    """The Your model page: the example tagger's backward GRU half, padding greyed out."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1300})
    page.goto(base + "/yourmodel")
    if os.environ.get("RNNVIZ_RUNS_DIR"):  # the recorded run comes first: pick the examples
        page.get_by_text("An example model").click()
    wait_for_charts(page, 2)
    page.get_by_role("combobox", name="recurrent layer to trace").click()
    page.get_by_role("option", name="bidirectional/backward").click()
    page.get_by_text("reads the steps backwards").wait_for()
    wait_for_charts(page, 2)
    settle(page)
    expect_text(page, "Your model", "masked", "step 0 (input 19)")
    page.get_by_text("reads the steps backwards").scroll_into_view_if_needed()
    shoot(page, out / "yourmodel.png")
    page.set_viewport_size(VIEWPORT)


def take_stateful(page: Page, base: str, out: Path) -> None:
    """The Stateful page: the in-order layout drawn with every row broken, then the four
    layouts trained side by side."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1100})
    page.goto(base + "/stateful?layout=in_order&stream_len=200&batch_size=4")
    wait_for_charts(page, 3)
    settle(page)
    expect_text(page, "Stateful, done right", "0 of 16 row boundaries continue")
    shoot(page, out / "stateful.png")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1300})
    page.get_by_text("Trained side by side").scroll_into_view_if_needed()
    page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] h2')]
            .find(e => e.innerText.includes('Trained side by side'))
            .scrollIntoView({block: 'start'})"""
    )
    settle(page)
    expect_text(page, "Measured here")
    shoot(page, out / "stateful_trained.png")
    page.set_viewport_size(VIEWPORT)


def take_seq2seq(page: Page, base: str, out: Path) -> None:
    """The Encoder → decoder page as it opens: 123+45, the state handed over."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1250})
    page.goto(base + "/seq2seq")
    wait_for_charts(page, 2)
    settle(page)
    expect_text(page, "Encoder → decoder", "123+45 = 168", "largest difference 0")
    shoot(page, out / "seq2seq.png")
    page.set_viewport_size(VIEWPORT)


def take_train(page: Page, base: str, out: Path) -> None:
    """The Train page: a pretrained LSTM on `remember`, scrubbed back to epoch 5, and the
    LSTM / GRU / SimpleRNN comparison."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1500})
    page.goto(base + "/train?epoch=5")
    wait_for_charts(page, 2)
    settle(page)
    expect_text(page, "pretrained checkpoint", "Scrub through the epochs", "Epoch 5:")
    page.get_by_text("Learning curves").scroll_into_view_if_needed()
    shoot(page, out / "train.png")

    page.goto(base + "/train")
    wait_for_charts(page, 2)
    settle(page)
    page.get_by_role("button", name="Compare LSTM, GRU and SimpleRNN").click()
    page.get_by_text("LSTM vs GRU vs SimpleRNN, same task").wait_for()
    wait_for_charts(page, 5)
    settle(page)
    expect_text(page, "SimpleRNN's state is rewritten by every distractor")
    page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] h3')]
            .find(e => e.innerText.includes('LSTM vs GRU'))
            .scrollIntoView({block: 'start'})"""
    )
    shoot(page, out / "compare.png")
    page.set_viewport_size(VIEWPORT)


def make_gifs(out: Path) -> None:
    """The README's animations, made by the product's own GIF export: Explore's default
    LSTM(8) step by step, and the Why page's trajectory of the stateful LSTM and its
    stateless twin (their still figures' numbers, as the pages show them)."""
    import rnnviz
    from rnnviz import analysis
    from rnnviz.views import animation_paths, export

    trace = rnnviz.run(rnnviz.RunConfig())
    export.animation(trace, "states", str(out / "animation.gif"), fps=4, size=(900, 760))
    cfg = rnnviz.RunConfig(stateful=True)
    traces = {"stateful=True": rnnviz.run(cfg),
              "stateful=False": rnnviz.run(cfg.replace(stateful=False))}  # fmt: skip
    result = analysis.pca(list(traces.values()), n=2)
    fig = animation_paths.trajectory(
        {k: result.project(t) for k, t in traces.items()}, 0, result.explained_variance_ratio,
        starts={k: result.project_starts(t) for k, t in traces.items()},
        stateful={k: t.config.stateful for k, t in traces.items()},
    )  # fmt: skip
    export.animation_file(fig, str(out / "trajectory.gif"), fps=3, size=(900, 600))
    print("wrote animation.gif and trajectory.gif", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    os.chdir(ROOT)
    runs = Path(tempfile.mkdtemp(prefix="rnnviz-screenshot-runs-"))
    record_example_run(runs / "quickstart")
    os.environ["RNNVIZ_RUNS_DIR"] = str(runs)  # the server offers it on the Your model page
    try:
        with streamlit_app(args.port or free_port()) as base:
            take(base, args.out.resolve())
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    make_gifs(args.out.resolve())


if __name__ == "__main__":
    main()
