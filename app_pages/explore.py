"""The Explore page: a random Keras layer on a synthetic signal, controls in the sidebar, one view
at a time, every number from Keras."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import rnnviz
from app_pages import inbrowser
from app_pages.runtime import cached, forget_link_values, link_notices_ui
from rnnviz.core.config import CELLS, INITIAL_STATES, LIMITS, SIGNALS
from rnnviz.views import browser, export, figures
from rnnviz.views.checks import answer_shapes, keras_variable_outcome, return_checks
from rnnviz.views.presets import PRESETS, PRESETS_BY_KEY
from rnnviz.views.urlstate import CELL_LABELS, VIEW_LABELS, VIEWS, read_query

BIND = "query-params"  # every control lives in the URL: a link restores the view exactly
HELP = {
    "cell": "The Keras layer: keras.layers.LSTM, GRU or SimpleRNN.",
    "batch_size": "Samples per batch: the first axis of the (batch, steps, features) input.",
    "num_steps": "Timesteps per batch: the second input axis.",
    "num_features": "Input features per timestep: the third input axis.",
    "hidden_size": "The layer's `units`: h_t (and c_t) have this many values per sample.",
    "num_batches": "How many consecutive batches are fed to the same layer, in order.",
    "return_sequences": "Return h_t for every step (batch, steps, units), not only the last.",
    "return_state": "Also return the final states: [output, state_h, state_c] for LSTM.",
    "stateful": "Row i of batch k+1 starts from row i's final state of batch k.",
    "signal": "The input series; each sample row differs and continues across batches.",
    "initial_state": "The state batch 0 starts from (every batch, when not stateful).",
    "seed": "Drives the weights, random inputs and a random initial state.",
    "reset_after": "GRU only: apply the reset gate after the recurrent matmul (Keras default).",
    "reset_before": "Stateful only: call layer.reset_state() before these batches "
    "(indices from 0: 2 is the third batch).",
}
DEFAULTS = rnnviz.RunConfig()


def apply_preset(key: str) -> None:
    """Sets every control to the preset's configuration and opens its view."""
    preset = PRESETS_BY_KEY[key]
    for name, value in preset.config.to_dict().items():
        st.session_state[name] = value
    st.session_state["view"] = preset.view
    # The question stays on the page while the user changes controls, and in the URL, so a
    # teacher's shared link opens with it (issue 12).
    st.session_state["preset_question"] = preset.key
    st.query_params["preset"] = preset.key


def hide_question() -> None:
    st.session_state["preset_question"] = None
    st.query_params.pop("preset", None)


def controls_ui() -> rnnviz.RunConfig | None:
    """Returns the configuration the sidebar controls describe, or None after showing why not."""
    sb = st.sidebar
    sb.subheader("Classic questions, one click")
    for preset in PRESETS:
        sb.button(
            preset.label,
            key=f"preset_{preset.key}",
            on_click=apply_preset,
            args=(preset.key,),
            help=preset.question,
            width="stretch",
        )
    sb.subheader("Layer and data")
    values = {
        "cell": sb.selectbox(
            "cell",
            CELLS,
            index=CELLS.index(DEFAULTS.cell),
            key="cell",
            format_func=CELL_LABELS.get,
            help=HELP["cell"],
            bind=BIND,
        ),
    }
    for name in ("batch_size", "num_steps", "num_features", "hidden_size", "num_batches"):
        lo, hi = LIMITS[name]
        values[name] = sb.number_input(
            name,
            min_value=lo,
            max_value=hi,
            value=getattr(DEFAULTS, name),
            step=1,
            key=name,
            help=HELP[name] + f" Allowed: {lo}–{hi}.",
            bind=BIND,
        )
    for name in ("return_sequences", "return_state", "stateful"):
        values[name] = sb.toggle(
            name,
            value=getattr(DEFAULTS, name),
            key=name,
            help=HELP[name],
            bind=BIND,
        )
    values["signal"] = sb.selectbox(
        "signal",
        SIGNALS,
        key="signal",
        index=SIGNALS.index(DEFAULTS.signal),
        help=HELP["signal"],
        bind=BIND,
    )
    values["initial_state"] = sb.selectbox(
        "initial_state", INITIAL_STATES, key="initial_state", help=HELP["initial_state"], bind=BIND
    )
    lo, hi = LIMITS["seed"]
    values["seed"] = sb.number_input(
        "seed",
        min_value=lo,
        max_value=hi,
        value=0,
        step=1,
        key="seed",
        help=HELP["seed"],
        bind=BIND,
    )
    values["reset_after"] = sb.toggle(
        "reset_after (GRU)",
        value=True,
        key="reset_after",
        help=HELP["reset_after"],
        bind=BIND,
        disabled=values["cell"] != "gru",
    )
    values["reset_before"] = sb.multiselect(
        "reset_before (stateful)",
        list(range(1, int(values["num_batches"]))),
        default=[],
        key="reset_before",
        help=HELP["reset_before"],
        bind=BIND,
        disabled=not values["stateful"],
    )
    if not values["stateful"]:
        values["reset_before"] = []
    try:
        return rnnviz.RunConfig(**values)
    except rnnviz.ConfigError as error:
        sb.error(str(error), icon=":material/warning:")
        return None


