"""Observability: /healthz, /metrics, openids masked in logs."""

from __future__ import annotations

import logging
from typing import Any

import redis
from prometheus_client.parser import text_string_to_metric_families

from bot.core.logs import MaskOpenids, mask
from bot.emulator.client import new_openid


def test_healthz_ok(client):
    res = client.get("/healthz")
    assert res.status_code == 200 and res.json == {"status": "ok"}


def test_healthz_names_what_is_down(app, client):
    app.extensions["bot"].redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    res = client.get("/healthz")
    assert res.status_code == 503 and res.json == {"status": "error", "failing": ["redis"]}


def samples(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics shows now: (name, its labels) → value."""
    body = client.get("/metrics").get_data(as_text=True)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_metrics_count_requests_replies_dedupe_and_the_outbox(wx, user, client, services, emu):
    before = samples(client)

    def grew(name: str, **labels: str) -> float:
        """How much a sample grew since `before` (the registry is the process's: other tests counted too)."""
        key = (name, tuple(sorted(labels.items())))
        return samples(client)[key] - before.get(key, 0.0)

    fields = wx.build(user, "text", Content="帮助")
    assert wx.post(fields).ok
    assert wx.post(fields).ok  # WeChat's retry of the same MsgId: answered from the first attempt
    assert grew("bot_webhook_requests_total", outcome="ok") == 2
    assert grew("bot_replies_total", handler="common.show_help") == 1
    assert grew("bot_handler_seconds_count", handler="common.show_help") == 1
    assert grew("bot_dedupe_hits_total") == 1
    assert not services.outbox.send_text(user, "窗口外的消息").ok  # no message from the user in the emulator's window
    assert grew("bot_outbox_errors_total", errcode="45015") == 1
    emu.open_window(user)
    assert services.outbox.send_text(user, "窗口内的消息").ok
    assert grew("bot_outbox_sent_total", api="custom") == 1


def test_openids_are_masked_in_logs():
    openid = new_openid()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s said hi", (openid,), None)
    MaskOpenids().filter(record)
    assert openid not in record.getMessage() and openid[:4] in record.getMessage()
    assert mask(openid) == f"{openid[:4]}***{openid[-3:]}"
