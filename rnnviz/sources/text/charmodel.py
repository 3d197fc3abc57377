"""The char-RNN of the TensorFlow text-generation tutorial, trained on Python source code.

The model is the tutorial's: `Embedding -> LSTM|GRU|SimpleRNN(return_sequences=True,
stateful=True) -> Dense(vocab_size)` (logits), trained with `model.fit` on consecutive
windows of 100 characters with the state carried from window to window. The corpus is a
fixed list of CPython 3.11 standard-library modules, shipped in assets/corpus/.

Importing this module loads no TensorFlow.

Example:
    >>> cm = load_char_model("lstm")
    >>> trace = trace_text(cm, "def f(x):\\n    return (x + 1)\\n")
    >>> trace.h.shape[-1] == cm.units
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import lzma
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.core.config import ASSETS_DIR, CELLS, ConfigError, Described
from rnnviz.sources.training.run import MANIFEST, MODELS_DIR, read_manifest, sha256_of  # noqa: F401 (API)

ASSETS = ASSETS_DIR
CORPUS_PATH = ASSETS / "corpus" / "python_stdlib.json.xz"
FILES_PATH = ASSETS / "corpus" / "FILES.txt"

#: The character standing for every character outside the vocabulary; its id is 0.
UNKNOWN = "\ufffd"
UNKNOWN_ID = 0
#: A character must occur this often in the training text to get its own id.
MIN_COUNT = 20
#: Characters per training window: the tutorial's seq_length.
WINDOW = 100
#: Parallel streams per training batch (the tutorial's BATCH_SIZE).
STREAMS = 64
#: Every VALIDATION_EVERY-th file of the corpus (from the VALIDATION_OFFSET-th) is held out.
VALIDATION_EVERY = 10
VALIDATION_OFFSET = 5
#: Longest text trace_text, next_char_probs and bits_per_char take: a 512-unit LSTM trace
#: of it holds 6 x 6,000 x 512 float32 (74 MB), what one user may cost a shared server.
MAX_TEXT = 6_000
#: Longest text `generate` makes.
MAX_GENERATE = 2_000


# ----- the corpus ------------------------------------------------------------------------


def corpus_files() -> list[str]:
    """Returns the corpus's file names, in corpus order (from FILES.txt)."""
    lines = FILES_PATH.read_text().splitlines()
    return [line.split()[-1] for line in lines if line and not line.startswith("#")]


@functools.lru_cache(maxsize=1)
def corpus() -> dict[str, str]:
    """Returns file name -> source text of the shipped corpus."""
    texts = json.loads(lzma.decompress(CORPUS_PATH.read_bytes()).decode("utf-8"))
    return {name: texts[name] for name in corpus_files()}


def corpus_sha256() -> str:
    """Returns the SHA-256 of the shipped (compressed) corpus file."""
    return hashlib.sha256(CORPUS_PATH.read_bytes()).hexdigest()


def split_files() -> tuple[list[str], list[str]]:
    """Returns (training files, validation files): split by file, never inside one."""
    names = corpus_files()
    val = [n for i, n in enumerate(names) if i % VALIDATION_EVERY == VALIDATION_OFFSET]
    return [n for n in names if n not in val], val


def split_text() -> tuple[str, str]:
    """Returns (training text, validation text): each split's files joined in order."""
    texts = corpus()
    train_names, val_names = split_files()
    return "".join(texts[n] for n in train_names), "".join(texts[n] for n in val_names)


def build_vocab(text: str, min_count: int = MIN_COUNT) -> list[str]:
    """Returns [UNKNOWN] + the characters occurring at least min_count times, sorted."""
    counts = Counter(text)
    return [UNKNOWN, *sorted(ch for ch, n in counts.items() if n >= min_count and ch != UNKNOWN)]


# ----- the model ---------------------------------------------------------------------------


