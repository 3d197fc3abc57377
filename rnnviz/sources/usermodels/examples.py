"""The example models of the "Your model" page: every shipped checkpoint, and a small
tagger made to show what a user's own model brings (issue 10).

The tagger reads a padded sequence of token ids and says, at every token, whether it is
inside brackets. It has what real taggers have and the built-in tasks do not:
`Embedding(mask_zero=True)` (the padding zeros are masked), a `Bidirectional` GRU (its
backward half reads the sequence from the end) and a second recurrent layer stacked on
it, then `TimeDistributed(Dense)`. `make models` trains it (about half a minute).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.sources.training.run import MODELS_DIR, read_manifest, sha256_of

TAGGER = "example_tagger"
#: Token ids of the tagger: 0 is padding (masked), 1 and 2 are the brackets.
TOKENS = ["·", "(", ")", "a", "b", "c", "d", "e", "f", "g"]
TAGGER_STEPS = 20


def tagger_data(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded token ids (samples, 20) and targets (samples, 20, 1): 1 inside brackets."""
    rng = np.random.default_rng(seed)
    x = np.zeros((num_samples, TAGGER_STEPS), np.int32)
    y = np.zeros((num_samples, TAGGER_STEPS, 1), np.float32)
    for i in range(num_samples):
        length = int(rng.integers(6, TAGGER_STEPS + 1))
        depth = 0
        for t in range(length):
            if depth < 3 and rng.random() < 0.25:
                token = 1
            elif depth > 0 and rng.random() < 0.3:
                token = 2
            else:
                token = int(rng.integers(3, len(TOKENS)))
            depth += {1: 1, 2: -1}.get(token, 0)
            x[i, t] = token
            y[i, t, 0] = float(depth > 0 or token == 2)
    return x, y


def build_tagger(seed: int = 0) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((TAGGER_STEPS,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(len(TOKENS), 6, mask_zero=True, name="embedding")(inputs)
    x = keras.layers.Bidirectional(
        keras.layers.GRU(8, return_sequences=True), name="bidirectional"
    )(x)
    x = keras.layers.LSTM(8, return_sequences=True, name="lstm")(x)
    out = keras.layers.TimeDistributed(keras.layers.Dense(1, activation="sigmoid"), name="tag")(x)
    model = keras.Model(inputs, out, name="bracket_tagger")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    return model


def make_tagger(directory: Path = MODELS_DIR, epochs: int = 12, seed: int = 0) -> dict[str, Any]:
    """Trains the tagger and saves it; returns its manifest entry (accuracy on new data)."""
    x, y = tagger_data(3000, seed)
    x_val, y_val = tagger_data(500, seed + 1)
    model = build_tagger(seed)
    model.fit(x, y, epochs=epochs, batch_size=64, validation_data=(x_val, y_val), verbose=0)
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    path = directory / f"{TAGGER}.keras"
    model.save(path)

    return {
        "title": "Bracket tagger: Embedding(mask_zero) → Bidirectional GRU → LSTM",
        "tokens": TOKENS,
        "epochs": epochs,
        "val_accuracy": float(accuracy),
        "files": {path.name: {"bytes": path.stat().st_size, "sha256": sha256_of(path)}},
    }


def example_models() -> dict[str, Path]:
    """Title -> path of every model the page offers, from the manifest: the tagger first."""
    manifest = read_manifest()
    out: dict[str, Path] = {}
    for stem, entry in manifest.get("examples", {}).items():
        out[entry["title"]] = MODELS_DIR / f"{stem}.keras"
    for stem, entry in sorted(manifest.get("seq2seq", {}).items(), reverse=True):
        title = f"Encoder → decoder on addition ({entry['cell'].upper()}): two inputs"
        out[title] = MODELS_DIR / f"{stem}.keras"
    for stem, entry in sorted(manifest.get("tasks", {}).items()):
        out[f"Trained task: {entry['task']} ({entry['cell']})"] = MODELS_DIR / f"{stem}.keras"
    for stem, entry in sorted(manifest.get("text", {}).items()):
        out[f"Char model on Python code ({entry['cell']})"] = MODELS_DIR / f"{stem}.keras"
    return {title: path for title, path in out.items() if path.exists()}


def tagger_ids(text: str) -> np.ndarray:
    """Token ids of a bracket string ("(ab)c"), padded with zeros to the tagger's length."""
    lookup = {token: i for i, token in enumerate(TOKENS)}
    ids = [lookup.get(ch, 3) for ch in text if not ch.isspace()][:TAGGER_STEPS]
    return np.array(ids + [0] * (TAGGER_STEPS - len(ids)), np.int32)
