"""The encoder–decoder of Keras's `lstm_seq2seq` example, trained on addition, and the exact
trace of the state it hands from one network to the other.

    >>> model = load_pretrained("lstm")
    >>> enc = encode(model, "123+45")
    >>> dec = decode(model, "123+45")             # the inference loop: its own predictions
    >>> dec.answer
    '168'
    >>> np.array_equal(dec.trace.initial_states[0][0], enc.trace.final_states[0][0])
    True

The training model is the pattern people copy: `Embedding` → encoder `LSTM(return_state=True)`;
its final `[h, c]` (a GRU: `[h]`) become the decoder's `initial_state`; the decoder
`LSTM(return_sequences=True, return_state=True)` reads "=" and the answer so far (teacher
forcing) → `Dense(softmax)` predicts the next character. Inference is the loop of the example:
the encoder's states, then one decoder step at a time fed its own prediction and its states.

Every state shown is a `Trace` of the genuine Keras layer (`trace_weights`) on the vectors its
`Embedding` gives, started from the states Keras hands over; the loop's predictions come from
the same layers, run one step at a time as Keras's inference models do.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnviz.core.config import ConfigError, Described
from rnnviz.core.trace import Trace
from rnnviz.sources.seq2seq.task import (
    END,
    INDEX,
    START,
    TRAINED_DIGITS,
    VOCAB,
    answer_length,
    check_answer,
    check_question,
    padded_length,
    pairs,
    question_length,
    to_ids,
    to_text,
    true_answer,
)

CELLS = ("lstm", "gru")
UNITS = 128
EMBEDDING = 16
EPOCHS = 14
TRAIN_PAIRS = 50_000
BATCH_SIZE = 128
#: Held-out questions: a seed the training data never uses; any that also occur in the
#: training set are dropped, so the accuracy is on questions the model has not seen.
HELDOUT_SEED, HELDOUT_PAIRS = 1, 2000
MODES = ("inference", "teacher")
LAYERS = ("question_embedding", "encoder", "answer_embedding", "decoder", "next_char")


def check_cell(cell: Any) -> str:
    if not isinstance(cell, str) or cell not in CELLS:
        raise ConfigError("cell", cell, "must be one of " + ", ".join(CELLS))
    return cell


def build(cell: str = "lstm", units: int = UNITS, seed: int = 0) -> Any:
    """The training model: [question ids, "=" + answer so far] → next-character probabilities."""
    import keras

    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[check_cell(cell)]
    keras.utils.set_random_seed(seed)
    question = keras.Input((None,), dtype="int32", name="question")
    x = keras.layers.Embedding(len(VOCAB), EMBEDDING, name="question_embedding")(question)
    _, *states = rnn(units, return_state=True, name="encoder")(x)
    so_far = keras.Input((None,), dtype="int32", name="answer_so_far")
    y = keras.layers.Embedding(len(VOCAB), EMBEDDING, name="answer_embedding")(so_far)
    y, *_ = rnn(units, return_sequences=True, return_state=True, name="decoder")(
        y, initial_state=states
    )
    probs = keras.layers.Dense(len(VOCAB), activation="softmax", name="next_char")(y)
    return keras.Model([question, so_far], probs, name=f"addition_{cell}")


def training_arrays(questions: list[str], answers: list[str], digits: int = TRAINED_DIGITS):
    """(question ids, decoder input "=168", target "168.") padded with spaces."""
    steps = answer_length(digits)
    return (
        to_ids(questions, question_length(digits)),
        to_ids([START + a for a in answers], steps),
        to_ids([a + END for a in answers], steps),
    )


def heldout(seed: int = HELDOUT_SEED, num: int = HELDOUT_PAIRS) -> tuple[list[str], list[str]]:
    """Questions of the trained lengths that are not in the training set, and their answers."""
    seen = set(pairs(TRAIN_PAIRS, seed=0)[0])
    questions, answers = pairs(num, seed=seed)
    kept = [(q, a) for q, a in zip(questions, answers, strict=True) if q not in seen]
    return [q for q, _ in kept], [a for _, a in kept]


def train(
    cell: str = "lstm",
    seed: int = 0,
    epochs: int = EPOCHS,
    log: Callable[[str], None] = print,
) -> tuple[Any, dict[str, Any]]:
    """Trains the model with teacher forcing (~2-3 min on 2 cores); returns it and a record:
    per-epoch loss and held-out exact-answer accuracy (the inference loop's), seconds."""
    import keras

    model = build(cell, seed=seed)
    steps = epochs * -(-TRAIN_PAIRS // BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(0.005, steps, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule, clipnorm=1.0), "sparse_categorical_crossentropy")
    x, d, t = training_arrays(*pairs(TRAIN_PAIRS, seed=seed))
    questions, answers = heldout()
    record: dict[str, Any] = {"loss": [], "heldout_accuracy": [], "seconds": []}
    for epoch in range(epochs):
        start = time.perf_counter()
        fit = model.fit([x, d], t, batch_size=BATCH_SIZE, epochs=1, shuffle=True, verbose=0)
        record["seconds"].append(time.perf_counter() - start)
        record["loss"].append(float(fit.history["loss"][0]))
        record["heldout_accuracy"].append(accuracy(model, questions, answers))
        log(
            f"  {cell} epoch {epoch + 1}/{epochs}: loss {record['loss'][-1]:.4f}, held-out "
            f"exact answers {record['heldout_accuracy'][-1]:.1%} ({record['seconds'][-1]:.1f} s)"
        )
    return model, record


# ------------------------------------------------------------------ the inference models


@dataclass(frozen=True, eq=False)
class Parts:
    """The trained layers, and the two inference models built from them as in
    `lstm_seq2seq`: `encoder_model` (question → states) and the one-step `decoder_model`
    ([answer so far, *states] → [probabilities, *states])."""

    cell: str
    units: int
    question_embedding: Any
    encoder: Any
    answer_embedding: Any
    decoder: Any
    next_char: Any
    encoder_model: Any
    decoder_model: Any
    encode_fn: Any
    step_fn: Any

    @property
    def state_names(self) -> list[str]:
        return ["h", "c"] if self.cell == "lstm" else ["h"]


_parts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_parts_lock = threading.Lock()


def parts(model: Any) -> Parts:
    """The layers and inference models of a trained encoder–decoder (built once per model)."""
    with _parts_lock:
        found = _parts.get(model)
        if found is None:
            found = _parts[model] = _make_parts(model)
        return found


def _make_parts(model: Any) -> Parts:
    import keras
    import tensorflow as tf

    try:
        layers = {name: model.get_layer(name) for name in LAYERS}
    except ValueError as error:
        raise ConfigError(
            "model", model.name, f"is not an rnnviz addition encoder–decoder: {error}"
        ) from None
    encoder, decoder = layers["encoder"], layers["decoder"]
    cell = "lstm" if isinstance(encoder, keras.layers.LSTM) else "gru"
    units = int(encoder.units)
    question = keras.Input((None,), dtype="int32", name="question")
    _, *states = encoder(layers["question_embedding"](question))
    encoder_model = keras.Model(question, states, name="encoder_model")
    so_far = keras.Input((None,), dtype="int32", name="answer_so_far")
    state_inputs = [keras.Input((units,), name=f"state_{n}") for n in ["h", "c"][: len(states)]]
    y, *new_states = decoder(layers["answer_embedding"](so_far), initial_state=state_inputs)
    probs = layers["next_char"](y)
    decoder_model = keras.Model([so_far, *state_inputs], [probs, *new_states], name="decoder_model")
    state_spec = [tf.TensorSpec((None, units), tf.float32)] * len(states)

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.int32)], autograph=False)
    def encode_fn(ids: Any) -> Any:
        out = encoder_model(ids, training=False)
        return list(out) if isinstance(out, (list, tuple)) else [out]  # a GRU's one state

    @tf.function(input_signature=[tf.TensorSpec((None, 1), tf.int32), state_spec], autograph=False)
    def step_fn(ids: Any, states: Any) -> Any:
        return decoder_model([ids, *states], training=False)

    return Parts(cell, units, *(layers[n] for n in LAYERS), encoder_model, decoder_model,
                 encode_fn, step_fn)  # fmt: skip


