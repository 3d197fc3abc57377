"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, and the numbers it
prints are the NumPy oracle's on the weights its run recorded."""

from __future__ import annotations

import json
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pytest

import rnnviz
from tests.oracle import recur

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook, folder


def stdout(notebook) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def test_the_quickstart_runs_to_the_end_and_ends_with_the_rnnviz_open_command(executed):
    notebook, folder = executed
    assert stdout(notebook).rstrip().endswith("next: rnnviz open runs/quickstart")
    assert rnnviz.open_run(folder / "runs" / "quickstart").epochs == list(range(13))


def test_the_quickstart_draws_its_figures_inline_as_plotly(executed):
    notebook, _ = executed
    figures = [
        output["data"]["application/vnd.plotly.v1+json"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "application/vnd.plotly.v1+json" in output.get("data", {})
    ]
    assert len(figures) == 4
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert titles[0].startswith("States of sample 0")


def test_the_numbers_the_quickstart_prints_are_the_oracles(executed):
    notebook, folder = executed
    line = next(x for x in stdout(notebook).splitlines() if x.startswith("CHECK "))
    shown = json.loads(line[len("CHECK "):])
    run = rnnviz.open_run(folder / "runs" / "quickstart")
    kernel, recurrent, bias = run.weights(shown["epoch"])[:3]
    x = run.inputs[0]
    zeros = [np.zeros((x.shape[0], 8))] * 2
    states, _ = recur("lstm", x, (kernel, recurrent, bias), zeros)
    np.testing.assert_allclose(shown["h_last"], states[0][0, -1], rtol=1e-5, atol=2e-6)
