"""The Why page: memory reach, interventions, trajectories, pattern matching, comparison."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

import rnnviz
from app_pages import inbrowser
from app_pages.runtime import (
    apply_link,
    cached,
    keep_in_options,
    keep_in_range,
    link_notices_ui,
)
from rnnviz import analysis
from rnnviz.core.config import CELLS
from rnnviz.sources.text import charmodel as T
from rnnviz.sources.training.run import load_pretrained
from rnnviz.sources.training.tasks import TASKS
from rnnviz.views import figures
from rnnviz.views.urlstate import (
    CELL_LABELS,
    choice_field,
    flag_field,
    number_field,
    text_field,
    whole_field,
)

BIND = "query-params"
QUESTIONS = {
    "reach": "How far back does it remember?",
    "unit": "What does this unit do?",
    "trajectory": "Where does the state go?",
    "pattern": "Where else does this pattern occur?",
    "compare": "What changed?",
}
EXPLAIN = {
    "reach": "Each cell is how strongly the state at the target step changes when the input at "
    "step t is nudged (the size of ∂h_target/∂x_t, from TensorFlow's autodiff through the Keras "
    "layer). Bright far to the left of the target: the network still remembers that input.",
    "unit": "One unit's state is overwritten at one step and the same layer runs on from there. "
    "The bottom heatmap is what changed: red/blue after the step is the unit's influence.",
    "trajectory": "Every step's state, squeezed onto the two (or three) directions in which the "
    "states vary most (PCA). One line per sample and batch; big dots mark where batches start "
    "and end.",
    "pattern": "Pick units and a time range: the units that stay above the threshold throughout "
    "form a pattern. The list shows other ranges where the same units are on and few others are "
    "(as in LSTMVis).",
    "compare": "Two networks or settings on the same input: how far apart their states are at "
    "each step, and which unit of one behaves like which unit of the other.",
}
SOURCES = {
    "explore": "The layer on the Explore page",
    "synthetic": "A random layer",
    "task": "A trained task",
    "text": "The char model",
    "model": "The layer on the Your model page",
}
#: Every parameter a link to this page may set: the widget key, what it accepts, and the
#: short keys a person would type (read leniently by rnnviz.views.urlstate.read_link).
LINK = {
    "question": choice_field(QUESTIONS, "reach", "q"),
    "source": choice_field(SOURCES, "explore"),
    "why_task": choice_field({n: t.title for n, t in TASKS.items()}, "remember", "task"),
    "why_cell": choice_field(CELL_LABELS, "lstm", "cell"),
    "why_epoch": whole_field(0, 200, 0, "epoch"),
    "why_units": whole_field(1, 64, 8, "units", "hidden_size"),
    "why_steps": whole_field(2, 60, 10, "steps", "num_steps"),
    "why_stateful": flag_field(True, "stateful"),
    "why_seed": whole_field(0, 2**31 - 1, 0, "seed"),
    "target": whole_field(0, 100_000, 0, "target_step"),
    "why_batch": whole_field(0, 100_000, 0, "batch"),
    "why_unit": whole_field(0, 100_000, 0, "unit"),
    "why_step": whole_field(0, 100_000, 0, "step"),
    "why_sample": whole_field(0, 100_000, 0, "sample"),
    "why_value": number_field(-5.0, 5.0, 1.0, "value"),
    "why_state": choice_field({"h": "h", "c": "c"}, "h", "state"),
    "why_3d": flag_field(False, "3d"),
    "why_start": whole_field(0, 100_000, 0, "start"),
    "why_end": whole_field(0, 100_000, 3, "end"),
    "why_threshold": number_field(-1.0, 1.0, 0.3, "threshold"),
    "why_compare": choice_field({"two cells": "two cells", "two epochs": "two epochs"},
                                "two cells", "compare"),
    "why_play": flag_field(False, "play"),
    "why_frame": text_field(12),  # the animation's step: checked against its frames
}
#: Session State key the Your model page keeps its trace's cache key under.
YOUR_MODEL_KEY = "your_model_trace"


@dataclass
class Source:
    """A trace to analyse and what the page can say about it."""

    trace: rnnviz.Trace
    label: str
    kind: str
    run: Any = None  # TrainingRun, for the task source
    epoch: int = -1  # the run's epoch the trace shows
    model: Any = None  # CharModel, for the text source
    text: str = ""
    mine: dict | None = None  # the Your model page's keras model, input and layer path


def pretrained(task: str, cell: str):
    return cached(
        "pretrained runs",
        (task, cell),
        lambda: load_pretrained(task, cell),
        "Loading the pretrained network…",
    )


def synthetic(cfg_key: tuple) -> rnnviz.Trace:
    values = {k: list(v) if k == "reset_before" else v for k, v in cfg_key}
    return cached(
        "explore traces",
        json.dumps(rnnviz.RunConfig(**values).to_dict(), sort_keys=True),
        lambda: rnnviz.run(rnnviz.RunConfig(**values)),
        "Running the Keras layer…",
    )


def text_trace(cell: str, text: str) -> tuple:
    cm = cached(
        "char models", cell, lambda: T.load_char_model(cell), "Loading the character model…"
    )
    return cm, cached(
        "why text traces",
        (cell, text),
        lambda: T.trace_text(cm, text),
        "Running the character model…",
    )


def text_available() -> bool:
    return bool(T.read_manifest().get("text"))


def source_ui() -> Source:
    sb = st.sidebar
    present = {"text": text_available(), "model": YOUR_MODEL_KEY in st.session_state}
    options = [s for s in SOURCES if present.get(s, True)]
    kind = sb.selectbox("source", options, format_func=SOURCES.get, key="source", bind=BIND)
    if kind == "task":
        task = sb.selectbox(
            "task", list(TASKS), format_func=lambda n: TASKS[n].title, key="why_task", bind=BIND
        )
        cell = sb.selectbox("cell", CELLS, format_func=CELL_LABELS.get, key="why_cell", bind=BIND)
        run = pretrained(task, cell)
        keep_in_range("why", "why_epoch", 0, run.epochs_done)
        epoch = sb.slider("epoch", 0, run.epochs_done, run.epochs_done, key="why_epoch", bind=BIND)
        return Source(
            run.trace(int(epoch)),
            f"{CELL_LABELS[cell]} on '{task}' after epoch {epoch}",
            kind,
            run=run,
            epoch=int(epoch),
        )
    if kind == "explore":
        values = st.session_state.get("explore_config") or rnnviz.RunConfig().to_dict()
        cfg = rnnviz.RunConfig(**values)
        sb.caption(
            f"{CELL_LABELS[cfg.cell]}({cfg.hidden_size}), input ({cfg.batch_size}, "
            f"{cfg.num_steps}, {cfg.num_features}) × {cfg.num_batches} batches, stateful="
            f"{cfg.stateful}, signal {cfg.signal}: the settings last shown on Explore "
            "(its defaults if you have not been there). Change them there."
        )
        label = f"the Explore page's {CELL_LABELS[cfg.cell]}({cfg.hidden_size})"
        return Source(synthetic(tuple(sorted(cfg.to_dict().items()))), label, "synthetic")
    if kind == "model":
        from rnnviz.serving.memory import shared_cache

        kept = st.session_state[YOUR_MODEL_KEY]
        trace = shared_cache("model_traces").get(kept["key"])
        if trace is None:
            st.info(
                "The Your model page's trace is no longer in the server's cache (it was "
                "freed for others): open the model there again, then come back."
            )
            st.stop()
        sb.caption(
            f"`{kept['label']}` on the input chosen on the Your model page. Change them there."
        )
        run = shared_cache("user_runs").get(kept["run_key"]) if kept.get("run_key") else None
        if run is not None:  # a recorded run: the model with the shown epoch's weights
            epoch = kept["epoch"]
            model = cached("user_models", (run.digest, epoch), lambda: run.model(epoch))
        else:
            model = shared_cache("user_models").get(kept.get("digest"))
        mine = {
            "model": model,
            "x": shared_cache("model_inputs").get(kept["key"]),
            "path": kept.get("path"),
            "run": run,
            "epoch": kept.get("epoch"),
        }
        return Source(trace, f"your model's layer {kept['label']}", kind, mine=mine)
    if kind == "text":
        cell = sb.selectbox("cell", CELLS, format_func=CELL_LABELS.get, key="why_cell", bind=BIND)
        snippet = T.default_snippet()[:400]
        cm, trace = text_trace(cell, snippet)
        return Source(
            trace,
            f"the {CELL_LABELS[cell]} char model on held-out code",
            kind,
            model=cm,
            text=snippet,
        )
    cell = sb.selectbox("cell", CELLS, format_func=CELL_LABELS.get, key="why_cell", bind=BIND)
    hidden = int(sb.number_input("hidden_size", 1, 64, 8, key="why_units", bind=BIND))
    steps = int(sb.number_input("num_steps", 2, 60, 10, key="why_steps", bind=BIND))
    stateful = sb.toggle("stateful", value=True, key="why_stateful", bind=BIND)
    seed = int(sb.number_input("seed", 0, 2**31 - 1, 0, key="why_seed", bind=BIND))
    cfg = dict(
        cell=cell,
        batch_size=2,
        num_steps=steps,
        num_features=1,
        hidden_size=hidden,
        num_batches=3,
        stateful=stateful,
        seed=seed,
        signal="sine",
    )
    label = f"a random {CELL_LABELS[cell]}({hidden}), stateful={stateful}, on a sine"
    return Source(synthetic(tuple(sorted(cfg.items()))), label, kind)


def pick_index(label: str, count: int, key: str, default: int = 0, help: str = "") -> int:
    keep_in_range("why", key, 0, max(count - 1, 0))
    return int(
        st.number_input(
            label, 0, max(count - 1, 0), min(default, count - 1), key=key, bind=BIND, help=help
        )
    )


# ----- the questions --------------------------------------------------------------------------


def reach_ui(src: Source) -> None:
    cfg = src.trace.config
    cols = st.columns(2)
    with cols[0]:
        target = pick_index("target step", cfg.num_steps, "target", cfg.num_steps - 1)
    with cols[1]:
        batch = pick_index("batch", cfg.num_batches, "why_batch")
    try:
        # Up to ~1 s on the char model's 512 units (one backward pass per unit).
        with st.spinner("Taking the derivative of every unit back through every step…"):
            reach = analysis.connectivity(src.trace, target, batch)
    except rnnviz.ConfigError as error:  # a layer too wide for the server's memory
        st.error(str(error), icon=":material/warning:")
        return
    st.plotly_chart(figures.reach_heatmap(reach, target), key="fig_reach")
    if src.kind == "task":
        run = src.run
        reaches = {
            CELL_LABELS[c]: analysis.connectivity(pretrained(run.task.name, c).trace(-1), target)
            for c in CELLS
        }
        st.plotly_chart(figures.reach_lines(reaches, target), key="fig_reach_lines")
        first = {k: float(v[:, 0].mean()) for k, v in reaches.items()}
        st.caption(
            "After training, pull of step 0 on step "
            f"{target}: " + ", ".join(f"{k} {v:.1e}" for k, v in first.items()) + "."
        )


def unit_ui(src: Source) -> None:
    cfg = src.trace.config
    cols = st.columns(5)
    with cols[0]:
        unit = pick_index("unit", cfg.hidden_size, "why_unit")
    with cols[1]:
        step = pick_index("step", cfg.num_steps, "why_step", cfg.num_steps // 3)
    with cols[2]:
        value = st.number_input("set it to", -5.0, 5.0, 1.0, step=0.1, key="why_value", bind=BIND)
    with cols[3]:
        keep_in_options("why", "why_state", list(cfg.state_names))
        state = st.selectbox("state", cfg.state_names, key="why_state", bind=BIND)
    with cols[4]:
        sample = pick_index("sample", cfg.batch_size, "why_sample")
    after = analysis.intervene(src.trace, unit, step, float(value), state=state, sample=sample)
    st.plotly_chart(
        figures.intervention(src.trace, after, sample, step, unit, state), key="fig_intervene"
    )
    if src.kind == "task":
        run = src.run
        before_p = _task_output(run, src.trace, src.epoch, sample)
        after_p = _task_output(run, after, src.epoch, sample)
        st.markdown("**What the trained network outputs for this sample**")
        st.table(
            {
                "": ["before", "after"],
                **{
                    name: [f"{a:.3f}", f"{b:.3f}"]
                    for name, a, b in zip(before_p[0], before_p[1], after_p[1], strict=True)
                },
            }
        )
    elif src.kind == "model":
        _model_output_change(src, after, sample)
    elif src.kind == "text":
        n = len(src.text)
        if step + 1 < n:
            before = T.next_char_probs(src.model, src.text, src.trace)[step]
            changed = T.next_char_probs(src.model, src.text, after)[step]
            top = np.argsort(-changed)[:5]
            st.markdown(
                f"**Next-character prediction after {src.text[step]!r} (character {step})**"
            )
            st.table(
                {
                    "character": [repr(src.model.vocab[j]) for j in top],
                    "before": [f"{before[j]:.1%}" for j in top],
                    "after": [f"{changed[j]:.1%}" for j in top],
                }
            )


def _model_output_change(src: Source, after: rnnviz.Trace, sample: int) -> None:
    """The uploaded model's output for the sample before and after the intervention: the
    layers after the traced one run on the changed states, as Keras runs them."""
    from rnnviz.sources.usermodels.models import outputs_with_trace

    mine = src.mine or {}
    if mine.get("model") is None or mine.get("x") is None:
        st.caption("Open the model on the Your model page again to see its output change.")
        return
    model, x, path = mine["model"], mine["x"], mine["path"]
    before = outputs_with_trace(model, x, path, src.trace)
    changed = outputs_with_trace(model, x, path, after)
    if before is None:
        st.caption("The model's output is not shown for a layer inside TimeDistributed.")
        return
    b, a = before[sample].reshape(-1), changed[sample].reshape(-1)
    shape = before.shape[1:]
    names = [", ".join(map(str, np.unravel_index(i, shape))) for i in range(b.size)]
    biggest = np.argsort(-np.abs(a - b), kind="stable")[:12]
    st.markdown(
        f"**What your model outputs for sample {sample}** (output shape {before.shape}; the "
        f"{len(biggest)} entries that changed most)"
    )
    st.table(
        {
            "output entry": [names[i] for i in biggest],
            "before": [f"{b[i]:.4f}" for i in biggest],
            "after": [f"{a[i]:.4f}" for i in biggest],
            "change": [f"{a[i] - b[i]:+.4f}" for i in biggest],
        }
    )


def _task_output(run, trace, epoch: int, sample: int) -> tuple[list[str], np.ndarray]:
    """(names, values) of what the model outputs for a sample: class probabilities, a value."""
    out = run.outputs(trace, epoch)[sample]
    if run.task.kind == "classification":
        if run.task.every_step:
            return [f"depth at last step = {k}" for k in range(out.shape[-1])], out[-1]
        return [f"p(symbol {k})" for k in range(out.shape[-1])], out
    return ["output at last step"], np.atleast_1d(out)[-1:]


def trajectory_ui(src: Source) -> None:
    cfg = src.trace.config
    cols = st.columns(2)
    with cols[0]:
        sample = pick_index("sample", cfg.batch_size, "why_sample")
    with cols[1]:
        three = st.toggle("3-D", key="why_3d", bind=BIND)
    traces = {src.label: src.trace}
    if src.kind == "synthetic":
        other = synthetic(
            tuple(
                sorted({**cfg.to_dict(), "stateful": not cfg.stateful, "reset_before": ()}.items())
            )
        )
        name = "stateful=False" if cfg.stateful else "stateful=True"
        traces = {f"stateful={cfg.stateful}": src.trace, name: other}
        st.caption(
            "Solid and dotted alternate by batch. With stateful=True, each batch's line starts "
            "where the previous one ended; with stateful=False it jumps back to the start."
        )
    n = min(3, cfg.hidden_size)
    result = analysis.pca(list(traces.values()), n=n)
    projected = {label: result.project(t) for label, t in traces.items()}
    starts = {label: result.project_starts(t) for label, t in traces.items()}
    if inbrowser.play_toggle("why_play", "the path drawn step by step"):
        from rnnviz.views import animation_paths

        if three:
            st.caption("The animation draws the first two axes (a 3-D scene would be drawn "
                       "again for every frame: too slow to play).")  # fmt: skip
        stateful = {label: t.config.stateful for label, t in traces.items()}
        fig = animation_paths.trajectory(
            projected, sample, result.explained_variance_ratio, starts=starts, stateful=stateful
        )
        inbrowser.animation_ui(fig, "why_frame", "fig_trajectory_play", "trajectory")
        return
    st.plotly_chart(
        figures.trajectories(
            projected, sample, result.explained_variance_ratio, three_d=three, starts=starts
        ),
        key="fig_trajectory",
    )


def pattern_ui(src: Source) -> None:
    cfg = src.trace.config
    total = cfg.num_batches * cfg.num_steps
    cols = st.columns(4)
    with cols[0]:
        start = pick_index("from step", total, "why_start", 0)
    with cols[1]:
        end = pick_index("to step", total, "why_end", min(total - 1, start + 3))
    with cols[2]:
        threshold = st.number_input(
            "on above", -1.0, 1.0, 0.3, step=0.05, key="why_threshold", bind=BIND
        )
    with cols[3]:
        sample = pick_index("sample", cfg.batch_size, "why_sample")
    flat = analysis._flat(src.trace.h)[sample]
    lo, hi = min(start, end), max(start, end)
    active = np.flatnonzero((flat[lo : hi + 1] > threshold).all(axis=0))
    units = st.multiselect(
        "units (preselected: those on throughout the range)",
        list(range(cfg.hidden_size)),
        default=[int(u) for u in active[:8]],
        key=f"why_units_{lo}_{hi}_{sample}",
    )
    if not units:
        st.info(
            "No unit is above the threshold throughout that range: pick units, widen or lower it."
        )
        return
    if end < start:
        st.warning(f"'to step' ({end}) is before 'from step' ({start}).")
        return
    found = analysis.match(src.trace, units, start, end, float(threshold), sample=sample)
    if not found:
        st.info("The pattern occurs nowhere else.")
        return
    rows = []
    for m in found:
        row = {
            "sample": m.sample,
            "steps": f"{m.start}–{m.end}",
            "pattern units on": m.hits,
            "other units on": m.extra,
            "score": m.score,
        }
        if m.text:
            row["text"] = repr(m.text)
        rows.append(row)
    st.dataframe(rows, key="why_matches")
    if src.kind == "text":
        st.markdown("**In context** (the selection first, then each match, highlighted):")
        ranges = [(start, end), *[(m.start, m.end) for m in found]]
        st.html("".join(_in_context(src.text, a, b) for a, b in ranges))


def _in_context(text: str, start: int, end: int, margin: int = 30) -> str:
    """Returns an HTML line: the range highlighted among its neighbours, all escaped."""
    import html

    def esc(part: str) -> str:
        return html.escape(part.replace("\n", "↵"))

    before = text[max(0, start - margin) : start]
    after = text[end + 1 : end + 1 + margin]
    return (
        '<pre style="margin:0 0 4px 0">'
        + esc(before)
        + '<mark style="background:#ffd54f">'
        + esc(text[start : end + 1])
        + "</mark>"
        + esc(after)
        + "</pre>"
    )


def compare_ui(src: Source) -> None:
    if src.kind == "synthetic":
        cfg = src.trace.config
        a = synthetic(tuple(sorted({**cfg.to_dict(), "stateful": True}.items())))
        b = synthetic(
            tuple(sorted({**cfg.to_dict(), "stateful": False, "reset_before": ()}.items()))
        )
        names = ("stateful=True", "stateful=False")
    elif src.kind == "task":
        run = src.run
        mode = st.radio(
            "compare", ("two cells", "two epochs"), horizontal=True, key="why_compare", bind=BIND
        )
        if mode == "two cells":
            other = st.selectbox(
                "with",
                [c for c in CELLS if c != run.cell],
                format_func=CELL_LABELS.get,
                key="why_other",
            )
            a, b = src.trace, pretrained(run.task.name, other).trace(-1)
            names = (CELL_LABELS[run.cell], CELL_LABELS[other])
        else:
            first = st.slider("earlier epoch", 0, run.epochs_done, 0, key="why_epoch_a")
            a, b = run.trace(int(first)), run.trace(-1)
            names = (f"epoch {first}", f"epoch {run.epochs_done}")
    elif src.kind == "model" and (src.mine or {}).get("run") is not None:
        run, x, path = src.mine["run"], src.mine["x"], src.mine["path"]
        earlier = [e for e in run.epochs if e < run.last] or run.epochs
        if st.session_state.get("why_run_epoch", earlier[0]) not in earlier:  # another run
            del st.session_state["why_run_epoch"]
        first = st.select_slider(
            "earlier epoch", earlier, value=earlier[0], key="why_run_epoch",
            help="Your recorded run at this epoch against its last recorded epoch, on the same "
            "input.",
        )  # fmt: skip
        a, b = run.trace(int(first), path, x), run.trace(run.last, path, x)
        names = (f"epoch {first}", f"epoch {run.last}")
        st.caption(
            "Your layer at two recorded epochs of your training, on the same input: what the "
            "epochs between them changed."
        )
    elif src.kind == "model":
        a, b = src.trace, untrained_twin(src.trace)
        names = ("your weights", "fresh weights (untrained)")
        st.caption(
            "Your layer beside the same layer with the weights Keras would start training "
            "from (its initializers, seed 0), on the same input: what training changed."
        )
    else:
        other = st.selectbox(
            "with",
            [c for c in CELLS if c != src.model.cell],
            format_func=CELL_LABELS.get,
            key="why_other",
        )
        _, b = text_trace(other, src.text)
        a = src.trace
        names = (CELL_LABELS[src.model.cell], CELL_LABELS[other])
    result = analysis.compare(a, b)
    if result.step_difference is not None:
        st.plotly_chart(
            figures.reach_heatmap(
                result.step_difference[0],
                a.config.num_steps - 1,
                title=f"‖h({names[1]}) − h({names[0]})‖ per step, batch 0",
            ).update_traces(colorbar=dict(title=dict(text="log10 distance"))),
            key="fig_compare_steps",
        )
    st.plotly_chart(
        figures.correlation_matrix(result.correlation, result.matching, *names), key="fig_corr"
    )
    if result.pca is not None:
        projected = {names[0]: result.pca.project(a), names[1]: result.pca.project(b)}
        st.plotly_chart(
            figures.trajectories(projected, 0, result.pca.explained_variance_ratio),
            key="fig_compare_pca",
        )


def untrained_twin(trace: rnnviz.Trace) -> rnnviz.Trace:
    """The same layer and input with freshly initialised weights (seed 0)."""
    from rnnviz.core.config import layer_limits
    from rnnviz.core.params import make_weights
    from rnnviz.core.run import trace_weights

    config = dict(trace.layer_config or {})
    mask = trace.mask
    if mask is not None and config.get("go_backwards"):
        mask = mask[..., ::-1]  # trace_weights takes the mask in the input's order
    with layer_limits():  # a user's layer may be wider than the Explore page's limits
        fresh = make_weights(dataclasses.replace(trace.config, seed=0))
    return trace_weights(
        trace.config.cell,
        config,
        fresh,
        trace.inputs,
        trace.initial_states[0],
        trace.config.stateful,
        mask=mask,
    )


def main() -> None:
    apply_link("why", LINK)
    inbrowser.mount()
    notices = st.container()  # filled last: widgets below may add to the link's notice
    question = st.sidebar.radio(
        "question", list(QUESTIONS), format_func=QUESTIONS.get, key="question", bind=BIND
    )
    src = source_ui()
    st.title(QUESTIONS[question])
    st.caption(f"On {src.label}.")
    st.markdown(EXPLAIN[question])
    {
        "reach": reach_ui,
        "unit": unit_ui,
        "trajectory": trajectory_ui,
        "pattern": pattern_ui,
        "compare": compare_ui,
    }[question](src)
    with notices:
        link_notices_ui("why")


main()
