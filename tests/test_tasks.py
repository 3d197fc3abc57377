"""The built-in tasks: shapes, determinism per seed, and latents that match their definitions."""

import numpy as np
import pytest

import rnnviz
from rnnviz.sources.training.tasks import BRACKET_SYMBOLS, TASKS, bracket_text, depth_of, get_task


@pytest.mark.parametrize("name", list(TASKS))
def test_task_makes_arrays_of_its_declared_shapes(name):
    task = TASKS[name]
    data = task.make(5, seed=3)
    assert data.x.shape == (5, task.num_steps, task.num_features)
    assert data.x.dtype == np.float32
    assert data.latent.shape == (5, task.num_steps)
    expected_y = (5, task.num_steps) if task.every_step else (5,)
    assert data.y.shape == expected_y


@pytest.mark.parametrize("name", list(TASKS))
def test_same_seed_gives_the_same_data_and_another_seed_other_data(name):
    task = TASKS[name]
    a, b, c = task.make(16, seed=1), task.make(16, seed=1), task.make(16, seed=2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_train_and_validation_splits_do_not_share_samples():
    train, val = TASKS["brackets"].splits(seed=0)
    joined = {row.tobytes() for row in train.x}
    assert not any(row.tobytes() in joined for row in val.x)


def test_depth_of_counts_open_brackets_after_each_character():
    np.testing.assert_array_equal(depth_of("(()("), [1, 2, 1, 2])
    np.testing.assert_array_equal(depth_of("(x)x"), [1, 1, 0, 0])


def test_brackets_latent_and_target_are_the_depth_of_the_sample_text():
    data = TASKS["brackets"].make(20, seed=0)
    for x, y, latent in zip(data.x, data.y, data.latent, strict=True):
        text = bracket_text(x)
        assert set(text) <= set(BRACKET_SYMBOLS)
        np.testing.assert_array_equal(latent, depth_of(text))
        np.testing.assert_array_equal(y, depth_of(text))
        assert latent.min() >= 0 and latent.max() <= TASKS["brackets"].num_classes - 1


def test_remember_target_is_the_symbol_shown_at_the_first_step():
    task = TASKS["remember"]
    data = task.make(50, seed=0)
    np.testing.assert_array_equal(np.argmax(data.x[:, 0, : task.num_classes], axis=1), data.y)
    # Later steps carry only distractors, never a symbol.
    assert data.x[:, 1:, : task.num_classes].sum() == 0
    np.testing.assert_array_equal(data.latent, np.repeat(data.y[:, None], task.num_steps, 1))


def test_next_value_target_is_the_clean_signal_one_step_ahead():
    data = TASKS["next_value"].make(4, seed=0)
    np.testing.assert_allclose(data.y[:, :-1], data.latent[:, 1:])
    # The input is the signal plus noise of the documented size.
    noise = data.x[..., 0] - data.latent
    assert 0.05 < noise.std() < 0.2


def test_adding_target_is_the_sum_of_the_two_marked_values():
    data = TASKS["adding"].make(10, seed=0)
    values, marks = data.x[..., 0], data.x[..., 1]
    np.testing.assert_array_equal(marks.sum(axis=1), 2)
    np.testing.assert_allclose(data.y, (values * marks).sum(axis=1), rtol=1e-6)


def test_unknown_task_is_a_config_error_naming_task():
    with pytest.raises(rnnviz.ConfigError, match="task='parity' is invalid"):
        get_task("parity")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", 10**9])
def test_bad_sample_count_is_a_config_error_naming_num_samples(bad):
    with pytest.raises(rnnviz.ConfigError, match="num_samples"):
        TASKS["remember"].make(bad)
