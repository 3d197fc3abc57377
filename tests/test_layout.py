"""The package's public names and the module paths of earlier versions keep working after
the package was grouped into core/, sources/, views/ and serving/ (issue 23)."""

from __future__ import annotations

import importlib
import pathlib
import subprocess
import sys

import pytest

from rnnviz._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_flat_module_path_imports_the_moved_module_itself(old):
    assert importlib.import_module(f"rnnviz.{old}") is importlib.import_module(MOVED[old])


def test_importing_the_old_run_module_path_keeps_rnnviz_run_the_function():
    code = (
        "import rnnviz, rnnviz.run, rnnviz.tracer\n"
        "from rnnviz.run import trace_weights\n"
        "assert callable(rnnviz.run) and rnnviz.run.__module__ == 'rnnviz.core.run'\n"
        "assert rnnviz.run.__name__ == 'run'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_importing_rnnviz_and_an_old_path_loads_no_tensorflow():
    code = (
        "import sys, rnnviz, rnnviz.figures, rnnviz.urlstate, rnnviz.training\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "assert not loaded, loaded[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_no_module_of_the_product_package_is_a_benchmark():
    import rnnviz

    assert not [p.name for p in pathlib.Path(rnnviz.__path__[0]).rglob("bench*.py")]
