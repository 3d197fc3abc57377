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
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.config import CELLS, ConfigError, Described

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CORPUS_PATH = ASSETS / "corpus" / "python_stdlib.json.xz"
FILES_PATH = ASSETS / "corpus" / "FILES.txt"
MODELS_DIR = ASSETS / "models"
MANIFEST = MODELS_DIR / "manifest.json"

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

    from rnnviz.tracer import LAYER_CLASSES

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
