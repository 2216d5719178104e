"""Observability: /healthz, /metrics, openids masked in logs."""
from __future__ import annotations

import logging

import redis

from bot.emulator.client import new_openid
from bot.logs import MaskOpenids, mask


def test_healthz_ok(client):
    res = client.get("/healthz")
    assert res.status_code == 200 and res.json == {"status": "ok"}


def test_healthz_names_what_is_down(app, client):
    app.extensions["bot"].redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    res = client.get("/healthz")
    assert res.status_code == 503 and res.json == {"status": "error", "failing": ["redis"]}


def test_metrics_count_requests_replies_and_dedupe(wx, user, client):
    fields = wx.build(user, "text", Content="帮助")
    wx.post(fields)
    wx.post(fields)
    body = client.get("/metrics").get_data(as_text=True)
    for name in ("bot_webhook_requests_total", 'bot_replies_total{handler="common.show_help"}',
                 "bot_dedupe_hits_total", "bot_handler_seconds_bucket", "bot_outbox_errors_total"):
        assert name in body


def test_openids_are_masked_in_logs():
    openid = new_openid()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s said hi", (openid,), None)
    MaskOpenids().filter(record)
    assert openid not in record.getMessage() and openid[:4] in record.getMessage()
    assert mask(openid) == f"{openid[:4]}***{openid[-3:]}"
