"""rnnviz: the frame and router. One module per page in app_pages/, the shared sidebar header."""

from __future__ import annotations

import os

# Before TensorFlow is imported: oneDNN's CPU allocator pools large tensors and never gives
# them back, and a server's memory grew with every distinct large trace (docs/decisions.md,
# 37). Single-step RNN matmuls gain nothing measurable from it (docs/performance.md).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import streamlit as st

from app_pages.runtime import keep_keras_session, return_freed_memory_to_the_system

keep_keras_session()
return_freed_memory_to_the_system()
st.set_page_config(page_title="rnnviz — RNN state, exactly", layout="wide")

PAGES = [
    # The Explore page keeps the root URL, so every link made before pages existed still works.
    st.Page(
        "app_pages/explore.py",
        title="Explore",
        icon=":material/science:",
        url_path="explore",
        default=True,
    ),
    st.Page(
        "app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"
    ),
    st.Page(
        "app_pages/stateful.py",
        title="Stateful",
        icon=":material/linear_scale:",
        url_path="stateful",
    ),
    st.Page(
        "app_pages/seq2seq.py",
        title="Encoder → decoder",
        icon=":material/swap_horiz:",
        url_path="seq2seq",
    ),
    st.Page("app_pages/text.py", title="Text", icon=":material/article:", url_path="text"),
    st.Page("app_pages/why.py", title="Why", icon=":material/psychology:", url_path="why"),
    st.Page(
        "app_pages/yourmodel.py",
        title="Your model",
        icon=":material/upload_file:",
        url_path="yourmodel",
    ),
]

page = st.navigation(PAGES)
st.sidebar.title("rnnviz")
st.sidebar.caption(
    "See what a Keras recurrent layer does with its state — exact numbers from Keras."
)
page.run()
