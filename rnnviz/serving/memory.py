"""One memory budget, in bytes, for every cache that grows with what users ask for.

A classroom server keeps compiled layers, traces, loaded networks and text analyses so
that the next student asking for the same thing waits for nothing. Each of those caches
is a `ByteCache`; all of them charge one `Budget` (`RNNVIZ_CACHE_MB`, default 256 MB),
which evicts the least recently used entry of any cache once the sum is over the limit.
Entries are sized in bytes: NumPy arrays exactly, Keras layers and compiled graphs by
estimates measured on this code (docs/performance.md, "Memory").

    >>> cache = ByteCache("squares")
    >>> cache.get_or_create(3, lambda: 3 * 3)
    9
"""

from __future__ import annotations

import collections
import dataclasses
import sys
import threading
from collections.abc import Callable, Hashable
from typing import Any

from rnnviz.core.config import env_int

DEFAULT_CACHE_MB = 256
MIN_CACHE_MB = 16


class Budget:
    """A byte limit shared by several caches, evicting the least recently used entry first.

    Thread-safe. Eviction callbacks run after the budget's lock is released, so a cache
    may hold its own lock while charging without risking a lock-order deadlock.
    """

    def __init__(self, limit_bytes: int):
        if limit_bytes <= 0:
            raise ValueError(f"limit_bytes={limit_bytes} must be positive")
        self.limit = int(limit_bytes)
        self._lock = threading.Lock()
        # (cache id, key) -> (bytes, eviction callback), least recently used first
        self._entries: collections.OrderedDict[tuple[int, Hashable], tuple[int, Callable]] = (
            collections.OrderedDict()
        )
        self.used = 0

    def charge(self, owner: int, key: Hashable, nbytes: int, evict: Callable[[], None]) -> bool:
        """Records an entry of `nbytes` (replacing its old size); returns False if it
        alone is larger than the whole budget, in which case it is not recorded and the
        caller must not keep it."""
        victims = []
        with self._lock:
            old = self._entries.pop((owner, key), None)
            if old is not None:
                self.used -= old[0]
            if nbytes > self.limit:
                kept = False
            else:
                self._entries[(owner, key)] = (int(nbytes), evict)
                self.used += int(nbytes)
                kept = True
            while self.used > self.limit and self._entries:
                _, (size, callback) = self._entries.popitem(last=False)
                self.used -= size
                victims.append(callback)
        for callback in victims:
            callback()
        return kept

    def touch(self, owner: int, key: Hashable) -> None:
        with self._lock:
            if (owner, key) in self._entries:
                self._entries.move_to_end((owner, key))


_default_budget: Budget | None = None
_default_lock = threading.Lock()


def cache_limit_mb(environ: dict[str, str] | None = None) -> int:
    """`RNNVIZ_CACHE_MB` in megabytes (default 256, at least 16); a clear error if bad."""
    return env_int("RNNVIZ_CACHE_MB", DEFAULT_CACHE_MB, MIN_CACHE_MB, environ)


def default_budget() -> Budget:
    """The process-wide budget every ByteCache charges unless given another."""
    global _default_budget
    with _default_lock:
        if _default_budget is None:
            _default_budget = Budget(cache_limit_mb() * 2**20)
        return _default_budget


class ByteCache:
    """A thread-safe memo of values by key whose bytes are charged to a Budget.

    Concurrent requests for the same missing key compute it once: the others wait for
    that result (thirty students opening the same preset build one layer, not thirty).
    Values are shared between sessions, never copied: callers must not modify them.
    """

    def __init__(
        self,
        name: str,
        budget: Budget | None = None,
        sizeof: Callable[[Any], int] | None = None,
    ):
        self.name = name
        self._budget = budget
        self._sizeof = sizeof or nbytes
        self._lock = threading.Lock()
        self._values: dict[Hashable, Any] = {}
        self._computing: dict[Hashable, threading.Event] = {}

    @property
    def budget(self) -> Budget:
        return self._budget if self._budget is not None else default_budget()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._values:
                return default
            value = self._values[key]
        self.budget.touch(id(self), key)
        return value

    def get_or_create(self, key: Hashable, factory: Callable[[], Any]) -> Any:
        """Returns the cached value of `key`, computing it with `factory()` when missing."""
        while True:
            with self._lock:
                if key in self._values:
                    value = self._values[key]
                    break
                event = self._computing.get(key)
                if event is None:
                    event = self._computing[key] = threading.Event()
                    owner = True
                else:
                    owner = False
            if not owner:
                event.wait()
                with self._lock:
                    if key in self._values:
                        value = self._values[key]
                        break
                continue  # the computation failed or was evicted at once: try ourselves
            try:
                value = factory()
                self.put(key, value)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
                event.set()
            return value
        self.budget.touch(id(self), key)
        return value

    def put(self, key: Hashable, value: Any, size: int | None = None) -> None:
        """Stores `value` (sized by the cache's sizeof unless `size` is given)."""
        size = self._sizeof(value) if size is None else int(size)
        with self._lock:
            self._values[key] = value
        if not self.budget.charge(id(self), key, size, lambda: self._drop(key)):
            self._drop(key)  # larger than the whole budget: used once, never kept

    def _drop(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)


_shared: dict[str, ByteCache] = {}


def shared_cache(name: str) -> ByteCache:
    """The process-wide ByteCache called `name`, created on first use.

    For app pages: a page script runs again on every rerun, so a cache created in it
    would be a new, empty one each time; this one lives as long as the server.
    """
    with _default_lock:
        cache = _shared.get(name)
        if cache is None:
            cache = _shared[name] = ByteCache(name)
        return cache


#: A Keras model beyond its weights: its layers, traced predict/call graphs (the same
#: measured figure as rnnviz.tracer.ENGINE_BYTES).
KERAS_MODEL_BYTES = 4 * 2**20


def nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """The bytes a value holds: NumPy arrays exactly, containers and dataclasses summed,
    objects with an `nbytes_estimate()` asked, anything else by sys.getsizeof."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    estimate = getattr(value, "nbytes_estimate", None)
    if callable(estimate):
        return int(estimate())
    if hasattr(value, "nbytes") and hasattr(value, "dtype"):
        return int(value.nbytes)  # numpy arrays (and tensors with .nbytes)
    if hasattr(value, "count_params") and hasattr(value, "weights"):  # a Keras model or layer
        try:
            params = int(value.count_params())
        except ValueError:  # not built: no weights yet
            params = 0
        return KERAS_MODEL_BYTES + 3 * 4 * params
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(
            nbytes(k, seen) + nbytes(v, seen) for k, v in value.items()
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(nbytes(v, seen) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(
            nbytes(getattr(value, f.name), seen) for f in dataclasses.fields(value)
        )
    return sys.getsizeof(value)
