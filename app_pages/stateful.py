"""The Stateful page: how batches must be laid out for `stateful=True`, what goes wrong
otherwise, and why the gradient stops at a batch boundary while the state does not."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st

from app_pages import inbrowser
from app_pages.runtime import apply_link, cached, keep_in_range, link_notices_ui
from app_pages.shared import job_status_ui
from rnnviz.core.config import ConfigError
from rnnviz.serving.jobs import Job, default_registry
from rnnviz.sources.stateful.layout import (
    KIND_TITLES,
    KINDS,
    LAYOUT_LIMITS,
    check_stream,
    describe,
    layout,
)
from rnnviz.sources.stateful.streams import SWITCH
from rnnviz.sources.stateful.training import (
    StatefulRun,
    boundary_gradient,
    load_stateful,
    train_stateful,
)
from rnnviz.views import figures
from rnnviz.views.codegen import stateful_script
from rnnviz.views.urlstate import choice_field, flag_field, text_field, whole_field

BIND = "query-params"
TASK = SWITCH
#: How many held-out batches the carried-state view follows.
FOLLOW_BATCHES = 8
#: The largest .npy a user may upload for "Your stream" (bytes).
MAX_UPLOAD = 16 * 2**20
LINK = {
    "kind": choice_field(KIND_TITLES, "continuation", "layout"),
    "shuffle_epoch": whole_field(0, 99, 0, "epoch"),
    "st_len": whole_field(*LAYOUT_LIMITS["stream_len"], 400, "stream_len"),
    "st_batch": whole_field(*LAYOUT_LIMITS["batch_size"], TASK.batch_size, "batch_size"),
    "st_window": whole_field(*LAYOUT_LIMITS["window"], TASK.window, "window"),
    "st_row": whole_field(0, 255, 0, "row"),
    "st_unit": whole_field(0, 127, "the unit that tracks the switch", "unit"),
    "st_boundary": whole_field(0, 10_000, 3, "boundary"),
    "yours_len": whole_field(*LAYOUT_LIMITS["stream_len"], 1000),
    "yours_features": whole_field(*LAYOUT_LIMITS["num_features"], 1, "num_features"),
    "yours_batch": whole_field(*LAYOUT_LIMITS["batch_size"], 8),
    "yours_window": whole_field(*LAYOUT_LIMITS["window"], 25),
    "st_play": flag_field(False, "play"),
    "st_frame": text_field(12),  # the animation's step: checked against its frames
}


def shipped() -> dict[str, StatefulRun]:
    """The four shipped networks, one per layout (loaded once per server)."""
    return {kind: cached("stateful_runs", kind, lambda k=kind: load_stateful(k)) for kind in KINDS}


def runs() -> dict[str, StatefulRun]:
    """This session's networks: the shipped ones, or the ones it retrained."""
    return st.session_state.get("stateful_runs") or shipped()


def trace_of(run: StatefulRun, kind: str, batches: int):
    """The run's held-out trace in a layout (computed once per server)."""
    key = (run.token, run.epochs_done, kind, batches)
    return cached("stateful_traces", key, lambda: run.trace(-1, kind, batches))


def evaluation(run: StatefulRun, kind: str) -> dict:
    key = (run.token, run.epochs_done, kind)
    return cached("stateful_eval", key, lambda: run.evaluate(-1, kind))


# ----- the layout, drawn ---------------------------------------------------------------------

#: The three classic questions, one click each: the layout and sizes that show the answer.
PRESETS = {
    "The Keras FAQ's layout": dict(kind="continuation", st_len=200, st_batch=4, st_window=10),
    "The usual first attempt: reshape, batch in order": dict(
        kind="in_order", st_len=200, st_batch=4, st_window=10
    ),
    "fit's default shuffle=True": dict(kind="shuffled", st_len=200, st_batch=4, st_window=10),
}


def apply_preset(values: dict) -> None:
    st.session_state.update(values)


def presets_ui() -> None:
    cols = st.columns(len(PRESETS))
    for col, (label, values) in zip(cols, PRESETS.items(), strict=True):
        col.button(label, key=f"preset_{values['kind']}", on_click=apply_preset, args=(values,),
                   width="stretch")  # fmt: skip


