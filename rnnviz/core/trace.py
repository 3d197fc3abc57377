"""The result of a run: every state, gate and returned tensor, as NumPy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnviz.core.config import RunConfig


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything a Keras recurrent layer computed over consecutive batches.

    Axis order of the per-timestep arrays: (batch_index, sample, time, unit).

    Attributes:
        config: the RunConfig that produced it.
        inputs: (num_batches, batch_size, num_steps, num_features), as fed.
        weights: layer.get_weights() as used: kernel, recurrent_kernel, bias.
        h: hidden state h_t after every timestep, whatever the return flags.
        c: cell state c_t (LSTM), same shape as h; None for GRU and SimpleRNN.
        gates: post-activation gate values, same shape as h. LSTM "input",
            "forget", "candidate", "output"; GRU "update", "reset", "candidate";
            SimpleRNN none.
        initial_states: per batch, the states [h] or [h, c] it started from,
            each (batch_size, hidden_size).
        final_states: per batch, the states it ended with.
        outputs: per batch, exactly what the genuine Keras layer returned, as
            (name, array) pairs named "output", "state_h", "state_c".
        state_size: the Keras cell's `state_size`: [units, units] for LSTM, units otherwise.
        layer_config: the Keras arguments of the layer that was traced (units,
            activations, flags): what rebuilds the same layer for an analysis.
        labels: optional (batch_index, sample, time) strings naming each step's input, such
            as the character fed (the char model's trace); "" where a step is padding.
        mask: optional (batch_index, sample, time) booleans, False where a step was
            masked (Embedding mask_zero, Masking): Keras skipped it, so h and c there
            are the previous step's and the gates are NaN. None: nothing was masked.
        origins: per batch, per sample row, where that row's initial state came from, in
            words: "initial state (zeros)", "given initial state", "carried from row 2 of
            batch 0", "reset_state(): zeros". Views draw the handoff from it; tests check
            it against the numbers (a carried start equals the previous end, bit for bit).
    """

    config: RunConfig
    inputs: np.ndarray
    weights: list[np.ndarray]
    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]
    initial_states: list[list[np.ndarray]]
    final_states: list[list[np.ndarray]]
    outputs: list[list[tuple[str, np.ndarray]]]
    state_size: list[int] | int = field(default=0)
    layer_config: dict | None = None
    labels: np.ndarray | None = None
    mask: np.ndarray | None = None
    origins: list[list[str]] | None = None

    def state(self, name: str) -> np.ndarray:
        """Returns the per-timestep state array named "h" or "c"."""
        if name == "h":
            return self.h
        if name == "c" and self.c is not None:
            return self.c
        raise KeyError(f"{self.config.cell} has no state {name!r}")

    def output(self, batch: int, name: str) -> np.ndarray:
        """Returns the tensor named `name` that Keras returned for batch `batch`."""
        for n, array in self.outputs[batch]:
            if n == name:
                return array
        raise KeyError(f"batch {batch} returned no {name!r}")

    def arrays(self) -> dict[str, np.ndarray]:
        """Returns every array under a flat, file-friendly name (for .npz export)."""
        out: dict[str, np.ndarray] = {"inputs": self.inputs, "h": self.h}
        if self.c is not None:
            out["c"] = self.c
        for name, gate in self.gates.items():
            out[f"gate_{name}"] = gate
        for i, w in enumerate(("kernel", "recurrent_kernel", "bias")):
            out[f"weights_{w}"] = self.weights[i]
        names = self.config.state_names
        for key, per_batch in (("initial", self.initial_states), ("final", self.final_states)):
            for i, name in enumerate(names):
                out[f"{key}_state_{name}"] = np.stack([s[i] for s in per_batch])
        for k, returned in enumerate(self.outputs):
            for name, array in returned:
                out[f"returned_b{k}_{name}"] = array
        return out
