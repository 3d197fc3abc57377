"""The "Your model" page: open a .keras or .h5 file safely and trace any recurrent layer in it.

The file is opened by rnnviz.load_model (checked as data, deserialised in a locked-down
worker process, rebuilt here from plain data); the chosen layer is traced by
rnnviz.trace_model on the input the model really gives it. Models and traces live in the
byte-bounded shared caches, keyed by the file's SHA-256: nothing of one session reaches
another except through them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import types
from pathlib import Path

import numpy as np
import streamlit as st

import rnnviz
from app_pages import inbrowser
from app_pages.runtime import apply_link, cached, link_notices_ui
from rnnviz.core.config import SIGNALS, ConfigError
from rnnviz.core.signals import make_inputs
from rnnviz.serving.memory import shared_cache
from rnnviz.sources.recorded.run import RecordedRun, from_checked
from rnnviz.sources.recorded.store import check_folder, find_runs
from rnnviz.sources.usermodels.examples import TAGGER_STEPS, TOKENS, example_models, tagger_ids
from rnnviz.sources.usermodels.loader import default_worker, weight_report
from rnnviz.sources.usermodels.modelfile import ModelRefused, check_size, max_model_bytes
from rnnviz.sources.usermodels.models import (
    check_model_inputs,
    find_recurrent_layer,
    inside_time_distributed,
    layer_summaries,
    model_inputs,
    shape_text,
    state_source,
    takes_token_ids,
)
from rnnviz.views import figures
from rnnviz.views.figures import seq2seq as F

#: Session State key under which the Why page finds this page's trace.
WHY_KEY = "your_model_trace"
MAX_BATCH = 16
MAX_STEPS = 500
#: What a text box takes: 16 samples x 500 steps of ids, or a few features' worth of numbers.
MAX_TYPED_CHARS = 200_000
VIEWS = {
    "states": "States h, c",
    "gates": "Gates",
    "step": "One step, in numbers",
    "carry": "Start → end state",
}
DEFAULT_CSV = "0.5, -1, 0.25\n1, 0, -0.5\n0, 0.5, 1\n\n-1, 1, 0\n0, 0, 0\n1, 1, 1"


@dataclasses.dataclass(frozen=True)
class Refused:
    """A file load_model refused, cached like a model so that it costs the worker once."""

    reason: str


def open_model(data: bytes) -> tuple[str, object | None, str | None]:
    """(sha256, model or None, refusal or None).

    Cached by the file's SHA-256 in the byte-bounded shared cache (decision 43), and
    opened once however many sessions ask for it at the same time: a class opening the
    same example waits for one load, not thirty.
    """
    digest = hashlib.sha256(data).hexdigest()

    def load() -> object:
        try:
            return rnnviz.load_model(data)
        except ModelRefused as refused:
            return Refused(str(refused))

    value = cached(
        "user_models",
        digest,
        load,
        "Opening the model in a separate, locked-down process (the first file starts it: "
        "a few seconds)…",
    )
    if isinstance(value, Refused):
        return digest, None, value.reason
    return digest, value, None


#: Set by `rnnviz open PATH` for the server it starts (never from anything a browser sends).
OPEN_ENV = "RNNVIZ_OPEN"
#: A folder on the server whose recorded runs the page offers (set by whoever runs it).
RUNS_ENV = "RNNVIZ_RUNS_DIR"


@dataclasses.dataclass(frozen=True)
class Chosen:
    """What the user chose to open: a model file's bytes, or a recorded run's folder."""

    name: str
    data: bytes = b""
    run: Path | None = None


def opened_path() -> Path | None:
    raw = os.environ.get(OPEN_ENV, "").strip()
    return Path(raw) if raw else None


def server_runs() -> dict[str, Path]:
    """The runs the server offers: the one `rnnviz open` was given, and those under
    RNNVIZ_RUNS_DIR. A browser picks among these names; it never sends a path."""
    runs: dict[str, Path] = {}
    opened = opened_path()
    if opened is not None and opened.is_dir():
        runs[opened.name] = opened
    root = os.environ.get(RUNS_ENV, "").strip()
    if root:
        for name, folder in find_runs(root).items():
            runs.setdefault(name, folder)
    return runs


SOURCES = {
    "opened": "The file you opened",
    "run": "A recorded training run",
    "example": "An example model",
    "upload": "Upload your own",
}


def source_ui() -> Chosen | None:
    """The file or run the user chose, or None while there is none."""
    limit = max_model_bytes() // 2**20
    opened = opened_path()
    runs = server_runs()
    options = ["opened"] if opened is not None and opened.is_file() else []
    options += ["run"] if runs else []
    options += ["example", "upload"]
    source = st.radio(
        "model",
        options,
        format_func=SOURCES.get,
        horizontal=True,
        key="ym_source",
        label_visibility="collapsed",
    )
    if source == "opened":
        try:
            check_size(opened.stat().st_size, max_model_bytes())
        except ModelRefused as refused:
            st.error(f"**{opened.name}** was not opened: {refused}")
            return None
        st.caption(f"`{opened.name}`, given to `rnnviz open` when this server started.")
        # The worker imports TensorFlow while this process does: the two overlap.
        default_worker().start_in_background()
        import keras  # noqa: F401
        return Chosen(opened.name, opened.read_bytes())
    if source == "run":
        name = st.selectbox(
            "recorded run", list(runs), key="ym_run",
            help="Runs recorded by rnnviz.callbacks.RecordStates: the one given to "
            f"`rnnviz open`, and those under the server's {RUNS_ENV}.",
        )  # fmt: skip
        return Chosen(name, run=runs[name])
    if source == "upload":
        default_worker().start_in_background()  # ready by the time the file has uploaded
        upload = st.file_uploader(
            f"A Keras model file: .keras (Keras 3) or .h5 (legacy), at most {limit} MB",
            type=["keras", "h5"],
            key="ym_file",
            help="Opened as data in a separate process: no code in it runs. Lambda layers "
            "and custom objects are refused. Save yours with model.save('name.keras').",
        )
        if upload is None:
            st.info(
                "Drop a `.keras` or `.h5` file here, or pick an example above. Layers that "
                "can carry code (Lambda, custom classes) are refused, with the reason."
            )
            return None
        return Chosen(upload.name, upload.getvalue())
    examples = example_models()
    if not examples:
        st.warning("No example models are shipped with this copy: run `make models`.")
        return None
    title = st.selectbox("example model", list(examples), key="ym_example")
    return Chosen(examples[title].name, examples[title].read_bytes())


def run_cache_key(folder: Path) -> tuple | None:
    """The shared cache's key of a run folder: its path and its manifest's state."""
    try:
        stat = (folder / "manifest.json").stat()
    except OSError:
        return None
    return (str(folder.resolve()), stat.st_mtime_ns, stat.st_size)


def open_recorded(folder: Path) -> tuple[RecordedRun | None, tuple | None, str | None]:
    """(run, its cache key, None) or (None, None, the reason it was refused); cached per
    state of the folder's manifest.

    The folder is read and checked (manifest, sizes, SHA-256s, config allowlist) once per
    state of its manifest; the config is deserialised in the worker process, as an upload
    is, and every epoch's weights checked against the model, before anything runs.
    """
    key = run_cache_key(folder)
    if key is None:
        return None, None, "the run's manifest.json is gone"

    def load() -> object:
        try:
            return from_checked(check_folder(folder), worker=default_worker())
        except ModelRefused as refused:  # RunRefused too
            return Refused(str(refused))

    value = cached(
        "user_runs", key, load, "Checking the run and opening its model in the locked-down "
        "process (the first one starts it: a few seconds)…",
    )  # fmt: skip
    if isinstance(value, Refused):
        return None, None, value.reason
    return value, key, None


def summary_ui(model) -> None:
    """The model's layers, parameter counts and flagged weights."""
    rows = []
    for layer in model.layers:
        try:
            shape = str(tuple(layer.output.shape))
        except (AttributeError, ValueError):
            shape = ""
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": shape,
                "parameters": int(layer.count_params()),
            }
        )
    st.dataframe(rows, hide_index=True, key="ym_layers")
    report = weight_report(model)
    total = sum(row["parameters"] for row in report)
    bad = [row for row in report if row["not finite"]]
    st.caption(f"{len(model.layers)} layers, {total:,} parameters.")
    if bad:
        st.warning(
            f"{sum(r['not finite'] for r in bad):,} weights are NaN or infinite, in "
            + ", ".join(f"`{r['weight']}`" for r in bad)
            + ". The model is shown as it is: its states may be NaN too."
        )


