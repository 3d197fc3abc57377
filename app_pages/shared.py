"""View-placing pieces more than one page uses (the pages only place them)."""

from __future__ import annotations

import streamlit as st

from rnnviz.serving.jobs import Job, default_registry
from rnnviz.views.urlstate import CELL_LABELS


def job_status_ui(job: Job, what: str) -> None:
    """The queue position or progress of a job, and its Stop button."""
    job.touch()
    registry = default_registry()
    if job.status == "queued":
        st.info(
            f"{what}: queued, position {job.position}. This server trains at most "
            f"{registry.max_running} networks at once; yours starts by itself.",
            icon=":material/hourglass_top:",
        )
    elif job.status == "running":
        run = job.result
        if isinstance(run, dict):  # a comparison: the cell being trained now
            run = list(run.values())[-1] if run else None
        if run is None or (run.epochs_done == 0 and run.batches_done == 0):
            st.progress(0.0, text=f"{what}: building the Keras model…")
        else:
            fraction = (run.epochs_done + run.batches_done / max(run.batches_per_epoch, 1)) / max(
                run.epochs, 1
            )
            st.progress(
                min(fraction, 1.0),
                text=f"{what}: {CELL_LABELS[run.cell]}, epoch {run.epochs_done} of {run.epochs}",
            )
    st.button(
        "Stop",
        key=f"stop_{what}",
        on_click=job.stop,
        help="Stops within a batch; keeps what was learnt.",
    )
