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
from dataclasses import dataclass
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
        elif name == "frame":
            pass  # the animation's frame: checked against its frames where it is drawn
        elif name == "play":
            text = raw.strip().lower()
            if text in TRUE | FALSE:
                values[name] = text in TRUE
            else:
                notices.append(f"play={_short(raw)} is not true or false: used false")
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


# ----- the other pages: one declaration of a page's link fields ------------------------------


@dataclass(frozen=True)
class LinkField:
    """One query parameter a page reads: its kind and what it accepts.

    Args:
        kind: "choice" (one of `options`), "whole" (a whole number in lo..hi), "number"
            (a finite number in lo..hi), "flag" (true/false) or "text" (at most hi chars).
        options: for a choice, value -> label; a link may give either, in any case.
        lo, hi: the range of a number (hi: the longest text).
        default: what the page uses when the link's value cannot be honoured.
        aliases: other keys a link may use (the short key without the page's prefix).
    """

    kind: str
    options: Mapping[str, str] | None = None
    lo: float | None = None
    hi: float | None = None
    default: Any = None
    aliases: tuple[str, ...] = ()


def choice_field(options: Mapping[str, str], default: str, *aliases: str) -> LinkField:
    return LinkField("choice", options=dict(options), default=default, aliases=aliases)


def whole_field(lo: int, hi: int, default: Any, *aliases: str) -> LinkField:
    return LinkField("whole", lo=lo, hi=hi, default=default, aliases=aliases)


def number_field(lo: float, hi: float, default: float, *aliases: str) -> LinkField:
    return LinkField("number", lo=lo, hi=hi, default=default, aliases=aliases)


def flag_field(default: bool, *aliases: str) -> LinkField:
    return LinkField("flag", default=default, aliases=aliases)


def text_field(limit: int, *aliases: str) -> LinkField:
    return LinkField("text", hi=limit, default="", aliases=aliases)


def _shown(field: LinkField, value: Any) -> str:
    if field.kind == "choice" and field.options and value in field.options:
        return str(field.options[value])
    return str(value)


def read_link(
    params: Mapping[str, list[str] | str], fields: Mapping[str, LinkField]
) -> tuple[dict[str, Any], list[str]]:
    """Returns (widget values by key, notices) for a page's link, leniently read.

    A key may be the widget's key or one of its aliases; a choice may be spelled as its
    value or its label, in any case; numbers accept `8.0` and `+8`, flags
    `true/false/1/0/yes/no`. Everything not honoured (an unknown key, a bad or
    out-of-range value) gets one notice saying what is used instead: the page names it
    on screen, nothing is dropped silently. The values are the widgets' own (a choice's
    option value, not its label).
    """
    keys = {key: key for key in fields}
    for key, field in fields.items():
        keys.update({alias: key for alias in field.aliases})
    values: dict[str, Any] = {}
    notices: list[str] = []
    # A widget's own key wins over a short alias: once a control changes, Streamlit writes
    # the key while the link's alias stays in the address bar (`layout=in_order&kind=...`).
    ordered = sorted(params.items(), key=lambda item: item[0] in fields)
    for name, raws in ordered:
        raws = [raws] if isinstance(raws, str) else list(raws)
        raw = raws[-1] if raws else ""
        key = keys.get(name)
        if key is None:
            notices.append(f"{_short(name)}={_short(raw)} is not a parameter of this page: ignored")
            continue
        field = fields[key]
        fallback = _shown(field, field.default)
        if field.kind == "choice":
            spellings = {}
            for value, label in (field.options or {}).items():
                spellings[str(value).lower()] = value
                spellings[str(label).strip().lower()] = value
            found = spellings.get(raw.strip().lower())
            if found is None:
                labels = ", ".join(str(v) for v in (field.options or {}).values())
                notices.append(f"{name}={_short(raw)} is not one of {labels}: used {fallback}")
            else:
                values[key] = found
        elif field.kind == "flag":
            text = raw.strip().lower()
            if text in TRUE | FALSE:
                values[key] = text in TRUE
            else:
                notices.append(f"{name}={_short(raw)} is not true or false: used {fallback}")
        elif field.kind == "whole":
            number = _parse_int(raw)
            if number is None or not field.lo <= number <= field.hi:
                notices.append(
                    f"{name}={_short(raw)} is not a whole number from {int(field.lo)} to "
                    f"{int(field.hi)}: used {fallback}"
                )
            else:
                values[key] = number
        elif field.kind == "number":
            try:
                number = float(raw.strip())
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or not field.lo <= number <= field.hi:
                notices.append(
                    f"{name}={_short(raw)} is not a number from {field.lo:g} to {field.hi:g}: "
                    f"used {fallback}"
                )
            else:
                values[key] = number
        elif field.kind == "text":
            if len(raw) > field.hi:
                notices.append(
                    f"{name} has {len(raw):,} characters, more than {int(field.hi):,}: "
                    "used the default text"
                )
            else:
                values[key] = raw
        else:  # a page declared a kind this reader does not know
            raise ValueError(f"unknown link field kind {field.kind!r}")
    return values, notices