def layer_ui(model, digest: str) -> str | None:
    """The recurrent layer to trace, by its path in the model."""
    paths = rnnviz.recurrent_layers(model)
    if not paths:
        st.error(
            "This model has no LSTM, GRU or SimpleRNN layer to trace (looked inside nested "
            "models, Bidirectional and TimeDistributed)."
        )
        return None
    described = {s.path: s.describe() for s in layer_summaries(model)}
    return st.selectbox(
        "recurrent layer to trace",
        paths,
        format_func=described.get,
        key=f"ym_layer_{digest[:12]}",
        help="Its path in the model: wrappers and nested models, then the layer. A "
        "Bidirectional layer has two halves, forward and backward. A layer that starts from "
        "a state another layer computes (a decoder) says where it comes from.",
    )


def _check_counts(field: str, samples: int, steps: int) -> None:
    """Typed input is bounded like the signal's controls: samples and steps."""
    if samples > MAX_BATCH:
        raise ConfigError(field, f"{samples} samples", f"at most {MAX_BATCH} samples")
    if steps > MAX_STEPS:
        raise ConfigError(field, f"{steps} steps", f"at most {MAX_STEPS} steps per sample")


def parse_csv(text: str, steps: int | None, features: int) -> np.ndarray:
    """Samples separated by a blank line, one time step per line, features by commas."""
    samples = []
    for n, block in enumerate([b for b in text.strip().split("\n\n") if b.strip()], start=1):
        rows = []
        for line in block.strip().splitlines():
            try:
                rows.append([float(v) for v in line.replace(";", ",").split(",") if v.strip()])
            except ValueError:
                raise ConfigError("numbers", line[:40], f"sample {n}: not a number") from None
        if any(len(r) != features for r in rows):
            raise ConfigError(
                "numbers", f"sample {n}", f"every line needs {features} comma-separated numbers"
            )
        samples.append(rows)
    if not samples:
        raise ConfigError("numbers", "", "type at least one line of numbers")
    lengths = {len(s) for s in samples}
    if len(lengths) != 1:
        raise ConfigError("numbers", sorted(lengths), "every sample needs as many lines")
    if steps is not None and lengths != {steps}:
        raise ConfigError("numbers", lengths.pop(), f"the model takes {steps} steps per sample")
    _check_counts("numbers", len(samples), lengths.pop())
    return np.array(samples, np.float32)


