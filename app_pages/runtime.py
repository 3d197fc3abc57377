"""What the server process needs from Streamlit that no config option gives."""

from __future__ import annotations

import sys


def keep_keras_session() -> None:
    """Stops Streamlit from calling `keras.backend.clear_session()` after every script run.

    Streamlit 1.67 does it for every run of every session (`_clean_problem_modules` in
    `streamlit/runtime/scriptrunner/script_runner.py`), to free Keras 1/2-era global
    graphs. In Keras 3 there is no such graph to free: the call resets Keras's global name
    counters, clears TensorFlow's eager kernel cache under the other sessions' running
    layers, and runs a full `gc.collect()` over TensorFlow's heap. A load run profiled with
    py-spy spent about 40 % of the server's CPU there (docs/decisions.md, decision 30).
    Matplotlib figures are still closed, as Streamlit does. Idempotent.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner._clean_problem_modules, "keeps_keras_session", False):
        return

    def clean_problem_modules_except_keras() -> None:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    clean_problem_modules_except_keras.keeps_keras_session = True
    script_runner._clean_problem_modules = clean_problem_modules_except_keras
