"""The installable package: a wheel built from this tree, installed into a fresh virtual
environment outside it, serves the app with `rnnviz open` from any directory, and the page
in Chromium shows the model it was given.

The fresh environment gets rnnviz only from the wheel. Its dependencies (TensorFlow,
Streamlit, ...) come from the test's own environment through a `.pth` line, so that the
test does not download and install 600 MB again; `.pth` files inside that directory (the
checkout's editable install) are not processed, and the test checks that `import rnnviz`
in the fresh environment is the wheel's copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from rnnviz.sources.usermodels.examples import example_models
from scripts.browserkit import CHROMIUM_ARGS, free_port, is_healthy
from tests.test_browser import _chromium

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    work = tmp_path_factory.mktemp("package")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"),
         str(ROOT)],
        check=True, cwd=work, timeout=600,
    )  # fmt: skip
    wheel = next((work / "dist").glob("rnnviz-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "rnnviz-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True, cwd=work, timeout=600,
    )  # fmt: skip
    return venv / "bin"


def test_the_wheel_carries_the_app_pages_checkpoints_and_corpus(installed, tmp_path):
    code = (
        "import rnnviz, rnnviz.cli as c, rnnviz.core.config as k; "
        "print(rnnviz.__file__); print(c.app_script()); print(k.ASSETS_DIR)"
    )
    out = subprocess.run(
        [installed / "python", "-c", code], check=True, capture_output=True, text=True,
        cwd=tmp_path,
    ).stdout.split()  # fmt: skip
    venv = installed.parent
    assert all(Path(p).is_relative_to(venv) for p in out), out
    app, assets = Path(out[1]), Path(out[2])
    assert (app.parent / "app_pages" / "yourmodel.py").is_file()
    assert (app.parent / ".streamlit" / "config.toml").is_file()
    assert (assets / "models" / "manifest.json").is_file()
    assert (assets / "models" / "text_lstm.keras").is_file()
    assert (assets / "corpus" / "python_stdlib.json.xz").is_file()


def test_rnnviz_open_from_the_installed_wheel_shows_the_model_in_chromium(installed, tmp_path):
    chromium = _chromium()
    model = tmp_path / "my_tagger.keras"
    shutil.copy(next(iter(example_models().values())), model)
    port = free_port()
    log = tmp_path / "rnnviz.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [installed / "rnnviz", "open", "my_tagger.keras", "--no-browser", "--port", str(port)],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not is_healthy(url):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.25)
        deadline = time.monotonic() + 30
        while "is open at" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        assert f"my_tagger.keras is open at http://localhost:{port}/yourmodel" in log.read_text()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=CHROMIUM_ARGS)  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/yourmodel")
            wait = {"timeout": 120_000}  # the first file starts the worker: TensorFlow's import
            expect(page.get_by_text("The file you opened")).to_be_visible(**wait)
            expect(page.get_by_text("my_tagger.keras", exact=False).first).to_be_visible(**wait)
            page.wait_for_selector(".stPlotlyChart .js-plotly-plot")
            expect(page.get_by_text("bidirectional/forward").first).to_be_visible(**wait)
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