def parse_ids(text: str, steps: int | None, vocab: int) -> np.ndarray:
    """One sample per line, ids separated by spaces or commas; padded with 0 (masked)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise ConfigError("token ids", "", "type at least one line of ids")
    rows = []
    for n, line in enumerate(lines, start=1):
        try:
            rows.append([int(v) for v in line.replace(",", " ").split()])
        except ValueError:
            raise ConfigError("token ids", line[:40], f"line {n}: whole numbers only") from None
    length = steps or max(len(r) for r in rows)
    if any(len(r) > length for r in rows):
        raise ConfigError("token ids", max(len(r) for r in rows), f"at most {length} per line")
    _check_counts("token ids", len(rows), length)
    bad = [v for r in rows for v in r if not 0 <= v < vocab]
    if bad:
        raise ConfigError("token ids", bad[0], f"ids go from 0 to {vocab - 1} (0 is padding)")
    return np.array([r + [0] * (length - len(r)) for r in rows], np.int32)


def input_ui(model, digest: str) -> list[np.ndarray] | None:
    """One batch per model input, each a built-in signal, typed numbers or token ids."""
    specs = model_inputs(model)
    arrays = []
    for index, (name, shape, _) in enumerate(specs):
        if len(specs) > 1:
            st.markdown(f"**Input `{name}`**, shape {shape_text(shape)}")
        x = one_input_ui(model, f"{digest[:12]}_{index}", index, shape)
        if x is None:
            return None
        arrays.append(x)
    return check_model_inputs(model, arrays if len(arrays) > 1 else arrays[0])


def addition_defaults(model, index: int) -> str | None:
    """For the shipped encoder–decoder: a question and the answer so far, as token ids."""
    if not model.name.startswith("addition_") or len(model.inputs) != 2:
        return None
    from rnnviz.sources.seq2seq.task import VOCAB, to_ids

    text = ["123+45 ", "=168"][index]
    st.caption("Tokens: " + ", ".join(f"{i} = `{t}`" for i, t in enumerate(VOCAB)) +
               f" · this is `{text}`")  # fmt: skip
    return " ".join(map(str, to_ids([text], len(text))[0]))


def vector_ui(key: str, features: int, fixed_batch: int | None) -> np.ndarray:
    """An input without time steps (a feature vector, a given initial state): typed."""
    rng = np.random.default_rng(0)
    rows = fixed_batch or 2
    default = "\n".join(
        ", ".join(f"{v:.2f}" for v in rng.normal(0, 0.5, features)) for _ in range(rows)
    )
    text = st.text_area(
        f"one sample per line, {features} numbers separated by commas", default,
        key=f"ym_vec_{key}", max_chars=MAX_TYPED_CHARS,
    )  # fmt: skip
    x = parse_csv(text.replace("\n", "\n\n"), 1, features)
    return x[:, 0]


def one_input_ui(model, key: str, index: int, shape: tuple) -> np.ndarray | None:
    """The batch for one input: a built-in signal, typed numbers or token ids."""
    vocab = takes_token_ids(model, index)
    fixed_batch = shape[0]
    if vocab is not None:
        is_tagger = vocab == len(TOKENS) and shape[1:] == (TAGGER_STEPS,)
        addition = addition_defaults(model, index)
        if addition is not None:
            default = addition
        elif is_tagger:
            default = "\n".join(
                " ".join(map(str, tagger_ids(s))) for s in ["a(b(cd)e)f", "(ab)c((d))"]
            )
            st.caption("Tokens: " + ", ".join(f"{i} = `{t}`" for i, t in enumerate(TOKENS)))
        else:
            rng = np.random.default_rng(0)
            length = shape[1] or 12
            default = " ".join(map(str, rng.integers(1, vocab, size=length - 3))) + " 0 0 0"
        text = st.text_area(
            "token ids, one sample per line (0 = padding, masked if the Embedding has "
            "mask_zero=True)",
            default,
            key=f"ym_ids_{key}",
            max_chars=MAX_TYPED_CHARS,
        )
        x = parse_ids(text, shape[1] if len(shape) == 2 else None, vocab)
    elif len(shape) == 2 and shape[-1] is not None:
        x = vector_ui(key, int(shape[-1]), fixed_batch)
    else:
        if len(shape) < 3 or shape[-1] is None:
            st.error(f"This model takes inputs of shape {shape}: rnnviz feeds (batch, steps, "
                     "features) with a known number of features.")  # fmt: skip
            return None
        features = int(shape[-1])
        mode = st.radio(
            "input",
            ["signal", "numbers"],
            format_func={"signal": "A built-in signal", "numbers": "Numbers I type"}.get,
            horizontal=True,
            key=f"ym_mode_{key}",
        )
        middle = shape[1:-1]
        if mode == "numbers":
            if len(middle) != 1:
                st.info("Typed numbers are for (batch, steps, features) models.")
                return None
            if features == 3 and middle[0] in (None, 3):
                default = DEFAULT_CSV
            else:
                line = ", ".join(["0.5"] * features)
                default = "\n".join([line] * (middle[0] or 4))
            text = st.text_area(
                f"one time step per line, {features} numbers separated by commas; "
                "a blank line starts the next sample",
                default,
                key=f"ym_csv_{key}",
                max_chars=MAX_TYPED_CHARS,
            )
            x = parse_csv(text, middle[0], features)
        else:
            cols = st.columns(3)
            signal = cols[0].selectbox(
                "signal", [s for s in SIGNALS if s != "answer_002"], key=f"ym_signal_{key}"
            )
            batch = fixed_batch or int(
                cols[1].number_input(
                    "samples",
                    1,
                    MAX_BATCH,
                    2,
                    key=f"ym_batch_{key}",
                    help=f"Allowed: 1–{MAX_BATCH}.",
                )
            )
            free = [i for i, n in enumerate(middle) if n is None]
            sizes = list(middle)
            for i in free:
                sizes[i] = int(
                    cols[2].number_input(
                        "steps",
                        1,
                        MAX_STEPS,
                        20,
                        key=f"ym_steps_{key}_{i}",
                        help=f"Allowed: 1–{MAX_STEPS}.",
                    )
                )
            steps = int(np.prod(sizes))
            run = types.SimpleNamespace(
                num_batches=1,
                batch_size=batch,
                num_steps=steps,
                num_features=features,
                signal=signal,
                seed=0,
            )
            x = make_inputs(run)[0].reshape(batch, *sizes, features)
    if fixed_batch is not None and x.shape[0] != fixed_batch:
        raise ConfigError(
            "samples", x.shape[0], f"this model takes exactly {fixed_batch} per batch"
        )
    return x


def input_key(xs: list[np.ndarray]) -> tuple:
    digest = hashlib.sha256(b"".join(x.tobytes() for x in xs)).hexdigest()
    return (*((x.shape, str(x.dtype)) for x in xs), digest)


def kept_trace(key: tuple, compute) -> rnnviz.Trace:
    """The trace under `key` in the shared byte-bounded cache, computed on a miss."""
    cache = shared_cache("model_traces")
    trace = cache.get(key)
    if trace is None:
        trace = compute()
        cache.put(key, trace)
    return trace


def cached_trace(model, digest: str, path: str, xs: list[np.ndarray]) -> rnnviz.Trace:
    x = xs[0] if len(xs) == 1 else list(xs)
    return kept_trace((digest, path, input_key(xs)), lambda: rnnviz.trace_model(model, x, path))


def for_why(key: tuple, xs: list[np.ndarray], **kept) -> None:
    """The Why page analyses "the layer on the Your model page": the session keeps the
    cache keys and a label, not the trace, the model or the input."""
    shared_cache("model_inputs").put(key, xs[0] if len(xs) == 1 else list(xs))
    st.session_state[WHY_KEY] = {"key": key, **kept}


def trace_for(model, digest: str, path: str, xs: list[np.ndarray]) -> rnnviz.Trace:
    trace = cached_trace(model, digest, path, xs)
    for_why((digest, path, input_key(xs)), xs, label=path, digest=digest, path=path)
    return trace


def pick(label: str, count: int, key: str) -> int:
    if count <= 1:
        return 0
    return int(st.number_input(label, 0, count - 1, 0, key=key,
                               help=f"Counted from 0; allowed: 0–{count - 1}."))  # fmt: skip


def layer_notes(model, path: str, trace: rnnviz.Trace) -> None:
    layer = find_recurrent_layer(model, path)
    config = layer.get_config()
    notes = []
    if config.get("go_backwards"):
        notes.append(
            "This layer reads the steps **backwards** (`go_backwards=True`, or the backward "
            "half of a Bidirectional): column 1 is the last input step. Each column says "
            "which input step it read."
        )
    if trace.mask is not None and not trace.mask.all():
        notes.append(
            "Grey columns are **masked** steps (padding): Keras skips them, so the state "
            "stays what it was and no gate is used (blank)."
        )
    if config.get("dropout") or config.get("recurrent_dropout"):
        notes.append(
            f"This layer has dropout={config.get('dropout')}, recurrent_dropout="
            f"{config.get('recurrent_dropout')}: dropout only acts in training, so the trace, "
            "like `model.predict`, uses none."
        )
    if config.get("stateful"):
        notes.append(
            "A **stateful** layer: the trace starts from the state the layer holds (zeros "
            "in a freshly opened file), as its next call would."
        )
    if inside_time_distributed(model, layer):
        notes.append(
            "Inside TimeDistributed the layer runs once per outer step: each sample here is "
            "one (outer step, sample) pair, outer step first."
        )
    for note in notes:
        st.info(note)


def step_ui(trace: rnnviz.Trace, sample: int) -> None:
    cfg = trace.config
    left, right = st.columns(2)
    with left:
        t = pick("timestep (0 = first the layer read)", cfg.num_steps, "ym_t")
    with right:
        unit = pick("unit", cfg.hidden_size, "ym_unit")
    if trace.mask is not None and not trace.mask[0, sample, t]:
        st.info("This step is masked: Keras skipped it, and the state is the previous one.")
    config = trace.layer_config or {}
    default_activations = (
        config.get("activation", "tanh") == "tanh"
        and config.get("recurrent_activation", "sigmoid") == "sigmoid"
    )
    masked = trace.mask is not None and not trace.mask[0, sample, t]
    if default_activations and not masked:
        from rnnviz.views.equations import step_equations

        for line in step_equations(trace, 0, sample, t, unit):
            st.latex(line)
    rows = {"h_t": trace.h[0, sample, t]}
    if trace.c is not None:
        rows["c_t"] = trace.c[0, sample, t]
    for name, gate in trace.gates.items():
        rows[f"{name} gate"] = gate[0, sample, t]
    st.dataframe(
        {"value": {name: float(values[unit]) for name, values in rows.items()}},
        key="ym_step_values",
    )
    original = trace.labels[0, sample, t] if trace.labels is not None else str(t)
    x_t = trace.inputs[0, sample, int(original)]
    st.markdown(
        f"**The input at this step** (input step {original}, as the layer receives it, "
        f"{x_t.shape[0]} numbers): `{np.array2string(x_t, precision=4, threshold=24)}`"
    )


def handoff_ui(model, digest: str, path: str, trace: rnnviz.Trace, xs, sample: int) -> None:
    """For a decoder: the encoder's last state beside the decoder's first column."""
    source = state_source(model, find_recurrent_layer(model, path))
    if source is None:
        return
    encoder = cached_trace(model, digest, source, xs)
    names = trace.config.state_names
    state = st.radio("state handed over", names, horizontal=True, key="ym_handoff_state")
    st.plotly_chart(F.handoff(encoder, trace, state, sample), key="ym_fig_handoff")
    gap = max(
        float(np.abs(e[sample] - d[sample]).max())
        for e, d in zip(encoder.final_states[0], trace.initial_states[0], strict=True)
    )
    st.caption(
        f"`{source}`'s final state after its last step, handed over, is `{path}`'s initial "
        f"state: largest difference {gap:g} (sample {sample})."
    )


def views_ui(model, path: str, trace: rnnviz.Trace, digest: str = "", xs=()) -> None:
    cfg = trace.config
    layer_notes(model, path, trace)
    origin = trace.origins[0][0] if trace.origins else "initial state (zeros)"
    st.caption(
        f"`{path}`: {type(find_recurrent_layer(model, path)).__name__}({cfg.hidden_size}) · "
        f"its input: {cfg.batch_size} samples × {cfg.num_steps} steps × {cfg.num_features} "
        f"features (what the layers before it made of yours) · starts from {origin}"
    )
    view = st.radio(
        "view",
        list(VIEWS),
        format_func=VIEWS.get,
        horizontal=True,
        key="ym_view",
        label_visibility="collapsed",
    )
    sample = pick("sample", cfg.batch_size, "ym_sample")
    if view == "states" and xs:
        handoff_ui(model, digest, path, trace, xs, sample)
    if view == "states":
        if play_ui():
            animation_ui(trace, sample, "states")
        else:
            fig = figures.mark_model_steps(figures.state_heatmaps(trace, sample), trace, sample)
            st.plotly_chart(fig, key="ym_fig_states")
        st.plotly_chart(figures.unit_lines(trace, sample), key="ym_fig_lines")
    elif view == "gates":
        if not trace.gates:
            st.info("A SimpleRNN has no gates: h_t = tanh(W x_t + U h_{t-1} + b) is all of it.")
        elif play_ui():
            animation_ui(trace, sample, "gates")
        else:
            fig = figures.mark_model_steps(figures.gate_heatmaps(trace, sample), trace, sample)
            st.plotly_chart(fig, key="ym_fig_gates")
    elif view == "step":
        step_ui(trace, sample)
    else:
        state = st.radio("state", cfg.state_names, horizontal=True, key="ym_carry_state")
        st.plotly_chart(figures.carry_over(trace, sample, state), key="ym_fig_carry")


def play_ui() -> bool:
    """The "▶ Animate" switch of the States and Gates views (not in the URL: this page takes
    nothing from a link)."""
    return inbrowser.play_toggle("ym_play", "step by step, played by your browser", bind=None)


def animation_ui(trace: rnnviz.Trace, sample: int, view: str) -> None:
    """The view's animation of the traced layer, built once per trace, sample and view (the
    shared cache, keyed by the trace's numbers) and played by the browser. Its paused frame
    is not written into the URL (this page takes nothing from a link)."""
    from rnnviz.views import animation

    numbers = hashlib.sha256()
    for array in (trace.inputs, trace.h, trace.c if trace.c is not None else np.zeros(0)):
        numbers.update(np.ascontiguousarray(array).tobytes())
    fig = cached(
        "model animations",
        (numbers.hexdigest(), trace.h.shape, sample, view),
        lambda: animation.Kept(animation.VIEWS[view](trace, sample)),
        "Computing the frames (once; then your browser plays them)…",
    ).figure
    inbrowser.animation_ui(fig, None, f"ym_fig_{view}_play", f"model_{view}")


def run_trace(
    run: RecordedRun, run_key: tuple, epoch: int, path: str, xs: list[np.ndarray]
) -> rnnviz.Trace:
    key = (run.digest, epoch, path, input_key(xs))
    x = xs[0] if len(xs) == 1 else list(xs)
    trace = kept_trace(key, lambda: run.trace(epoch, path, x))
    for_why(key, xs, label=f"{path} at epoch {epoch}", digest=run.digest, path=path,
            run_key=run_key, epoch=epoch)  # fmt: skip
    return trace


def run_inputs_ui(run: RecordedRun) -> list[np.ndarray] | None:
    """The run's recorded samples, or any input the page offers for the model."""
    choices = ["recorded", "other"] if run.inputs is not None else ["other"]
    where = {"validation_data": "the first samples of validation_data",
             "inputs": "the inputs given to RecordStates"}  # fmt: skip
    choice = st.radio(
        "input",
        choices,
        format_func={
            "recorded": "The run's recorded samples",
            "other": "Another input (a signal, numbers, ids)",
        }.get,
        horizontal=True,
        key="ym_run_input",
    )
    if choice == "recorded":
        st.caption(
            f"{run.inputs[0].shape[0]} samples: {where.get(run.inputs_from, 'recorded')}, "
            "saved by RecordStates."
        )
        return list(run.inputs)
    return input_ui(run.keras_model, run.digest)


