"""The content this process serves: a Library swapped atomically on reload, reloads signalled via Redis."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import redis

from bot.core.keys import CONTENT_VERSION_KEY as VERSION_KEY
from bot.library.loader import CONTENT, ContentInvalid, Library, Problem, load_library

POLL = 2.0  # seconds between a process's looks at VERSION_KEY
EMPTY = Library((), ())  # served when content/ has never loaded

log = logging.getLogger(__name__)


class ContentStore:
    """Holds the current Library; a failed reload keeps the old one and reports the problems."""

    def __init__(self, client: redis.Redis, root: Path = CONTENT, poll: float = POLL) -> None:
        self.redis, self.root, self.poll = client, root, poll
        self.library: Library | None = None
        self.version: str | None = None
        self.guard = threading.Lock()
        self.stopping = threading.Event()
        self.watcher: threading.Thread | None = None

    def current(self) -> Library:
        """The library, loading it on first use and starting the reload watcher."""
        if self.library is None:
            with self.guard:
                if self.library is None:
                    self.version = self.redis.get(VERSION_KEY)
                    self.swap()
                    self.watch()
        return self.library or EMPTY

    def swap(self) -> list[Problem]:
        """Build a new library from disk and switch to it; on problems keep serving the old one."""
        t0 = time.monotonic()
        try:
            fresh = load_library(self.root)
        except ContentInvalid as exc:
            log.error(
                "content not (re)loaded, %d problem(s); still serving the previous content:\n%s", len(exc.problems), exc
            )
            return exc.problems
        self.library = fresh  # one reference assignment: readers see the old or the new, never a mix
        log.info(
            "content loaded: %d episodes, %d albums in %.2f s",
            len(fresh.episodes),
            len(fresh.albums),
            time.monotonic() - t0,
        )
        return []

    def reload(self) -> list[Problem]:
        """Check content/ here; when it is good, tell every process to reload. Returns the problems."""
        problems = self.swap()
        if not problems:
            self.version = str(self.redis.incr(VERSION_KEY))
        return problems

    def watch(self) -> None:
        if self.poll > 0 and self.watcher is None:
            self.watcher = threading.Thread(target=self.loop, name="content-watch", daemon=True)
            self.watcher.start()

    def loop(self) -> None:
        """Reload when another process bumped the version."""
        while not self.stopping.wait(self.poll):
            try:
                seen = self.redis.get(VERSION_KEY)
            except redis.RedisError as exc:
                log.warning("content watcher: Redis unavailable (%s)", exc)
                continue
            if seen != self.version:
                self.version = seen
                self.swap()

    def stop(self) -> None:
        self.stopping.set()
