"""The Train page: train a network on a built-in task, watch it learn, scrub through its epochs."""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from app_pages import inbrowser
from app_pages.runtime import apply_link, cached, keep_in_range, link_notices_ui
from app_pages.shared import job_status_ui
from rnnviz import analysis
from rnnviz.core.config import CELLS
from rnnviz.serving.jobs import Job, default_registry
from rnnviz.sources.training.run import (
    TRAIN_LIMITS,
    Settings,
    TrainingRun,
    checkpoint_stem,
    load_pretrained,
    read_manifest,
    train,
)
from rnnviz.sources.training.tasks import TASKS, Task
from rnnviz.views import figures
from rnnviz.views.urlstate import CELL_LABELS, choice_field, flag_field, text_field, whole_field

BIND = "query-params"
#: Every parameter a link to this page may set (read by rnnviz.views.urlstate.read_link).
LINK = {
    "task": choice_field({n: t.title for n, t in TASKS.items()}, "remember"),
    "train_cell": choice_field(CELL_LABELS, "lstm", "cell"),
    "train_units": whole_field(*TRAIN_LIMITS["hidden_size"], "the task's", "units", "hidden_size"),
    "train_epochs": whole_field(*TRAIN_LIMITS["epochs"], "the task's", "epochs"),
    "train_seed": whole_field(*TRAIN_LIMITS["seed"], 0, "seed"),
    "epoch": whole_field(0, TRAIN_LIMITS["epochs"][1], "the last"),
    "train_play": flag_field(False, "play"),
    "train_frame": text_field(12),  # the animation's epoch: checked against its frames
    "train_steps_play": flag_field(False),
    "train_step": text_field(12),  # that animation's step: checked against its frames
}
#: Trained runs a session keeps, newest last (each a few hundred kB).
MAX_SESSION_RUNS = 6
#: Validation samples the unit finder correlates over.
FINDER_SAMPLES = 64


def settings_ui() -> Settings:
    """Returns the training the sidebar controls describe."""
    sb = st.sidebar
    sb.subheader("Task and network")
    task = sb.selectbox(
        "task",
        list(TASKS),
        format_func=lambda name: TASKS[name].title,
        key="task",
        bind=BIND,
        help="A built-in sequence task; its description is on the page.",
    )
    cell = sb.selectbox(
        "cell",
        CELLS,
        format_func=CELL_LABELS.get,
        key="train_cell",
        bind=BIND,
        help="The recurrent layer: keras.layers.LSTM, GRU or SimpleRNN.",
    )
    values = {}
    defaults = {"hidden_size": TASKS[task].hidden_size, "epochs": TASKS[task].epochs, "seed": 0}
    helps = {
        "hidden_size": "The layer's units: how many numbers its state holds.",
        "epochs": "Passes over the training samples.",
        "seed": "Drives the samples and the initial weights: same seed, same training.",
    }
    for name, key in (
        ("hidden_size", "train_units"),
        ("epochs", "train_epochs"),
        ("seed", "train_seed"),
    ):
        lo, hi = TRAIN_LIMITS[name]
        values[name] = int(
            sb.number_input(
                name,
                min_value=lo,
                max_value=hi,
                value=defaults[name],
                step=1,
                key=key,
                bind=BIND,
                help=helps[name] + f" Allowed: {lo}–{hi}.",
            )
        )
    return Settings(task, cell, **values)


# ----- runs: pretrained (shared, read-only) and trained in this session -------------------


def pretrained(task: str, cell: str) -> TrainingRun:
    """Returns a shipped checkpoint's run; shared by all sessions, never modified."""
    return cached(
        "pretrained runs",
        (task, cell),
        lambda: load_pretrained(task, cell),
        "Loading the pretrained network…",
    )


def pretrained_settings(task: str, cell: str) -> Settings | None:
    entry = read_manifest().get("tasks", {}).get(checkpoint_stem(task, cell))
    if entry is None:
        return None
    return Settings(task, cell, entry["hidden_size"], entry["epochs"], entry["seed"])


def session_runs() -> dict[Settings, TrainingRun]:
    return st.session_state.setdefault("train_runs", {})


def keep_run(run: TrainingRun) -> None:
    runs = session_runs()
    key = run.settings
    runs.pop(key, None)
    runs[key] = run
    while len(runs) > MAX_SESSION_RUNS:
        runs.pop(next(iter(runs)))