# ------------------------------------------------------------------------ traces


@dataclass(frozen=True, eq=False)
class Encoding:
    """The encoder on one question: its Trace (batch 1, one row) and the states it hands
    over, each (units,)."""

    question: str
    padded: str
    trace: Trace

    @property
    def state(self) -> list[np.ndarray]:
        return [s[0] for s in self.trace.final_states[0]]


@dataclass(frozen=True, eq=False)
class Decoding:
    """The decoder run on one question, as the inference loop runs it or with teacher forcing.

    Attributes:
        question, mode: as asked; `teacher` the answer fed in teacher mode.
        fed: the characters the decoder read, "=" first.
        predicted: the character it predicted at every step.
        probs: (steps, len(VOCAB)) its next-character probabilities at every step.
        trace: the decoder layer's Trace (batch 1, one row), started from `initial_state`.
        initial_state: the states it started from, each (units,).
        source: where they came from, in words ("encoder returned states [h, c]", ...).
    """

    question: str
    mode: str
    teacher: str | None
    fed: str
    predicted: str
    probs: np.ndarray
    trace: Trace
    initial_state: list[np.ndarray]
    source: str

    @property
    def answer(self) -> str:
        """The predicted characters up to the end mark."""
        return self.predicted.split(END)[0]

    def top(self, k: int = 3) -> list[list[tuple[str, float]]]:
        """Per step, the k likeliest next characters and their probabilities."""
        order = np.argsort(-self.probs, axis=1, kind="stable")[:, :k]
        return [
            [(VOCAB[i], float(p[i])) for i in row] for p, row in zip(self.probs, order, strict=True)
        ]


