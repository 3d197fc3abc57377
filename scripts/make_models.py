"""`make models`: train every shipped model and record it in assets/models/manifest.json.

1. Built-in tasks (~1 min): every task with every cell. Writes task_<task>_<cell>.keras
   (the final model) and .npz (history and the weights of every epoch, for the Train page's
   epoch scrubber).
2. Character models (~40-60 min on 2 cores): the tutorial's Embedding -> RNN -> Dense for
   LSTM, GRU and SimpleRNN with the same budget (same sizes, same epochs) on the Python
   corpus. Writes text_<cell>.keras, and the unigram and Kneser-Ney 5-gram baselines.
3. The example tagger of the "Your model" page (~30 s, rnnviz.examples): Embedding with
   mask_zero, a Bidirectional GRU and a stacked LSTM. Writes example_tagger.keras.
4. The Stateful page's networks (~1.5 min): an LSTM on the `switch` stream in each of the
   four layouts. Writes stateful_switch_<layout>_lstm.keras and .npz.
5. The Encoder → decoder page's networks (~5 min): Keras's addition task ("123+45" → "168")
   learned by the lstm_seq2seq pattern, LSTM and GRU. Writes seq2seq_addition_<cell>.keras.

Each entry records what was trained, the final metrics, the Keras version and the files'
SHA-256. Deterministic: the same seed gives the same data and initial weights.

Usage: python scripts/make_models.py [--tasks] [--text] [--examples] [--stateful] [--seq2seq]
(default: all).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rnnviz.core.config import CELLS
from rnnviz.sources.text import charmodel as text
from rnnviz.sources.text import ngram
from rnnviz.sources.training.run import (
    MANIFEST,
    MODELS_DIR,
    checkpoint_stem,
    read_manifest,
    sha256_of,
    train,
)
from rnnviz.sources.training.tasks import TASKS


def save_manifest(manifest: dict) -> None:
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def make_tasks(manifest: dict) -> None:
    entries = manifest.setdefault("tasks", {})
    total = len(TASKS) * len(CELLS)
    for i, (name, task) in enumerate(TASKS.items()):
        for j, cell in enumerate(CELLS):
            n = i * len(CELLS) + j + 1
            start = time.perf_counter()
            run = train(task, cell, seed=0)
            stem = checkpoint_stem(name, cell)
            entries[stem] = run.save(MODELS_DIR, stem)
            print(
                f"[{n}/{total}] {name} {cell}: {run.epochs_done} epochs in "
                f"{time.perf_counter() - start:.1f} s, val {run.metric_name} "
                f"{run.final():.3f}",
                flush=True,
            )
    save_manifest(manifest)


def make_text(manifest: dict) -> None:
    import keras

    entries = manifest.setdefault("text", {})
    train_text, val_text = text.split_text()
    vocab = text.build_vocab(train_text)
    start = time.perf_counter()
    kn = ngram.KneserNey(order=5).fit(train_text)
    baselines = {
        "unigram_bits_per_char": ngram.unigram_bits_per_char(train_text, val_text, set(vocab)),
        "kneser_ney_5gram_bits_per_char": kn.bits_per_char(val_text),
        "validation_characters": len(val_text),
        "validation_files": text.split_files()[1],
        "corpus_sha256": text.corpus_sha256(),
    }
    manifest["text_baselines"] = baselines
    print(
        f"baselines on {len(val_text):,} validation characters: unigram "
        f"{baselines['unigram_bits_per_char']:.3f}, Kneser-Ney 5-gram "
        f"{baselines['kneser_ney_5gram_bits_per_char']:.3f} bits/char "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    save_manifest(manifest)
    for n, cell in enumerate(CELLS, start=1):
        start = time.perf_counter()
        print(f"[{n}/{len(CELLS)}] char model {cell}: training", flush=True)
        cm, history = text.train_char_model(cell, log=lambda s: print(s, flush=True))
        seconds = time.perf_counter() - start
        path = MODELS_DIR / f"text_{cell}.keras"
        cm.model.save(path, include_optimizer=False)
        bits = text.corpus_bits_per_char(cm, val_text)
        entries[f"text_{cell}"] = {
            "cell": cell,
            "units": cm.units,
            "embedding": text.EMBEDDING,
            "epochs": text.EPOCHS,
            "window": text.WINDOW,
            "streams": text.STREAMS,
            "vocab": cm.vocab,
            "corpus_sha256": text.corpus_sha256(),
            "train_bits_per_char": history["bits_per_char"],
            "val_bits_per_char": bits,
            "train_seconds": seconds,
            "keras_version": keras.__version__,
            "files": {path.name: {"sha256": sha256_of(path), "bytes": path.stat().st_size}},
        }
        save_manifest(manifest)
        print(
            f"[{n}/{len(CELLS)}] char model {cell}: {bits:.3f} bits/char on validation text "
            f"({seconds / 60:.1f} min)",
            flush=True,
        )


def make_stateful(manifest: dict) -> None:
    from rnnviz.sources.stateful import training as stateful

    entries = manifest.setdefault("stateful", {})
    for n, kind in enumerate(stateful.KINDS, start=1):
        start = time.perf_counter()
        run = stateful.train_stateful("switch", kind, "lstm", seed=0)
        stem = stateful.checkpoint_stem(kind, "lstm")
        entries[stem] = stateful.save_run(run, MODELS_DIR, stem)
        print(
            f"[{n}/{len(stateful.KINDS)}] stateful {kind} lstm: {run.epochs_done} epochs in "
            f"{time.perf_counter() - start:.1f} s, held-out accuracy "
            f"{entries[stem]['heldout_accuracy_continuation']:.3f} (continuation order), "
            f"{entries[stem]['heldout_accuracy_own_layout']:.3f} (its own layout)",
            flush=True,
        )
        save_manifest(manifest)


def make_examples(manifest: dict) -> None:
    from rnnviz.sources.usermodels import examples

    start = time.perf_counter()
    entry = examples.make_tagger()
    manifest.setdefault("examples", {})[examples.TAGGER] = entry
    save_manifest(manifest)
    print(
        f"example tagger: val accuracy {entry['val_accuracy']:.3f} "
        f"in {time.perf_counter() - start:.1f} s",
        flush=True,
    )


def make_seq2seq(manifest: dict) -> None:
    from rnnviz.sources.seq2seq import model as seq2seq
    from rnnviz.sources.training.run import MODELS_DIR as directory

    entries = manifest.setdefault("seq2seq", {})
    for n, cell in enumerate(seq2seq.CELLS, start=1):
        print(f"[{n}/{len(seq2seq.CELLS)}] encoder-decoder {cell}: training", flush=True)
        model, record = seq2seq.train(cell, seed=0, log=lambda s: print(s, flush=True))
        entry = seq2seq.save(model, record, directory)
        entries[seq2seq.checkpoint_stem(cell)] = entry
        save_manifest(manifest)
        print(
            f"[{n}/{len(seq2seq.CELLS)}] encoder-decoder {cell}: held-out exact answers "
            f"{entry['heldout_accuracy'][-1]:.1%} in {entry['train_seconds']:.0f} s; by digits "
            + ", ".join(f"{d}: {a:.0%}" for d, a in entry["capacity"].items()),
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", action="store_true", help="only the built-in tasks")
    parser.add_argument("--text", action="store_true", help="only the character models")
    parser.add_argument("--examples", action="store_true", help="only the example tagger")
    parser.add_argument("--stateful", action="store_true", help="only the Stateful page's")
    parser.add_argument("--seq2seq", action="store_true", help="only the encoder-decoders")
    args = parser.parse_args()
    both = not (args.tasks or args.text or args.examples or args.stateful or args.seq2seq)
    manifest = read_manifest()
    if args.tasks or both:
        make_tasks(manifest)
    if args.examples or both:
        make_examples(manifest)
    if args.stateful or both:
        make_stateful(manifest)
    if args.seq2seq or both:
        make_seq2seq(manifest)
    if args.text or both:
        make_text(manifest)
    print(f"wrote {MANIFEST}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