def run_for(settings: Settings) -> TrainingRun | None:
    """Returns the run of these settings: trained in this session, or pretrained."""
    run = session_runs().get(settings)
    if run is not None:
        return run
    if pretrained_settings(settings.task, settings.cell) == settings:
        return pretrained(settings.task, settings.cell)
    return None


# ----- background training --------------------------------------------------------------


def start_training(settings: Settings) -> None:
    def work(job: Job) -> TrainingRun:
        return train(
            settings.task,
            settings.cell,
            hidden_size=settings.hidden_size,
            epochs=settings.epochs,
            seed=settings.seed,
            on_epoch=job.publish,
            should_stop=job.should_stop,
        )

    old = st.session_state.get("train_job")
    if old is not None and old.active:
        old.stop()
    st.session_state["train_job"] = default_registry().submit(work, label=settings.label)


def start_comparison(settings: Settings) -> None:
    def work(job: Job) -> dict[str, TrainingRun]:
        done: dict[str, TrainingRun] = {}
        for cell in CELLS:
            if job.should_stop():
                break

            def publish(run: TrainingRun, cell: str = cell) -> None:
                job.publish({**done, cell: run})

            done[cell] = train(
                settings.task,
                cell,
                hidden_size=settings.hidden_size,
                epochs=settings.epochs,
                seed=settings.seed,
                on_epoch=publish,
                should_stop=job.should_stop,
            )
            job.publish(dict(done))
        return done

    old = st.session_state.get("compare_job")
    if old is not None and old.active:
        old.stop()
    st.session_state["compare_job"] = default_registry().submit(work, label="comparison")


def compare_pretrained(settings: Settings) -> bool:
    """Shows the shipped comparison when the settings are the checkpoints'; True if so."""
    for cell in CELLS:
        shipped = pretrained_settings(settings.task, cell)
        if shipped is None or shipped != dataclasses.replace(settings, cell=cell):
            return False
    st.session_state["comparison"] = {cell: pretrained(settings.task, cell) for cell in CELLS}
    return True


@st.fragment(run_every=1.0)
def live_training() -> None:
    """Redrawn every second while a training runs: progress and the curves so far."""
    job: Job | None = st.session_state.get("train_job")
    if job is None:
        return
    if job.active:
        job_status_ui(job, "Training")
        run = job.result
        if run is not None and run.epochs_done:
            st.plotly_chart(
                figures.training_curves({CELL_LABELS[run.cell]: _history(run)}, run.metric_name),
                key="fig_live_curves",
            )
        return
    st.session_state.pop("train_job")
    if job.status == "failed":
        st.session_state["train_error"] = job.error
    elif job.result is not None and job.result.epochs_done:
        keep_run(job.result)
        st.session_state["epoch"] = job.result.epochs_done
    st.rerun()


@st.fragment(run_every=1.0)
def live_comparison() -> None:
    job: Job | None = st.session_state.get("compare_job")
    if job is None:
        return
    if job.active:
        job_status_ui(job, "Comparison")
        runs = job.result or {}
        histories = {CELL_LABELS[c]: _history(r) for c, r in runs.items() if r.epochs_done}
        if histories:
            metric = next(iter(runs.values())).metric_name
            st.plotly_chart(figures.training_curves(histories, metric), key="fig_live_compare")
        return
    st.session_state.pop("compare_job")
    if job.status == "failed":
        st.session_state["train_error"] = job.error
    elif job.result:
        st.session_state["comparison"] = job.result
    st.rerun()


def _history(run: TrainingRun) -> dict[str, list[float]]:
    n = run.epochs_done
    return {k: v[:n] for k, v in run.history.items()}


# ----- what a trained run shows -----------------------------------------------------------


def trace_at(run: TrainingRun, epoch: int, samples: int):
    """The run's trace at an epoch on its first `samples` validation samples (memoised)."""
    memo = st.session_state.setdefault("trace_memo", {})
    key = (id(run), epoch, samples)
    if key not in memo:
        if len(memo) > 32:
            memo.clear()
        memo[key] = run.trace(epoch, run.validation.x[:samples])
    return memo[key]


def describe_prediction(run: TrainingRun, epoch: int, sample: int) -> str:
    task = run.task
    predicted = run.predict(epoch, run.validation.x[sample : sample + 1])[0]
    target = run.validation.y[sample]
    if task.kind == "classification":
        if task.every_step:
            right = float((predicted.argmax(-1) == target).mean())
            return f"The network gets {right:.0%} of this sample's steps right at epoch {epoch}."
        return (
            f"Epoch {epoch}: the network answers **{int(predicted.argmax())}** "
            f"(probability {predicted.max():.2f}); the right answer is **{int(target)}**."
        )
    error = float(np.abs(predicted - target).mean())
    return f"Epoch {epoch}: mean absolute error on this sample {error:.3f}."


