"""/healthz (Redis and database answer) and /metrics (Prometheus)."""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.extensions import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when Redis and the database answer; 503 naming the one that does not."""
    s = services()
    checks: dict[str, str] = {}
    try:
        s.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # any failure means unhealthy; the reason is reported
        checks["redis"] = f"error: {type(exc).__name__}"
    try:
        with s.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # likewise
        checks["database"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    if not healthy:
        log.warning("health check failed: %s", checks)
    return jsonify(status="ok" if healthy else "error", **checks), 200 if healthy else 503


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
