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


@pytest.mark.parametrize("signal", SHAPED)
def test_same_seed_same_inputs(signal):
    cfg = RunConfig(signal=signal, batch_size=3)
    np.testing.assert_array_equal(make_inputs(cfg), make_inputs(cfg))


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
    x = make_inputs(RunConfig(signal="sine", num_batches=3, num_steps=20, batch_size=2))
    series = x.transpose(1, 0, 2, 3).reshape(2, -1)
    steps = np.abs(np.diff(series, axis=1))
    boundary = steps[:, [19, 39]]  # from the last step of a batch to the first of the next
    assert boundary.max() <= steps.max() + 1e-6


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
