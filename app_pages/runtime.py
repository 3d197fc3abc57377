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


def forget_link_values(keys: list[str]) -> None:
    """Stops Streamlit seeding the widgets of `keys` from the link as first loaded.

    Streamlit 1.67 seeds a bound widget from the URL of the first load
    (`QueryParams._initial_query_params`), after the page has read the link itself; a
    value it cannot parse crashes the page (`batch_size=inf`: OverflowError in
    number_input's deserializer). The page has already honoured or named every value, so
    the raw ones are dropped from what Streamlit seeds from. Private API, one place.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    query_params = ctx.session_state._state.query_params
    for key in keys:
        query_params._initial_query_params.pop(key, None)


def apply_link(page: str, fields: dict) -> None:
    """Reads the page's link once per session (rnnviz.views.urlstate.read_link): honoured
    values go to the widgets' Session State, everything else into the notice that
    link_notices_ui shows."""
    import streamlit as st

    from rnnviz.views.urlstate import read_link

    flag = f"link_read_{page}"
    if st.session_state.get(flag):
        return
    st.session_state[flag] = True
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    values, notices = read_link(params, fields)
    for key, value in values.items():
        st.session_state[key] = value
    forget_link_values(list(params))
    st.session_state[f"link_notices_{page}"] = notices


def link_notices_ui(page: str) -> None:
    """The one notice of what a link asked for and the page cannot show, as plain text."""
    import streamlit as st

    key = f"link_notices_{page}"
    notices = st.session_state.get(key)
    if not notices:
        return
    with st.container(border=True):
        left, right = st.columns([12, 1])
        left.markdown(":material/link_off: **This link asked for things the page cannot show:**")
        right.button("Hide", key=f"hide_{key}", on_click=st.session_state.pop, args=(key, None))
        st.text("\n".join(f"• {line}" for line in notices))  # plain text: nothing rendered


def keep_in_range(page: str, key: str, lo: float, hi: float) -> None:
    """Brings a linked value into a widget's range known only now (the number of units or
    epochs of the chosen source), naming the change in the page's link notice; Streamlit
    refuses a Session State value outside a widget's range with an exception."""
    import streamlit as st

    value = st.session_state.get(key)
    if value is None or lo <= value <= hi:
        return
    used = type(value)(min(max(value, lo), hi))
    st.session_state[key] = used
    _add_notice(page, f"{key}={value} is outside {lo:g} to {hi:g} here: used {used:g}")


def keep_in_options(page: str, key: str, options: list) -> None:
    """keep_in_range for a choice whose options depend on what is chosen (a GRU has no c)."""
    import streamlit as st

    value = st.session_state.get(key)
    if value is None or value in options:
        return
    st.session_state[key] = options[0]
    shown = ", ".join(map(str, options))
    _add_notice(page, f"{key}={value} is not one of {shown} here: used {options[0]}")


def _add_notice(page: str, line: str) -> None:
    import streamlit as st

    st.session_state.setdefault(f"link_notices_{page}", []).append(line)
