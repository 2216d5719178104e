"""Prometheus metrics of the webhook and the outbox, served at /metrics."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("bot_webhook_requests_total", "Webhook requests by outcome", ["outcome"])
REQUESTS_OK = REQUESTS.labels("ok")  # the common child, looked up once
REPLIES = Counter("bot_replies_total", "Messages handled, by handler", ["handler"])
HANDLER_ERRORS = Counter("bot_handler_errors_total", "Handlers that raised, by handler", ["handler"])
DEDUPE_HITS = Counter("bot_dedupe_hits_total", "WeChat retries answered from the first attempt")
HANDLER_LATENCY = Histogram(
    "bot_handler_seconds", "Handler latency", ["handler"],
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
