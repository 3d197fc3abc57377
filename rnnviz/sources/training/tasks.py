"""Built-in sequence tasks a recurrent network can be trained on, each with its hidden quantity.

Each task makes inputs `x`, targets `y` and a `latent` array: the quantity a network has to
keep in its state to solve the task (the remembered symbol, the bracket depth, the clean
signal). The Train page ranks units by how well they follow it.

Importing this module loads no TensorFlow.

Example:
    >>> from rnnviz.sources.training.tasks import TASKS
    >>> data = TASKS["brackets"].make(num_samples=4, seed=0)
    >>> data.x.shape, data.y.shape, data.latent.shape
    ((4, 40, 3), (4, 40), (4, 40))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnviz.core.config import ConfigError, Described

#: Most samples one call of Task.make may generate (a bound for a shared server).
MAX_SAMPLES = 100_000


@dataclass(frozen=True, eq=False)
class TaskData:
    """Inputs, targets and the hidden quantity of one task's samples.

    Attributes:
        x: (samples, steps, features) float32 inputs.
        y: targets. Classification tasks hold class ids, int32: (samples,) when only the
            last step is predicted, (samples, steps) when every step is. Regression tasks
            hold float32 values of shape (samples, steps).
        latent: (samples, steps) float32: what a good network must track at every step.
    """

    x: np.ndarray
    y: np.ndarray
    latent: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, index: slice | np.ndarray) -> TaskData:
        """Returns the samples at `index` (a slice or index array)."""
        return TaskData(self.x[index], self.y[index], self.latent[index])


@dataclass(frozen=True, eq=False)
class Task:
    """A sequence task with the defaults that train well on a CPU in seconds.

    Attributes:
        name: key in TASKS.
        title: a few words for a picker.
        description: one or two sentences a student reads.
        num_features, num_steps: the input's shape per sample.
        hidden_size, epochs: defaults that reach `target` within seconds.
        kind: "classification" or "regression".
        num_classes: classes of a classification task (0 for regression).
        every_step: the target is given at every step (return_sequences=True), not only
            at the last one.
        target: (metric value, sentence): what counts as solved, e.g. validation
            accuracy >= 0.95 with an LSTM.
        latent_name: what `latent` is, in words for a plot axis.
        generate: (num_samples, rng) -> TaskData; use `make`.
    """

    name: str
    title: str
    description: str
    num_features: int
    num_steps: int
    hidden_size: int
    epochs: int
    kind: str
    num_classes: int
    every_step: bool
    target: tuple[float, str]
    latent_name: str
    generate: Callable[[int, np.random.Generator], TaskData]
    batch_size: int = 64
    learning_rate: float = 0.01
    num_train: int = 2048
    num_val: int = 256

    @property
    def metric_name(self) -> str:
        """Returns "accuracy" for classification tasks, "mae" for regression."""
        return "accuracy" if self.kind == "classification" else "mae"

    def make(self, num_samples: int, seed: int = 0) -> TaskData:
        """Returns `num_samples` samples; the same seed gives the same data."""
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
            raise ConfigError(
                "num_samples", num_samples, f"must be a whole number from 1 to {MAX_SAMPLES:,}"
            )
        if not 1 <= num_samples <= MAX_SAMPLES:
            raise ConfigError("num_samples", num_samples, f"must be from 1 to {MAX_SAMPLES:,}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError("seed", seed, "must be a whole number >= 0")
        rng = np.random.default_rng([int(seed), _task_salt(self.name)])
        return self.generate(int(num_samples), rng)

    def splits(self, seed: int = 0) -> tuple[TaskData, TaskData]:
        """Returns (train, validation) of the default sizes, disjoint draws from one seed."""
        data = self.make(self.num_train + self.num_val, seed)
        return data.take(slice(0, self.num_train)), data.take(slice(self.num_train, None))


def _task_salt(name: str) -> int:
    # A stable per-task number (hash() is salted per process) so tasks differ for one seed.
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little")


# ----- remember -------------------------------------------------------------------------

REMEMBER_SYMBOLS = 4
REMEMBER_DISTRACTORS = 4


def depth_of(text: str, open_char: str = "(", close_char: str = ")") -> np.ndarray:
    """Returns the nesting depth after each character: depth_of("(()(") == [1, 2, 1, 2]."""
    steps = np.array([1 if ch == open_char else -1 if ch == close_char else 0 for ch in text])
    return np.cumsum(steps).astype(np.float32) if len(text) else np.zeros(0, np.float32)


def _remember(num_steps: int) -> Callable[[int, np.random.Generator], TaskData]:
    def generate(n: int, rng: np.random.Generator) -> TaskData:
        f = REMEMBER_SYMBOLS + REMEMBER_DISTRACTORS
        x = np.zeros((n, num_steps, f), np.float32)
        value = rng.integers(0, REMEMBER_SYMBOLS, n)
        x[np.arange(n), 0, value] = 1.0
        distract = rng.integers(0, REMEMBER_DISTRACTORS, (n, num_steps - 1))
        rows = np.repeat(np.arange(n), num_steps - 1)
        cols = np.tile(np.arange(1, num_steps), n)
        x[rows, cols, REMEMBER_SYMBOLS + distract.ravel()] = 1.0
        latent = np.repeat(value[:, None], num_steps, axis=1).astype(np.float32)
        return TaskData(x, value.astype(np.int32), latent)

    return generate


# ----- brackets -------------------------------------------------------------------------

BRACKET_SYMBOLS = ("(", ")", "x")
MAX_DEPTH = 4


def bracket_text(x: np.ndarray) -> str:
    """Returns the characters a (steps, 3) one-hot brackets sample stands for."""
    return "".join(BRACKET_SYMBOLS[i] for i in np.argmax(x, axis=-1))


def _brackets(num_steps: int) -> Callable[[int, np.random.Generator], TaskData]:
    def generate(n: int, rng: np.random.Generator) -> TaskData:
        # A random walk in depth 0..MAX_DEPTH: open, close or a filler symbol, never
        # closing at depth 0 nor opening at MAX_DEPTH (the target is always well defined).
        symbols = np.zeros((n, num_steps), np.int64)
        depth = np.zeros((n, num_steps), np.float32)
        d = np.zeros(n, np.int64)
        for t in range(num_steps):
            u = rng.random(n)
            s = np.where(u < 0.4, 0, np.where(u < 0.8, 1, 2))
            s = np.where((s == 1) & (d == 0), 0, s)
            s = np.where((s == 0) & (d == MAX_DEPTH), 1, s)
            d = d + (s == 0) - (s == 1)
            symbols[:, t] = s
            depth[:, t] = d
        x = np.eye(len(BRACKET_SYMBOLS), dtype=np.float32)[symbols]
        return TaskData(x, depth.astype(np.int32), depth)

    return generate


# ----- next_value -----------------------------------------------------------------------

NEXT_VALUE_NOISE = 0.1


def _next_value(num_steps: int) -> Callable[[int, np.random.Generator], TaskData]:
    def generate(n: int, rng: np.random.Generator) -> TaskData:
        # A sine whose period is drawn per sample (8..16 steps), with noise: predicting the
        # next value means knowing the period and phase, which a unit must hold.
        t = np.arange(num_steps + 1)
        period = rng.uniform(8.0, 16.0, (n, 1))
        phase = rng.uniform(0.0, 2 * np.pi, (n, 1))
        clean = np.sin(2 * np.pi * t / period + phase).astype(np.float32)
        noisy = clean + rng.normal(0.0, NEXT_VALUE_NOISE, clean.shape).astype(np.float32)
        x = noisy[:, :-1, None]
        y = clean[:, 1:]
        return TaskData(x.astype(np.float32), y.astype(np.float32), clean[:, :-1])

    return generate


# ----- adding ---------------------------------------------------------------------------


def _adding(num_steps: int) -> Callable[[int, np.random.Generator], TaskData]:
    def generate(n: int, rng: np.random.Generator) -> TaskData:
        # Hochreiter & Schmidhuber's adding problem: two marked values to sum at the end.
        values = rng.uniform(0.0, 1.0, (n, num_steps)).astype(np.float32)
        marks = np.zeros((n, num_steps), np.float32)
        first = rng.integers(0, num_steps // 2, n)
        second = rng.integers(num_steps // 2, num_steps, n)
        marks[np.arange(n), first] = 1.0
        marks[np.arange(n), second] = 1.0
        x = np.stack([values, marks], axis=-1)
        running = np.cumsum(values * marks, axis=1).astype(np.float32)
        return TaskData(x, running[:, -1].copy(), running)

    return generate


TASKS: dict[str, Task] = {
    "remember": Task(
        name="remember",
        title="Remember the first symbol",
        description=(
            "The first step shows one of 4 symbols; 29 steps of random distractors follow. "
            "At the last step the network must say which symbol it saw first."
        ),
        num_features=REMEMBER_SYMBOLS + REMEMBER_DISTRACTORS,
        num_steps=30,
        hidden_size=16,
        epochs=20,
        kind="classification",
        num_classes=REMEMBER_SYMBOLS,
        every_step=False,
        target=(0.95, "validation accuracy >= 95 % with an LSTM"),
        latent_name="the first symbol (0-3)",
        generate=_remember(30),
    ),
    "brackets": Task(
        name="brackets",
        title="Count open brackets",
        description=(
            "A stream of '(', ')' and 'x'. At every step the network says how many brackets "
            "are open (0 to 4): it has to count."
        ),
        num_features=len(BRACKET_SYMBOLS),
        num_steps=40,
        hidden_size=16,
        epochs=20,
        kind="classification",
        num_classes=MAX_DEPTH + 1,
        every_step=True,
        target=(0.95, "validation accuracy >= 95 % with an LSTM"),
        latent_name="bracket depth",
        generate=_brackets(40),
    ),
    "next_value": Task(
        name="next_value",
        title="Predict the next value of a noisy wave",
        description=(
            "A sine wave with a random period and noise. At every step the network predicts "
            "the next clean value, so it must pick up the rhythm."
        ),
        num_features=1,
        num_steps=40,
        hidden_size=16,
        epochs=20,
        kind="regression",
        num_classes=0,
        every_step=True,
        target=(0.12, "validation mean absolute error <= 0.12 with an LSTM"),
        latent_name="clean signal value",
        generate=_next_value(40),
    ),
    "adding": Task(
        name="adding",
        title="Add the two marked numbers",
        description=(
            "Random numbers, two of them marked. At the end the network outputs the sum "
            "of the two marked numbers (the classic adding problem)."
        ),
        num_features=2,
        num_steps=30,
        hidden_size=16,
        epochs=20,
        kind="regression",
        num_classes=0,
        every_step=False,
        target=(0.1, "validation mean absolute error <= 0.10 with an LSTM"),
        latent_name="running sum of marked numbers",
        generate=_adding(30),
    ),
}


def get_task(task: Task | str) -> Task:
    """Returns the Task for a Task or its name, or raises ConfigError naming `task`."""
    if isinstance(task, Task):
        return task
    if isinstance(task, str) and task in TASKS:
        return TASKS[task]
    shown = task if isinstance(task, str) else Described(type(task).__name__)
    raise ConfigError("task", shown, "must be one of " + ", ".join(TASKS))