def layout_ui() -> None:
    st.header("1 · The layout, drawn")
    presets_ui()
    sb = st.sidebar
    sb.subheader("Layout")
    kind = sb.radio("layout", KINDS, format_func=KIND_TITLES.get, key="kind", bind=BIND)
    epoch = 0
    if kind == "shuffled":
        epoch = int(sb.number_input("epoch (the order fit draws)", 0, 99, 0, key="shuffle_epoch",
                                    bind=BIND))  # fmt: skip
    length = int(sb.number_input("stream length", *LAYOUT_LIMITS["stream_len"], 400,
                                 key="st_len", bind=BIND))  # fmt: skip
    batch = int(sb.number_input("batch_size", *LAYOUT_LIMITS["batch_size"], TASK.batch_size,
                                key="st_batch", bind=BIND))  # fmt: skip
    window = int(sb.number_input("window", *LAYOUT_LIMITS["window"], TASK.window,
                                 key="st_window", bind=BIND))  # fmt: skip
    try:
        lay = layout(length, batch, window, kind, seed=0, epoch=epoch)
    except ConfigError as error:
        st.error(str(error))
        return
    st.markdown(
        f"A stream of {length:,} steps cut for `fit`, as *{KIND_TITLES[kind]}* does it: "
        + describe(lay, length)
        + f" (The networks below train on {TASK.stream_len:,} steps in the same way.)"
    )
    st.plotly_chart(figures.layout_grid(lay.index, lay.continues, length), key="fig_layout_grid")
    st.plotly_chart(figures.layout_stream(lay.index, length), key="fig_layout_stream")


# ----- trained side by side ------------------------------------------------------------------


def start_training() -> None:
    def work(job: Job) -> dict[str, StatefulRun]:
        done: dict[str, StatefulRun] = {}
        for kind in KINDS:
            if job.should_stop():
                break

            def publish(run: StatefulRun, kind: str = kind) -> None:
                job.publish({**done, kind: run})

            done[kind] = train_stateful(TASK, kind, on_epoch=publish, should_stop=job.should_stop)
            job.publish(dict(done))
        return done

    old = st.session_state.get("stateful_job")
    if old is not None and old.active:
        old.stop()
    st.session_state["stateful_job"] = default_registry().submit(work, label="stateful layouts")


@st.fragment(run_every=1.0)
def live_training() -> None:
    job: Job | None = st.session_state.get("stateful_job")
    if job is None:
        return
    if job.active:
        job_status_ui(job, "Training the four layouts")
        done = {k: r for k, r in (job.result or {}).items() if r.epochs_done}
        if done:
            st.plotly_chart(
                figures.training_curves({k: r.history for k, r in done.items()}, "accuracy"),
                key="fig_stateful_live",
            )
        return
    st.session_state.pop("stateful_job")
    if job.status == "failed":
        st.session_state["stateful_error"] = job.error
    elif job.result and len(job.result) == len(KINDS):
        st.session_state["stateful_runs"] = job.result
    st.rerun()


def trained_ui() -> None:
    st.header("2 · Trained side by side")
    nets = runs()
    first = next(iter(nets.values()))
    source = "retrained here" if "stateful_runs" in st.session_state else "shipped checkpoints"
    st.caption(
        f"An LSTM({first.hidden_size}) per layout, batch {first.batch_size} × window "
        f"{first.window}, {first.epochs_done} epochs, reset_state() every epoch, seed "
        f"{first.seed} ({source}). Validation: a held-out stream of {TASK.heldout_len:,} steps."
    )
    left, right = st.columns([1, 3])
    left.button("Train all four again", key="stateful_train", on_click=start_training,
                help="The same settings, trained on this server (about 2 minutes).")  # fmt: skip
    if "stateful_error" in st.session_state:
        right.error(f"Training failed: {st.session_state['stateful_error']}")
    if st.session_state.get("stateful_job") is not None:  # polls only while there is a job
        live_training()
    st.plotly_chart(
        figures.training_curves({k: r.history for k, r in nets.items()}, "accuracy"),
        key="fig_stateful_curves",
    )
    results = {
        kind: {
            "right": evaluation(run, "continuation")["accuracy"],
            "own": evaluation(run, "continuation" if kind == "stateless" else kind)["accuracy"],
        }
        for kind, run in nets.items()
    }
    st.plotly_chart(figures.accuracy_by_order(results), key="fig_stateful_accuracy")
    best = results["continuation"]["right"]
    worst = max(v["right"] for k, v in results.items() if k != "continuation")
    st.markdown(
        f"Measured here: the continuation layout's network answers **{best:.1%}** of the "
        f"held-out steps right; the best of the other three **{worst:.1%}** "
        f"({(best - worst) * 100:.0f} points below), even when fed in the right order: their "
        "weights never learnt to keep the switch, because their training never carried it."
    )
    by_position = {k: evaluation(r, "continuation")["by_position"] for k, r in nets.items()}
    st.plotly_chart(figures.accuracy_by_position(by_position), key="fig_stateful_position")