def trace_of(cfg: rnnviz.RunConfig, spinner: bool = True) -> rnnviz.Trace:
    """The trace of a configuration, from the byte-bounded cache shared by all sessions
    (keyed by its fields: the Why page reads the same one). Sessions keep the config,
    never the trace: an evicted trace is computed again, not held by a session."""
    return cached(
        "explore traces",
        json.dumps(cfg.to_dict(), sort_keys=True),
        lambda: rnnviz.run(cfg),
        "Running the Keras layer (the first run loads TensorFlow and builds the layer: "
        "a few seconds)…"
        if spinner
        else None,
    )


@st.cache_data(show_spinner="Running the Keras 2 idioms on Keras 3…")
def keras2_idioms() -> list:
    from rnnviz.views.keras2 import keras2_idioms as run_idioms

    return run_idioms()


def pick(label: str, count: int, key: str) -> int:
    """A bound selector of an index in range(count).

    Batches, samples, steps and units are counted from 0 everywhere, in charts ("batch 1,
    step 2"), tables, these selectors and share links: the index into the trace's arrays
    and the generated code. (A format_func would put its words into the URL instead.)
    """
    if key in inbrowser.URL_KEYS:  # also switched in the browser: the URL holds the choice
        st.session_state[key] = inbrowser.url_index(key, count, st.session_state.get(key, 0))
        value = st.selectbox(label, list(range(count)), key=key,
                             on_change=inbrowser.state_to_url, args=(key,))  # fmt: skip
        inbrowser.keep_in_url(key, value)
        return value
    return st.selectbox(label, list(range(count)), key=key, bind=BIND)


@st.fragment
def states_view(cfg: rnnviz.RunConfig) -> None:
    trace = trace_of(cfg)  # a fragment keeps its arguments: a small config, not the trace
    left, right = st.columns([1, 3])
    with right:
        units = st.multiselect(
            "units to plot",
            list(range(cfg.hidden_size)),
            default=list(range(min(cfg.hidden_size, 4))),
            key="units",
        )
    if not cfg.has_cell_state:
        st.info(
            f"{CELL_LABELS[cfg.cell]} has no cell state c_t: its only state is h_t. "
            f"`layer.cell.state_size` = {trace.state_size}."
        )
    if play_ui():
        with left:
            sample = pick("sample row", cfg.batch_size, "sample")
        animation_ui(cfg, trace, sample, "states")
        st.plotly_chart(figures.unit_lines(trace, sample, units), key="fig_lines")
        return
    rows = {"sample": (left, "sample row", cfg.batch_size)}
    charts = [(lambda c: figures.state_heatmaps(trace, c["sample"]), "fig_states", ("sample",), ()),
              (lambda c: figures.unit_lines(trace, c["sample"], units), "fig_lines", ("sample",),
               tuple(units))]  # fmt: skip
    for fig, (_, key, _, _) in zip(browser_charts(cfg, rows, charts), charts, strict=True):
        st.plotly_chart(fig, key=key)


