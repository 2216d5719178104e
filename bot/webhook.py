"""The webhook: GET echostr; POST → checks → decrypt → parse → pipeline → XML reply or "success".

It is a thin WSGI layer in front of Flask (the hot path skips Flask's request context, session and
routing); every other path goes on to the Flask app.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl

from flask import Flask

from bot import metrics
from bot.errors import RequestRefused
from bot.extensions import Services
from bot.message import TextReply
from bot.pipeline import FALLBACK
from bot.wechat import Crypto, parse_xml, render, to_message, verify

log = logging.getLogger(__name__)
XML = "application/xml; charset=utf-8"  # content type of replies
TEXT = "text/plain; charset=utf-8"  # content type of "success", echostr and refusals
REASONS = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 405: "405 Method Not Allowed",
           413: "413 Payload Too Large"}  # status lines the webhook answers with
StartResponse = Callable[..., Any]


def register(app: Flask, path: str) -> None:
    """Answer the configured path before Flask sees the request."""
    app.wsgi_app = Webhook(app.wsgi_app, app.extensions["bot"], path)  # type: ignore[method-assign]


class Webhook:
    """WSGI middleware owning the webhook path."""

    def __init__(self, inner: Callable[..., Iterable[bytes]], services: Services, path: str) -> None:
        self.inner, self.services, self.path = inner, services, path
        cfg = services.settings.section("webhook")
        self.window, self.cap = int(cfg["timestamp_window"]), int(cfg["max_body"])
        s = services.settings
        self.crypto = Crypto(s.token, s.aes_key, s.appid) if s.aes_key else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path:
            return self.inner(environ, start_response)
        status, body, kind = self.answer(environ)
        data = body.encode()
        start_response(REASONS.get(status, f"{status} Error"), [("Content-Type", kind), ("Content-Length", str(len(data)))])
        return [data]

    def answer(self, environ: dict[str, Any]) -> tuple[int, str, str]:
        """(status, body, content type) for one request; refusals reach no handler and no store."""
        started = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "POST"):
            return 405, "method not allowed", TEXT
        params = query(environ)
        try:
            ts, nonce = self.check_time(params)
            if method == "GET":
                return self.echo(params, ts, nonce)
            plain, aes = self.decode(environ, params, ts, nonce)
            msg = to_message(parse_xml(plain))
        except RequestRefused as exc:
            metrics.REQUESTS.labels(f"refused_{exc.status}").inc()
            log.info("webhook refused a request (%s): %s", exc.status, exc.reason)
            return exc.status, exc.reason, TEXT
        try:
            xml = self.services.pipeline.handle(msg, started)
        except Exception:  # the last line of defence: WeChat must never see a 5xx
            log.exception("pipeline failed")
            metrics.REQUESTS.labels("error").inc()
            xml = render(TextReply(FALLBACK), msg)
        metrics.REQUESTS_OK.inc()
        if xml is None:
            return 200, "success", TEXT
        return 200, (self.need_crypto().envelope(xml, nonce) if aes else xml), XML

    def check_time(self, params: Mapping[str, str]) -> tuple[str, str]:
        """Timestamp and nonce of a request whose timestamp is inside the window."""
        ts, nonce = params.get("timestamp", ""), params.get("nonce", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > self.window:
            raise RequestRefused(403, "timestamp missing or outside the window")
        return ts, nonce

    def echo(self, params: Mapping[str, str], ts: str, nonce: str) -> tuple[int, str, str]:
        """URL verification: echostr back when the signature is right."""
        if not verify(params.get("signature"), self.services.settings.token, ts, nonce):
            raise RequestRefused(403, "bad signature")
        return 200, params.get("echostr", ""), TEXT

    def need_crypto(self) -> Crypto:
        if self.crypto is None:
            raise RequestRefused(400, "safe mode used but WECHAT_AES_KEY is not set")
        return self.crypto

    def decode(self, environ: dict[str, Any], params: Mapping[str, str], ts: str, nonce: str) -> tuple[bytes, bool]:
        """The plaintext message XML after signature checks, and whether the request was encrypted."""
        body = read_body(environ, self.cap)
        token = self.services.settings.token
        if params.get("encrypt_type", "raw").lower() != "aes":
            if not verify(params.get("signature"), token, ts, nonce):
                raise RequestRefused(403, "bad signature")
            return body, False
        encrypted = parse_xml(body).get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise RequestRefused(400, "Encrypt missing")
        if not verify(params.get("msg_signature"), token, ts, nonce, encrypted):
            raise RequestRefused(403, "bad msg_signature")
        return self.need_crypto().decrypt(encrypted), True


def query(environ: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters, first value of each. WeChat's are plain ASCII: a split is exact and
    cheaper than a full parser, which still handles anything escaped."""
    qs = environ.get("QUERY_STRING", "")
    if "%" in qs or "+" in qs or not qs.isascii():
        pairs = parse_qsl(qs, keep_blank_values=True)
    else:
        pairs = [tuple(p.partition("=")[::2]) for p in qs.split("&") if p]  # type: ignore[misc]
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def read_body(environ: Mapping[str, Any], cap: int) -> bytes:
    """The request body, refused with 413 past the cap (also when no length is announced)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > cap:
        raise RequestRefused(413, "body too large")
    stream = environ["wsgi.input"]
    body = stream.read(int(length)) if length.isdigit() else stream.read(cap + 1)
    if len(body) > cap:
        raise RequestRefused(413, "body too large")
    return body