# ----- the carried state ---------------------------------------------------------------------


def best_unit(run: StatefulRun) -> int:
    """The unit whose h follows the switch best (|Pearson r| on the held-out batches)."""
    from rnnviz import analysis

    trace = run.trace(-1, "continuation", batches=FOLLOW_BATCHES)
    mode = run.streams[1].y[run.layout("continuation", "heldout").index[:FOLLOW_BATCHES]]
    return int(analysis.rank_units(trace, mode)[0][0])


def carried_ui() -> None:
    st.header("3 · The carried state")
    nets = runs()
    right, wrong = nets["continuation"], nets["in_order"]
    cols = st.columns(2)
    keep_in_range("stateful", "st_row", 0, right.batch_size - 1)
    row = int(cols[0].number_input("row", 0, right.batch_size - 1, 0, key="st_row", bind=BIND))
    default = cached("stateful_unit", (right.token, right.epochs_done), lambda: best_unit(right))
    keep_in_range("stateful", "st_unit", 0, right.hidden_size - 1)
    unit = int(cols[1].number_input("unit", 0, right.hidden_size - 1, default, key="st_unit",
                                    bind=BIND))  # fmt: skip
    # (layout name, chart label, trace, the held-out layout it was fed in)
    shown = [
        ("continuation", "continuation network, continuation order",
         trace_of(right, "continuation", FOLLOW_BATCHES), right.layout("continuation", "heldout")),
        ("in_order", "in_order network, its own order",
         trace_of(wrong, "in_order", FOLLOW_BATCHES), wrong.layout("in_order", "heldout")),
    ]  # fmt: skip
    mode = right.streams[1].y
    traces = {label: trace for _, label, trace, _ in shown}
    targets = {label: mode[lay.index[:FOLLOW_BATCHES, row]] for _, label, _, lay in shown}
    playing = inbrowser.play_toggle("st_play", "the state carried from batch to batch")
    if not playing:
        st.plotly_chart(figures.carried_state(traces, row, unit, targets=targets),
                        key="fig_carried")  # fmt: skip
    rows = []
    said: dict[str, list[str]] = {name: [] for name, _, _, _ in shown}  # per boundary
    for k in range(FOLLOW_BATCHES - 1):
        for name, _, trace, lay in shown:
            gap = max(
                float(np.abs(start[row] - end[row]).max())
                for start, end in zip(trace.initial_states[k + 1], trace.final_states[k],
                                      strict=True)
            )  # fmt: skip
            end, start = lay.index[k, row, -1], lay.index[k + 1, row, 0]
            said[name].append(
                "goes on in its stream (its own state)" if bool(lay.continues[k, row])
                else f"jumps from step {end} to {start} (another part's state)"
            )  # fmt: skip
            rows.append({
                "boundary": f"batch {k} → {k + 1}",
                "layout": name,
                "does row continue the stream?": "yes" if bool(lay.continues[k, row]) else
                f"no: step {end} → step {start}",
                "largest |start − previous end| of the state": gap,
                "switch at the end / at the start": f"{int(mode[end])} / {int(mode[start])}",
            })  # fmt: skip
    if playing:
        from rnnviz.views import animation_paths

        fig = animation_paths.carried(traces, row, unit, targets=targets, boundaries=said)
        inbrowser.animation_ui(fig, "st_frame", "fig_carried_play", "carried_state")
    st.dataframe(rows, key="stateful_boundaries", hide_index=True)
    largest = max(r["largest |start − previous end| of the state"] for r in rows)
    carry = (
        "Both layers carry their state exactly (start = previous end, a largest difference of 0)."
        if largest == 0
        else f"The carried states differ from the previous ends by up to {largest:.3g}."
    )
    st.caption(
        f"{carry} In the continuation order the carried switch is the right one; in stream "
        f"order row {row} jumps {right.batch_size} windows ahead at every boundary, so the "
        "state it carries belongs to another part of the stream."
    )


