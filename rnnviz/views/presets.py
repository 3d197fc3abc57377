"""The classic questions (shared/reference/seeds), each one configuration and one view."""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.core.config import RunConfig


@dataclass(frozen=True)
class Preset:
    """A configuration and the view that answers one classic question."""

    key: str
    label: str
    question: str
    config: RunConfig
    view: str


PRESETS: tuple[Preset, ...] = (
    Preset(
        key="lstm_states",
        label="1 · What are h_t and c_t?",
        question="An LSTM(8) on batches of 2 × 5 steps × 1 feature of a sine, return_state=True: "
        "state_h and state_c are both (batch_size, hidden_size) = (2, 8) and "
        "cell.state_size is [8, 8]; stateful=True feeds batch k's state to batch k+1.",
        config=RunConfig(
            cell="lstm",
            batch_size=2,
            num_steps=5,
            num_features=1,
            hidden_size=8,
            num_batches=3,
            return_sequences=True,
            return_state=True,
            stateful=True,
            # A sine, not the zeros of the seed's example: zeros from a zero state leave
            # every LSTM state at exactly 0, and a page of zeros shows nothing.
            signal="sine",
            initial_state="zeros",
        ),
        view="returns",
    ),
    Preset(
        key="initial_state",
        label="2 · Setting a SimpleRNN's initial state",
        question="SimpleRNN(3) on 2 samples × 3 steps × 4 features, started from a given "
        "state: symbolically with initial_state= (a second model input) or numerically "
        "on a stateful layer with states[i].assign(...) (Keras 3 has no reset_states(states=)).",
        config=RunConfig(
            cell="simple_rnn",
            batch_size=2,
            num_steps=3,
            num_features=4,
            hidden_size=3,
            num_batches=2,
            return_sequences=False,
            return_state=False,
            stateful=True,
            signal="random",
            initial_state="random",
        ),
        view="carry",
    ),
    Preset(
        key="return_sequences",
        label="3 · return_sequences and stateful",
        question="LSTM(4) on the answer's 2 × 3 × 3 array: return_sequences=True returns "
        "(2, 3, 4), one h_t per step (many-to-many); False returns (2, 4), the last one; "
        "stateful=True starts sample i of the next batch from sample i's last state.",
        config=RunConfig(
            cell="lstm",
            batch_size=2,
            num_steps=3,
            num_features=3,
            hidden_size=4,
            num_batches=2,
            return_sequences=True,
            return_state=False,
            stateful=True,
            signal="answer_002",
            initial_state="zeros",
        ),
        view="returns",
    ),
)

PRESETS += (
    Preset(
        key="state_trap",
        label="4 · Setting a state from outside (seeds/000)",
        question="seeds/000 sets an LSTM's state with model.layers[0].states[0] = "
        "K.variable(...). On Keras 3 the same line (with keras.Variable) runs without an "
        "error and changes nothing; layer.states[0].assign(h0) is the way, and a wrong "
        "shape then fails loudly. Both are run live below.",
        config=RunConfig(
            cell="lstm",
            batch_size=2,
            num_steps=5,
            num_features=1,
            hidden_size=8,
            num_batches=3,
            return_sequences=True,
            return_state=True,
            stateful=True,
            signal="sine",
            initial_state="random",
        ),
        view="code",
    ),
)

PRESETS_BY_KEY = {p.key: p for p in PRESETS}