def browser_charts(cfg: rnnviz.RunConfig, selectors: dict, charts: list) -> list[go.Figure]:
    """The figures of charts whose display-only selectors the browser switches when it can.

    `selectors`: URL parameter -> (where its selector goes, its label, how many values);
    `charts`: (build(choice) -> figure, chart key, the parameters it depends on, what else
    it depends on). When every chart with every choice of its parameters fits
    (rnnviz.views.browser), each carries them all and the browser switches them without
    asking the server; the choices go into the URL. Past the bound, the server-side
    selectors, a round trip per change. The caller places the charts (`st.plotly_chart`
    with their keys)."""
    chosen = {param: inbrowser.url_index(param, count, st.session_state.get(param, 0))
              for param, (_, _, count) in selectors.items()}  # fmt: skip
    config = json.dumps(cfg.to_dict(), sort_keys=True)
    figs = []
    for build, key, params, extra in charts:
        counts = {p: selectors[p][2] for p in params}
        mine = {p: chosen[p] for p in params}
        bounds = (browser.MAX_BYTES, browser.MAX_CHOICES)
        figs.append(
            cached(
                "explore row charts",
                (config, key, extra, tuple(mine.items()), bounds),
                lambda build=build, counts=counts, mine=mine: browser.kept_choices(
                    build, counts, mine
                ),
            ).figure
        )  # shared by every session; a fragment rerun redraws from here
    if all(fig is not None for fig in figs):
        selectors_ui(selectors, in_browser=True)
        return figs
    chosen = selectors_ui(selectors, in_browser=False)
    return [build({p: chosen[p] for p in params}) for build, _, params, _ in charts]


def selectors_ui(selectors: dict, in_browser: bool) -> dict[str, int]:
    """Places each selector (URL parameter -> (where, label, how many values)): the
    browser's, or the server's `pick`. Returns the choices shown."""
    chosen = {}
    for param, (where, label, count) in selectors.items():
        with where:
            chosen[param] = (inbrowser.selector(label, param, count) if in_browser
                             else pick(label, count, param))  # fmt: skip
    return chosen


@st.fragment
def gates_view(cfg: rnnviz.RunConfig) -> None:
    trace = trace_of(cfg)  # a fragment keeps its arguments: a small config, not the trace
    if not trace.gates:
        st.info("SimpleRNN has no gates: h_t = tanh(W x_t + U h_{t−1} + b).")
        return
    column = st.container()
    st.caption("σ gates on a 0..1 scale; the tanh candidate on a scale centred on 0.")
    if play_ui():
        with column:
            sample = pick("sample row", cfg.batch_size, "sample")
        animation_ui(cfg, trace, sample, "gates")
    else:
        rows = {"sample": (column, "sample row", cfg.batch_size)}
        charts = [
            (lambda c: figures.gate_heatmaps(trace, c["sample"]), "fig_gates", ("sample",), ())
        ]
        st.plotly_chart(browser_charts(cfg, rows, charts)[0], key="fig_gates")


def play_ui() -> bool:
    """The "Animate" switch of the States and Gates views (bound to the URL)."""
    return st.toggle(
        "▶ Animate: step by step, played by your browser",
        key="play",
        bind=BIND,
        help="A cursor sweeps the heatmaps; beside them the vectors at the cursor, as markers. "
        "Play, pause, speed and the frame slider run in your browser: no round trip per frame.",
    )


def animation_ui(cfg: rnnviz.RunConfig, trace: rnnviz.Trace, sample: int, view: str) -> None:
    """The view's animation, built once per configuration and sample (shared cache)."""
    from rnnviz.views import animation

    fig = cached(
        "explore animations",
        (json.dumps(cfg.to_dict(), sort_keys=True), sample, view),
        lambda: animation.Kept(animation.VIEWS[view](trace, sample)),
        "Computing the frames (once; then your browser plays them)…",
    ).figure
    inbrowser.animation_ui(fig, "frame", f"fig_{view}_play", view)


#: The What Keras returns view draws every batch's tables at once (the browser shows one)
#: when there are at most this many batches and their returned arrays, counted three times
#: (their values as a table, then as Arrow and JSON on the way), come to at most
#: rnnviz.views.browser.MAX_BYTES; else the server's batch selector.
MAX_RETURN_PANES = 10


@st.fragment
def returns_view(cfg: rnnviz.RunConfig) -> None:
    trace = trace_of(cfg)  # a fragment keeps its arguments: a small config, not the trace
    other = trace_of(cfg.replace(return_sequences=not cfg.return_sequences))
    count = cfg.num_batches
    size = sum(array.nbytes for returned in trace.outputs for _, array in returned)
    if count > MAX_RETURN_PANES or size * 3 > browser.MAX_BYTES:
        batch = pick("batch", count, "batch")
        returns_of(cfg, trace, other, batch)
        return
    inbrowser.selector("batch", "batch", count)
    for batch, pane in enumerate(inbrowser.panes("batch", count, "returns")):
        with pane:
            returns_of(cfg, trace, other, batch)


