"""Live checks of what Keras returned, each a sentence and whether it holds as measured.

The Explore page lists them under "What Keras returns"; nothing here is a fixed claim:
every sentence is computed from the trace it describes.
"""

from __future__ import annotations

import numpy as np

from rnnviz.core.run import output_names
from rnnviz.core.trace import Trace


def return_checks(trace: Trace, batch: int) -> list[tuple[str, bool]]:
    """Returns live checks on what Keras returned, each a sentence and whether it holds."""
    cfg = trace.config
    out = dict(trace.outputs[batch])
    names = [n for n, _ in trace.outputs[batch]]
    facts = [(f"order: [{', '.join(names)}]", names == output_names(cfg))]
    h_last = trace.h[batch, :, -1]
    if "state_h" in out:
        if cfg.return_sequences:
            facts.append(
                (
                    "return_sequences=True: output[:, -1] == state_h",
                    bool(np.array_equal(out["output"][:, -1], out["state_h"])),
                )
            )
        else:
            facts.append(
                (
                    "return_sequences=False: output == state_h",
                    bool(np.array_equal(out["output"], out["state_h"])),
                )
            )
        facts.append(
            (
                f"state_h shape = (batch_size, hidden_size) = {out['state_h'].shape}",
                out["state_h"].shape == (cfg.batch_size, cfg.hidden_size),
            )
        )
    if "state_c" in out:
        facts.append(
            (
                "state_c equals the traced c_t at the last step",
                bool(np.allclose(out["state_c"], trace.c[batch, :, -1], atol=1e-6)),
            )
        )
    last = out["output"][:, -1] if cfg.return_sequences else out["output"]
    facts.append(
        (
            "the output's last step equals the traced h_t at the last step",
            bool(np.allclose(last, h_last, atol=1e-6)),
        )
    )
    expected = [cfg.hidden_size, cfg.hidden_size] if cfg.has_cell_state else cfg.hidden_size
    facts.append(
        (
            f"cell.state_size = {trace.state_size}, one entry per state of "
            f"{'h and c' if cfg.has_cell_state else 'h'}, each hidden_size",
            trace.state_size == expected,
        )
    )
    return facts


#: The shapes the classic answer (seeds/002) printed, by return_sequences.
ANSWER_SHAPES = {True: (2, 3, 4), False: (2, 4)}


def answer_shapes(trace: Trace, batch: int) -> str:
    """The sentence comparing the output Keras returned here with the answer's, as measured."""
    shape = tuple(trace.output(batch, "output").shape)
    expected = ANSWER_SHAPES[trace.config.return_sequences]
    if shape == expected:
        return f"the shapes match: {shape} here and in the answer"
    return (
        f"the shapes differ: {shape} here, {expected} in the answer (it used LSTM(4) with "
        f"return_sequences={trace.config.return_sequences})"
    )


def keras_variable_outcome(max_change: float) -> str:
    """What `states[0] = keras.Variable(h0)` did to predict's output, as measured."""
    if max_change == 0:
        return (
            "keras.Variable runs without an error and **changes nothing**: predict's output "
            "is the same as starting at zeros, to the last bit. The compiled predict still "
            "reads the layer's own state variable; the list now points at another one that "
            "nothing reads."
        )
    return (
        "keras.Variable runs without an error and **changes predict's output** by up to "
        f"{max_change:.6g} against starting at zeros: on this Keras the new variable is read."
    )