def run_ui(chosen: Chosen, left, right) -> None:
    """A recorded run: its curves, an epoch scrubber over every view, the views."""
    run, run_key, reason = open_recorded(chosen.run)
    if run is None:
        left.error(f"The run **{chosen.name}** was not opened: {reason}")
        return
    model = run.keras_model
    with right:
        summary_ui(model)
    with left:
        done = "finished" if run.complete else "still recording, or stopped early"
        st.caption(
            f"Run `{chosen.name}`: model `{run.model_name}`, {len(run.epochs)} recorded epochs "
            f"(0 = before training, last {run.last}); training {done}."
        )
        if run.thinned:
            st.info(f"Thinned while recording: {run.thinned}.")
        path = layer_ui(model, run.digest)
        if path is None:
            return
        key = f"ym_run_epoch_{chosen.name}"  # each run keeps its own epoch
        if st.session_state.get(key, run.last) not in run.epochs:  # thinned since
            del st.session_state[key]
        epoch = st.select_slider(
            "epoch (0 = before training)",
            run.epochs,
            value=run.last,
            key=key,
            help="The weights RecordStates saved after this epoch. Every view below shows "
            "this epoch: move it to watch your network learn.",
        )
        try:
            xs = run_inputs_ui(run)
            if xs is None:
                return
            xs = check_model_inputs(model, xs if len(xs) > 1 else xs[0])
            with st.spinner("Tracing the layer…"):
                trace = run_trace(run, run_key, int(epoch), path, xs)
        except ConfigError as error:
            st.error(str(error))
            return
    if run.history:
        st.plotly_chart(figures.history_curves(run.history, int(epoch)), key="ym_fig_history")
    views_ui(model, path, trace)


