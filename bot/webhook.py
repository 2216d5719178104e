"""The webhook: GET echostr; POST → checks → decrypt → parse → pipeline → XML reply or "success"."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, request

from bot import metrics
from bot.errors import RequestRefused
from bot.extensions import Services, services
from bot.pipeline import FALLBACK
from bot.wechat import Crypto, parse_xml, render, to_message, verify
from bot.message import TextReply

log = logging.getLogger(__name__)
XML = "application/xml; charset=utf-8"  # content type of replies


def register(app: Flask, path: str) -> None:
    """Mount the webhook at the configured path."""
    bp = Blueprint("webhook", __name__)
    bp.add_url_rule(path, "wechat", wechat, methods=["GET", "POST"])
    app.register_blueprint(bp)


def check_query(s: Services) -> tuple[str, str]:
    """Timestamp and nonce of a request whose timestamp is inside the window."""
    ts, nonce = request.args.get("timestamp", ""), request.args.get("nonce", "")
    window = s.settings.section("webhook")["timestamp_window"]
    if not ts.isdigit() or abs(time.time() - int(ts)) > window:
        raise RequestRefused(403, "timestamp missing or outside the window")
    return ts, nonce


def read_body(s: Services) -> bytes:
    """The request body, refused with 413 past the cap (also when no length is announced)."""
    cap = s.settings.section("webhook")["max_body"]
    if request.content_length is not None and request.content_length > cap:
        raise RequestRefused(413, "body too large")
    body = request.stream.read(cap + 1)
    if len(body) > cap:
        raise RequestRefused(413, "body too large")
    return body


def crypto(s: Services) -> Crypto:
    """The AES helper, built once per process."""
    c = s.__dict__.get("_crypto")
    if c is None:
        if not s.settings.aes_key:
            raise RequestRefused(400, "safe mode used but WECHAT_AES_KEY is not set")
        c = s.__dict__["_crypto"] = Crypto(s.settings.token, s.settings.aes_key, s.settings.appid)
    return c


def decode(s: Services, ts: str, nonce: str) -> tuple[bytes, bool]:
    """The plaintext message XML after signature checks, and whether the request was encrypted."""
    body = read_body(s)
    if request.args.get("encrypt_type", "raw").lower() != "aes":
        if not verify(request.args.get("signature"), s.settings.token, ts, nonce):
            raise RequestRefused(403, "bad signature")
        return body, False
    encrypted = parse_xml(body).get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise RequestRefused(400, "Encrypt missing")
    if not verify(request.args.get("msg_signature"), s.settings.token, ts, nonce, encrypted):
        raise RequestRefused(403, "bad msg_signature")
    return crypto(s).decrypt(encrypted), True


def wechat() -> Response:
    """The one URL WeChat calls."""
    started = time.monotonic()
    s = services()
    try:
        ts, nonce = check_query(s)
        if request.method == "GET":
            return echo(s, ts, nonce)
        plain, aes = decode(s, ts, nonce)
        msg = to_message(parse_xml(plain))
    except RequestRefused as exc:
        metrics.REQUESTS.labels(f"refused_{exc.status}").inc()
        log.info("webhook refused a request (%s): %s", exc.status, exc.reason)
        return Response(exc.reason, status=exc.status, mimetype="text/plain")
    try:
        xml = s.pipeline.handle(msg, started)
    except Exception:  # the last line of defence: WeChat must never see a 5xx
        log.exception("pipeline failed")
        metrics.REQUESTS.labels("error").inc()
        xml = render(TextReply(FALLBACK), msg)
    metrics.REQUESTS.labels("ok").inc()
    if xml is None:
        return Response("success", mimetype="text/plain")
    return Response(crypto(s).envelope(xml, nonce) if aes else xml, mimetype=XML)


def echo(s: Services, ts: str, nonce: str) -> Response:
    """URL verification: echostr back when the signature is right."""
    if not verify(request.args.get("signature"), s.settings.token, ts, nonce):
        raise RequestRefused(403, "bad signature")
    return Response(request.args.get("echostr", ""), mimetype="text/plain")
