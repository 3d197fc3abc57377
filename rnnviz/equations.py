"""The cell's equations at one (batch, sample, timestep, unit), with the actual numbers."""

from __future__ import annotations

import numpy as np

from rnnviz.trace import Trace


def _previous(trace: Trace, name: str, batch: int, sample: int, t: int, unit: int) -> float:
    if t > 0:
        return float(trace.state(name)[batch, sample, t - 1, unit])
    index = trace.config.state_names.index(name)
    return float(trace.initial_states[batch][index][sample, unit])


def step_equations(trace: Trace, batch: int, sample: int, t: int, unit: int) -> list[str]:
    """Returns LaTeX lines: the update of one unit at one step, every term a number from the trace.

    Each line's right-hand side is recomputed from the shown numbers, so a
    reader can check the arithmetic; the left-hand side is the traced value.
    """
    cfg = trace.config
    at = (batch, sample, t, unit)
    h = float(trace.h[at])
    lines = []
    if cfg.cell == "lstm":
        g = {name: float(trace.gates[name][at]) for name in trace.gates}
        c_prev = _previous(trace, "c", batch, sample, t, unit)
        c = float(trace.c[at])
        lines += [
            rf"i_t = \sigma(\cdot) = {g['input']:.6f},\quad f_t = {g['forget']:.6f},\quad "
            rf"g_t = \tanh(\cdot) = {g['candidate']:.6f},\quad o_t = {g['output']:.6f}",
            rf"c_t = f_t \cdot c_{{t-1}} + i_t \cdot g_t = {g['forget']:.6f} \cdot {c_prev:.6f}"
            rf" + {g['input']:.6f} \cdot {g['candidate']:.6f} = "
            rf"{g['forget'] * c_prev + g['input'] * g['candidate']:.6f}"
            rf"\quad(\text{{Keras: }} {c:.6f})",
            rf"h_t = o_t \cdot \tanh(c_t) = {g['output']:.6f} \cdot \tanh({c:.6f}) = "
            rf"{g['output'] * np.tanh(c):.6f}\quad(\text{{Keras: }} {h:.6f})",
        ]
    elif cfg.cell == "gru":
        z = float(trace.gates["update"][at])
        r = float(trace.gates["reset"][at])
        cand = float(trace.gates["candidate"][at])
        h_prev = _previous(trace, "h", batch, sample, t, unit)
        lines += [
            rf"z_t = {z:.6f},\quad r_t = {r:.6f},\quad \tilde h_t = {cand:.6f}",
            rf"h_t = z_t \cdot h_{{t-1}} + (1 - z_t) \cdot \tilde h_t = {z:.6f} \cdot "
            rf"{h_prev:.6f} + {1 - z:.6f} \cdot {cand:.6f} = {z * h_prev + (1 - z) * cand:.6f}"
            rf"\quad(\text{{Keras: }} {h:.6f})",
        ]
    else:
        kernel, recurrent, bias = trace.weights
        x = trace.inputs[batch, sample, t]
        h_prev_vec = (
            trace.h[batch, sample, t - 1] if t > 0 else trace.initial_states[batch][0][sample]
        )
        wx = float(x @ kernel[:, unit])
        uh = float(h_prev_vec @ recurrent[:, unit])
        b = float(bias[unit])
        lines += [
            rf"h_t = \tanh(W x_t + U h_{{t-1}} + b) = \tanh({wx:.6f} + {uh:.6f} + {b:.6f}) = "
            rf"{np.tanh(wx + uh + b):.6f}\quad(\text{{Keras: }} {h:.6f})",
        ]
    return lines