#: This page takes nothing from a link (a file cannot travel in one): every parameter a
#: link brings is named in the notice, never dropped silently.
LINK: dict = {}


def main() -> None:
    apply_link("yourmodel", LINK)
    link_notices_ui("yourmodel")
    st.title("Your model")
    st.caption(
        "Open a trained Keras model, or a training run recorded with `RecordStates`, and "
        "see every state and gate of any LSTM, GRU or SimpleRNN inside it, with exact "
        "numbers: the file is read as data in a separate, locked-down process; nothing in it "
        "runs."
    )
    left, right = st.columns([5, 4], gap="large")
    with left:
        chosen = source_ui()
    if chosen is None:
        return
    if chosen.run is not None:
        run_ui(chosen, left, right)
        return
    name, data = chosen.name, chosen.data
    digest, model, reason = open_model(data)
    if model is None:
        left.error(f"**{name}** was not opened: {reason}")
        return
    with right:
        summary_ui(model)
    with left:
        path = layer_ui(model, digest)
        if path is None:
            return
        try:
            x = input_ui(model, digest)
            if x is None:
                return
            with st.spinner("Tracing the layer…"):
                trace = trace_for(model, digest, path, x)
        except ConfigError as error:
            st.error(str(error))
            return
    views_ui(model, path, trace, digest, x)


main()
