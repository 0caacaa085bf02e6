"""INPUT-6: logins (whose cost is the password hash) run on a few threads of their own.

argon2id at the production cost takes 64 MiB and most of a core per hash. Run in Starlette's thread
pool (40 threads), a login flood hashed 40 at once: 2.3 GB and dashboards starved. Here at most
`workers` logins hash at once (memory: workers x 64 MiB), apart from the thread pool that serves
dashboards; a login that cannot start within `max_wait_s`, or finds `max_pending` logins already
waiting, is refused with Busy before anything is judged or counted. The pool's threads (and the
lanes argon2 starts from them, which inherit it) run at a lower CPU priority (nice +10 on Linux),
so that while they hash, the event loop still gets the cores when it has cheap requests to answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)
MAX_WAIT_S = 2.0
QUEUE_PER_WORKER = 8
RETRY_AFTER_S = 1
NICE = 10  # CFS weight 110 against the event loop's 1024


def lower_priority() -> None:
    """Run in each pool thread: Linux keeps a nice value per thread (a no-op elsewhere)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class Busy(Exception):
    """The pool is saturated: answer 503 `busy` with Retry-After, change nothing."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy, retry after {retry_after} s")
        self.retry_after = retry_after


class HashingPool:
    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        *,
        max_wait_s: float = MAX_WAIT_S,
        max_pending: int | None = None,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        if workers < 1 or max_wait_s <= 0 or retry_after_s < 1:
            raise ValueError("a hashing pool needs workers >= 1, max_wait_s > 0, retry_after >= 1")
        self.workers = workers
        self.max_wait_s = max_wait_s
        self.max_pending = max_pending or workers * (1 + QUEUE_PER_WORKER)
        self.retry_after_s = retry_after_s
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="hashing", initializer=lower_priority
        )
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Logins hashing or waiting to."""
        with self._lock:
            return self._pending

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) on a pool thread, or Busy; awaiting it holds no thread of the caller's."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise Busy(self.retry_after_s)
            self._pending += 1
        queued_at = time.monotonic()
        stale = object()

        def job() -> object:
            if time.monotonic() - queued_at > self.max_wait_s:
                return stale  # waited too long: its client is told to come back, not judged
            return fn(*args)

        try:
            future: Future[object] = self._executor.submit(job)
        except RuntimeError:  # shut down
            self._done(None)
            raise Busy(self.retry_after_s) from None
        future.add_done_callback(self._done)  # also when a disconnect cancels it unstarted
        result = await asyncio.wrap_future(future)
        if result is stale:
            raise Busy(self.retry_after_s)
        return result  # type: ignore[return-value]

    def _done(self, future: Future[object] | None) -> None:
        with self._lock:
            self._pending -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
