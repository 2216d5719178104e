"""Out-of-band work kept in order per user: one FIFO per key, drained by the shared pool, other keys in parallel."""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class OrderedPool:
    """Runs jobs submitted under one key one after another, in submission order; different keys run at once.

    A key with work queued has one drain task in the pool, so many users still fan out over every worker.
    """

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.queues: dict[str, deque[Callable[[], Any]]] = {}
        self.guard = threading.Lock()

    def submit(self, key: str, fn: Callable[..., Any], *args: Any) -> None:
        """Queue `fn(*args)` behind the work already queued under `key`."""
        job = functools.partial(fn, *args)
        with self.guard:
            queue = self.queues.get(key)
            if queue is not None:
                queue.append(job)
                return
            self.queues[key] = deque([job])
        try:
            self.pool.submit(self.drain, key)
        except RuntimeError:  # the pool is shutting down: nothing will run the queue
            with self.guard:
                self.queues.pop(key, None)
            raise

    def drain(self, key: str) -> None:
        """Run the key's jobs until its queue is empty."""
        while True:
            with self.guard:
                queue = self.queues[key]
                if not queue:
                    del self.queues[key]
                    return
                job = queue.popleft()
            try:
                job()
            except Exception:  # noqa: BLE001 - one failed job must not stop the ones behind it
                log.exception("ordered background job failed")

    def idle(self) -> bool:
        """True when no key has work queued or running."""
        with self.guard:
            return not self.queues