def _trace(layer: Any, vectors: np.ndarray, initial: list[np.ndarray] | None, origin: str):
    from rnnviz.core.run import trace_weights
    from rnnviz.core.tracer import KIND_OF_CLASS

    state = None if initial is None else [np.asarray(s, np.float32)[None] for s in initial]
    trace = trace_weights(
        KIND_OF_CLASS[type(layer)], layer.get_config(), layer.get_weights(), vectors[None], state
    )
    return dataclasses.replace(trace, origins=[[origin]])


def encode(model: Any, question: str) -> Encoding:
    """The encoder's exact Trace on `question` (padded with spaces as in training)."""
    p = parts(model)
    text = check_question(question)
    padded = text.ljust(padded_length(text))
    vectors = np.asarray(p.question_embedding(to_ids([padded], len(padded))), np.float32)[0]
    trace = _trace(p.encoder, vectors, None, "initial state (zeros)")
    labels = np.array(list(padded))[None, None]
    return Encoding(text, padded, dataclasses.replace(trace, labels=labels))


def decode(
    model: Any,
    question: str,
    mode: str = "inference",
    teacher: str | None = None,
    state: list[np.ndarray] | None = None,
    source: str | None = None,
) -> Decoding:
    """The decoder on `question`: started from the encoder's final states (or from `state`,
    each (units,), to see what the handed-over message does), run as the inference loop
    (each step fed the previous prediction, up to the end mark or as many steps as the
    longest possible answer) or with teacher forcing (fed "=" + `teacher`, by default the
    true sum).

    Raises ConfigError for a bad question, mode, teacher answer or state (naming it)."""
    if mode not in MODES:
        raise ConfigError("mode", mode, "must be one of " + ", ".join(MODES))
    p = parts(model)
    encoding = encode(model, question)
    if state is None:
        initial = encoding.state
        names = ", ".join(p.state_names)
        origin = source or f"encoder returned states [{names}]"
    else:
        initial = check_state(state, p)
        origin = source or "given state (replaced)"
    if mode == "teacher":
        forced = true_answer(encoding.question) if teacher is None else check_answer(teacher)
        if forced is None:
            raise ConfigError(
                "teacher", teacher, "must be given: the question is not a sum of two numbers"
            )
        fed = START + forced
    else:
        forced = None
        fed = _greedy(p, encoding.question, initial)
    vectors = np.asarray(p.answer_embedding(to_ids([fed], len(fed))), np.float32)[0]
    trace = _trace(p.decoder, vectors, initial, origin)
    trace = dataclasses.replace(trace, labels=np.array(list(fed))[None, None])
    probs = np.asarray(p.next_char(trace.h[0, 0]), np.float32)
    predicted = to_text(np.argmax(probs, axis=1))
    return Decoding(encoding.question, mode, forced, fed, predicted, probs, trace, initial, origin)