@st.fragment
def epochs_ui(run: TrainingRun) -> None:
    """The epoch scrubber and the state pictures of the chosen epoch.

    A fragment: moving the slider reruns only this part, not the curves above it.
    """
    task = run.task
    st.subheader("Scrub through the epochs")
    cols = st.columns([3, 1])
    with cols[0]:
        keep_in_range("train", "epoch", 0, run.epochs_done)
        epoch = st.slider(
            "epoch (0 = before training)",
            0,
            run.epochs_done,
            value=run.epochs_done,
            key="epoch",
            bind=BIND,
            help="The network's weights after this many epochs. Move it to watch structure appear.",
        )
    with cols[1]:
        sample = st.number_input("validation sample", 0, FINDER_SAMPLES - 1, 0, key="train_sample")
    epoch = min(int(epoch), run.epochs_done)
    sample = int(sample)
    metric = run.history["val_metric"][epoch - 1] if epoch else None
    st.caption(
        describe_prediction(run, epoch, sample)
        + (
            f" Validation {run.metric_name} after this epoch: {metric:.3f}."
            if metric is not None
            else ""
        )
    )
    trace = trace_at(run, epoch, FINDER_SAMPLES)
    states, gates, finder = st.tabs(["States", "Gates", "Which unit tracks what?"])
    with states:
        if inbrowser.play_toggle("train_play", "the epochs, 0 (before training) → the last"):
            epochs_animation_ui(run, sample)
        elif inbrowser.play_toggle("train_steps_play", "step by step, at the epoch above"):
            steps_animation_ui(run, trace, epoch, sample)
        else:
            st.plotly_chart(figures.state_heatmaps(trace, sample), key="fig_train_states")
    with gates:
        if trace.gates:
            st.caption("σ gates on a 0..1 scale; the tanh candidate on a scale centred on 0.")
            st.plotly_chart(figures.gate_heatmaps(trace, sample), key="fig_train_gates")
        else:
            st.info("SimpleRNN has no gates: h_t = tanh(W x_t + U h_{t−1} + b).")
    with finder:
        latent = run.validation.latent[:FINDER_SAMPLES]
        ranked = analysis.rank_units(trace, latent)
        st.markdown(
            f"Units ranked by how closely their h follows **{task.latent_name}** "
            f"(|Pearson r| over {FINDER_SAMPLES} validation samples, epoch {epoch}):"
        )
        top = ranked[:3]
        st.table([{"unit": u, "r": round(r, 3), "|r|": round(abs(r), 3)} for u, r in top])
        unit = st.radio(
            "unit to plot",
            [u for u, _ in top],
            horizontal=True,
            key="finder_unit",
            format_func=lambda u: f"unit {u}",
        )
        st.plotly_chart(
            figures.unit_vs_latent(trace, latent, int(unit), sample, task.latent_name),
            key="fig_finder",
        )


def epochs_animation_ui(run: TrainingRun, sample: int) -> None:
    """h of one validation sample at every epoch, as frames the browser plays."""
    from rnnviz.views import animation

    memo = st.session_state.setdefault("train_animations", {})
    key = (id(run), run.epochs_done, sample)
    if key not in memo:
        memo.clear()  # one animation per session: the run's, at its current epoch count
        x = run.validation.x[:FINDER_SAMPLES]
        with st.spinner("Tracing every epoch (once; then your browser plays them)…"):
            traces = {e: run.trace(e, x) for e in range(run.epochs_done + 1)}
        metric = run.metric_name
        notes = {e: f"validation {metric} after this epoch: {run.history['val_metric'][e - 1]:.3f}"
                 for e in range(1, run.epochs_done + 1)}  # fmt: skip
        notes[0] = "before training"
        memo[key] = animation.epochs(traces, sample, "h", notes)
    inbrowser.animation_ui(memo[key], "train_frame", "fig_train_play", "epochs")


