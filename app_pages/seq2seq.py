"""The Encoder → decoder page: the state one network hands to another (Keras's lstm_seq2seq
pattern), exact, on a trained addition model: the handoff, teacher forcing vs the inference
loop, what replacing the message does, and how far past its training lengths it carries."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages.runtime import apply_link, cached, keep_in_options, link_notices_ui
from rnnviz.core.config import ConfigError
from rnnviz.sources.seq2seq import model as S
from rnnviz.sources.seq2seq.task import MAX_QUESTION, TRAINED_DIGITS, true_answer
from rnnviz.sources.training.run import MODELS_DIR
from rnnviz.views.codegen import seq2seq_script
from rnnviz.views.figures import seq2seq as F
from rnnviz.views.urlstate import choice_field, number_field, text_field, whole_field

BIND = "query-params"
CELL_TITLES = {"lstm": "LSTM (hands over h and c)", "gru": "GRU (hands over h alone)"}
MESSAGES = {
    "own": "its own encoder's state",
    "zeros": "zeros",
    "other": "another question's state",
    "unit": "its own, with one unit changed",
}
COLOURS = {
    "first": "the answer's first digit",
    "length": "the answer's number of digits",
    "last": "the answer's last digit",
}
DEFAULT_QUESTION = "123+45"
VALUE_RANGE = (-3.0, 3.0)
LINK = {
    "s2s_cell": choice_field(CELL_TITLES, "lstm", "cell"),
    "question": text_field(MAX_QUESTION, "q"),
    "s2s_state": choice_field({"h": "h", "c": "c"}, "h", "state"),
    "teacher": text_field(MAX_QUESTION),
    "message": choice_field(MESSAGES, "own", "replace"),
    "other": text_field(MAX_QUESTION),
    "s2s_unit": whole_field(0, S.UNITS - 1, 0, "unit"),
    "s2s_value": number_field(*VALUE_RANGE, 0.0, "value"),
    "colour": choice_field(COLOURS, "first"),
}
#: One click each: a sum it knows, one it gets wrong, and one past its training lengths.
PRESETS = {
    "A sum it knows: 123+45": dict(question="123+45", teacher="", message="own"),
    "Its own mistake: 999+999": dict(question="999+999", teacher="", message="own"),
    "Past its training: 1234+5678": dict(question="1234+5678", teacher="", message="own"),
    "Wipe the message: zeros": dict(question="123+45", message="zeros"),
}


def model(cell: str):
    return cached("seq2seq_models", cell, lambda: S.load_pretrained(cell))


def decoding(cell: str, question: str, mode: str = "inference", teacher: str | None = None,
             state: tuple | None = None, source: str | None = None) -> S.Decoding:  # fmt: skip
    """decode(), once per server for the same arguments (states as tuples of bytes)."""
    key = (cell, question, mode, teacher, state, source)
    vectors = None if state is None else [np.frombuffer(b, np.float32) for b in state]
    return cached(
        "seq2seq_decodings",
        key,
        lambda: S.decode(model(cell), question, mode, teacher, vectors, source),
    )


def encoding(cell: str, question: str) -> S.Encoding:
    return cached("seq2seq_encodings", (cell, question), lambda: S.encode(model(cell), question))


def as_key(state: list[np.ndarray]) -> tuple:
    return tuple(np.asarray(s, np.float32).tobytes() for s in state)


def presets_ui() -> None:
    cols = st.columns(len(PRESETS))
    for i, (col, (label, values)) in enumerate(zip(cols, PRESETS.items(), strict=True)):
        col.button(label, key=f"s2s_preset_{i}", on_click=st.session_state.update,
                   args=(values,), width="stretch")  # fmt: skip


def answer_line(dec: S.Decoding) -> str:
    truth = true_answer(dec.question)
    verdict = (
        "" if truth is None else (" ✓ right" if dec.answer == truth else f" ✗ (the sum is {truth})")
    )
    return f"**{dec.question} = {dec.answer or '(nothing)'}**{verdict}"


def handoff_ui(cell: str, question: str) -> tuple[S.Encoding, S.Decoding]:
    st.header("1 · The state is the only message")
    enc, dec = encoding(cell, question), decoding(cell, question)
    names = ", ".join(enc.trace.config.state_names)
    st.markdown(
        f"{answer_line(dec)} · The encoder reads `{enc.padded}` (padded with spaces to "
        f"{len(enc.padded)} characters, as in training) and returns its final [{names}]; the "
        f"decoder starts from exactly that and never sees the question."
    )
    gaps = [
        float(np.abs(d - e).max())
        for d, e in zip(dec.trace.initial_states[0], enc.trace.final_states[0], strict=True)
    ]
    check = "equals" if max(gaps) == 0 else "differs from"
    st.caption(
        f"Live check: the decoder's initial state {check} the encoder's final state — largest "
        f"difference {max(gaps):g} over {len(gaps)} × {S.UNITS} numbers."
    )
    options = enc.trace.config.state_names
    keep_in_options("seq2seq", "s2s_state", options)
    state = st.radio("state", options, horizontal=True, key="s2s_state", bind=BIND,
                     format_func={"h": "h (hidden)", "c": "c (cell)"}.get)  # fmt: skip
    st.plotly_chart(F.handoff(enc.trace, dec.trace, state), key="fig_s2s_handoff")
    st.subheader("What it predicts, step by step")
    rows = []
    for t, top in enumerate(dec.top(3)):
        row = {"step": t, "reads": dec.fed[t] if t < len(dec.fed) else ""}
        for k, (ch, p) in enumerate(top, start=1):
            row[f"#{k}"] = f"'{ch}' {p:.1%}"
        rows.append(row)
    st.dataframe(rows, hide_index=True, key="s2s_top")
    return enc, dec


def teacher_ui(cell: str, question: str, dec: S.Decoding) -> None:
    st.header("2 · Teacher forcing vs the inference loop")
    truth = true_answer(question)
    st.markdown(
        "In training the decoder reads the **true** answer so far (teacher forcing); at "
        "inference it reads **its own** previous prediction. Where its predictions are right "
        "the two read the same characters and their states are identical; the first wrong "
        "prediction is where they part."
    )
    teacher = st.text_input("the answer the teacher feeds", key="teacher", bind=BIND,
                            max_chars=MAX_QUESTION, placeholder=truth or "",
                            help="Empty: the true sum. Type a wrong one to force it.")  # fmt: skip
    if not teacher.strip() and truth is None:
        st.info(f"{question} is not a sum of two numbers: type the answer the teacher feeds.")
        return
    try:
        forced = decoding(cell, question, "teacher", teacher.strip() or truth)
    except ConfigError as error:
        st.error(str(error))
        return
    steps = min(len(forced.fed), len(dec.fed))
    same = [forced.fed[t] == dec.fed[t] for t in range(steps)]
    part = same.index(False) if False in same else None
    if part is None:
        st.markdown(f"Both read `{dec.fed[:steps]}`: every state is identical, step by step.")
    else:
        st.markdown(
            f"They read the same `{dec.fed[:part]}` and their states are identical up to step "
            f"{part - 1}; at step {part} the teacher feeds '{forced.fed[part]}', the loop its own "
            f"'{dec.fed[part]}', and the states part."
        )
    state = st.session_state.get("s2s_state", "h")
    st.plotly_chart(
        F.step_difference(forced.trace, dec.trace, ("teacher", "inference"), state),
        key="fig_s2s_teacher",
    )


def message_ui(cell: str, question: str, enc: S.Encoding) -> None:
    st.header("3 · Replace the message")
    what = st.radio("start the decoder from", list(MESSAGES), format_func=MESSAGES.get,
                    horizontal=True, key="message", bind=BIND)  # fmt: skip
    own = enc.state
    state, source = None, None
    if what == "zeros":
        state, source = [np.zeros_like(s) for s in own], "zeros (replaced)"
    elif what == "other":
        other = st.text_input("the other question", key="other", bind=BIND,
                              max_chars=MAX_QUESTION, placeholder="456+789")  # fmt: skip
        try:
            state = encoding(cell, other or "456+789").state
        except ConfigError as error:
            st.error(str(error))
            return
        source = f"the encoder's state for {other or '456+789'}"
    elif what == "unit":
        cols = st.columns(2)
        unit = int(cols[0].number_input("unit", 0, S.UNITS - 1, 0, key="s2s_unit", bind=BIND))
        value = float(cols[1].slider("its value in h", *VALUE_RANGE, 0.0, 0.05,
                                     key="s2s_value", bind=BIND))  # fmt: skip
        state = [s.copy() for s in own]
        state[0][unit] = value
        source = f"h[{unit}] set to {value:g} (was {own[0][unit]:.4f})"
    original = decoding(cell, question)
    if state is None:
        st.markdown(f"{answer_line(original)}, from its own encoder's state.")
    else:
        changed = decoding(cell, question, state=as_key(state), source=source)
        verdict = "the same answer" if changed.answer == original.answer else "a different answer"
        st.markdown(
            f"From {source}: the decoder answers **{changed.answer or '(nothing)'}** instead of "
            f"**{original.answer}** — {verdict}."
        )
        st.plotly_chart(
            F.step_difference(original.trace, changed.trace, ("own", "replaced")),
            key="fig_s2s_replaced",
        )
    colour = st.radio("colour the map by", list(COLOURS), format_func=COLOURS.get,
                      horizontal=True, key="colour", bind=BIND)  # fmt: skip
    found = cached("seq2seq_maps", cell, lambda: S.handoff_map(model(cell)))
    answers = found["answers"]
    values = {
        "first": [int(a[0]) for a in answers],
        "length": [len(a) for a in answers],
        "last": [int(a[-1]) for a in answers],
    }[colour]
    hover = [f"{q} = {a}" for q, a in zip(found["questions"], answers, strict=True)]
    here = S.project(found, own)
    st.plotly_chart(
        F.handoff_map(found["xy"], np.array(values), COLOURS[colour], hover, here,
                      f"{question}", found["explained"]),
        key="fig_s2s_map",
    )  # fmt: skip


def capacity_ui() -> None:
    st.header("4 · How far the state carries")
    results, lines = {}, []
    for cell in S.CELLS:
        entry = S.manifest_entry(cell)
        if entry:
            results[cell] = {int(d): a for d, a in entry["capacity"].items()}
            lines.append(
                f"{cell.upper()}: {entry['heldout_accuracy'][-1]:.1%} exact on "
                f"{entry['heldout_questions']:,} held-out questions of the trained lengths"
            )
    st.markdown(
        f"Trained on numbers of 1 to {TRAINED_DIGITS} digits; 200 questions per length, "
        "measured when `make models` trained the shipped networks. " + "; ".join(lines) + "."
    )
    st.plotly_chart(F.capacity_lines(results, TRAINED_DIGITS), key="fig_s2s_capacity")


def code_ui(cell: str, question: str) -> None:
    st.header("5 · The Keras code")
    st.markdown(
        "The training model, the two inference models (`encoder_model`, and the one-step "
        "`decoder_model` with state inputs and outputs) and the decoding loop: the pattern to "
        "copy. Put the weights beside it: it prints this page's answer and states."
    )
    path = MODELS_DIR / f"{S.checkpoint_stem(cell)}.keras"
    code = seq2seq_script(cell, question, path.name)
    st.code(code, language="python")
    cols = st.columns(2)
    cols[0].download_button("Download the script", code, "encoder_decoder.py", key="s2s_code")
    # A callable: the file is read when the button is clicked, not on every run.
    label = f"Download the weights ({path.name}, {path.stat().st_size / 1e6:.1f} MB)"
    cols[1].download_button(label, path.read_bytes, path.name, key="s2s_weights",
                            on_click="ignore")  # fmt: skip


def main() -> None:
    apply_link("seq2seq", LINK)
    notices = st.container()
    st.title("Encoder → decoder")
    st.markdown(
        "Keras's `addition_rnn` task, learned by the `lstm_seq2seq` pattern: an encoder "
        "`LSTM(return_state=True)` reads the question, and its final states become the "
        "decoder's `initial_state`. That state is the only message between the two networks."
    )
    presets_ui()
    sb = st.sidebar
    sb.subheader("Encoder → decoder")
    cell = sb.radio("cell", list(CELL_TITLES), format_func=CELL_TITLES.get, key="s2s_cell",
                    bind=BIND)  # fmt: skip
    question = sb.text_input(
        "question", DEFAULT_QUESTION, max_chars=MAX_QUESTION, key="question", bind=BIND,
        help=f"Two whole numbers and '+', at most {MAX_QUESTION} characters. Trained on "
        f"numbers of 1 to {TRAINED_DIGITS} digits.",
    )  # fmt: skip
    try:
        enc, dec = handoff_ui(cell, question)
    except ConfigError as error:
        st.error(str(error))
        enc = None
    if enc is not None:
        teacher_ui(cell, enc.question, dec)
        message_ui(cell, enc.question, enc)
    capacity_ui()
    code_ui(cell, enc.question if enc is not None else DEFAULT_QUESTION)
    with notices:
        link_notices_ui("seq2seq")


main()
