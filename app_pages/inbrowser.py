"""The page script of rnnviz.views.browser, mounted as a Streamlit component (v2: it runs in
the app's page, not in an iframe), and the selectors it switches without the server."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from rnnviz.views import browser
from rnnviz.views.urlstate import _parse_int

_component = st.components.v2.component(
    "rnnviz_browser", js=browser.SCRIPT, css=browser.STYLE, isolate_styles=False
)


def mount() -> None:
    """Puts the page script on the page (once per page; it watches every chart)."""
    _component(key="rnnviz_script", data={})


def url_index(param: str, count: int, fallback: int = 0) -> int:
    """The index the URL holds for `param` (written there by the page script, or by a
    link), if it is one of range(count); else `fallback`."""
    raw = st.query_params.get(param)
    number = _parse_int(raw) if raw is not None else None
    if number is not None and 0 <= number < count:
        return number
    return fallback if isinstance(fallback, int) and 0 <= fallback < count else 0


#: Selectors the browser switches in some views and the server in others. Their URL
#: parameter is written by hand, not by Streamlit's binding: a bound widget's parameter is
#: deleted from the URL by a run that does not draw the widget (Streamlit 1.67's
#: `remove_stale_bindings`), which is every run of a view whose selector is in the browser.
URL_KEYS = frozenset({"sample", "unit", "batch", "t"})


def keep_in_url(param: str, value: int) -> None:
    """Puts the choice into the URL (0, the default, is left out, as Streamlit does)."""
    if value and st.query_params.get(param) != str(value):
        st.query_params[param] = str(value)
    elif not value and param in st.query_params:
        del st.query_params[param]


def state_to_url(param: str) -> None:
    """A server-side selector's callback: its new choice goes into the URL before the run
    (which takes the URL's choice, whoever made it: this selector or the browser's)."""
    keep_in_url(param, st.session_state[param])


def selector(label: str, param: str, count: int) -> int:
    """A display-only selector the browser switches by itself: returns the index shown
    first (from the URL). The server's copy (`st.session_state[param]`) follows the URL,
    so the server-side selector of another view starts from the same choice."""
    value = url_index(param, count, st.session_state.get(param, 0))
    st.session_state[param] = value
    keep_in_url(param, value)
    _component(key=f"rnnviz_select_{param}", data={"param": param, "label": label,
                                                   "count": count, "value": value})  # fmt: skip
    return value



def text_block(key: str, block: dict) -> None:
    """A block of text with a version per choice of its selectors (`block`: params, counts,
    html by "i,j,..."), shown by the page script for the choices in the URL."""
    chosen = {p: url_index(p, block["counts"][p], st.session_state.get(p, 0))
              for p in block["params"]}  # fmt: skip
    _component(key=key, data={"text": {**block, "chosen": chosen}})


def panes(param: str, count: int, name: str) -> list:
    """A container per value of `param` (0..count-1) for the caller to fill; the page script
    shows only the one the selector chooses (a style rule hides the others), so a change
    needs no round trip. For what the server writes (tables, checks) that is small."""
    chosen = url_index(param, count, st.session_state.get(param, 0))
    # Hidden from the first paint, before the page script runs; it marks the page when it
    # takes over (data-rnnviz-panes-<name>) and then hides with a style rule of its own.
    hidden = ", ".join(f"body:not([data-rnnviz-panes-{name}]) .st-key-rnnviz_{name}_{i}"
                       for i in range(count) if i != chosen)  # fmt: skip
    if hidden:
        st.html(f"<style>{hidden} {{ display: none !important; }}</style>")
    _component(key=f"rnnviz_panes_{name}",
               data={"panes": {"param": param, "count": count, "name": name, "chosen": chosen}})
    return [st.container(key=f"rnnviz_{name}_{i}") for i in range(count)]  # fmt: skip


def animation(fig: go.Figure, url_key: str | None) -> go.Figure:
    """The animation with its frame bound to the URL as `url_key` (the page script writes
    it when playing stops; a link that has it opens there; None: not in the URL). A
    `url_key` that is not one of the animation's frames is named on the page, and the
    animation starts at its first."""
    if url_key is None:
        return browser.for_page(fig, None)
    start = st.query_params.get(url_key)
    try:
        return browser.for_page(fig, url_key, start)
    except KeyError:
        shown = "".join(c for c in start[:20] if c.isalnum() or c in "-_.") or "…"
        st.caption(  # the link's text echoed as letters and digits only: never markdown
            f"{url_key}={shown} in the link is not a frame of this animation: "
            "it starts at its first frame."
        )
        return browser.for_page(fig, url_key)


def animation_ui(fig: go.Figure, url_key: str | None, chart_key: str, name: str) -> None:
    """An animation as every page places it: the chart (its frame bound to the URL as
    `url_key`), what plays it, and "Make a GIF for slides"."""
    from rnnviz.views.animation import MAX_BYTES, ordinal

    meta = fig.layout.meta["rnnviz_animation"]
    st.plotly_chart(animation(fig, url_key), key=chart_key)
    every = (
        f" Long: every {ordinal(meta['stride'])} step is a frame, to keep the animation "
        f"within {len(meta['steps'])} frames and {MAX_BYTES // 2**20} MB."
        if meta["stride"] > 1
        else ""
    )
    st.caption(
        f"{len(meta['steps'])} frames, computed once on the server and played by your "
        f"browser (▶ play, ❚❚ pause, a step back or on, three speeds, or drag the "
        f"slider).{every}"
    )
    gif_ui(fig, name)


def gif_ui(fig: go.Figure, name: str) -> None:
    """"Make a GIF for slides": the animation's own frames drawn in the background (the
    shared job queue, never the script thread), then offered as a download."""
    from rnnviz.serving.jobs import default_registry
    from rnnviz.views import render

    # One browser for the whole server, opened now (in the background) so that the GIF
    # asked for next does not wait for Chromium and plotly.js; it closes when idle.
    render.default_renderer.warm_up()
    key = f"gif_{name}"
    if st.button("Make a GIF for slides", key=f"{key}_make",
                 help="The page's own frames, played by plotly.js in a headless Chromium and "
                 "photographed: 900 × 700 px, 5 frames a second (at most 200 frames: every "
                 "k-th past that); a few seconds, in the background."):  # fmt: skip

        def work(job) -> bytes:
            import tempfile
            from pathlib import Path

            from rnnviz.views import export

            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "rnnviz.gif"
                export.animation_file(fig, str(path), every=export.gif_every(len(fig.frames)))
                return path.read_bytes()

        st.session_state[key] = default_registry().submit(work, label=f"GIF of {name}")
    job = st.session_state.get(key)
    if job is None:
        return
    if job.active:
        gif_progress(key)
    elif job.status == "done":
        st.download_button("Download the GIF", job.result, file_name=f"rnnviz_{name}.gif",
                           mime="image/gif", key=f"{key}_download")  # fmt: skip
    elif job.status == "failed":
        st.error(f"The GIF could not be made: {job.error}")


@st.fragment(run_every=1.0)
def gif_progress(key: str) -> None:
    """Polls the GIF's job once a second while it runs; then the page shows the download."""
    job = st.session_state[key]
    job.touch()
    if not job.active:
        st.rerun()
    where = "waiting for a free slot" if job.status == "queued" else "drawing the frames"
    st.caption(f"GIF: {where}…")


def play_toggle(key: str, what: str, bind: str | None = "query-params") -> bool:
    """The "▶ Animate" switch of a view (bound to the URL)."""
    return st.toggle(
        f"▶ Animate: {what}",
        key=key,
        bind=bind,
        help="Frames computed once on the server; play, pause, speed and the frame slider "
        "run in your browser, with no round trip per frame.",
    )
