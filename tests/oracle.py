"""An independent NumPy recurrence for LSTM, GRU and SimpleRNN, written from the equations.

It shares no code with rnnviz: it is the oracle the Keras numbers are checked against.
Weights follow Keras's get_weights() layout: kernel (F, blocks*U),
recurrent_kernel (U, blocks*U), bias; LSTM blocks i, f, g, o; GRU blocks z, r, h.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(x, h, c, kernel, recurrent, bias):
    u = h.shape[-1]
    z = x @ kernel + h @ recurrent + bias
    i = sigmoid(z[:, :u])
    f = sigmoid(z[:, u : 2 * u])
    g = np.tanh(z[:, 2 * u : 3 * u])
    o = sigmoid(z[:, 3 * u :])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return [h_new, c_new], {"input": i, "forget": f, "candidate": g, "output": o}


def gru_step(x, h, kernel, recurrent, bias, reset_after=True):
    u = h.shape[-1]
    if reset_after:
        xb, rb = bias[0], bias[1]
    else:
        xb, rb = bias, np.zeros_like(bias)
    xz, xr, xh = np.split(x @ kernel + xb, 3, axis=-1)
    if reset_after:
        hz, hr, hh = np.split(h @ recurrent + rb, 3, axis=-1)
        z = sigmoid(xz + hz)
        r = sigmoid(xr + hr)
        cand = np.tanh(xh + r * hh)
    else:
        z = sigmoid(xz + h @ recurrent[:, :u])
        r = sigmoid(xr + h @ recurrent[:, u : 2 * u])
        cand = np.tanh(xh + (r * h) @ recurrent[:, 2 * u :])
    h_new = z * h + (1 - z) * cand
    return [h_new], {"update": z, "reset": r, "candidate": cand}


def simple_rnn_step(x, h, kernel, recurrent, bias):
    return [np.tanh(x @ kernel + h @ recurrent + bias)], {}


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),  # Keras 3: relu6(x + 3) / 6
    "linear": lambda x: x,
}


def recur_masked(
    cell,
    x,
    weights,
    initial,
    mask,
    reset_after=True,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """`recur` with any of ACTIVATIONS and a (B, T) mask: where it is False the step is
    skipped (the states carry over, as Keras does) and the gates are NaN."""
    act, rec = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    if bias is None or bias.size == 0:
        bias = 0.0
    state = [np.asarray(s, np.float64) for s in initial]
    u = state[0].shape[-1]
    states, gates = [], []
    for t in range(x.shape[1]):
        xt = np.asarray(x[:, t], np.float64)
        h = state[0]
        if cell == "lstm":
            z = xt @ kernel + h @ recurrent + bias
            i, f, g, o = (
                rec(z[:, :u]),
                rec(z[:, u : 2 * u]),
                act(z[:, 2 * u : 3 * u]),
                rec(z[:, 3 * u :]),
            )
            c = f * state[1] + i * g
            new, step_gates = (
                [o * act(c), c],
                {"input": i, "forget": f, "candidate": g, "output": o},
            )
        elif cell == "gru":
            if reset_after:
                xb, rb = (bias[0], bias[1]) if np.ndim(bias) == 2 else (0.0, 0.0)
            else:
                xb, rb = bias, 0.0
            xz, xr, xh = np.split(xt @ kernel + xb, 3, axis=-1)
            if reset_after:
                hz, hr, hh = np.split(h @ recurrent + rb, 3, axis=-1)
                zg, r = rec(xz + hz), rec(xr + hr)
                cand = act(xh + r * hh)
            else:
                zg = rec(xz + h @ recurrent[:, :u])
                r = rec(xr + h @ recurrent[:, u : 2 * u])
                cand = act(xh + (r * h) @ recurrent[:, 2 * u :])
            new, step_gates = (
                [zg * h + (1 - zg) * cand],
                {"update": zg, "reset": r, "candidate": cand},
            )
        else:
            new, step_gates = [act(xt @ kernel + h @ recurrent + bias)], {}
        keep = np.asarray(mask[:, t], bool)[:, None]
        state = [np.where(keep, n, s) for n, s in zip(new, state, strict=True)]
        step_gates = {k: np.where(keep, v, np.nan) for k, v in step_gates.items()}
        states.append(state)
        gates.append(step_gates)
    per_state = [np.stack([s[i] for s in states], axis=1) for i in range(len(initial))]
    per_gate = {name: np.stack([g[name] for g in gates], axis=1) for name in gates[0]}
    return per_state, per_gate


def recur(cell, x, weights, initial, reset_after=True):
    """Runs one batch x (B, T, F) from `initial`; returns per-step states and gates.

    Returns (states, gates): states is a list of (B, T, U) arrays [h] or [h, c],
    gates a dict of (B, T, U) arrays. Computed in float64.
    """
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    state = [np.asarray(s, np.float64) for s in initial]
    states, gates = [], []
    for t in range(x.shape[1]):
        xt = np.asarray(x[:, t], np.float64)
        if cell == "lstm":
            state, g = lstm_step(xt, state[0], state[1], kernel, recurrent, bias)
        elif cell == "gru":
            state, g = gru_step(xt, state[0], kernel, recurrent, bias, reset_after)
        else:
            state, g = simple_rnn_step(xt, state[0], kernel, recurrent, bias)
        states.append(state)
        gates.append(g)
    per_state = [np.stack([s[i] for s in states], axis=1) for i in range(len(initial))]
    per_gate = {name: np.stack([g[name] for g in gates], axis=1) for name in gates[0]}
    return per_state, per_gate


def recur_batches(cell, inputs, weights, initial, stateful, reset_before=(), reset_after=True):
    """Feeds (K, B, T, F) batches in order, as Keras does.

    Returns per batch (initial states, states, gates).
    """
    zeros = [np.zeros_like(np.asarray(s, np.float64)) for s in initial]
    current = [np.asarray(s, np.float64) for s in initial]
    out = []
    for k in range(inputs.shape[0]):
        if stateful and k in reset_before:
            current = zeros
        start = current if stateful else [np.asarray(s, np.float64) for s in initial]
        states, gates = recur(cell, inputs[k], weights, start, reset_after)
        out.append((start, states, gates))
        current = [s[:, -1] for s in states]
    return out
