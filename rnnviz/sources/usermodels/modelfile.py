"""The first line of defence for a model file from anyone: its bytes and its config, as data.

A user's `.keras` or `.h5` file must never run code, exhaust the machine or reach another
session. Keras model files have had code-execution holes even in safe mode (lambda
bytecode, arbitrary `module`/`class_name` in `config.json`, pickled functions in HDF5),
so nothing here imports Keras or hands the file to it: these checks read the raw bytes
and walk the config as plain JSON, and refuse anything outside an explicit allowlist
with a `ModelRefused` that says, in words a student understands, what was wrong. They
run in the server before a file goes to the worker, in the worker, and on the worker's
answer (rnnviz.loader, rnnviz.loadworker).
"""

from __future__ import annotations

import io
import json
import posixpath
import unicodedata
import zipfile
from typing import Any

from rnnviz.core.config import ACTIVATIONS, env_int


class ModelRefused(ValueError):
    """A model file rnnviz will not open; the message says why."""


DEFAULT_MAX_MODEL_MB = 50
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: The members of a Keras 3 `.keras` archive (model.save); `assets/` may hold files.
KERAS_MEMBERS = {"metadata.json", "config.json", "model.weights.h5"}
MAX_MEMBERS = 64
MAX_COMPRESSION_RATIO = 100  # a zip bomb compresses far better than weights do
MAX_DEPTH = 64
MAX_LAYERS = 2000

#: Every class a config may name, by the module Keras writes for it. Nothing that can
#: carry code (Lambda, TorchModuleWrapper, JaxLayer, FlaxLayer, TFSMLayer) is listed.
ALLOWED: dict[str, frozenset[str]] = {
    "keras": frozenset({"DTypePolicy", "FloatDTypePolicy", "Sequential", "Functional", "Model"}),
    "keras.models": frozenset({"Sequential", "Functional", "Model"}),
    "keras.src.models.functional": frozenset({"Functional"}),
    "keras.src.models.sequential": frozenset({"Sequential"}),
    "keras.layers": frozenset(
        {
            # recurrent
            "LSTM",
            "GRU",
            "SimpleRNN",
            "RNN",
            "LSTMCell",
            "GRUCell",
            "SimpleRNNCell",
            "StackedRNNCells",
            "Bidirectional",
            "TimeDistributed",
            # core and shape
            "InputLayer",
            "Dense",
            "EinsumDense",
            "Embedding",
            "Masking",
            "Dropout",
            "SpatialDropout1D",
            "GaussianNoise",
            "GaussianDropout",
            "Activation",
            "ReLU",
            "LeakyReLU",
            "PReLU",
            "ELU",
            "Softmax",
            "Identity",
            "Reshape",
            "Flatten",
            "Permute",
            "RepeatVector",
            "Cropping1D",
            "ZeroPadding1D",
            "UpSampling1D",
            # merging
            "Add",
            "Subtract",
            "Multiply",
            "Average",
            "Maximum",
            "Minimum",
            "Concatenate",
            "Dot",
            # normalisation
            "BatchNormalization",
            "LayerNormalization",
            "GroupNormalization",
            "UnitNormalization",
            # convolution and pooling over time
            "Conv1D",
            "SeparableConv1D",
            "DepthwiseConv1D",
            "Conv1DTranspose",
            "MaxPooling1D",
            "AveragePooling1D",
            "GlobalMaxPooling1D",
            "GlobalAveragePooling1D",
            # attention
            "Attention",
            "AdditiveAttention",
            "MultiHeadAttention",
        }
    ),
    "keras.initializers": frozenset(
        {
            "GlorotUniform",
            "GlorotNormal",
            "HeUniform",
            "HeNormal",
            "LecunUniform",
            "LecunNormal",
            "Orthogonal",
            "Zeros",
            "Ones",
            "Constant",
            "RandomUniform",
            "RandomNormal",
            "TruncatedNormal",
            "VarianceScaling",
            "Identity",
        }
    ),
    "keras.regularizers": frozenset({"L1", "L2", "L1L2", "OrthogonalRegularizer"}),
    "keras.constraints": frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"}),
}
#: Where a class named without a module (Keras 2 and `.h5` configs) is looked up.
LEGACY_MODULES = (
    "keras.layers",
    "keras.models",
    "keras",
    "keras.initializers",
    "keras.regularizers",
    "keras.constraints",
)
FUNCTION_KEYS = {"activation", "recurrent_activation"}
#: Keys that would make Keras read something other than the file itself.
FILE_KEYS = {"filepath", "file_path", "path", "url", "weights_path", "weights_url", "filename"}


