"""The whole view state in URL query parameters: names are RunConfig fields, plus `view`.

The app binds every control to the query parameter of its key (Streamlit's
`bind="query-params"`), so the address bar always holds the view; `to_query`
builds the same parameters for a link made outside the page.
"""

from __future__ import annotations

from collections.abc import Mapping

from rnnviz.config import RunConfig

VIEWS = ("states", "gates", "returns", "carry", "step", "code")
#: Display selections that a shared link also restores.
DISPLAY_PARAMS = ("sample", "batch", "t", "unit")


def to_query(cfg: RunConfig, view: str, display: Mapping[str, int] | None = None) -> dict:
    """Returns query parameters that restore cfg, the view and the display selections."""
    out: dict[str, str] = {}
    for name, value in cfg.to_dict().items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    out["view"] = view
    for name, value in (display or {}).items():
        out[name] = str(int(value))
    return out
