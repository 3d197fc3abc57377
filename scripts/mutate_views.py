"""Breaks each view on purpose, runs its tests, restores it, and prints which tests noticed.

`.venv/bin/python scripts/mutate_views.py [words of a mutation's name]`: the check of
issue 23 (docs/decisions.md, decision 48). Every mutation must print CAUGHT.
"""
# ruff: noqa: E501
# (MUTATIONS is a table of source lines, each spelled as its file has it)

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
F = "rnnviz/views/figures/"
MUTATIONS = [
    (
        "heatmaps draw zeros",
        F + "common.py",
        "z = np.ascontiguousarray(_unrolled(values, sample)[:, ::stride], dtype=np.float32)",
        "z = np.zeros_like(np.ascontiguousarray(_unrolled(values, sample)[:, ::stride], dtype=np.float32))",
        "tests/test_views.py",
    ),
    (
        "heatmaps show the next sample",
        F + "common.py",
        "z = np.ascontiguousarray(_unrolled(values, sample)[:, ::stride], dtype=np.float32)",
        "z = np.ascontiguousarray(_unrolled(values, (sample + 1) % values.shape[1])[:, ::stride], dtype=np.float32)",
        "tests/test_views.py",
    ),
    (
        "unit lines plot the next unit",
        F + "states.py",
        "y=_unrolled(trace.state(name), sample)[unit],",
        "y=_unrolled(trace.state(name), sample)[(unit + 1) % cfg.hidden_size],",
        "tests/test_views.py",
    ),
    (
        "gates in another order",
        F + "states.py",
        "panels = [(n, g, GATE_TITLES[n], n in SIGMOID_GATES) for n, g in trace.gates.items()]",
        "panels = [(n, g, GATE_TITLES[n], n in SIGMOID_GATES) for n, g in zip(trace.gates, list(trace.gates.values())[::-1])]",
        "tests/test_views.py",
    ),
    (
        "carry shows start and end swapped",
        F + "states.py",
        "columns.append(trace.initial_states[b][idx][sample])",
        "columns.append(trace.final_states[b][idx][sample])",
        "tests/test_views.py",
    ),
    (
        "stateful vs stateless draws one run twice",
        F + "states.py",
        '(stateless, "stateful=False", "dash"),',
        '(stateful, "stateful=False", "dash"),',
        "tests/test_views.py",
    ),
    (
        "npz exports c as h",
        "rnnviz/core/trace.py",
        'out: dict[str, np.ndarray] = {"inputs": self.inputs, "h": self.h}',
        'out: dict[str, np.ndarray] = {"inputs": self.inputs, "h": self.c if self.c is not None else self.h}',
        "tests/test_views.py",
    ),
    (
        "training curves: validation drawn as training",
        F + "training.py",
        "values = history[prefix + key]",
        "values = history[key]",
        "tests/test_views.py",
    ),
    (
        "final bars in reverse",
        F + "training.py",
        "y=[finals[k] for k in labels],",
        "y=[finals[k] for k in labels][::-1],",
        "tests/test_views.py",
    ),
    (
        "unit vs latent: the next sample's latent",
        F + "training.py",
        "y=np.asarray(latent)[sample],",
        "y=np.asarray(latent)[(sample + 1) % len(latent)],",
        "tests/test_views.py",
    ),
    (
        "heatmap row: a scale per network",
        F + "training.py",
        "zmin=-bound,",
        "zmin=-float(np.abs(values).max()),",
        "tests/test_views.py",
    ),
    (
        "text heatmap off by one character",
        F + "text.py",
        "z[rows, cols] = values",
        "z[rows, cols] = np.roll(values, 1)",
        "tests/test_views.py tests/test_text_page.py",
    ),
    (
        "gate saturation: closed and open swapped",
        F + "text.py",
        "        left, right = saturation[name]",
        "        right, left = saturation[name]",
        "tests/test_views.py tests/test_text_page.py",
    ),
    (
        "window loss: curves swapped",
        F + "text.py",
        "y=curves[name],",
        'y=curves["stateless" if name == "stateful" else "stateful"],',
        "tests/test_views.py tests/test_text_page.py",
    ),
    (
        "reach without the log",
        F + "why.py",
        "z=logged.astype(np.float32),",
        "z=reach.astype(np.float32),",
        "tests/test_views.py",
    ),
    (
        "intervention difference reversed",
        F + "why.py",
        "    diff = b - a\n",
        "    diff = a - b\n",
        "tests/test_views.py",
    ),
    (
        "trajectory without the batch start",
        F + "why.py",
        "path = np.vstack([starts[label][b, sample][None], path])",
        "path = np.vstack([path[:1], path])",
        "tests/test_views.py",
    ),
    (
        "correlation transposed",
        F + "why.py",
        "z=r.astype(np.float32),",
        "z=r.T.astype(np.float32),",
        "tests/test_views.py",
    ),
    (
        "model steps labelled in reverse",
        F + "states.py",
        'x = [f"step {t} (input {labels[t]})" for t in range(0, steps, stride)]',
        'x = [f"step {t} (input {labels[::-1][t]})" for t in range(0, steps, stride)]',
        "tests/test_views.py",
    ),
    (
        "saturation counts <= instead of <",
        "rnnviz/sources/text/charmodel.py",
        "out[name] = ((flat < low).mean(axis=0), (flat > high).mean(axis=0))",
        "out[name] = ((flat < high).mean(axis=0), (flat > low).mean(axis=0))",
        "tests/test_views.py",
    ),
    (
        "layout grid shows window ends, not starts",
        F + "stateful.py",
        "starts = index[:, :, 0].T.astype(np.float32)  # (row, batch)",
        "starts = index[:, :, -1].T.astype(np.float32)  # (row, batch)",
        "tests/test_stateful_page.py",
    ),
    (
        "stream chart: rows swapped",
        F + "stateful.py",
        "row_of[index.reshape(-1)] = np.tile(np.repeat(np.arange(b), w), k)",
        "row_of[index.reshape(-1)] = np.tile(np.repeat(np.arange(b)[::-1], w), k)",
        "tests/test_views.py",
    ),
    (
        "accuracy bars: orders swapped",
        F + "stateful.py",
        'y=[results[k][key] for k in kinds],',
        'y=[results[k]["own" if key == "right" else "right"] for k in kinds],',
        "tests/test_stateful_page.py",
    ),
    (
        "carried state: the next row",
        F + "stateful.py",
        "values = trace.state(state)[:, row, :, unit]  # (batches, steps)",
        "values = trace.state(state)[:, (row + 1) % trace.h.shape[1], :, unit]  # (batches, steps)",
        "tests/test_stateful_page.py",
    ),
    (
        "gradient bars draw zeros through the state",
        F + "stateful.py",
        "size = np.linalg.norm(values, axis=(0, 2))",
        "size = np.zeros(values.shape[1])",
        "tests/test_stateful_page.py",
    ),
    (
        "accuracy by position: the next layout's curve",
        F + "stateful.py",
        "                y=values,\n                mode=\"lines+markers\",\n                name=kind,",
        "                y=values[::-1],\n                mode=\"lines+markers\",\n                name=kind,",
        "tests/test_views.py",
    ),
    (
        "live state_size check constant",
        "rnnviz/views/checks.py",
        "            trace.state_size == expected,",
        "            True,",
        "tests/test_checks.py",
    ),
    (
        "seq2seq handoff column is the decoder's first step",
        F + "seq2seq.py",
        "    start = decoder.initial_states[0][names.index(state)][sample]",
        "    start = decoder.state(state)[0, sample, 0]",
        "tests/test_seq2seq_page.py",
    ),
    (
        "seq2seq encoder columns show c",
        F + "seq2seq.py",
        "[encoder.state(state)[0, sample].T,",
        '[encoder.state("c" if encoder.c is not None else state)[0, sample].T,',
        "tests/test_seq2seq_page.py",
    ),
    (
        "seq2seq step difference draws zeros",
        F + "seq2seq.py",
        "    diff = np.abs(a.state(state)[0, 0, :steps] - b.state(state)[0, 0, :steps]).max(axis=1)",
        "    diff = np.zeros(steps)",
        "tests/test_seq2seq_page.py",
    ),
    (
        "seq2seq map marks the origin instead of the question",
        F + "seq2seq.py",
        "x=[here[0]], y=[here[1]],",
        "x=[0.0], y=[0.0],",
        "tests/test_seq2seq_page.py",
    ),
    (
        "seq2seq capacity shifted by one digit",
        F + "seq2seq.py",
        "x=digits, y=[by_digits[d] for d in digits],",
        "x=digits, y=[by_digits.get(d + 1, 0.0) for d in digits],",
        "tests/test_seq2seq_page.py",
    ),
]
only = sys.argv[1:]
for name, path, old, new, tests in MUTATIONS:
    if only and not any(o in name for o in only):
        continue
    p = ROOT / path
    src = p.read_text()
    assert old in src, (name, old)
    p.write_text(src.replace(old, new, 1))
    try:
        r = subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                *tests.split(),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        last = r.stdout.strip().splitlines()[-1]
        failed = [
            line.split("::")[-1].split(" ")[0]
            for line in r.stdout.splitlines()
            if line.startswith("FAILED")
        ]
        print(
            f"{'CAUGHT' if r.returncode else 'MISSED'} | {name} | {last} | {failed[:2]}", flush=True
        )
    finally:
        p.write_text(src)
