"""Bad input raises ConfigError naming the field, the value and what is allowed."""

import numpy as np
import pytest

import rnnviz
from rnnviz import ConfigError, RunConfig


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_defaults_are_the_classic_example():
    cfg = RunConfig()
    assert (cfg.cell, cfg.batch_size, cfg.num_steps, cfg.num_features, cfg.hidden_size) == (
        "lstm",
        2,
        5,
        1,
        8,
    )


@pytest.mark.parametrize(
    "field,value,allowed",
    [
        ("batch_size", 0, "from 1 to 256"),
        ("batch_size", 257, "from 1 to 256"),
        ("num_steps", 2001, "from 1 to 2000"),
        ("num_features", 65, "from 1 to 64"),
        ("hidden_size", 1025, "from 1 to 1024"),
        ("num_batches", 21, "from 1 to 20"),
        ("hidden_size", 2.5, "whole number"),
        ("batch_size", True, "whole number"),
        ("cell", "transformer", "lstm, gru, simple_rnn"),
        ("signal", "noise", "sine, zeros"),
        ("initial_state", "ones", "zeros, random"),
        ("stateful", "yes", "True or False"),
        ("seed", -1, "from 0"),
    ],
)
def test_out_of_range_field_names_field_value_and_range(field, value, allowed):
    with pytest.raises(ConfigError) as info:
        RunConfig(**{field: value})
    message = str(info.value)
    assert message.startswith(f"{field}={value!r}")
    assert allowed in message
    assert info.value.field == field


def test_reset_before_must_name_later_batches():
    with pytest.raises(ConfigError, match=r"reset_before=\[0\].*from 1 to num_batches-1 = 2"):
        RunConfig(num_batches=3, stateful=True, reset_before=[0])
    with pytest.raises(ConfigError, match="reset_before"):
        RunConfig(num_batches=3, reset_before=(3,))


def test_reset_before_accepts_a_list_and_stores_a_tuple():
    assert RunConfig(num_batches=4, reset_before=[1, 3]).reset_before == (1, 3)


def test_total_size_cap_stops_a_trace_that_would_exhaust_memory():
    with pytest.raises(ConfigError, match=r"num_batches\*batch_size\*num_steps\*hidden_size"):
        RunConfig(num_batches=20, batch_size=256, num_steps=2000, hidden_size=1024)


def test_inputs_of_wrong_shape_are_refused_with_the_expected_shape():
    with pytest.raises(ConfigError, match=r"inputs=.*must have shape \(3, 2, 5, 1\)"):
        rnnviz.run(RunConfig(), inputs=np.zeros((3, 2, 5, 2)))


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.full((3, 2, 5, 1), np.nan), "finite"),
        (np.full((3, 2, 5, 1), "a"), "numeric"),
        ([[1, 2], [3]], "numeric array"),
    ],
)
def test_non_numeric_or_non_finite_inputs_are_refused(bad, match):
    with pytest.raises(ConfigError, match=match):
        rnnviz.run(RunConfig(), inputs=bad)


def test_weights_of_wrong_shape_name_the_weight():
    w = [np.zeros((1, 32)), np.zeros((8, 32)), np.zeros((31,))]
    with pytest.raises(ConfigError, match=r"weights\[2\]=shape \(31,\).*\(32,\)"):
        rnnviz.run(RunConfig(), weights=w)


def test_initial_state_needs_one_array_per_state():
    with pytest.raises(ConfigError, match=r"initial_state.*list of 2 arrays"):
        rnnviz.run(RunConfig(cell="lstm"), initial_state=[np.zeros((2, 8))])


def test_initial_state_of_wrong_shape_is_the_keras_shape_error_made_clear():
    # seeds/000: assigning a (10, 2) state to a (10, 8) layer.
    with pytest.raises(ConfigError, match=r"initial_state\[0\]=shape \(2, 2\).*\(2, 8\)"):
        rnnviz.run(RunConfig(cell="gru"), initial_state=[np.zeros((2, 2))])


def test_usable_cores_are_those_of_the_process_affinity_not_the_machine(monkeypatch):
    import os

    from rnnviz.core.config import usable_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cores() == 3