def max_answer_steps(question: str) -> int:
    """How many steps the inference loop may take: the longest sum's digits and the end."""
    longest = max((len(part) for part in question.split("+")), default=1)
    return answer_length(max(longest, TRAINED_DIGITS))


def _greedy(p: Parts, question: str, initial: list[np.ndarray]) -> str:
    """The inference loop of `lstm_seq2seq`: feed "=", then each prediction, carrying the
    decoder's states, until "." or the step limit. Returns the characters fed."""
    fed = START
    states = [np.asarray(s, np.float32)[None] for s in initial]
    token = np.array([[INDEX[START]]], np.int32)
    for _ in range(max_answer_steps(question) - 1):
        probs, *states = p.step_fn(token, states)
        nxt = int(np.argmax(np.asarray(probs)[0, -1]))
        if VOCAB[nxt] == END:
            break
        fed += VOCAB[nxt]
        token = np.array([[nxt]], np.int32)
    return fed


def check_state(state: Any, p: Parts) -> list[np.ndarray]:
    """A replacement initial state: one finite (units,) vector per state of the cell."""
    names = p.state_names
    if not isinstance(state, (list, tuple)) or len(state) != len(names):
        raise ConfigError(
            "state", Described(type(state).__name__), f"must be a list of {len(names)} vectors "
            f"[{', '.join(names)}], each of {p.units} numbers",
        )  # fmt: skip
    out = []
    for name, vector in zip(names, state, strict=True):
        array = np.asarray(vector, np.float32)
        if array.shape != (p.units,) or not np.all(np.isfinite(array)):
            raise ConfigError(
                f"state {name}",
                Described(f"shape {array.shape}"),
                f"must be {p.units} finite numbers",
            )
        out.append(array)
    return out


# ------------------------------------------------------------ many questions at once


def answers(model: Any, questions: list[str]) -> list[str]:
    """The inference loop's answers to many questions, batched (the same layers and loop)."""
    p = parts(model)
    questions = [check_question(q) for q in questions]
    by_length: dict[int, list[int]] = {}
    for i, q in enumerate(questions):
        by_length.setdefault(padded_length(q), []).append(i)
    found: dict[int, str] = {}
    for length, rows in by_length.items():
        ids = to_ids([questions[i].ljust(length) for i in rows], length)
        states = [np.asarray(s) for s in p.encode_fn(ids)]
        token = np.full((len(rows), 1), INDEX[START], np.int32)
        texts = [""] * len(rows)
        done = np.zeros(len(rows), bool)
        for _ in range(max(max_answer_steps(questions[i]) for i in rows)):
            probs, *states = p.step_fn(token, states)
            nxt = np.argmax(np.asarray(probs)[:, -1], axis=1)
            for r, n in enumerate(nxt):
                if not done[r]:
                    if VOCAB[n] == END:
                        done[r] = True
                    else:
                        texts[r] += VOCAB[n]
            if done.all():
                break
            token = nxt[:, None].astype(np.int32)
        found.update({i: t for i, t in zip(rows, texts, strict=True)})
    return [found[i] for i in range(len(questions))]


