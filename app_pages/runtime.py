"""What the server process needs from Streamlit that no config option gives."""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from typing import Any


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


def cached(name: str, key: Hashable, factory: Callable[[], Any], spinner: str | None = None) -> Any:
    """`factory()`'s value from the process-wide byte-bounded cache `name` (RNNVIZ_CACHE_MB).

    Used instead of st.cache_data / st.cache_resource, whose bounds count entries, not
    bytes; shared by all sessions and never copied, so callers must not modify it. The
    spinner shows only when the value has to be computed.
    """
    import streamlit as st

    from rnnviz.serving.memory import shared_cache

    cache = shared_cache(name)
    if spinner is None or key in cache:
        return cache.get_or_create(key, factory)
    with st.spinner(spinner):
        return cache.get_or_create(key, factory)


def return_freed_memory_to_the_system() -> None:
    """Makes glibc hand freed memory back to the OS instead of keeping it per thread.

    Streamlit runs each script in a new thread; glibc gives threads their own malloc
    arenas (up to 8 per core) and, after a large array is freed, raises its mmap
    threshold so the next large arrays come from those arenas and stay with the process.
    Traces of several MB come and go on every run: without this the server's RSS grew
    by hundreds of MB over a soak although the caches stayed within their budget
    (docs/performance.md, "Memory"). Same as MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=
    131072 MALLOC_TRIM_THRESHOLD_=131072 in the environment; a no-op off glibc.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    mallopt(m_arena_max, 2)
    mallopt(m_mmap_threshold, 128 * 1024)
    mallopt(m_trim_threshold, 128 * 1024)
