"""Long-stream tasks whose memory must cross window boundaries (the Stateful page).

`switch`: a stream of noise with rare switch events; the target at every step is the mode
the last switch set, 20 to 100 steps back, while a training window holds 10. Inside one
window the answer is usually not there: only a state carried from window to window in
the right order can know it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.core.config import ConfigError


@dataclass(frozen=True)
class Stream:
    """A stream and its answers.

    Attributes:
        x: (N, num_features) float32 inputs.
        y: (N,) float32 targets, one per step.
        latent: (N,) the hidden quantity a unit may track (the mode).
    """

    x: np.ndarray
    y: np.ndarray
    latent: np.ndarray


@dataclass(frozen=True)
class StreamTask:
    """A task on one long stream, and the settings its shipped networks use.

    Attributes:
        name, title, description: what the page shows.
        num_features: inputs per step.
        latent_name: what `Stream.latent` is, in words.
        stream_len, heldout_len: the training and held-out streams' lengths.
        batch_size, window, hidden_size, epochs, learning_rate: the default training.
    """

    name: str
    title: str
    description: str
    num_features: int
    latent_name: str
    stream_len: int = 8_000
    heldout_len: int = 8_000
    batch_size: int = 8
    window: int = 10
    hidden_size: int = 16
    epochs: int = 30
    learning_rate: float = 0.01
    metric_name: str = "accuracy"

    def make(self, length: int, seed: int) -> Stream:
        """Returns a stream of `length` steps; the same seed gives the same stream."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 2:
            raise ConfigError("length", length, "must be a whole number of at least 2")
        return _switch(int(length), np.random.default_rng([int(seed), 7_331]))

    def streams(self, seed: int) -> tuple[Stream, Stream]:
        """Returns the (training, held-out) streams of the default lengths, disjoint draws."""
        return self.make(self.stream_len, 2 * seed), self.make(self.heldout_len, 2 * seed + 1)


def _switch(length: int, rng: np.random.Generator) -> Stream:
    events = np.zeros(length, np.float32)
    mode = np.zeros(length, np.float32)
    t = 0
    current = float(rng.integers(0, 2))
    events[0] = 1.0 if current else -1.0  # the first mode is announced at step 0
    while t < length:
        gap = int(rng.integers(20, 101))
        mode[t : t + gap] = current
        t += gap
        if t < length:
            current = float(rng.integers(0, 2))
            events[t] = 1.0 if current else -1.0
    noise = rng.standard_normal(length).astype(np.float32) * 0.5
    x = np.stack([events, noise], axis=1)
    return Stream(x=x, y=mode.copy(), latent=mode)


SWITCH = StreamTask(
    name="switch",
    title="Switch: remember the last switch",
    description=(
        "A long stream of noise with a rare switch event (+1: switch on, −1: switch off) "
        "every 20 to 100 steps. At every step the network answers whether the switch is on. "
        "A training window holds 10 steps, so the last switch is usually several windows "
        "back: only a state carried from window to window, in the right order, knows it."
    ),
    num_features=2,
    latent_name="switch on",
)
STREAM_TASKS = {SWITCH.name: SWITCH}


def get_stream_task(task: StreamTask | str) -> StreamTask:
    """Returns the StreamTask for a task or its name, or raises ConfigError naming `task`."""
    if isinstance(task, StreamTask):
        return task
    if isinstance(task, str) and task in STREAM_TASKS:
        return STREAM_TASKS[task]
    raise ConfigError("task", task, "must be one of " + ", ".join(STREAM_TASKS))