def accuracy(model: Any, questions: list[str], expected: list[str]) -> float:
    """The share of questions the inference loop answers exactly right."""
    got = answers(model, questions)
    return float(np.mean([g == e for g, e in zip(got, expected, strict=True)]))


def capacity(model: Any, max_digits: int = 6, num: int = 200, seed: int = 7) -> dict[int, float]:
    """Exact-answer accuracy for questions whose two numbers have exactly d digits, d = 1 to
    `max_digits`: the trained lengths (≤ 3) and past them."""
    out = {}
    for d in range(1, max_digits + 1):
        questions, expected = pairs(num, seed=seed + d, digits=d, exact=True)
        out[d] = accuracy(model, questions, expected)
    return out


def handoff_map(model: Any, num: int = 300, seed: int = 11) -> dict[str, Any]:
    """The handed-over states of `num` random questions, and their first two principal
    components (NumPy SVD of the centred [h, c] vectors); with the questions and answers."""
    p = parts(model)
    questions, expected = pairs(num, seed=seed)
    length = question_length(TRAINED_DIGITS)
    states = [np.asarray(s) for s in p.encode_fn(to_ids(questions, length))]
    flat = np.concatenate(states, axis=1)
    centred = flat - flat.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    explained = singular**2 / np.sum(singular**2)
    return {
        "questions": questions,
        "answers": expected,
        "states": flat,
        "xy": centred @ vt[:2].T,
        "explained": explained[:2],
        "mean": flat.mean(axis=0),
        "components": vt[:2],
    }


def project(found: dict[str, Any], state: list[np.ndarray]) -> np.ndarray:
    """Where a handed-over state ([h] or [h, c], each (units,)) lands on a handoff_map."""
    return (np.concatenate(state) - found["mean"]) @ found["components"].T


# ------------------------------------------------------------------ checkpoints


def checkpoint_stem(cell: str) -> str:
    return f"seq2seq_addition_{check_cell(cell)}"


def save(model: Any, record: dict[str, Any], directory: Any) -> dict[str, Any]:
    """Writes <stem>.keras (no optimizer) and returns the manifest entry."""
    import keras

    from rnnviz.sources.training.run import sha256_of

    p = parts(model)
    path = directory / f"{checkpoint_stem(p.cell)}.keras"
    model.save(path, include_optimizer=False)
    return {
        "cell": p.cell,
        "units": p.units,
        "embedding": EMBEDDING,
        "epochs": len(record["loss"]),
        "train_pairs": TRAIN_PAIRS,
        "trained_digits": TRAINED_DIGITS,
        "loss": record["loss"],
        "heldout_accuracy": record["heldout_accuracy"],
        "heldout_questions": len(heldout()[0]),
        "capacity": {str(d): a for d, a in capacity(model).items()},
        "train_seconds": float(sum(record["seconds"])),
        "keras_version": keras.__version__,
        "files": {path.name: {"sha256": sha256_of(path), "bytes": path.stat().st_size}},
    }


_load_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def load_pretrained(cell: str = "lstm", directory: Any = None) -> Any:
    """The shipped trained encoder–decoder for a cell (SHA-256 checked, `safe_mode`), loaded
    once per process."""
    import keras

    from rnnviz.sources.training.run import MODELS_DIR, read_manifest, verify_files

    check_cell(cell)
    directory = MODELS_DIR if directory is None else directory
    key = f"{directory}/{cell}"
    with _load_lock:
        if key in _loaded:
            return _loaded[key]
        stem = checkpoint_stem(cell)
        entry = read_manifest(directory / "manifest.json").get("seq2seq", {}).get(stem)
        if entry is None:
            raise ConfigError(
                "cell", Described(cell), "has no shipped encoder–decoder; make models"
            )
        verify_files(directory, entry)
        model = keras.saving.load_model(directory / f"{stem}.keras", safe_mode=True)
        _loaded[key] = model
        return model


def manifest_entry(cell: str) -> dict[str, Any]:
    from rnnviz.sources.training.run import read_manifest

    return read_manifest().get("seq2seq", {}).get(checkpoint_stem(cell), {})
