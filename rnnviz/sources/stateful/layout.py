"""How a long stream is cut into batches for a recurrent layer: the four layouts people use.

The rule of `stateful=True` is one line of the Keras FAQ: sample i of batch k+1 must be the
continuation of sample i of batch k. `layout` builds the index arrays of the layout that
keeps it and of the three that people write first and that break it:

- "continuation": the stream is cut into `batch_size` contiguous parts; row i of every
  batch reads the next window of part i (the FAQ's layout).
- "in_order": consecutive windows, batched in stream order (`x.reshape(-1, window, F)`
  then `fit(..., shuffle=False)`): row i of batch k+1 is `batch_size` windows after row i
  of batch k, not the next one.
- "shuffled": the continuation windows in a new random order every epoch, as
  `fit(..., shuffle=True)` (Keras's default) feeds them.
- "stateless": the continuation windows, for a layer that starts every window from zeros.

Example:
    >>> lay = layout(stream_len=40, batch_size=2, window=5, kind="continuation")
    >>> lay.index[1, 0].tolist(), lay.index[1, 1].tolist()  # batch 1: rows continue
    ([5, 6, 7, 8, 9], [25, 26, 27, 28, 29])
    >>> bool(lay.continues.all())
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.core.config import ConfigError, Described

KINDS = ("continuation", "in_order", "shuffled", "stateless")
KIND_TITLES = {
    "continuation": "continuation (the Keras FAQ's layout)",
    "in_order": "windows in stream order",
    "shuffled": "continuation, shuffled by fit",
    "stateless": "stateless (every window from zeros)",
}
#: The largest stream, batch and window a layout (and the Stateful page) takes.
LAYOUT_LIMITS = {
    "stream_len": (2, 1_000_000),
    "batch_size": (1, 256),
    "window": (1, 2_000),
    "num_features": (1, 64),
}
#: At most this many windows in one layout (num_batches * batch_size): the page draws each.
MAX_WINDOWS = 20_000


@dataclass(frozen=True)
class Layout:
    """Which stream positions each (batch, row, step) reads.

    Attributes:
        kind: one of KINDS.
        index: (num_batches, batch_size, window) ints: `x = stream[index]` is the input fed
            to fit, batch by batch.
        continues: (num_batches - 1, batch_size) bools: row i of batch k+1 starts exactly
            where row i of batch k ended (what a stateful layer assumes). All False for
            "stateless", whose state does not carry.
        unused: the stream positions no window reads (the tail the layout drops).
        epoch: the epoch whose order this is (only "shuffled" changes with it).
    """

    kind: str
    index: np.ndarray
    continues: np.ndarray
    unused: np.ndarray
    epoch: int = 0

    @property
    def num_batches(self) -> int:
        return int(self.index.shape[0])

    @property
    def batch_size(self) -> int:
        return int(self.index.shape[1])

    @property
    def window(self) -> int:
        return int(self.index.shape[2])


def whole_number(field: str, value: object, lo: int, hi: int) -> int:
    """Returns value as an int in lo..hi, or raises ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, value, f"must be a whole number from {lo:,} to {hi:,}")
    if not lo <= int(value) <= hi:
        raise ConfigError(field, value, f"must be from {lo:,} to {hi:,}")
    return int(value)


def check_sizes(stream_len: object, batch_size: object, window: object) -> tuple[int, int, int]:
    """Returns the three sizes as ints, or raises ConfigError naming the field."""
    n = whole_number("stream_len", stream_len, *LAYOUT_LIMITS["stream_len"])
    b = whole_number("batch_size", batch_size, *LAYOUT_LIMITS["batch_size"])
    w = whole_number("window", window, *LAYOUT_LIMITS["window"])
    if n < b * w:
        raise ConfigError(
            "stream_len",
            n,
            f"must be at least batch_size × window = {b} × {w} = {b * w:,} (one batch)",
        )
    if n // w > MAX_WINDOWS:
        raise ConfigError(
            "stream_len",
            n,
            f"makes {n // w:,} windows of {w} steps; at most {MAX_WINDOWS:,} "
            "(a longer window, or a shorter stream)",
        )
    return n, b, w


