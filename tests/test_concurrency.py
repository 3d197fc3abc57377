"""Eight students at once on one server, over Streamlit's own websocket protocol: every
answer is exact (the numbers of a fresh run of the same configuration), none is an error.
The students explore freely (the load test's explore mix, issue 20): most changes are layer
structures the server has not seen, served by the shared polymorphic graphs at once."""

from __future__ import annotations

import asyncio
import json
import random

import numpy as np
import pytest

import rnnviz
from scripts.load_test import Server, Session, random_change
from tests.test_app import heatmaps, values

CELL_LABELS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}


def heatmap(answer, name: str = "h") -> np.ndarray:
    """The heatmap the browser shows first (the chart carries every sample row; row 0 is
    the visible one)."""
    shown = [t for t in heatmaps(json.loads(answer.charts["fig_states"]))
             if t.get("visible", True) is not False]  # fmt: skip
    (z,) = [t["z"] for t in shown if t["name"] == name]
    return values(z)


def plan(student: int) -> list[tuple[str, object]]:
    """Five changes per student, drawn as the explore mix draws them (hidden_size 4-32,
    num_steps 5-50, cell, stateful, return_sequences, signal, seed), after a first change
    of cell so that every cell is met: students run different structures on the same
    shared graphs at the same time."""
    rng, state = random.Random(student), {}
    cell = ["lstm", "gru", "simple_rnn", "lstm"][student % 4]
    return [("cell", CELL_LABELS[cell])] + [random_change(rng, state, "explore") for _ in range(4)]


async def classroom(url: str, students: int) -> list[list[tuple[dict, object]]]:
    async def student(i: int):
        session = Session(url)
        await session.open()
        state, answers = {}, []
        for key, value in plan(i):
            state[key] = value
            answers.append((dict(state), await session.change(key, value)))
        await session.close()
        return answers

    return await asyncio.gather(*(student(i) for i in range(students)))


@pytest.fixture(scope="module")
def server():
    with Server() as s:
        yield s


def test_eight_sessions_changing_controls_at_once_all_get_exact_answers(server):
    labels = {v: k for k, v in CELL_LABELS.items()}
    results = asyncio.run(classroom(server.url, 8))
    checked = 0
    for answers in results:
        for state, answer in answers:
            assert answer.errors == [] and answer.status == 0, (state, answer.errors)
            fields = {k: labels[v] if k == "cell" else v for k, v in state.items()}
            expected = rnnviz.run(rnnviz.RunConfig(**fields))
            k, _, t, u = expected.h.shape
            want = expected.h[:, 0].reshape(k * t, u).T  # sample 0, batches end to end
            np.testing.assert_allclose(heatmap(answer), want, rtol=1e-5, atol=1e-6)
            checked += 1
    assert checked == 8 * 5
