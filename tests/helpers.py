"""Test helpers shared by the whole suite (tests/): polling, a free port, an app on the test stores, a clean slate."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from flask import Flask

from bot import create_app
from bot.core.database import Base


def poll(predicate: Any, timeout: float = 5.0) -> Any:
    """Poll until predicate() is truthy; its value (AssertionError after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_app(redis_url: str, database_url: str, tmp_path: Path, port: int, **overrides: Any) -> Flask:
    """An app on the given Redis and database, its var/ under tmp_path; overrides are create_app settings."""
    env = {"BOT_ENV": "testing", "REDIS_URL": redis_url, "DATABASE_URL": database_url, "PORT": str(port)}
    env.update(overrides.pop("env", {}))
    return create_app({"env": env, "var_dir": str(tmp_path / "var"), **overrides})


def clean(app: Flask) -> None:
    """Empty Redis and every table, so each test starts from nothing."""
    services = app.extensions["bot"]
    services.redis.flushdb()
    with services.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