def steps_animation_ui(run: TrainingRun, trace, epoch: int, sample: int) -> None:
    """The network at one epoch, step by step: the States animation of Explore on one
    validation sample (a cursor over h and c, the vectors at the cursor and x_t)."""
    from rnnviz.views import animation

    memo = st.session_state.setdefault("train_step_animations", {})
    key = (id(run), run.epochs_done, epoch, sample)
    if key not in memo:
        memo.clear()  # one per session: the run's, at the chosen epoch and sample
        memo[key] = animation.states(trace, sample)
    inbrowser.animation_ui(memo[key], "train_step", "fig_train_steps_play", "steps")


def comparison_ui(task: Task) -> None:
    runs: dict[str, TrainingRun] | None = st.session_state.get("comparison")
    if not runs or next(iter(runs.values())).task.name != task.name:
        return
    st.subheader("LSTM vs GRU vs SimpleRNN, same task, same seed")
    metric = task.metric_name
    st.plotly_chart(
        figures.training_curves({CELL_LABELS[c]: _history(r) for c, r in runs.items()}, metric),
        key="fig_compare_curves",
    )
    left, right = st.columns([1, 2])
    with left:
        st.plotly_chart(
            figures.final_metric_bars(
                {CELL_LABELS[c]: r.final() for c, r in runs.items()}, metric, task.target[0]
            ),
            key="fig_compare_bars",
        )
    with right:
        traces = {CELL_LABELS[c]: trace_at(r, -1, 8) for c, r in runs.items()}
        st.plotly_chart(figures.state_heatmap_row(traces, 0), key="fig_compare_states")
    if task.name == "remember":
        st.caption(
            "Read the heatmaps left to right along a row: a unit that keeps its colour for all "
            "30 steps is holding the first symbol. The SimpleRNN's state is rewritten by every "
            "distractor, so by the last step the first symbol is mostly gone."
        )


def main() -> None:
    apply_link("train", LINK)
    inbrowser.mount()
    notices = st.container()  # filled last: widgets below may add to the link's notice
    settings = settings_ui()
    task = TASKS[settings.task]
    st.title(f"Train: {task.title}")
    st.markdown(task.description)
    st.caption(
        f"Solved when: {task.target[1]}. Each sample: {task.num_steps} steps × "
        f"{task.num_features} features; {task.num_train:,} training and {task.num_val} "
        "validation samples. Keras `model.fit` with Adam, on this server's CPU."
    )
    b1, b2, b3 = st.columns(3)
    b1.button(
        f"Train {CELL_LABELS[settings.cell]}",
        key="train_button",
        type="primary",
        on_click=start_training,
        args=(settings,),
        width="stretch",
    )
    b2.button(
        "Compare LSTM, GRU and SimpleRNN",
        key="compare_button",
        on_click=lambda: compare_pretrained(settings) or start_comparison(settings),
        help="Pretrained when the settings are the shipped ones; otherwise trains all three.",
        width="stretch",
    )
    shipped = pretrained_settings(settings.task, settings.cell)
    if shipped is not None and shipped != settings:
        b3.button(
            "Use the pretrained settings",
            key="pretrained_button",
            on_click=_use_settings,
            args=(shipped,),
            help=f"Loads the shipped checkpoint: {shipped.label}.",
            width="stretch",
        )
    error = st.session_state.pop("train_error", None)
    if error:
        st.error(f"Training failed: {error}")
    if st.session_state.get("train_job") is not None:
        live_training()
    if st.session_state.get("compare_job") is not None:
        live_comparison()
    run = run_for(settings)
    if run is None:
        if st.session_state.get("train_job") is None:
            st.info(
                f"No network has been trained with these settings yet ({settings.label}). "
                "Press **Train** — it takes a few seconds.",
                icon=":material/touch_app:",
            )
    else:
        st.subheader("Learning curves")
        source = "trained here" if settings in session_runs() else "pretrained checkpoint"
        stopped = " (stopped early)" if run.stopped else ""
        st.caption(
            f"{settings.label} — {source}{stopped}: {run.epochs_done} epochs in "
            f"{sum(run.seconds):.1f} s of training, final validation {run.metric_name} "
            f"{run.final():.3f}."
        )
        st.plotly_chart(
            figures.training_curves({CELL_LABELS[run.cell]: _history(run)}, run.metric_name),
            key="fig_curves",
        )
        epochs_ui(run)
    comparison_ui(task)
    with notices:
        link_notices_ui("train")


def _use_settings(settings: Settings) -> None:
    st.session_state["train_units"] = settings.hidden_size
    st.session_state["train_epochs"] = settings.epochs
    st.session_state["train_seed"] = settings.seed


main()