def returns_of(
    cfg: rnnviz.RunConfig, trace: rnnviz.Trace, other: rnnviz.Trace, batch: int
) -> None:
    """What layer(x) returned for one batch, the checks on it, and the flipped layer's."""
    returned = trace.outputs[batch]
    st.markdown(
        f"`layer(x)` returned **{len(returned)}** tensor(s) for batch {batch}, "
        f"in this order: `[{', '.join(n for n, _ in returned)}]`"
    )
    st.table([{"name": n, "shape": str(a.shape), "dtype": str(a.dtype)} for n, a in returned])
    if cfg.signal == "answer_002":
        answer_inputs_ui(trace, batch)
    facts = return_checks(trace, batch)
    for text, holds in facts:
        (st.success if holds else st.error)(
            text, icon=":material/check_circle:" if holds else ":material/cancel:"
        )
    st.markdown(f"**The same layer with return_sequences={not cfg.return_sequences}** returns:")
    st.table([{"name": n, "shape": str(a.shape)} for n, a in other.outputs[batch]])
    with st.expander("Values"):
        for name, array in returned:
            st.markdown(f"**{name}** {array.shape}")
            st.dataframe(array.reshape(-1, array.shape[-1]), key=f"values_{name}_{batch}")


def answer_inputs_ui(trace: rnnviz.Trace, batch: int) -> None:
    """The input of seeds/002's answer, and why its printed numbers are not these."""
    st.markdown("**The input x**, the answer's 2 × 3 × 3 array (sample row 1 ends in zeros):")
    x = trace.inputs[batch]
    st.dataframe(
        [
            {
                "sample row": r,
                "step": t,
                **{f"feature {f}": float(x[r, t, f]) for f in range(x.shape[2])},
            }
            for r in range(x.shape[0])
            for t in range(x.shape[1])
        ],
        key=f"answer_inputs_{batch}",
        hide_index=True,
    )
    st.markdown(
        f"**Why these numbers are not the answer's:** {answer_shapes(trace, batch)}. "
        "The numbers differ because "
        "its weights were drawn by TensorFlow 1 with tf.set_random_seed(42), which Keras 3 "
        f"cannot reproduce, and here they are drawn from seed {trace.config.seed}. "
        + (
            "What carries over: the two rows get the same h_t at steps 0 and 1, where their "
            "inputs agree and they start from the same state, as in the answer's printout."
            if np.array_equal(trace.h[batch, 0, :2], trace.h[batch, 1, :2])
            else "In this batch the two rows start from different states (carried over from "
            "the batch before), so even steps 0 and 1 differ; in batch 0 they agree, as in "
            "the answer's printout."
        )
    )


@st.fragment
def carry_view(cfg: rnnviz.RunConfig) -> None:
    trace = trace_of(cfg)  # a fragment keeps its arguments: a small config, not the trace
    left, right = st.columns(2)
    with right:
        state = st.radio("state", cfg.state_names, horizontal=True, key="carry_state")
    carry_chart = st.container()
    # Placed now, filled below: the charts and their selectors come from one call.
    numbers, unit_slot, vs_chart = st.container(), st.container(), st.container()
    on = trace_of(cfg.replace(stateful=True))
    off = trace_of(cfg.replace(stateful=False, reset_before=()))
    selectors = {"sample": (left, "sample row", cfg.batch_size),
                 "unit": (unit_slot, "unit", cfg.hidden_size)}  # fmt: skip
    charts = [
        (lambda c: figures.carry_over(trace, c["sample"], state), "fig_carry", ("sample",),
         (state,)),
        (lambda c: figures.stateful_vs_stateless(on, off, c["sample"], c["unit"]), "fig_vs",
         ("sample", "unit"), ()),
    ]  # fmt: skip
    carry, versus = browser_charts(cfg, selectors, charts)
    with carry_chart:
        st.plotly_chart(carry, key="fig_carry")
    with vs_chart:
        st.plotly_chart(versus, key="fig_vs")
    with numbers:
        carry_numbers(cfg, trace, state)