def max_model_bytes(environ: dict[str, str] | None = None) -> int:
    """`RNNVIZ_MAX_MODEL_MB` (default 50) in bytes; a clear error if it is not a number."""
    return env_int("RNNVIZ_MAX_MODEL_MB", DEFAULT_MAX_MODEL_MB, 1, environ) * 2**20


def check_size(size: int, limit: int) -> None:
    """Refuses an empty file, or one over `limit` bytes, naming both sizes."""
    if size == 0:
        raise ModelRefused("the file is empty")
    if size > limit:
        raise ModelRefused(
            f"the file is {size / 2**20:.1f} MB; at most {limit / 2**20:.0f} MB is allowed"
        )


def check_bytes(data: bytes, limit: int | None = None) -> str:
    """Returns "keras" or "h5" for a file whose bytes look like one; refuses anything else.

    Checks the size first, then for a `.keras` zip: its structure, member names (no
    absolute paths, no `..`), member count, total uncompressed size and compression
    ratio, all from the zip's directory, without extracting anything.
    """
    limit = max_model_bytes() if limit is None else limit
    check_size(len(data), limit)
    if data.startswith(HDF5_SIGNATURE):
        return "h5"
    if not data.startswith(b"PK"):
        raise ModelRefused("this is neither a Keras archive (.keras) nor an HDF5 file (.h5)")
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ModelRefused(f"the .keras archive is damaged: {error}") from None
    if len(members) > MAX_MEMBERS:
        raise ModelRefused(f"the archive has {len(members)} files; a Keras model has 3")
    total = 0
    seen: dict[str, str] = {}
    for member in members:
        name = member.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts:
            raise ModelRefused(f"the archive has a file outside itself: {name[:80]!r}")
        _check_member_name(name, seen)
        if name not in KERAS_MEMBERS and not name.startswith("assets/"):
            raise ModelRefused(f"the archive has a file a Keras model does not: {name[:80]!r}")
        total += member.file_size
        if member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
            raise ModelRefused(
                f"{name!r} unpacks {member.file_size // max(member.compress_size, 1)}"
                " times larger than stored: a zip bomb, not a model"
            )
        if total > 2 * limit:
            raise ModelRefused(
                f"the archive unpacks to more than {2 * limit / 2**20:.0f} MB; at most twice "
                "the file limit is allowed"
            )
    names = {m.filename for m in members}
    if "config.json" not in names:
        raise ModelRefused("the archive has no config.json: it is not a Keras model")
    return "keras"


def _check_member_name(name: str, seen: dict[str, str]) -> None:
    """Refuses a member name that two readers could take for different files.

    The checker reads `config.json` through Python's zipfile, Keras through its own
    calls; with two members of one name, or names equal up to case, `./`, backslashes or
    Unicode normalisation, which one each reader gets is up to the reader. So every name
    must be in its one canonical spelling and no two may share it.
    """
    canonical = unicodedata.normalize("NFC", name)
    if (
        "\\" in name
        or canonical != name
        or (name != posixpath.normpath(name) and not name.endswith("/"))
        or name.startswith("./")
    ):
        raise ModelRefused(
            f"the archive has a file name that can be read two ways: {name[:80]!r}"
        )
    key = unicodedata.normalize("NFKC", name).casefold()
    if key in seen:
        same = "twice" if seen[key] == name else f"as {seen[key][:80]!r} and {name[:80]!r}"
        raise ModelRefused(
            f"the archive holds {name[:80]!r} {same}: which one Keras would read is not "
            "certain, so rnnviz opens neither"
        )
    seen[key] = name


