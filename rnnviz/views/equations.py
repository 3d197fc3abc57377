"""The cell's equations at one (batch, sample, timestep, unit), with the actual numbers."""

from __future__ import annotations

import numpy as np

from rnnviz.core.trace import Trace


def _v(value: float) -> str:
    """A number for an equation: negative ones in parentheses, so a·(−b) reads right."""
    return f"({value:.6f})" if value < 0 else f"{value:.6f}"


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
            rf"i_t = \sigma(\cdot) = {_v(g['input'])},\quad f_t = {_v(g['forget'])},\quad "
            rf"g_t = \tanh(\cdot) = {_v(g['candidate'])},\quad o_t = {_v(g['output'])}",
            rf"c_t = f_t \cdot c_{{t-1}} + i_t \cdot g_t = {_v(g['forget'])} \cdot {_v(c_prev)}"
            rf" + {_v(g['input'])} \cdot {_v(g['candidate'])} = "
            rf"{_v(g['forget'] * c_prev + g['input'] * g['candidate'])}"
            rf"\quad(\text{{Keras: }} {_v(c)})",
            rf"h_t = o_t \cdot \tanh(c_t) = {_v(g['output'])} \cdot \tanh({_v(c)}) = "
            rf"{_v(g['output'] * np.tanh(c))}\quad(\text{{Keras: }} {_v(h)})",
        ]
    elif cfg.cell == "gru":
        z = float(trace.gates["update"][at])
        r = float(trace.gates["reset"][at])
        cand = float(trace.gates["candidate"][at])
        h_prev = _previous(trace, "h", batch, sample, t, unit)
        lines += [
            rf"z_t = {_v(z)},\quad r_t = {_v(r)},\quad \tilde h_t = {_v(cand)}",
            rf"h_t = z_t \cdot h_{{t-1}} + (1 - z_t) \cdot \tilde h_t = {_v(z)} \cdot "
            rf"{_v(h_prev)} + {_v(1 - z)} \cdot {_v(cand)} = {_v(z * h_prev + (1 - z) * cand)}"
            rf"\quad(\text{{Keras: }} {_v(h)})",
        ]
    else:
        kernel, recurrent, bias = trace.weights
        backwards = bool((trace.layer_config or {}).get("go_backwards", False))
        x = trace.inputs[batch, sample, cfg.num_steps - 1 - t if backwards else t]
        h_prev_vec = (
            trace.h[batch, sample, t - 1] if t > 0 else trace.initial_states[batch][0][sample]
        )
        wx = float(x @ kernel[:, unit])
        uh = float(h_prev_vec @ recurrent[:, unit])
        b = float(bias[unit])
        lines += [
            rf"h_t = \tanh(W x_t + U h_{{t-1}} + b) = \tanh({_v(wx)} + {_v(uh)} + {_v(b)}) = "
            rf"{_v(np.tanh(wx + uh + b))}\quad(\text{{Keras: }} {_v(h)})",
        ]
    return lines
