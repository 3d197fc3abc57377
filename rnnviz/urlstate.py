"""The whole view state in URL query parameters: names are RunConfig fields, plus `view`.

The app binds every control to the query parameter of its key (Streamlit's
`bind="query-params"`), so the address bar always holds the view. Streamlit
writes what a selector shows (`cell=GRU`, `view=Gates`), `true`/`false` for a
toggle and one repeated parameter per chosen item of a multiselect
(`reset_before=1&reset_before=3`); `to_query` builds the same for a link made
outside the page, such as one pasted into slides.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from rnnviz.config import RunConfig

VIEWS = ("states", "gates", "returns", "carry", "step", "code")
CELL_LABELS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}
VIEW_LABELS = {
    "states": "States over time",
    "gates": "Gates",
    "returns": "What Keras returns",
    "carry": "State across batches",
    "step": "Step inspector",
    "code": "Keras code",
}


def to_query(
    cfg: RunConfig, view: str = "states", display: Mapping[str, int] | None = None
) -> dict[str, str | list[str]]:
    """Returns the query parameters that restore cfg, the view and display selections."""
    out: dict[str, str | list[str]] = {}
    for name, value in cfg.to_dict().items():
        if name == "cell":
            out[name] = CELL_LABELS[value]
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = [str(v) for v in value]
        else:
            out[name] = str(value)
    out["view"] = VIEW_LABELS[view]
    for name, value in (display or {}).items():
        out[name] = str(int(value))
    return out


def share_link(base_url: str, cfg: RunConfig, view: str = "states") -> str:
    """Returns base_url with the query string that restores cfg and the view."""
    return f"{base_url.rstrip('/')}/?{urlencode(to_query(cfg, view), doseq=True)}"