def layout(
    stream_len: int, batch_size: int, window: int, kind: str, seed: int = 0, epoch: int = 0
) -> Layout:
    """Returns how `kind` cuts a stream of `stream_len` steps into batches of
    `batch_size` windows of `window` steps (see the module docstring for the kinds)."""
    n, b, w = check_sizes(stream_len, batch_size, window)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError("kind", kind, "must be one of " + ", ".join(KINDS))
    seed = whole_number("seed", seed, 0, 2**31 - 1)
    epoch = whole_number("epoch", epoch, 0, 10**6)
    steps = np.arange(w)
    if kind == "in_order":
        num_batches = (n // w) // b
        # window j = k * b + i starts at j * w
        starts = (np.arange(num_batches)[:, None] * b + np.arange(b)[None, :]) * w
    else:
        part = n // b  # each row's contiguous part of the stream
        num_batches = part // w
        starts = np.arange(b)[None, :] * part + np.arange(num_batches)[:, None] * w
        if kind == "shuffled":
            order = np.random.default_rng([seed, epoch]).permutation(num_batches * b)
            starts = starts.reshape(-1)[order].reshape(num_batches, b)
    index = starts[:, :, None] + steps[None, None, :]
    if kind == "stateless":
        continues = np.zeros((num_batches - 1, b), bool)
    else:
        continues = index[1:, :, 0] == index[:-1, :, -1] + 1
    used = np.zeros(n, bool)
    used[index.reshape(-1)] = True
    return Layout(kind, index, continues, np.flatnonzero(~used), epoch if kind == "shuffled" else 0)


def describe(lay: Layout, stream_len: int) -> str:
    """One sentence of what the layout does with the stream, in a student's words."""
    k, b, w = lay.index.shape
    dropped = len(lay.unused)
    broken = int((~lay.continues).sum())
    total = lay.continues.size
    carry = (
        "no state is carried: every window starts from zeros"
        if lay.kind == "stateless"
        else f"{total - broken} of {total} row boundaries continue the stream"
    )
    return (
        f"{k} batches × {b} rows × {w} steps read {k * b * w:,} of {stream_len:,} steps "
        f"({dropped:,} dropped); {carry}."
    )


def check_stream(array: object, limit_values: int = 4_000_000) -> np.ndarray:
    """Returns a user's stream as float32 (N, F), or raises ConfigError saying why not.

    Accepts a numeric 1-D (N,) or 2-D (N, F) array of finite numbers, at most
    `limit_values` numbers (the size of the other uploads) and LAYOUT_LIMITS' features.
    """
    if not isinstance(array, np.ndarray):
        raise ConfigError("stream", Described(type(array).__name__), "must be a NumPy array")
    if array.dtype.kind not in "biuf":
        raise ConfigError(
            "stream", Described(f"dtype {array.dtype}"), "must hold numbers (int or float)"
        )
    if array.ndim not in (1, 2):
        raise ConfigError(
            "stream", Described(f"shape {array.shape}"), "must be (N,) or (N, features)"
        )
    if array.size > limit_values:
        raise ConfigError(
            "stream", Described(f"{array.size:,} numbers"), f"must hold at most {limit_values:,}"
        )
    stream = array.reshape(len(array), -1).astype(np.float32)
    lo, hi = LAYOUT_LIMITS["num_features"]
    if not lo <= stream.shape[1] <= hi:
        raise ConfigError(
            "stream", Described(f"{stream.shape[1]} features"), f"must have {lo} to {hi}"
        )
    if not np.isfinite(stream).all():
        raise ConfigError("stream", Described("NaN or inf"), "must hold finite numbers")
    return stream