@dataclass(eq=False)
class CharModel:
    """A trained character model and its vocabulary.

    Attributes:
        vocab: the characters, id = index; vocab[0] is UNKNOWN, which every character
            outside the vocabulary maps to.
        cell: "lstm", "gru" or "simple_rnn".
        model: the Keras model, built for one stream (batch size 1), stateful.
        info: the checkpoint's manifest entry ({} for a model not loaded from one).
    """

    vocab: list[str]
    cell: str
    model: Any
    info: dict[str, Any]

    def __post_init__(self) -> None:
        self._index = {ch: i for i, ch in enumerate(self.vocab)}
        self._lock = threading.Lock()

    @property
    def units(self) -> int:
        """The recurrent layer's units."""
        return int(self.rnn.units)

    @property
    def rnn(self) -> Any:
        """The recurrent layer."""
        return self.model.get_layer("rnn")

    def encode(self, text: str) -> np.ndarray:
        """Returns the ids of text's characters (UNKNOWN_ID for those not in vocab)."""
        index = self._index
        return np.fromiter((index.get(ch, UNKNOWN_ID) for ch in text), np.int32, len(text))

    def decode(self, ids: Any) -> str:
        """Returns the characters of ids."""
        return "".join(self.vocab[int(i)] for i in np.asarray(ids).ravel())


def build_model(cell: str, vocab_size: int, units: int, embedding: int, batch_size: int) -> Any:
    """Returns the tutorial's model: Embedding -> recurrent layer -> Dense logits."""
    import keras

    from rnnviz.core.tracer import LAYER_CLASSES

    return keras.Sequential(
        [
            keras.Input(batch_shape=(batch_size, None), dtype="int32"),
            keras.layers.Embedding(vocab_size, embedding, name="embedding"),
            LAYER_CLASSES[cell](units, return_sequences=True, stateful=True, name="rnn"),
            keras.layers.Dense(vocab_size, name="logits"),
        ],
        name=f"char_{cell}",
    )


