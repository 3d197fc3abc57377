"""The Text page: the tutorial's char-RNN on Python source, the text coloured by one unit."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from app_pages import inbrowser
from app_pages.runtime import apply_link, cached, keep_in_range, link_notices_ui
from rnnviz import analysis
from rnnviz.core.config import CELLS, GATES
from rnnviz.sources.text import charmodel as T
from rnnviz.sources.text.concepts import CONCEPT_TITLES, CONCEPTS
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
BY_NUMBER = "units_by_number"
CHOICES = (*CONCEPTS, BY_NUMBER)
CHOICE_TITLES = {**CONCEPT_TITLES, BY_NUMBER: "units by number"}
#: Every parameter a link to this page may set (read by rnnviz.views.urlstate.read_link).
LINK = {
    "text_cell": choice_field(CELL_LABELS, "lstm", "cell"),
    "concept": choice_field(CHOICE_TITLES, CHOICES[0]),
    "text_state": choice_field({"h": "hidden state h", "c": "cell state c"}, "h", "state"),
    "text": text_field(T.MAX_TEXT),
    "text_unit": whole_field(0, 4095, "the concept's best unit", "unit"),
    "temperature": number_field(0.01, 10.0, 0.6),
    "text_play": flag_field(False, "play"),
    "text_frame": text_field(12),  # the animation's character: checked against its frames
}
#: Characters of validation text the stateful-vs-stateless plot reads (50 windows of 100).
LOSS_TEXT = 5_000


def model(cell: str) -> T.CharModel:
    return cached(
        "char models", cell, lambda: T.load_char_model(cell), "Loading the character model…"
    )


def analyse(cell: str, text: str) -> dict:
    """Everything the page shows of a text that does not depend on the chosen unit
    (byte-bounded shared cache: computed once per model and text, never copied)."""
    return cached(
        "text analyses",
        (cell, text),
        lambda: _analyse(cell, text),
        "Running the character model over the text…",
    )


def _analyse(cell: str, text: str) -> dict:
    """Everything the page shows of a text that does not depend on the chosen unit.

    A resource cache (shared, never copied, never modified): a data cache would copy the
    per-character states (tens of MB) on every rerun.
    """
    cm = model(cell)
    trace = T.trace_text(cm, text)
    n = len(text)
    probs = T.next_char_probs(cm, text, trace)
    top = np.argsort(-probs, axis=1)[:, :5]
    top_p = np.take_along_axis(probs, top, axis=1)
    top5 = [
        [(cm.vocab[j], float(p)) for j, p in zip(top[i], top_p[i], strict=True)]
        for i in range(n)
    ]
    predictions = [
        "<br>next: "
        + ", ".join(
            f"{html.escape(repr(cm.vocab[j]), quote=False)} {p:.0%}"
            for j, p in zip(top[i], top_p[i], strict=True)
        )
        for i in range(n)
    ]
    states = {name: T.text_states(trace, n, name) for name in trace.config.state_names}
    gates = {name: g.reshape(-1, g.shape[-1])[:n] for name, g in trace.gates.items()}
    concepts = {name: concept(text) for name, concept in CONCEPTS.items()}
    rankings = {
        state: {name: analysis.rank_units(trace, v, state) for name, v in concepts.items()}
        for state in trace.config.state_names
    }
    return {
        "trace": trace,
        "states": states,
        "gates": gates,
        "predictions": predictions,
        "top5": top5,
        "rankings": rankings,
        "saturation": T.gate_saturation(trace, n),
        "bits": T.bits_per_char(cm, text, trace) if n > 1 else float("nan"),
    }


def window_curves(cell: str) -> dict:
    return cached(
        "window curves",
        cell,
        lambda: T.stateful_vs_stateless(model(cell), T.split_text()[1][:LOSS_TEXT]),
        "Measuring the loss with and without carried state (a few seconds)…",
    )


def hover_data(text: str, result: dict, unit: int, cell: str) -> tuple[list[list], str]:
    """Per-character hover fields and the template that shows them: the character, the
    unit's value, its gates and the model's top 5 next characters.

    Numbers travel as numbers (rounded to what is shown) and the template spells the words
    once: half the bytes of one finished string per character, which made a unit change on
    2,000 characters 0.04 s slower than without hover.
    """
    h = result["states"]["h"][:, unit]
    c = result["states"].get("c")
    gates = [result["gates"][name][:, unit] for name in GATES[cell]] if result["gates"] else []
    columns = [np.round(h, 4)] + ([np.round(c[:, unit], 4)] if c is not None else [])
    columns += [np.round(g, 2) for g in gates]
    numbers = np.stack(columns, axis=1).tolist() if len(text) else []
    rows = [[i, *row, result["predictions"][i]] for i, row in enumerate(numbers)]
    lines = ["%{text} · character %{customdata[0]}", f"unit {unit}: h = %{{customdata[1]:+.4f}}"]
    k = 2
    if c is not None:
        lines.append("c = %{customdata[2]:+.4f}")
        k = 3
    if gates:
        lines.append(
            ", ".join(f"{name} %{{customdata[{k + j}]:.2f}}" for j, name in enumerate(GATES[cell]))
        )
        k += len(gates)
    template = "<br>".join(lines) + f"%{{customdata[{k}]}}<extra></extra>"
    return rows, template


def set_unit(unit: int) -> None:
    st.session_state["text_unit"] = unit


def settings_ui() -> tuple[str, str, str]:
    sb = st.sidebar
    sb.subheader("Character model")
    cell = sb.selectbox(
        "cell",
        CELLS,
        format_func=CELL_LABELS.get,
        key="text_cell",
        bind=BIND,
        help="The recurrent layer of the tutorial's model, trained on Python source.",
    )
    concept = sb.radio(
        "find the unit that tracks",
        CHOICES,
        format_func=CHOICE_TITLES.get,
        key="concept",
        bind=BIND,
        help="Units ranked by |Pearson r| between their state and the concept, over this text.",
    )
    state = "h"
    if cell == "lstm":
        state = sb.radio(
            "state",
            ("h", "c"),
            format_func={"h": "hidden state h", "c": "cell state c"}.get,
            horizontal=True,
            key="text_state",
            bind=BIND,
            help="LSTM units that count (indentation, position in the line) often show it "
            "more clearly in the cell state c, which is not squashed by tanh.",
        )
    return cell, concept, state


def main() -> None:
    apply_link("text", LINK)
    inbrowser.mount()
    notices = st.container()  # filled last: widgets below may add to the link's notice
    cell, concept, state = settings_ui()
    cm = model(cell)
    info = cm.info
    st.title("Read a network's mind")
    st.markdown(
        f"The TensorFlow tutorial's character model, `Embedding → {CELL_LABELS[cell]}"
        f"({cm.units}, return_sequences=True, stateful=True) → Dense({len(cm.vocab)})`, "
        f"trained on {len(T.corpus_files())} modules of Python's standard library. "
        "Each character is coloured by one unit's state after reading it."
    )
    text = st.text_area(
        "Text (Python source; paste your own)",
        value=T.default_snippet(),
        max_chars=T.MAX_TEXT,
        height=160,
        key="text",
        bind=BIND,
        help=f"At most {T.MAX_TEXT:,} characters. Characters the model never saw show as �.",
    )
    if not text:
        st.info("Type or paste some text.")
        return
    result = analyse(cell, text)
    units = cm.units
    st.caption(
        f"{len(text):,} characters · the model's bits per character on this text: "
        f"{result['bits']:.3f} (validation: {info.get('val_bits_per_char', float('nan')):.3f})"
    )
    if concept != BY_NUMBER:
        ranked = result["rankings"][state][concept][:3]
        st.markdown(
            f"**Units that track *{CONCEPT_TITLES[concept]}*** (click one to colour by it):"
        )
        cols = st.columns(3)
        for col, (unit, r) in zip(cols, ranked, strict=True):
            col.button(
                f"unit {unit} · r = {r:+.2f}",
                key=f"pick_{unit}",
                on_click=set_unit,
                args=(unit,),
                width="stretch",
            )
        default_unit = ranked[0][0]
    else:
        default_unit = 0
    unit_view(text, cell, concept, state, default_unit, units)
    generation_ui(cm, int(st.session_state.get("text_unit", default_unit)))
    stateful_ui(cell)
    with notices:
        link_notices_ui("text")


@st.fragment
def unit_view(
    text: str, cell: str, concept: str, state: str, default_unit: int, units: int
) -> None:
    """The unit picker and the coloured text. A fragment: a new unit redraws only this."""
    result = analyse(cell, text)  # a fragment keeps its arguments: not the analysis itself
    keep_in_range("text", "text_unit", 0, units - 1)
    unit = int(
        st.number_input(
            "unit",
            0,
            units - 1,
            value=default_unit,
            key="text_unit",
            bind=BIND,
            help=f"Any of the {units} units (0–{units - 1}).",
        )
    )
    values = result["states"][state][:, unit]
    r = (
        analysis.correlations(values[:, None], CONCEPTS[concept](text))[0]
        if concept != BY_NUMBER
        else None
    )
    title = f"unit {unit} of the {CELL_LABELS[cell]}, {state}" + (
        f" · r = {r:+.2f} with {CONCEPT_TITLES[concept]}" if r is not None else ""
    )
    bound = 1.0 if state == "h" else max(float(np.abs(values).max()), 1e-6)
    if inbrowser.play_toggle("text_play", "a cursor reads the text, character by character"):
        from rnnviz.views import animation_paths
        from rnnviz.views.animation import Kept

        fig = cached(
            "text animations",
            (cell, text, state, unit),
            lambda: Kept(animation_paths.text_cursor(
                text, values, result["top5"], title, bound)),
            "Computing the frames (once; then your browser plays them)…",
        ).figure  # fmt: skip
        inbrowser.animation_ui(fig, "text_frame", "fig_text_play", "text")
        return
    st.plotly_chart(
        figures.text_heatmap(
            text, values, hover_data(text, result, unit, cell), title=title, bound=bound
        ),
        key="fig_text",
    )
    st.caption(
        "Red: the unit is positive, blue: negative (h is between −1 and 1; c is not bounded, "
        "its scale is ± its largest value here). Hover a character for the exact value, the "
        "unit's gates and the model's five likeliest next characters."
    )

    if result["saturation"]:
        # Drawn only while open: the 512-point chart, redrawn for every unit, made a unit
        # change 1.67x an Explore change in the browser benchmark (1.11x without it).
        gates = st.expander(
            "Gates: how often is this unit's gate saturated?", key="saturation", on_change="rerun"
        )
        if gates.open:
            with gates:
                st.plotly_chart(
                    figures.gate_saturation(result["saturation"], unit), key="fig_saturation"
                )
                st.caption(
                    "Each dot is a unit; the star is the one chosen. Right-saturated (open) "
                    "forget gates keep the cell state for long: those units can remember "
                    "across lines."
                )


def generation_ui(cm: T.CharModel, unit: int) -> None:
    st.subheader("Let it write")
    cols = st.columns([3, 1, 1, 1])
    prime = cols[0].text_input("start with", value="def ", max_chars=200, key="prime")
    length = cols[1].number_input("characters", 1, T.MAX_GENERATE, 300, key="gen_length")
    temperature = cols[2].number_input(
        "temperature",
        0.01,
        10.0,
        0.6,
        step=0.1,
        key="temperature",
        bind=BIND,
        help="Below 1: safer, repetitive; above 1: wilder. From 0.01 to 10.",
    )
    seed = cols[3].number_input("seed", 0, 2**31 - 1, 0, key="gen_seed")
    if st.button("Generate", key="generate"):
        try:
            with st.spinner("Sampling character by character…"):
                made = T.generate(cm, prime, int(length), float(temperature), int(seed))
            st.session_state["generated"] = (cm.cell, prime, made)
        except Exception as error:  # a ConfigError names the field
            st.error(str(error))
    generated = st.session_state.get("generated")
    if generated and generated[0] == cm.cell:
        _, prime, made = generated
        whole = prime + made
        result = analyse(cm.cell, whole[: T.MAX_TEXT])
        st.plotly_chart(
            figures.text_heatmap(
                whole,
                result["states"]["h"][:, unit],
                hover_data(whole, result, unit, cm.cell),
                title=f"Generated after {prime!r}, coloured by unit {unit}",
                bound=1.0,
            ),
            key="fig_generated",
        )


def stateful_ui(cell: str) -> None:
    st.subheader("Why the tutorial sets stateful=True")
    st.markdown(
        "The model was trained on windows of 100 characters, the state carried from each window "
        "to the next. Feed validation text the same way, or restart every window from zero state, "
        "and compare the loss at each position of the window:"
    )
    if st.toggle("Measure it (a few seconds the first time)", key="measure_stateful"):
        curves = window_curves(cell)
        st.plotly_chart(figures.window_loss(curves, T.WINDOW), key="fig_window_loss")
        gap = curves["stateless"] - curves["stateful"]
        first = float(gap[:10].mean())
        late = float(gap[-50:].mean())
        st.caption(
            f"Over {int(curves['windows'])} windows of validation text: without the carried "
            f"state the first 10 characters of a window cost {first:+.2f} bits more each; "
            f"by the second half of the window the gap is {late:+.2f} bits."
        )


main()