# ----- the gradient stops, the state does not ------------------------------------------------


def gradient_ui() -> None:
    st.header("4 · The gradient stops, the state does not")
    run = runs()["continuation"]
    last = run.layout("continuation", "heldout").num_batches - 2
    keep_in_range("stateful", "st_boundary", 0, last)
    k = int(st.number_input("boundary after batch k", 0, last, 3, key="st_boundary", bind=BIND))
    result = cached("stateful_gradient", (run.token, run.epochs_done, k),
                    lambda: boundary_gradient(run, batch=k))  # fmt: skip
    st.plotly_chart(
        figures.boundary_gradient_bars(result["fit"], result["state"]), key="fig_gradient"
    )
    st.markdown(
        f"Batch {k + 1}'s loss depends on batch {k}'s inputs through the carried state "
        f"(gradient size {result['norm_state']:.3g}), but `fit` differentiates one batch at a "
        f"time, so the gradient it uses to learn is **{result['norm_fit']:.3g}**: a stateful "
        "layer carries its state across the boundary, and the learning signal stops there "
        "(truncated backpropagation through time)."
    )


# ----- your stream ---------------------------------------------------------------------------


def yours_ui() -> None:
    st.header("5 · Your stream")
    cols = st.columns(4)
    length = int(cols[0].number_input("stream length", *LAYOUT_LIMITS["stream_len"], 1000,
                                      key="yours_len", bind=BIND))  # fmt: skip
    features = int(cols[1].number_input("features", *LAYOUT_LIMITS["num_features"], 1,
                                        key="yours_features", bind=BIND))  # fmt: skip
    batch = int(cols[2].number_input("batch_size", *LAYOUT_LIMITS["batch_size"], 8,
                                     key="yours_batch", bind=BIND))  # fmt: skip
    window = int(cols[3].number_input("window", *LAYOUT_LIMITS["window"], 25, key="yours_window",
                                      bind=BIND))  # fmt: skip
    upload = st.file_uploader(
        "or upload your stream as .npy, shape (N,) or (N, features)",
        type=["npy"],
        key="yours_npy",
        max_upload_size=MAX_UPLOAD // 2**20,
    )
    if upload is not None:
        try:
            data = upload.getvalue()
            if len(data) > MAX_UPLOAD:
                raise ConfigError(
                    "stream", f"{len(data):,} bytes", f"must be at most {MAX_UPLOAD:,}"
                )
            stream = check_stream(np.load(io.BytesIO(data), allow_pickle=False))
            length, features = stream.shape
            st.success(f"{upload.name}: {length:,} steps × {features} features")
        except (ConfigError, ValueError, OSError) as error:
            st.error(f"{upload.name} is refused: {error}")
    try:
        lay = layout(length, batch, window, "continuation")
    except ConfigError as error:
        st.error(str(error))
        return
    st.markdown(describe(lay, length))
    st.plotly_chart(figures.layout_grid(lay.index, lay.continues, length), key="fig_yours_grid")
    code = stateful_script(features, batch, window)
    st.code(code, language="python")
    st.download_button("Download the script", code, "stateful_training.py", key="yours_code")


def main() -> None:
    apply_link("stateful", LINK)
    inbrowser.mount()
    notices = st.container()
    st.title("Stateful, done right")
    st.markdown(
        "With `stateful=True`, Keras hands row *i*'s final state of one batch to row *i* of the "
        "next. The Keras FAQ's rule follows: **sample i of batch k+1 must be the continuation "
        "of sample i of batch k**. " + TASK.description
    )
    layout_ui()
    trained_ui()
    carried_ui()
    gradient_ui()
    yours_ui()
    with notices:
        link_notices_ui("stateful")


main()
