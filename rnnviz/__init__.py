"""rnnviz: see what a Keras LSTM, GRU or SimpleRNN does with its state, with exact numbers.

Example:
    >>> import rnnviz
    >>> trace = rnnviz.run(rnnviz.RunConfig(cell="lstm", stateful=True))
    >>> trace.c.shape            # (batch_index, sample, time, unit)
    (3, 2, 5, 8)
    >>> [name for name, _ in trace.outputs[0]]
    ['output', 'state_h', 'state_c']

Importing rnnviz loads no TensorFlow; the first `run` does.
"""

from rnnviz.codegen import keras_code
from rnnviz.config import (
    CELLS,
    GATES,
    INITIAL_STATES,
    LIMITS,
    SIGNALS,
    ConfigError,
    RunConfig,
)
from rnnviz.loader import load_model
from rnnviz.modelfile import ModelRefused
from rnnviz.models import recurrent_layers, trace_model
from rnnviz.run import output_names, run, trace_layer
from rnnviz.trace import Trace
from rnnviz.training import TrainingRun, train

__all__ = [
    "CELLS",
    "GATES",
    "INITIAL_STATES",
    "LIMITS",
    "SIGNALS",
    "ConfigError",
    "ModelRefused",
    "RunConfig",
    "Trace",
    "TrainingRun",
    "keras_code",
    "load_model",
    "output_names",
    "recurrent_layers",
    "run",
    "trace_layer",
    "trace_model",
    "train",
]
