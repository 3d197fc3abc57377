"""rnnviz: see what a Keras LSTM, GRU or SimpleRNN does with its state, with exact numbers.

Example:
    >>> import rnnviz
    >>> trace = rnnviz.run(rnnviz.RunConfig(cell="lstm", stateful=True))
    >>> trace.c.shape            # (batch_index, sample, time, unit)
    (3, 2, 5, 8)
    >>> [name for name, _ in trace.outputs[0]]
    ['output', 'state_h', 'state_c']

Importing rnnviz loads no TensorFlow; the first `run` does.

The package's folders are its architecture: `core` (the configuration, the Trace, the genuine
Keras layer and its tracer), `sources` (built-in tasks and training, the char model on text,
users' model files), `analysis`, `views` (figures, code, exports, share links) and `serving`
(the memory budget and the training jobs). The flat paths of earlier versions
(`rnnviz.tracer`, `rnnviz.training`, ...) still import: see `rnnviz._moved`.
"""

from rnnviz import _moved
from rnnviz.core import config as _config
from rnnviz.core import run as _run
from rnnviz.core.config import (
    CELLS,
    GATES,
    INITIAL_STATES,
    LIMITS,
    SIGNALS,
    ConfigError,
    RunConfig,
)
from rnnviz.core.run import output_names, run, trace_layer
from rnnviz.core.trace import Trace
from rnnviz.sources.recorded.run import RecordedRun, open_run
from rnnviz.sources.recorded.store import RunRefused
from rnnviz.sources.training.run import TrainingRun, train
from rnnviz.sources.usermodels.loader import load_model
from rnnviz.sources.usermodels.modelfile import ModelRefused
from rnnviz.sources.usermodels.models import recurrent_layers, trace_model
from rnnviz.views.codegen import keras_code
from rnnviz.views.notebook import show

_moved.install({"config": _config, "run": _run})


def __getattr__(name: str):
    """`rnnviz.export` (exports: .npz, CSV, HTML, GIF / MP4 animations) without an import of
    its own, loaded on first use (it imports Plotly)."""
    if name == "export":
        import importlib

        return importlib.import_module("rnnviz.views.export")
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")

__all__ = [
    "CELLS",
    "GATES",
    "INITIAL_STATES",
    "LIMITS",
    "SIGNALS",
    "ConfigError",
    "ModelRefused",
    "RecordedRun",
    "RunConfig",
    "RunRefused",
    "Trace",
    "TrainingRun",
    "keras_code",
    "load_model",
    "open_run",
    "output_names",
    "recurrent_layers",
    "run",
    "show",
    "trace_layer",
    "trace_model",
    "train",
]