def read_keras_config(data: bytes) -> dict[str, Any]:
    """The config.json of a `.keras` archive that passed check_bytes, checked."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        raw = archive.read("config.json")
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError):
        raise ModelRefused("config.json is not valid JSON (or is nested too deeply)") from None
    check_config(config)
    return config


def check_config(config: Any) -> None:
    """Walks a model config as data; refuses any class, module or function not allowed.

    Every dict with a `class_name` is a serialised Keras object: its `module` must be
    one Keras writes, its class in ALLOWED for that module, `registered_name` (if any)
    a Keras one; functions may be named only from ACTIVATIONS; nothing may be
    serialised as bytecode. Depth and layer count are bounded.

    The top level's `compile_config` (optimizer, loss, metrics) is walked with its own
    allowlist (check_compile_config): rnnviz opens models with `compile=False`, so Keras
    does not read it today and the server drops it before rebuilding, but a file naming
    anything other than Keras's own optimizers, losses and metrics is refused all the same.
    """
    if isinstance(config, dict) and "compile_config" in config:
        check_compile_config(config["compile_config"])
        config = {key: value for key, value in config.items() if key != "compile_config"}
    layers = 0
    stack: list[tuple[Any, int, str]] = [(config, 0, "the model")]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelRefused(f"the config is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, list):
            stack.extend((item, depth + 1, where) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if "class_name" in node:
            where = _check_object(node)
            layers += 1
            if layers > MAX_LAYERS:
                raise ModelRefused(f"the config has more than {MAX_LAYERS} objects")
        for key, value in node.items():
            if key in FUNCTION_KEYS and isinstance(value, str) and value not in ACTIVATIONS:
                raise ModelRefused(f"{where}: {key}={value[:40]!r} is not a Keras activation")
            if key in FILE_KEYS or (isinstance(value, str) and "://" in value):
                raise ModelRefused(
                    f"{where}: {key} points at a file or address outside the model: "
                    "a model must carry its own weights"
                )
            if key in ("function", "function_type", "bytecode", "closure", "code"):
                raise ModelRefused(
                    f"{where}: it carries a Python function ({key!r}): it can run code"
                )
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1, where))


#: Keras ops a functional model records as nodes (e.g. combining masks): pure tensor
#: functions of Keras's own `keras.src.ops.*` modules, no user code.
OPS = frozenset(
    {
        "Any", "All", "Cast", "Add", "Subtract", "Multiply", "Divide", "TrueDivide",
        "Concatenate", "Reshape", "Transpose", "Squeeze", "ExpandDims", "Sum", "Mean",
        "Max", "Min", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot",
        "Where", "Stack", "GetItem", "Abs", "Exp", "Log", "Sqrt", "Square", "Matmul",
        "Tanh", "Sigmoid", "Relu", "Softmax", "Clip", "Negative", "Flip", "Take",
    }
)  # fmt: skip
#: Plain data Keras serialises with a class_name: a functional model's links between
#: layers (shape, dtype and which layer's output), and tuples.
DATA_CLASSES = frozenset({"__keras_tensor__", "__tuple__"})


def _check_object(node: dict) -> str:
    name = node.get("class_name")
    module = node.get("module")
    if name in DATA_CLASSES and module is None:
        return "a link between layers"
    label = f"{name!r}" if isinstance(name, str) else "an object"
    if not isinstance(name, str) or name == "__lambda__":
        raise ModelRefused(f"{label}: a serialised function is not allowed: it can run code")
    if name in ("Lambda", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "TFSMLayer"):
        raise ModelRefused(f"layer type {name!r} is not allowed: it can run code")
    if module is None and name in OPS:
        return f"the Keras op {name!r}"  # how an .h5 config records a functional op
    if module is None:  # Keras 2 / .h5 configs leave the module out
        module = next((m for m in LEGACY_MODULES if name in ALLOWED[m]), None)
    if module is None:
        raise ModelRefused(f"{label} names no Keras module: custom objects are not allowed")
    if isinstance(module, str) and module.startswith("keras.src.ops.") and name in OPS:
        return f"the Keras op {name!r}"
    if not isinstance(module, str) or module not in ALLOWED:
        raise ModelRefused(
            f"{label} comes from module {str(module)[:60]!r}: only Keras's own are allowed"
        )
    if name not in ALLOWED[module]:
        raise ModelRefused(f"{label} from {module} is not a layer type rnnviz opens")
    registered = node.get("registered_name")
    if registered is not None and registered != name and not str(registered).startswith("keras"):
        raise ModelRefused(f"{label} is registered as {str(registered)[:60]!r}: a custom object")
    if "custom_objects" in node:
        raise ModelRefused(f"{label} asks for custom objects: they are not allowed")
    return (
        f"layer {node.get('config', {}).get('name', name)!r}"
        if isinstance(node.get("config"), dict)
        else label
    )


#: What a `compile_config` may name: Keras's own optimizers (and learning-rate schedules),
#: losses and metrics, as classes or (class_name "function") as functions by name.
COMPILE_ALLOWED: dict[str, frozenset[str]] = {
    "keras.optimizers": frozenset(
        {
            "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
            "Ftrl", "Lion", "Adafactor", "LossScaleOptimizer",
        }
    ),
    "keras.optimizers.schedules": frozenset(
        {
            "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
            "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
        }
    ),
    "keras.losses": frozenset(
        {
            "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
            "MeanSquaredLogarithmicError", "BinaryCrossentropy", "BinaryFocalCrossentropy",
            "CategoricalCrossentropy", "CategoricalFocalCrossentropy",
            "SparseCategoricalCrossentropy", "Huber", "LogCosh", "Hinge", "SquaredHinge",
            "CategoricalHinge", "KLDivergence", "Poisson", "CosineSimilarity",
        }
    ),
    "keras.metrics": frozenset(
        {
            "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
            "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "Mean",
            "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "AUC",
            "Precision", "Recall", "BinaryCrossentropy", "CategoricalCrossentropy",
            "SparseCategoricalCrossentropy", "MeanMetricWrapper",
        }
    ),
}  # fmt: skip
#: Names a loss or metric may be given by (a string, or a "function" object's config).
COMPILE_FUNCTIONS = frozenset(
    {
        "mse", "mae", "mape", "msle", "mean_squared_error", "mean_absolute_error",
        "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
        "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
        "binary_focal_crossentropy", "categorical_focal_crossentropy", "huber", "log_cosh",
        "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "kld", "poisson",
        "cosine_similarity", "accuracy", "acc", "binary_accuracy", "categorical_accuracy",
        "sparse_categorical_accuracy", "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy", "crossentropy", "ce",
    }
)  # fmt: skip
#: The keys Keras writes into a compile_config.
COMPILE_KEYS = frozenset(
    {
        "optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
        "steps_per_execution", "jit_compile", "auto_scale_loss",
    }
)  # fmt: skip


def check_compile_config(compile_config: Any) -> None:
    """Refuses a `compile_config` that names anything but Keras's own optimizers, losses
    and metrics (a loss of `builtins.exec`, a custom class, a function by another name)."""
    if compile_config is None:
        return
    if not isinstance(compile_config, dict):
        raise ModelRefused("compile_config is not a set of training settings")
    unknown = sorted(str(k)[:40] for k in compile_config if k not in COMPILE_KEYS)
    if unknown:
        raise ModelRefused(f"compile_config has settings Keras does not write: {unknown}")
    stack: list[tuple[Any, int, str]] = [(v, 1, str(k)) for k, v in compile_config.items()]
    while stack:
        node, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelRefused(f"compile_config is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str) and where in ("loss", "metrics", "weighted_metrics"):
            if node not in COMPILE_FUNCTIONS:
                raise ModelRefused(
                    f"compile_config: {where}={node[:60]!r} is not one of Keras's losses "
                    "or metrics"
                )
        elif isinstance(node, list):
            stack.extend((item, depth + 1, where) for item in node)
        elif isinstance(node, dict):
            if "class_name" in node:
                _check_compile_object(node, where)
                inner = node.get("config")
                # A "function" object's config is its name, checked above; a class's
                # config holds numbers and names of its own settings.
                if isinstance(inner, (dict, list)):
                    stack.append((inner, depth + 1, f"{where} settings"))
                continue
            for key, value in node.items():
                if key in ("function", "function_type", "bytecode", "closure", "code", "fn"):
                    raise ModelRefused(
                        f"compile_config: {where} carries a Python function: it can run code"
                    )
                # loss / metrics given per output name keep their role
                role = where if where in ("loss", "metrics", "weighted_metrics") else key
                stack.append((value, depth + 1, role))


def _check_compile_object(node: dict, where: str) -> None:
    name, module = node.get("class_name"), node.get("module")
    label = f"compile_config: {where}"
    if name == "function":
        if module not in ("keras.losses", "keras.metrics") or (
            node.get("config") not in COMPILE_FUNCTIONS
        ):
            raise ModelRefused(
                f"{label} names the function {str(node.get('config'))[:40]!r} from module "
                f"{str(module)[:40]!r}: only Keras's own losses and metrics are allowed"
            )
        return
    if not isinstance(module, str) or module not in COMPILE_ALLOWED:
        raise ModelRefused(
            f"{label} comes from module {str(module)[:60]!r}: only Keras's own optimizers, "
            "losses and metrics are allowed"
        )
    if name not in COMPILE_ALLOWED[module]:
        raise ModelRefused(f"{label}: {str(name)[:40]!r} from {module} is not allowed")
    registered = node.get("registered_name")
    if registered is not None and registered != name and not str(registered).startswith("keras"):
        raise ModelRefused(f"{label} is registered as {str(registered)[:60]!r}: a custom object")


_ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {}}


def zero_initialisers(node: Any) -> Any:
    """The config with every initializer replaced by zeros: the weights set next replace
    them all anyway, and drawing an orthogonal recurrent kernel (a QR decomposition per
    layer) was most of a rebuild's time."""
    if isinstance(node, dict):
        return {
            key: _ZEROS if key.endswith("_initializer") else zero_initialisers(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [zero_initialisers(item) for item in node]
    return node
