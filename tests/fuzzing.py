"""Arguments that are valid or invalid by construction, for the fuzz tests of the public API.

Every strategy draws `(value, valid)`: a value from the argument's contract, or one that
breaks it. A test then asserts the one thing the contract says: with every argument valid
the call succeeds; with any invalid, it raises a ConfigError naming one of the invalid
arguments. An API that accepted junk, or refused good input, fails.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import rnnviz

FUZZ = settings(
    max_examples=int(os.environ.get("RNNVIZ_FUZZ_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # The same examples on every run, so CI never turns red on a new random draw; search
    # harder locally with RNNVIZ_FUZZ_RANDOM=1 RNNVIZ_FUZZ_EXAMPLES=2000.
    derandomize=os.environ.get("RNNVIZ_FUZZ_RANDOM") != "1",
)

#: Values no numeric, text or flag argument of the API takes.
NOT_A_NUMBER = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.lists(st.integers(-3, 3), min_size=1, max_size=3),
    st.just(object()),
    st.just(np.zeros((2, 2))),
)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


class Arg:
    """An argument's contract: what it accepts (`valid`) and values that break it (`invalid`),
    as strategies for hypothesis, plus a valid `example`, the valid `boundaries` and the
    `edges` (one invalid value per rule) that `cases` turns into one test call each."""

    def __init__(
        self,
        valid: st.SearchStrategy,
        invalid: st.SearchStrategy,
        example: object,
        edges: Iterable[object] = (),
        boundaries: Iterable[object] = (),
    ):
        self.valid = valid
        self.invalid = invalid
        self.example = example
        self.edges = list(edges)
        self.boundaries = list(boundaries)

    def __or__(self, other: Arg) -> Arg:
        return Arg(
            self.valid | other.valid,
            self.invalid | other.invalid,
            self.example,
            self.edges + other.edges,
            self.boundaries + other.boundaries,
        )


def tagged(
    valid: st.SearchStrategy,
    invalid: st.SearchStrategy,
    example: object,
    edges: Iterable[object] = (),
    boundaries: Iterable[object] = (),
) -> Arg:
    return Arg(valid, invalid, example, edges, boundaries)


def optional(arg: Arg) -> Arg:
    """`arg`, or None for its default."""
    return Arg(
        st.none() | arg.valid,
        arg.invalid.filter(lambda v: v is not None),
        None,
        [v for v in arg.edges if v is not None],
        [arg.example, *arg.boundaries],
    )


def listed(valid: list[object], invalid: list[object]) -> Arg:
    """An argument given by examples: valid[0] is the example, every invalid one an edge."""
    return Arg(st.sampled_from(valid), st.sampled_from(invalid), valid[0], invalid, valid[1:])


def cases(contracts: dict[str, Arg]) -> list[tuple[str, object, bool]]:
    """(argument, value, valid) for every edge and boundary of every argument: with all
    other arguments at their examples, each is one rule of the contract checked for sure,
    whatever hypothesis draws."""
    out = [(name, value, False) for name, arg in contracts.items() for value in arg.edges]
    out += [(name, value, True) for name, arg in contracts.items() for value in arg.boundaries]
    return out


def one_changed(
    contracts: dict[str, Arg], name: str, value: object, valid: bool
) -> dict[str, tuple[object, bool]]:
    """Every argument at its example, `name` at `value`."""
    args = {n: (arg.example, True) for n, arg in contracts.items()}
    args[name] = (value, valid)
    return args


def stable_id(value: object) -> str:
    """A test id that is the same in every process (pytest -n 2 compares them): no address."""
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text[:30]


def case_id(case: tuple[str, object, bool]) -> str:
    name, value, valid = case
    return (
        f"{name}={'valid' if valid else 'invalid'}:{type(value).__name__}:{stable_id(value)[:20]}"
    )


@st.composite
def arguments(draw, **contracts: Arg) -> dict[str, tuple[object, bool]]:
    """Draws every argument valid, or one (sometimes two) of them broken: each call then
    tests one rule of the contract, so a rule an API forgot is found in a few examples."""
    names = list(contracts)
    if draw(st.integers(0, 4)) == 0:
        broken = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    else:
        broken = draw(st.sampled_from([[], *([name] for name in names)]))
    return {
        name: (draw(contract.invalid), False) if name in broken else (draw(contract.valid), True)
        for name, contract in contracts.items()
    }


def whole(lo: int, hi: int | None, valid_hi: int | None = None) -> Arg:
    """A whole-number argument from lo to hi (None: no upper bound); valid draws stop at
    valid_hi where other arguments limit their product."""
    top = valid_hi if valid_hi is not None else (hi if hi is not None else lo + 1000)
    valid = st.integers(lo, top) | st.integers(lo, top).map(np.int64)
    out_of_range = st.integers(max_value=lo - 1, min_value=lo - 10**12)
    if hi is not None:
        out_of_range = out_of_range | st.integers(hi + 1, hi + 10**12)
    invalid = st.one_of(
        out_of_range,
        st.booleans(),
        st.floats(),  # 2.0 too: a float is not a whole number
        NOT_A_NUMBER,
    )
    edges = [lo - 1, True, float(lo), 1.5, math.nan, None, str(lo), [lo]]
    edges += [hi + 1] if hi is not None else []
    boundaries = [lo, np.int64(lo)] + ([hi] if hi is not None and hi == top else [])
    return tagged(valid, invalid, lo, edges, boundaries)


def number(lo: float, hi: float) -> Arg:
    """A finite real argument from lo to hi."""
    invalid = st.one_of(
        NON_FINITE,
        st.booleans(),
        NOT_A_NUMBER,
        st.floats(hi + 1, hi + 1e9) if math.isfinite(hi) else st.nothing(),
        st.floats(lo - 1e9, lo - 1e-3) if math.isfinite(lo) else st.nothing(),
    )
    valid = st.floats(max(lo, -1e6), min(hi, 1e6)) | st.integers(
        math.ceil(max(lo, -1e6)), math.floor(min(hi, 1e6))
    )
    edges = [math.nan, math.inf, -math.inf, True, None, "1", [1.0]]
    edges += [hi + 1.0] if math.isfinite(hi) else []
    edges += [lo - 1e-3] if math.isfinite(lo) else []
    boundaries = [v for v in (lo, hi) if math.isfinite(v)] or [-1e30, 1e30, 0]
    example = lo if math.isfinite(lo) else 0.5
    return tagged(valid, invalid, example, edges, boundaries)


def choice(options: Iterable[str]) -> Arg:
    """One of `options` (strings); anything else is invalid."""
    options = list(options)
    invalid = st.one_of(
        st.text(max_size=8).filter(lambda s: s not in options),
        st.sampled_from([o.upper() + "!" for o in options]),
        st.integers(-2, 2),
        st.none(),
        st.lists(st.sampled_from(options), min_size=1, max_size=2),
    )
    edges = ["", options[0].upper() + "!", None, 1, [options[0]]]
    return tagged(st.sampled_from(options), invalid, options[0], edges, options)


def flag() -> Arg:
    """True or False; 0, 1, "yes" and None are not flags."""
    invalid = st.one_of(st.integers(0, 2), st.sampled_from(["yes", "True", ""]), st.none())
    return tagged(st.booleans(), invalid, False, [0, 1, "yes", None], [True, np.bool_(True)])


def expect(
    call: Callable[[], object],
    arguments: dict[str, tuple[object, bool]],
    fields: dict[str, tuple[str, ...]] | None = None,
) -> object:
    """Calls `call`; asserts success when every argument is valid, else a ConfigError whose
    field is one of the invalid arguments'. `fields` maps an argument to the field names
    its errors may carry (default: the argument's own name)."""
    fields = fields or {}
    bad = {name for name, (_, ok) in arguments.items() if not ok}
    allowed = {f for name in bad for f in fields.get(name, (name,))}
    shown = {name: value for name, (value, _) in arguments.items()}
    try:
        result = call()
    except rnnviz.ConfigError as error:
        assert bad, f"valid arguments {shown} were refused: {error}"
        field = error.field.split("[")[0]
        assert field in allowed, f"{error} names {field!r}, not one of the invalid {sorted(bad)}"
        return error
    assert not bad, f"invalid {sorted(bad)} accepted: {shown}"
    return result


def values(arguments: dict[str, tuple[object, bool]]) -> dict[str, object]:
    return {name: value for name, (value, _) in arguments.items()}
