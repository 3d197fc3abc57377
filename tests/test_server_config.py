"""What a shared classroom server is configured to do (and not to do) on every run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import keras

ROOT = Path(__file__).resolve().parents[1]


def config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def test_students_see_no_deploy_button_or_developer_menu():
    assert config()["client"]["toolbarMode"] == "viewer"


def test_the_server_sends_no_usage_statistics():
    assert config()["browser"]["gatherUsageStats"] is False


def test_no_full_garbage_collection_runs_after_every_script_run():
    assert config()["runner"]["postScriptGC"] is False


def test_a_finished_script_run_does_not_clear_the_keras_session():
    from streamlit.runtime.scriptrunner import script_runner

    from app_pages.runtime import keep_keras_session

    keep_keras_session()
    keras.layers.Dense(1, name="kept")  # Keras numbers layer names with global counters
    before = keras.backend.get_uid("dense")
    script_runner._clean_problem_modules()  # what Streamlit calls after each run
    assert keras.backend.get_uid("dense") == before + 1  # the counter survived
    assert script_runner._clean_problem_modules.keeps_keras_session


def test_keeping_the_keras_session_twice_patches_once():
    from streamlit.runtime.scriptrunner import script_runner

    from app_pages.runtime import keep_keras_session

    keep_keras_session()
    patched = script_runner._clean_problem_modules
    keep_keras_session()
    assert script_runner._clean_problem_modules is patched
