"""Background jobs on a shared server: a bounded number run at once, the rest wait in a queue.

A page submits work (a training) and polls its Job; the page's rerun never waits for it. Each
job is stoppable, and a job whose owner stops polling (the browser tab closed, the session
ended) stops by itself after `heartbeat_timeout` seconds: no Streamlit hook is needed to clean
up, so the registry works the same in a notebook and behind a load balancer.

Example:
    >>> jobs = JobRegistry(max_running=1)
    >>> job = jobs.submit(lambda job: 42, label="answer")
    >>> job.wait(5)
    True
    >>> job.status, job.result
    ('done', 42)
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from rnnviz.core.config import env_int

#: Job statuses. "stopped" means stopped on request (or its owner went away) and may hold a
#: partial result.
STATUSES = ("queued", "running", "done", "stopped", "failed")


def max_trainings_from_env(default: int = 2) -> int:
    """Returns RNNVIZ_MAX_TRAININGS (default 2, at least 1); a clear error if it is bad."""
    return env_int("RNNVIZ_MAX_TRAININGS", default, 1)


class Job:
    """One unit of background work. Read its fields; call `stop`, `touch`, `wait`.

    Attributes:
        label: what it is, for a page ("LSTM on remember").
        status: one of STATUSES.
        result: what the work returned, or the partial result it published with
            `publish` while running.
        error: the exception's message when status is "failed".
    """

    def __init__(
        self,
        registry: JobRegistry,
        work: Callable[[Job], Any],
        label: str,
        heartbeat_timeout: float,
    ):
        self.id = next(_ids)
        self.label = label
        self.status = "queued"
        self.result: Any = None
        self.error: str | None = None
        self.created = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None
        self._registry = registry
        self._work = work
        self._stop = threading.Event()
        self._done = threading.Event()
        self._heartbeat_timeout = heartbeat_timeout
        self._last_seen = time.monotonic()

    def touch(self) -> None:
        """Says the owner is still there; without it for heartbeat_timeout s the job stops."""
        self._last_seen = time.monotonic()

    @property
    def abandoned(self) -> bool:
        """True when the owner has not touched the job for longer than the timeout."""
        return time.monotonic() - self._last_seen > self._heartbeat_timeout

    def stop(self) -> None:
        """Asks the job to stop: a queued job never starts, a running one stops at its next poll."""
        self._stop.set()
        self._registry._drop_queued(self)

    def should_stop(self) -> bool:
        """True once stop() was called or the owner went away: the work polls this."""
        return self._stop.is_set() or self.abandoned

    def publish(self, result: Any) -> None:
        """Makes a partial result visible to the page while the work runs."""
        self.result = result

    @property
    def position(self) -> int:
        """1-based place in the queue while queued; 0 otherwise."""
        return self._registry.position(self)

    @property
    def active(self) -> bool:
        """True while queued or running."""
        return self.status in ("queued", "running")

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the job has ended; returns False on timeout."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        self.status = "running"
        self.started = time.monotonic()
        try:
            result = self._work(self)
            if result is not None:
                self.result = result
            self.status = "stopped" if self._stop.is_set() or self.abandoned else "done"
        except Exception as exc:  # the page shows it; the server goes on
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
        finally:
            self.finished = time.monotonic()
            self._done.set()
            self._registry._finished(self)


_ids = itertools.count(1)


class JobRegistry:
    """Runs at most `max_running` jobs at once, each in its own thread; queues the rest.

    Thread-safe. Sessions share the registry (it is the server's bound), never each
    other's jobs: a job is reachable only through the Job object its submitter holds.
    """

    def __init__(self, max_running: int | None = None, heartbeat_timeout: float = 120.0):
        self.max_running = max_running if max_running is not None else max_trainings_from_env()
        self.heartbeat_timeout = heartbeat_timeout
        self._lock = threading.Lock()
        self._queue: collections.deque[Job] = collections.deque()
        self._running: set[Job] = set()

    def submit(self, work: Callable[[Job], Any], label: str = "") -> Job:
        """Queues `work(job)`; it starts as soon as fewer than max_running jobs run."""
        job = Job(self, work, label, self.heartbeat_timeout)
        with self._lock:
            self._queue.append(job)
        self._start_next()
        return job

    def position(self, job: Job) -> int:
        """Returns the job's 1-based place in the queue, or 0 when it is not queued."""
        with self._lock:
            for i, queued in enumerate(self._queue):
                if queued is job:
                    return i + 1
        return 0

    @property
    def running(self) -> int:
        """How many jobs run now."""
        with self._lock:
            return len(self._running)

    @property
    def queued(self) -> int:
        """How many jobs wait."""
        with self._lock:
            return len(self._queue)

    def _drop_queued(self, job: Job) -> None:
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                job.status = "stopped"
                job.finished = time.monotonic()
                job._done.set()

    def _finished(self, job: Job) -> None:
        with self._lock:
            self._running.discard(job)
        self._start_next()

    def _start_next(self) -> None:
        with self._lock:
            while self._queue and len(self._running) < self.max_running:
                job = self._queue.popleft()
                if job.should_stop():  # its owner left while it waited
                    job.status = "stopped"
                    job._done.set()
                    continue
                self._running.add(job)
                threading.Thread(target=job._run, name=f"rnnviz-job-{job.id}", daemon=True).start()


_default: JobRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> JobRegistry:
    """Returns the process-wide registry (RNNVIZ_MAX_TRAININGS jobs at once, default 2)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = JobRegistry()
        return _default
