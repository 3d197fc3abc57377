"""The generated Keras 3 script runs and prints the shapes the trace holds."""

import re
import subprocess
import sys

import numpy as np
import pytest

import rnnviz

CASES = [
    rnnviz.RunConfig(),
    rnnviz.RunConfig(
        cell="lstm",
        stateful=True,
        initial_state="random",
        reset_before=(2,),
        return_sequences=False,
    ),
    rnnviz.RunConfig(cell="gru", return_state=False, reset_after=False, num_features=3),
    rnnviz.RunConfig(cell="simple_rnn", hidden_size=3, initial_state="random", num_batches=2),
    rnnviz.RunConfig(cell="simple_rnn", hidden_size=3, stateful=True, initial_state="random"),
]


def _run_script(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _printed_shapes(script: str) -> tuple[dict[tuple[int, str], tuple[int, ...]], str]:
    stdout = _run_script(script)
    shapes = {}
    for k, name, shape in re.findall(r"batch (\d+) (\w+) shape (\(.*?\))", stdout):
        shapes[int(k), name] = eval(shape)  # a tuple literal printed by the script
    state_size = re.search(r"cell.state_size (.*)", stdout).group(1)
    return shapes, state_size


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.cell}-stateful{c.stateful}")
def test_generated_script_prints_the_shapes_keras_returned(cfg):
    shapes, state_size = _printed_shapes(rnnviz.keras_code(cfg))
    trace = rnnviz.run(cfg)
    expected = {(k, name): a.shape for k, out in enumerate(trace.outputs) for name, a in out}
    assert shapes == expected
    assert state_size == str(trace.state_size)


def test_stateful_script_uses_keras3_idioms_not_keras2_ones():
    code = rnnviz.keras_code(
        rnnviz.RunConfig(stateful=True, initial_state="random", reset_before=(1,))
    )
    assert "keras.Input(batch_shape=(batch_size, num_steps, num_features))" in code
    assert "layer.states[0].assign(h0)" in code and "layer.states[1].assign(c0)" in code
    assert "layer.reset_state()" in code
    statements = "\n".join(line.split("#")[0] for line in code.splitlines())
    for old in ("batch_input_shape", "reset_states(", "K.set_value", "set_value("):
        assert old not in statements


@pytest.mark.parametrize("cfg", CASES[1:4], ids=lambda c: c.cell)
def test_small_script_prints_the_same_last_h_as_the_page(cfg):
    stdout = _run_script(rnnviz.keras_code(cfg))
    trace = rnnviz.run(cfg)
    printed = re.findall(r"batch (\d+) last h (\[.*\])", stdout)
    assert len(printed) == cfg.num_batches
    for k, values in printed:
        np.testing.assert_allclose(eval(values), trace.h[int(k), :, -1], atol=2e-6)


def test_large_script_says_it_cannot_inline_the_page_arrays():
    code = rnnviz.keras_code(rnnviz.RunConfig(hidden_size=64, num_steps=100))
    assert "Too large to inline" in code and "set_weights" not in code
