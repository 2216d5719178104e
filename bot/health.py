"""/healthz (Redis and database answer) and /metrics (Prometheus)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout, wait

import redis
from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import text

from bot.console.web import services
from bot.core.metrics import access, render
from bot.core.services import Services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
# Checks run here so a stalled dependency costs /healthz its timeout, never a hung request; a few stuck checks
# leave room for the next probe's.
_checks = ThreadPoolExecutor(6, thread_name_prefix="healthz")


def check_redis(s: Services, timeout: float) -> None:
    """PING on a fresh connection bounded by `timeout` (the shared pool may be busy or stuck)."""
    kwargs = dict(s.redis.connection_pool.connection_kwargs)
    kwargs.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    client = redis.Redis(
        connection_pool=redis.ConnectionPool(
            connection_class=s.redis.connection_pool.connection_class, max_connections=1, **kwargs
        )
    )
    try:
        client.ping()
    finally:
        client.close()


def check_database(s: Services, _timeout: float) -> None:
    with s.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


CHECKS: dict[str, Callable[[Services, float], None]] = {"redis": check_redis, "database": check_database}


def failing(s: Services, timeout: float) -> list[str]:
    """Names of the dependencies that did not answer within `timeout` seconds (checked at the same time)."""
    futures = {name: _checks.submit(fn, s, timeout) for name, fn in CHECKS.items()}
    wait(futures.values(), timeout=timeout)
    bad = []
    for name, future in futures.items():
        try:
            future.result(timeout=0)
        except FutureTimeout:
            future.cancel()
            bad.append(name)
        except Exception:  # noqa: BLE001 - any failure means unhealthy; only the name is reported
            bad.append(name)
    return bad


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when Redis and the database answer within health.timeout; 503 naming those that do not."""
    s = services()
    bad = failing(s, s.settings.health.timeout)
    if bad:
        log.warning("health check failed: %s", ", ".join(bad))
        return jsonify(status="error", failing=bad), 503
    return jsonify(status="ok"), 200


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics, for a METRICS_TOKEN bearer or an address in server.metrics_allow (metrics.access)."""
    status = access(services().settings, request.remote_addr, request.headers.get("Authorization"))
    if status != 200:
        return Response(status=status)
    body, content_type = render()
    return Response(body, content_type=content_type)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
