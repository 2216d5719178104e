"""Prometheus metrics of the webhook and the outbox, served at /metrics (every gunicorn worker's, to whom may read)."""

from __future__ import annotations

import hmac
import ipaddress
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from bot.core.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set: each worker writes its metrics there and /metrics sums them all

REQUESTS = Counter("bot_webhook_requests_total", "Webhook requests by outcome", ["outcome"])
REQUESTS_OK = REQUESTS.labels("ok")  # the common child, looked up once
REPLIES = Counter("bot_replies_total", "Messages handled, by handler", ["handler"])
HANDLER_ERRORS = Counter("bot_handler_errors_total", "Handlers that raised, by handler", ["handler"])
DEDUPE_HITS = Counter("bot_dedupe_hits_total", "WeChat retries answered from the first attempt")
HANDLER_LATENCY = Histogram(
    "bot_handler_seconds",
    "Handler latency",
    ["handler"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_SENT = Counter("bot_outbox_sent_total", "Outbox API calls that succeeded, by API", ["api"])
OUTBOX_ERRORS = Counter("bot_outbox_errors_total", "Outbox API errors by errcode", ["errcode"])


_children: dict[str, tuple] = {}  # handler name -> (latency histogram, replies counter), looked up once


def for_handler(name: str) -> tuple:
    """The latency and replies metrics of one handler."""
    found = _children.get(name)
    if found is None:
        found = _children[name] = (HANDLER_LATENCY.labels(name), REPLIES.labels(name))
    return found


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: summed over every worker in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def access(settings: Settings, remote_addr: str | None, authorization: str | None) -> int:
    """200 when the caller may read /metrics, else the status to answer.

    Open when nothing is configured outside production; in production with neither METRICS_TOKEN nor
    server.metrics_allow, 404 (as if there were no such page). Otherwise the bearer token or an allowed address.
    """
    allow = list(settings.server.metrics_allow)
    token = settings.metrics_token
    if not token and not allow:
        return 404 if settings.env == "production" else 200
    if token and authorization and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return 200
    return 200 if allowed(remote_addr, allow) else 403


def allowed(remote_addr: str | None, networks: list[str]) -> bool:
    """Whether the address is in one of the networks (addresses are /32 or /128 networks)."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(str(n), strict=False) for n in networks)
