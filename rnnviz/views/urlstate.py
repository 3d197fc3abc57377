"""The whole view state in URL query parameters: names are RunConfig fields, plus `view`.

The app binds every control to the query parameter of its key (Streamlit's
`bind="query-params"`), so the address bar always holds the view. Streamlit
writes what a selector shows (`cell=GRU`, `view=Gates`), `true`/`false` for a
toggle and one repeated parameter per chosen item of a multiselect
(`reset_before=1&reset_before=3`); `to_query` builds the same for a link made
outside the page, such as one pasted into slides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from rnnviz.core.config import RunConfig

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


# ----- reading a link: lenient parsing, and a notice for everything not honoured -------------

#: The Explore page's selectors of an index (their upper bound depends on the configuration).
INDEX_KEYS = {
    "sample": "batch_size",
    "batch": "num_batches",
    "t": "num_steps",
    "unit": "hidden_size",
}
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_int(raw: str) -> int | None:
    """Returns the whole number a link spells ("8", "8.0", "+8", " 8 "), or None."""
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


def read_query(params: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[str]]:
    """Returns (control values, notices) for the Explore page's URL parameters.

    Lenient where that is natural: choices are case-insensitive and accept the internal
    name or the label (`cell=gru`, `cell=GRU`, `cell=simple_rnn`), numbers accept `8.0` and
    `+8`, toggles `true/false/1/0/yes/no`. Whatever cannot be honoured (an unknown
    parameter, a bad or out-of-range value) gets one notice line saying what is used
    instead; nothing is dropped silently. Values are returned in the widgets' own terms.
    """
    from rnnviz.core.config import CELLS, INITIAL_STATES, LIMITS, SIGNALS, ConfigError, RunConfig
    from rnnviz.views.presets import PRESETS_BY_KEY

    defaults = RunConfig()
    values: dict[str, Any] = {}
    notices: list[str] = []

    def choice(name: str, raw: str, options: dict[str, str], fallback: str) -> None:
        found = options.get(raw.strip().lower())
        if found is None:
            notices.append(
                f"{name}={_short(raw)} is not one of {', '.join(sorted(set(options.values())))}: "
                f"used {fallback}"
            )
        else:
            values[name] = found

    cells = {**{c: c for c in CELLS}, **{label.lower(): c for c, label in CELL_LABELS.items()}}
    views = {**{v: v for v in VIEWS}, **{label.lower(): v for v, label in VIEW_LABELS.items()}}
    for name, raws in params.items():
        raws = [raws] if isinstance(raws, str) else list(raws)
        raw = raws[-1] if raws else ""
        if name == "cell":
            choice(name, raw, cells, CELL_LABELS[defaults.cell])
        elif name in ("signal", "initial_state"):
            opts = SIGNALS if name == "signal" else INITIAL_STATES
            choice(name, raw, {o.lower(): o for o in opts}, getattr(defaults, name))
        elif name == "view":
            choice(name, raw, views, VIEW_LABELS["states"])
        elif name == "preset":
            choice(name, raw, {k: k for k in PRESETS_BY_KEY}, "no preset")
        elif name in ("return_sequences", "return_state", "stateful", "reset_after"):
            text = raw.strip().lower()
            if text in TRUE | FALSE:
                values[name] = text in TRUE
            else:
                notices.append(
                    f"{name}={_short(raw)} is not true or false: used {getattr(defaults, name)}"
                )
        elif name in LIMITS:
            lo, hi = LIMITS[name]
            number = _parse_int(raw)
            if number is None or not lo <= number <= hi:
                notices.append(
                    f"{name}={_short(raw)} is not a whole number from {lo} to {hi}: "
                    f"used {getattr(defaults, name)}"
                )
            else:
                values[name] = number
        elif name == "reset_before":
            numbers = [_parse_int(r) for r in raws]
            good = sorted({n for n in numbers if n is not None and n >= 1})
            bad = [r for r, n in zip(raws, numbers, strict=True) if n is None or n < 1]
            if bad:
                notices.append(
                    f"reset_before={_short(', '.join(bad))} are not batch indices: left out"
                )
            values[name] = good
        elif name in INDEX_KEYS:
            number = _parse_int(raw)
            if number is None or number < 0:
                notices.append(f"{name}={_short(raw)} is not a whole number from 0: used 0")
            else:
                values[name] = number
        else:
            notices.append(f"{_short(name)}={_short(raw)} is not a parameter of this page: ignored")
    fields = {k: v for k, v in values.items() if k in RunConfig.__dataclass_fields__}
    try:
        cfg = RunConfig(**{**defaults.to_dict(), **fields})
    except ConfigError as error:
        notices.append(f"the link's combination is invalid ({error}); the sidebar says more")
        return values, notices
    for key, bound in INDEX_KEYS.items():
        count = getattr(cfg, bound)
        if key in values and values[key] >= count:
            notices.append(f"{key}={values[key]} is beyond {count - 1}: used 0")
            values.pop(key)
    rb = [k for k in values.get("reset_before", []) if k < cfg.num_batches]
    if len(rb) != len(values.get("reset_before", [])):
        notices.append(f"reset_before beyond the last batch ({cfg.num_batches - 1}) left out")
        values["reset_before"] = rb
    return values, notices