def carry_numbers(cfg: rnnviz.RunConfig, trace: rnnviz.Trace, state: str) -> None:
    """The state batch 0 starts from, and what happened at each boundary, in numbers."""
    idx = cfg.state_names.index(state)
    st.markdown(
        f"**The state batch 0 starts from** ({state}_0, `initial_state={cfg.initial_state}`), "
        "one row per sample row, in numbers:"
    )
    st.dataframe(
        {f"unit {u}": trace.initial_states[0][idx][:, u] for u in range(cfg.hidden_size)},
        key="initial_state_values",
        column_config={
            f"unit {u}": st.column_config.NumberColumn(format="%.6f")
            for u in range(cfg.hidden_size)
        },
    )
    rows = []
    for k in range(1, cfg.num_batches):
        gap = np.abs(trace.initial_states[k][idx] - trace.final_states[k - 1][idx]).max()
        reset = cfg.stateful and k in cfg.reset_before
        rows.append(
            {
                "between": f"batch {k - 1} and batch {k}",
                "does the later batch start where the earlier one ended?": "yes"
                if gap == 0
                else "no",
                "largest difference": float(gap),
                "what happened": "reset_state(): zeros"
                if reset
                else ("carried over" if cfg.stateful else "started from the initial state"),
            }
        )
    if rows:
        st.table(rows)


@st.fragment
def step_view(cfg: rnnviz.RunConfig) -> None:
    trace = trace_of(cfg)  # a fragment keeps its arguments: a small config, not the trace
    cols = st.columns(4)
    selectors = {"batch": (cols[0], "batch", cfg.num_batches),
                 "sample": (cols[1], "sample row", cfg.batch_size),
                 "t": (cols[2], "timestep t (0 = first)", cfg.num_steps),
                 "unit": (cols[3], "unit", cfg.hidden_size)}  # fmt: skip
    block = cached(
        "explore step equations",
        (json.dumps(cfg.to_dict(), sort_keys=True), browser.MAX_BYTES, browser.MAX_TEXT_CHOICES),
        lambda: browser.kept_step_equations(trace),
    ).figure  # every choice's equations, when they fit: the browser switches them
    if block is not None:
        selectors_ui(selectors, in_browser=True)
        inbrowser.text_block("step_equations", block)
        return
    chosen = selectors_ui(selectors, in_browser=False)
    from rnnviz.views.equations import step_equations

    batch, sample, t, unit = (chosen[p] for p in ("batch", "sample", "t", "unit"))
    for line in step_equations(trace, batch, sample, t, unit):
        st.latex(line)
    x_t = np.array2string(trace.inputs[batch, sample, t], precision=6)
    st.markdown(f"**The input at this step:** x_t = `{x_t}`")


def code_view(cfg: rnnviz.RunConfig) -> None:
    trap_first = st.session_state.get("preset_question") == "state_trap"
    if trap_first:  # preset 4 asks about it: its answer comes before the script
        state_trap_ui()
    code = rnnviz.keras_code(cfg)
    st.markdown("**A runnable Keras 3 script for this view** (copy with the icon, or download):")
    st.code(code, language="python")
    st.download_button(
        "Download the script",
        code,
        file_name="rnnviz_keras3.py",
        mime="text/x-python",
        key="dl_code",
    )
    if not trap_first:
        state_trap_ui()
    st.subheader("Keras 2 idioms of the classic answers, run on Keras 3 just now")
    for idiom in keras2_idioms():
        st.markdown(f"**{idiom.title}**")
        old, new = st.columns(2)
        with old:
            st.caption("Keras 2")
            st.code(idiom.keras2, language="python")
            st.error(idiom.error)
        with new:
            st.caption("Keras 3")
            st.code(idiom.keras3, language="python")


def state_trap_ui() -> None:
    """seeds/000's `states[0] = K.variable(...)`, beside the Keras 3 way, run live."""
    from rnnviz.views.keras2 import state_trap

    trap = cached("keras2", "state_trap", state_trap, "Running seeds/000's state code on Keras 3…")
    st.subheader("Setting a state from outside: the silent trap of seeds/000")
    st.markdown(
        "A stateful `LSTM(8)` on batches of (2, 5, 1), used once and reset, then asked "
        "to start from a state `h0` of shape (2, 8). Run on Keras 3 just now:"
    )
    old, new = st.columns(2)
    with old:
        st.caption("The answer's way: point states[0] at a new variable")
        st.code(
            "model.layers[0].states[0] = K.variable(value=h0)\n"
            "# K.variable is gone in Keras 3; its replacement, keras.Variable:\n"
            "model.layers[1].states[0] = keras.Variable(h0)\n"
            "model.predict(x)",
            language="python",
        )
        st.error(f"K.variable on Keras 3: {trap.k_variable_error}")
        st.warning(keras_variable_outcome(trap.replaced_max_change))
        st.markdown(
            "Only a direct `layer(x)` reads the new variable, and with the seed's "
            "(batch, 2) shape it fails there:"
        )
        st.error(trap.replaced_call_error)
    with new:
        st.caption("The Keras 3 way: assign into the state variable")
        st.code(
            "layer = model.layers[1]\nlayer.states[0].assign(h0)\nmodel.predict(x)",
            language="python",
        )
        st.success(
            "predict now starts from h0: its output differs from starting at zeros by "
            f"{trap.assign_max_change:.6g}."
        )
        st.markdown("The same call with the seed's wrong shape, (2, 2), raises at once:")
        st.code("layer.states[0].assign(np.zeros((2, 2)))", language="python")
        st.error(trap.wrong_shape_error)


