"""Old module paths of the flat package (before the subpackages), kept importable.

`import rnnviz.tracer` or `from rnnviz.training import train` in a user's notebook keeps
working: each old path is the new module itself (one object, so a patch through either name
is seen by both), imported only when asked for, so importing rnnviz still loads no TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Old flat name -> module it moved to.
MOVED = {
    "config": "rnnviz.core.config",
    "trace": "rnnviz.core.trace",
    "tracer": "rnnviz.core.tracer",
    "run": "rnnviz.core.run",
    "params": "rnnviz.core.params",
    "signals": "rnnviz.core.signals",
    "tasks": "rnnviz.sources.training.tasks",
    "training": "rnnviz.sources.training.run",
    "text": "rnnviz.sources.text.charmodel",
    "ngram": "rnnviz.sources.text.ngram",
    "concepts": "rnnviz.sources.text.concepts",
    "modelfile": "rnnviz.sources.usermodels.modelfile",
    "loader": "rnnviz.sources.usermodels.loader",
    "loadworker": "rnnviz.sources.usermodels.worker",
    "models": "rnnviz.sources.usermodels.models",
    "examples": "rnnviz.sources.usermodels.examples",
    "codegen": "rnnviz.views.codegen",
    "keras2": "rnnviz.views.keras2",
    "export": "rnnviz.views.export",
    "urlstate": "rnnviz.views.urlstate",
    "presets": "rnnviz.views.presets",
    "equations": "rnnviz.views.equations",
    "figures": "rnnviz.views.figures",
    "memory": "rnnviz.serving.memory",
    "jobs": "rnnviz.serving.jobs",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package != "rnnviz" or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(MOVED[name]))


def install(already_loaded: dict[str, object]) -> None:
    """Makes every old path importable; `already_loaded` maps old names whose module is
    imported anyway (they are registered at once, so `import rnnviz.run` never replaces the
    `rnnviz.run` function with the module)."""
    for name, module in already_loaded.items():
        sys.modules[f"rnnviz.{name}"] = module
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