def windows(
    ids: np.ndarray, streams: int = STREAMS, window: int = WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (x, y) for stateful training: batch k holds window k of every stream.

    The text is cut into `streams` contiguous pieces; row s of batch k is characters
    [k*window, (k+1)*window) of piece s, and y is x shifted by one character. Fed in
    order with batch_size=streams, each row continues where the same row of the previous
    batch ended, which is what stateful=True carries the state across.
    """
    per_stream = (len(ids) - 1) // streams
    count = per_stream // window
    usable = count * window
    starts = np.arange(streams) * per_stream
    x = np.stack([ids[s : s + usable] for s in starts])  # (streams, usable)
    y = np.stack([ids[s + 1 : s + 1 + usable] for s in starts])
    x = x.reshape(streams, count, window).transpose(1, 0, 2).reshape(-1, window)
    y = y.reshape(streams, count, window).transpose(1, 0, 2).reshape(-1, window)
    return x, y


# ----- checking what a user gives ---------------------------------------------------------


def check_cell(cell: Any) -> str:
    if not isinstance(cell, str) or cell not in CELLS:
        raise ConfigError("cell", cell, "must be one of " + ", ".join(CELLS))
    return cell


def check_text(text: Any, field: str = "text", limit: int = MAX_TEXT) -> str:
    if not isinstance(text, str):
        raise ConfigError(field, Described(type(text).__name__), "must be a string")
    if not text:
        raise ConfigError(field, "", f"must hold 1 to {limit:,} characters")
    if len(text) > limit:
        raise ConfigError(
            field, Described(f"{len(text):,} characters"), f"must hold at most {limit:,} characters"
        )
    return text


# ----- training (make models) --------------------------------------------------------------

#: The shipped models' sizes: the tutorial's architecture scaled to a 2-core CPU (the
#: tutorial uses 256 / 1024 on a GPU).
EMBEDDING = 64
UNITS = 512
EPOCHS = 10
LEARNING_RATE = 2e-3


def train_char_model(
    cell: str,
    units: int = UNITS,
    embedding: int = EMBEDDING,
    epochs: int = EPOCHS,
    seed: int = 0,
    text: str | None = None,
    log: Any = print,
) -> tuple[CharModel, dict[str, list[float]]]:
    """Trains the tutorial's model on the corpus's training files; returns it and its history.

    Stateful training as in the tutorial: batches of STREAMS rows x WINDOW characters,
    each row continuing the text where the same row of the previous batch ended; the state
    is reset at the start of every epoch.
    """
    import time

    import keras

    check_cell(cell)
    keras.utils.set_random_seed(seed)  # a script, not a server: global seeding is fine here
    train_text = split_text()[0] if text is None else text
    vocab = build_vocab(train_text)
    cm = CharModel(vocab, cell, None, {})
    x, y = windows(cm.encode(train_text))
    model = build_model(cell, len(vocab), units, embedding, STREAMS)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE, clipnorm=5.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.model.get_layer("rnn").reset_state()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seconds = time.perf_counter() - self.start
            bits = logs["loss"] / np.log(2)
            log(
                f"  {cell} epoch {epoch + 1}/{epochs}: {bits:.3f} bits/char on training "
                f"text, {seconds:.0f} s ({x.size / seconds:,.0f} chars/s)"
            )

    history = model.fit(
        x, y, batch_size=STREAMS, epochs=epochs, shuffle=False, verbose=0, callbacks=[Progress()]
    )
    single = build_model(cell, len(vocab), units, embedding, 1)
    single.set_weights(model.get_weights())
    return CharModel(vocab, cell, single, {}), {
        "bits_per_char": [v / np.log(2) for v in history.history["loss"]]
    }


def corpus_bits_per_char(cm: CharModel, text: str) -> float:
    """Returns the model's bits per character on a long text, read as STREAMS streams.

    Each stream carries its state through its whole piece (the tutorial's stateful
    evaluation); the first characters of the STREAMS pieces lack earlier context.
    """
    model = build_model(
        cm.cell, len(cm.vocab), cm.units, cm.model.get_layer("embedding").output_dim, STREAMS
    )
    model.set_weights(cm.model.get_weights())
    x, y = windows(cm.encode(text))
    import keras

    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.get_layer("rnn").reset_state()
    return float(model.evaluate(x, y, batch_size=STREAMS, verbose=0) / np.log(2))


# ----- the shipped models, and what they compute on a text ---------------------------------


_models: dict[str, CharModel] = {}
_models_lock = threading.Lock()


def load_char_model(cell: str = "lstm") -> CharModel:
    """Returns the shipped character model of a cell (loaded once per process).

    The file's SHA-256 is checked against the manifest, and Keras loads it with
    `safe_mode=True`: nothing in it runs.
    """
    cell = check_cell(cell)
    with _models_lock:
        if cell in _models:
            return _models[cell]
        entry = read_manifest().get("text", {}).get(f"text_{cell}")
        if entry is None:
            raise ConfigError("cell", cell, "has no shipped character model; run `make models`")
        ((name, info),) = entry["files"].items()
        path = MODELS_DIR / name
        if sha256_of(path) != info["sha256"]:
            raise ConfigError("checkpoint", name, "does not match its SHA-256 in the manifest")
        import keras

        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        cm = CharModel(list(entry["vocab"]), cell, model, entry)
        _models[cell] = cm
        return cm


def _windows_for(length: int) -> int:
    """Characters per window: the tutorial's 100, or more so a text fits in 20 windows."""
    from rnnviz.core.config import LIMITS

    return max(WINDOW, -(-length // LIMITS["num_batches"][1]))


def trace_text(cm: CharModel, text: str) -> Any:
    """Returns the exact Trace of the char model's recurrent layer over `text`.

    One sample; the text is fed in consecutive windows (100 characters, or text/20 for
    texts over 2,000) with the state carried, as the stateful model does, so the trace is
    one pass over the whole text. Shapes: (num_windows, 1, window, units); the last window
    is padded with UNKNOWN_ID after the text, and `trace.labels` holds each step's
    character ("" for padding). The inputs are the embedding vectors the layer received.
    """
    from rnnviz.core.run import trace_weights

    check_text(text)
    ids = cm.encode(text)
    window = _windows_for(len(ids))
    count = -(-len(ids) // window)
    padded = np.full(count * window, UNKNOWN_ID, np.int32)
    padded[: len(ids)] = ids
    table = np.asarray(cm.model.get_layer("embedding").embeddings)
    x = table[padded].reshape(count, 1, window, -1)
    labels = np.array(list(text) + [""] * (count * window - len(ids)), dtype=object)
    trace = trace_weights(cm.cell, cm.rnn.get_config(), cm.rnn.get_weights(), x, stateful=True)
    import dataclasses

    return dataclasses.replace(trace, labels=labels.reshape(count, 1, window))


def text_states(trace: Any, length: int, state: str = "h") -> np.ndarray:
    """Returns a text trace's state per character: (length, units), padding dropped."""
    values = trace.state(state) if state != "h" else trace.h
    return values.reshape(-1, values.shape[-1])[:length]


def _probs_from_trace(cm: CharModel, trace: Any, length: int) -> np.ndarray:
    kernel, bias = cm.model.get_layer("logits").get_weights()
    logits = text_states(trace, length).astype(np.float64) @ kernel + bias
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def next_char_probs(cm: CharModel, text: str, trace: Any = None) -> np.ndarray:
    """Returns (len(text), len(vocab)): after each character, the next one's distribution.

    Computed from the trace's h and the Dense layer's weights (the model's own
    computation, softmax of its logits); rows sum to 1. Pass `trace` (from trace_text of
    the same text) to reuse it.
    """
    check_text(text)
    trace = trace if trace is not None else trace_text(cm, text)
    return _probs_from_trace(cm, trace, len(text))


def bits_per_char(cm: CharModel, text: str, trace: Any = None) -> float:
    """Returns mean -log2 p(next character) over the text, state carried throughout.

    Pass `trace` (from trace_text of the same text) to reuse it.
    """
    check_text(text)
    if len(text) < 2:
        raise ConfigError("text", text, "must hold at least 2 characters (one to predict)")
    probs = next_char_probs(cm, text, trace)
    targets = cm.encode(text)[1:]
    picked = probs[np.arange(len(targets)), targets].astype(np.float64)
    return float(-np.log2(picked).mean())


def generate(
    cm: CharModel, prime: str, length: int, temperature: float = 1.0, seed: int = 0
) -> str:
    """Returns `length` characters sampled after `prime`, the state carried char by char.

    The tutorial's stateful generation: the prime goes through the model once, then each
    sampled character is fed back as the next input. Deterministic for a seed.
    """
    import math

    check_text(prime, "prime")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise ConfigError("length", length, f"must be a whole number from 1 to {MAX_GENERATE:,}")
    if not 1 <= length <= MAX_GENERATE:
        raise ConfigError("length", length, f"must be from 1 to {MAX_GENERATE:,}")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.floating))
        or not math.isfinite(temperature)
        or not 0.01 <= temperature <= 10
    ):
        raise ConfigError("temperature", temperature, "must be a number from 0.01 to 10")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError("seed", seed, "must be a whole number >= 0")
    rng = np.random.default_rng(int(seed))
    step = _step_function(cm)
    out: list[int] = []
    with cm._lock:  # the model's stored state is shared: one generation at a time
        cm.rnn.reset_state()
        logits = np.asarray(step(cm.encode(prime)[None]))[0, -1]
        for _ in range(int(length)):
            z = logits.astype(np.float64) / float(temperature)
            z[UNKNOWN_ID] = -np.inf  # never emit the unknown marker
            p = np.exp(z - z.max())
            p /= p.sum()
            nxt = int(rng.choice(len(p), p=p))
            out.append(nxt)
            logits = np.asarray(step(np.array([[nxt]], np.int32)))[0, -1]
        cm.rnn.reset_state()
    return cm.decode(out)


def _step_function(cm: CharModel) -> Any:
    fn = getattr(cm, "_step", None)
    if fn is None:
        import tensorflow as tf

        fn = tf.function(
            lambda ids: cm.model(ids, training=False),
            input_signature=[tf.TensorSpec((1, None), tf.int32)],
        )
        cm._step = fn
    return fn


# ----- what the Text page shows ---------------------------------------------------------------


def default_snippet(length: int = 1500) -> str:
    """Returns held-out text for the Text page: pprint.py's _safe_repr, cut at a line end.

    pprint.py is a validation file: no shipped model was trained on it.
    """
    source = corpus()["pprint.py"]
    start = source.index("    def _safe_repr(")
    piece = source[start : start + length]
    return piece[: piece.rindex("\n") + 1]


def gate_saturation(trace: Any, length: int, low: float = 0.1, high: float = 0.9) -> dict:
    """Returns, per sigmoid gate, the fraction of steps each unit's gate is < low and > high.

    The char-RNN paper's saturation plot (Karpathy, Johnson & Fei-Fei, 2015): a gate that
    is mostly right-saturated (> 0.9) lets through, left-saturated (< 0.1) blocks.
    Returns {gate: (left (units,), right (units,))} over the text's `length` steps.
    """
    from rnnviz.core.config import SIGMOID_GATES

    out = {}
    for name, values in trace.gates.items():
        if name not in SIGMOID_GATES:
            continue
        flat = values.reshape(-1, values.shape[-1])[:length]
        out[name] = ((flat < low).mean(axis=0), (flat > high).mean(axis=0))
    return out


def stateful_vs_stateless(cm: CharModel, text: str, window: int = WINDOW) -> dict[str, np.ndarray]:
    """Returns bits per character by position within a window, with and without carried state.

    The text is cut into consecutive windows of `window` characters (the tutorial's
    training windows). Stateful: one pass over all windows, the state carried from each
    to the next, as `stateful=True` does. Stateless: every window starts from the zero
    state. Returns {"position", "stateful", "stateless", "windows"}: mean bits of the
    prediction of character position+1 of each window, over all windows.
    """
    import keras

    ids = cm.encode(text)
    count = (len(ids) - 1) // window
    if count < 1:
        raise ConfigError(
            "text", Described(f"{len(ids)} characters"), f"must hold more than {window}"
        )
    x = ids[: count * window].reshape(count, window)
    y = ids[1 : count * window + 1].reshape(count, window)
    fresh = build_model(
        cm.cell, len(cm.vocab), cm.units, cm.model.get_layer("embedding").output_dim, count
    )
    fresh.set_weights(cm.model.get_weights())
    fresh.get_layer("rnn").reset_state()
    # Stateless: all windows as one batch from zero state. Stateful: one stream, in order.
    stateless = keras.ops.convert_to_numpy(fresh(x))
    one = build_model(
        cm.cell, len(cm.vocab), cm.units, cm.model.get_layer("embedding").output_dim, 1
    )
    one.set_weights(cm.model.get_weights())
    one.get_layer("rnn").reset_state()
    stateful = keras.ops.convert_to_numpy(one(x.reshape(1, -1))).reshape(count, window, -1)

    def bits(logits: np.ndarray) -> np.ndarray:
        z = logits.astype(np.float64)
        z -= z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
        return (-picked / np.log(2)).mean(axis=0)

    return {
        "position": np.arange(window),
        "stateful": bits(stateful),
        "stateless": bits(stateless),
        "windows": np.array(count),
    }


#: Characters from the start of each validation file the concept report reads (a file's
#: start, so the scanners see every string and bracket open).
REPORT_CHARS = 6_000


def concept_report(cm: CharModel) -> dict[str, dict[str, tuple[int, float]]]:
    """Returns {state: {concept: (best unit, r)}} over the validation files' beginnings.

    Pearson r between every unit's state and each concept over the first REPORT_CHARS
    characters of every validation file, pooled; the unit with the largest |r| wins.
    """
    from rnnviz import analysis
    from rnnviz.sources.text.concepts import CONCEPTS

    texts = corpus()
    pieces = [texts[name][:REPORT_CHARS] for name in split_files()[1]]
    traces = [trace_text(cm, piece) for piece in pieces]
    out: dict[str, dict[str, tuple[int, float]]] = {}
    for state in traces[0].config.state_names:
        states = np.concatenate(
            [text_states(t, len(p), state) for t, p in zip(traces, pieces, strict=True)]
        )
        out[state] = {}
        for name, concept in CONCEPTS.items():
            r = analysis.correlations(states, np.concatenate([concept(p) for p in pieces]))
            best = int(np.argmax(np.abs(r)))
            out[state][name] = (best, float(r[best]))
    return out