def downloads_ui(cfg: rnnviz.RunConfig) -> None:
    # Each callable keeps the config, not the trace: Streamlit holds them per session.
    st.sidebar.subheader("Export")
    # Exports are built only when clicked: on every rerun they cost more than the charts.
    st.sidebar.download_button(
        "Trace (.npz, all arrays)",
        lambda: export.trace_npz(trace_of(cfg, spinner=False)),
        file_name="rnnviz_trace.npz",
        key="dl_npz",
    )
    state = st.sidebar.selectbox("state for CSV", cfg.state_names, key="csv_state")
    st.sidebar.download_button(
        f"{state} (.csv)",
        lambda: export.state_csv(trace_of(cfg, spinner=False), state),
        file_name=f"rnnviz_{state}.csv",
        mime="text/csv",
        key="dl_csv",
    )
    st.sidebar.download_button(
        "Figures (standalone .html)",
        lambda: export.figures_html(trace_of(cfg, spinner=False)),
        file_name="rnnviz.html",
        mime="text/html",
        key="dl_html",
    )


def read_link() -> None:
    """On a session's first run, reads the link leniently into the controls (issue 12).

    Streamlit's own binding drops what it does not recognise without a word; here
    `cell=gru`, `hidden_size=8.0` or `stateful=TRUE` are honoured, and everything that
    is not is listed in one notice.
    """
    if st.session_state.get("link_read"):
        return
    st.session_state["link_read"] = True
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    values, notices = read_query(params)
    preset = values.pop("preset", None)
    if preset is not None:
        st.session_state["preset_question"] = preset
    for key, value in values.items():
        st.session_state[key] = value
    # Streamlit would seed the widgets from the raw link again (and crash on batch_size=inf).
    forget_link_values([key for key in params if key not in values])
    st.session_state["link_notices_explore"] = notices
    # Known limit: the address bar keeps the link as given until a control changes
    # (Streamlit's binding owns it); rewriting it here in Streamlit's spelling did not stick.


def main() -> None:
    read_link()
    link_notices_ui("explore")
    inbrowser.mount()
    page()


def page() -> None:
    cfg = controls_ui()
    view = st.radio(
        "view",
        VIEWS,
        format_func=VIEW_LABELS.get,
        horizontal=True,
        key="view",
        bind=BIND,
        label_visibility="collapsed",
    )
    key = st.session_state.get("preset_question", st.query_params.get("preset"))
    if key in PRESETS_BY_KEY:
        left, right = st.columns([12, 1])
        left.info(PRESETS_BY_KEY[key].question)
        right.button("Hide", key="hide_question", on_click=hide_question, help="Hide the question")
        st.query_params["preset"] = key
    if cfg is None:
        st.warning(
            "Fix the highlighted control in the sidebar; the page keeps the last "
            "valid settings' meaning once it is valid again."
        )
        return
    st.caption(
        f"keras.layers.{CELL_LABELS[cfg.cell]}({cfg.hidden_size}, return_sequences="
        f"{cfg.return_sequences}, return_state={cfg.return_state}, stateful="
        f"{cfg.stateful}) · input ({cfg.batch_size}, {cfg.num_steps}, "
        f"{cfg.num_features}) × {cfg.num_batches} batches"
    )
    trace_of(cfg)  # computed here, under its spinner; the view below reads it from the cache
    # The Why page analyses "the configuration on Explore": a plain key survives page changes.
    st.session_state["explore_config"] = cfg.to_dict()
    {
        "states": states_view,
        "gates": gates_view,
        "returns": returns_view,
        "carry": carry_view,
        "step": step_view,
    }.get(view, code_view)(cfg)
    downloads_ui(cfg)


main()
