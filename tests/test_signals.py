"""Input signals: deterministic, distinct per row, continuous across batches."""

import numpy as np
import pytest

from rnnviz import SIGNALS, RunConfig
from rnnviz.core.signals import make_inputs

VARYING = [s for s in SIGNALS if s not in ("zeros", "ones", "answer_002")]
SHAPED = [s for s in SIGNALS if s != "answer_002"]


@pytest.mark.parametrize("signal", SHAPED)
def test_shape_and_dtype(signal):
    x = make_inputs(
        RunConfig(signal=signal, num_batches=3, batch_size=4, num_steps=6, num_features=2)
    )
    assert x.shape == (3, 4, 6, 2) and x.dtype == np.float32


#: Two rows of 2 batches x 4 steps, end to end, written out from each signal's definition:
#: sine with a period of max(4 / 2, 4) = 4 steps and a half-period phase between the rows;
#: step from onsets floor((row + 1) * 8 / 3) = 2 and 5; impulse at floor(row * 8 / 3) = 0
#: and 2; ramp from -1 to 1 over 8 steps (odd rows fall).
WRITTEN_OUT = {
    "sine": [[0, 1, 0, -1, 0, 1, 0, -1], [0, -1, 0, 1, 0, -1, 0, 1]],
    "step": [[0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1]],
    "impulse": [[1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]],
    "ramp": [
        [-1, -5 / 7, -3 / 7, -1 / 7, 1 / 7, 3 / 7, 5 / 7, 1],
        [1, 5 / 7, 3 / 7, 1 / 7, -1 / 7, -3 / 7, -5 / 7, -1],
    ],
}


@pytest.mark.parametrize("signal", list(WRITTEN_OUT))
def test_each_signal_has_the_values_of_its_definition(signal):
    x = make_inputs(RunConfig(signal=signal, num_batches=2, batch_size=2, num_steps=4))
    rows = x[..., 0].transpose(1, 0, 2).reshape(2, 8)
    np.testing.assert_allclose(rows, WRITTEN_OUT[signal], atol=1e-6)


def test_the_random_signal_is_numpys_standard_normal_from_the_seed():
    x = make_inputs(RunConfig(signal="random", num_batches=1, batch_size=1, num_steps=3, seed=7))
    # np.random.default_rng(7).standard_normal(3), written out
    np.testing.assert_allclose(x.ravel(), [0.00123015, 0.29874554, -0.27413786], atol=1e-7)


def test_random_signal_changes_with_seed():
    a = make_inputs(RunConfig(signal="random", seed=1))
    b = make_inputs(RunConfig(signal="random", seed=2))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("signal", VARYING)
def test_rows_differ(signal):
    x = make_inputs(RunConfig(signal=signal, batch_size=3, num_steps=10, num_batches=2))
    series = x.transpose(1, 0, 2, 3).reshape(3, -1)
    assert not np.array_equal(series[0], series[1])
    assert not np.array_equal(series[1], series[2])


@pytest.mark.parametrize("signal", ["ramp", "step", "impulse"])
def test_batches_continue_each_row_series(signal):
    # The same series cut in 3 batches of 4 or 1 batch of 12 is the same series.
    cut = make_inputs(RunConfig(signal=signal, num_batches=3, num_steps=4, batch_size=2))
    whole = make_inputs(RunConfig(signal=signal, num_batches=1, num_steps=12, batch_size=2))
    np.testing.assert_allclose(cut.transpose(1, 0, 2, 3).reshape(2, 12, 1), whole[0])


def test_sine_does_not_jump_at_batch_boundaries():
    # Each step of a sine with period 10 (num_steps / 2) moves it by at most 2 sin(pi / 10);
    # the steps across the two boundaries do too, and equal the steps a batch later.
    x = make_inputs(RunConfig(signal="sine", num_batches=3, num_steps=20, batch_size=2))
    series = x[..., 0].transpose(1, 0, 2).reshape(2, -1)
    across = np.diff(series, axis=1)[:, [19, 39]]  # last step of a batch -> first of the next
    assert np.abs(across).max() <= 2 * np.sin(np.pi / 10) + 1e-6
    np.testing.assert_allclose(across, np.diff(series, axis=1)[:, [9, 29]], atol=1e-5)


def test_zeros_and_ones_are_constant():
    assert np.all(make_inputs(RunConfig(signal="zeros")) == 0)
    assert np.all(make_inputs(RunConfig(signal="ones")) == 1)


def test_impulse_has_exactly_one_spike_per_row():
    x = make_inputs(RunConfig(signal="impulse", batch_size=4, num_steps=8))
    per_row = x.transpose(1, 0, 2, 3).reshape(4, -1).sum(axis=1)
    np.testing.assert_array_equal(per_row, [1, 1, 1, 1])


def test_answer_002_is_the_classic_answers_array_in_every_batch():
    x = make_inputs(RunConfig(signal="answer_002", batch_size=2, num_steps=3, num_features=3))
    assert x.shape == (3, 2, 3, 3)
    np.testing.assert_array_equal(x[1, 1], [[1, 2, 3], [4, 5, 6], [0, 0, 0]])
