"""The webhook: GET echostr; POST → checks (mode, time, signature, nonce reuse) → decrypt → parse → pipeline → reply.

It is a thin WSGI layer in front of Flask (the hot path skips Flask's request context, session and
routing); every other path goes on to the Flask app.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask

from bot.core import metrics
from bot.core.errors import RequestRefused
from bot.core.keys import NONCE_KEY
from bot.core.services import Services
from bot.inbound.message import TextReply
from bot.inbound.pipeline import FALLBACK
from bot.inbound.wire import Crypto, as_int, parse_xml, render, to_message, verify

log = logging.getLogger(__name__)
XML = "application/xml; charset=utf-8"  # content type of replies
TEXT = "text/plain; charset=utf-8"  # content type of "success", echostr and refusals
REASONS = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    405: "405 Method Not Allowed",
    413: "413 Payload Too Large",
}  # status lines the webhook answers with
StartResponse = Callable[..., Any]
MAX_NONCE = 64  # characters; WeChat's nonce is a short number, anything longer is junk


def register(app: Flask, path: str) -> None:
    """Answer the configured path before Flask sees the request."""
    app.wsgi_app = Webhook(app.wsgi_app, app.extensions["bot"], path)  # type: ignore[method-assign]


class Webhook:
    """WSGI middleware owning the webhook path."""

    def __init__(self, inner: Callable[..., Iterable[bytes]], services: Services, path: str) -> None:
        self.inner, self.services, self.path = inner, services, path
        s = services.settings
        self.window, self.cap = s.webhook.timestamp_window, s.webhook.max_body
        self.crypto = Crypto(s.token, s.aes_key, s.appid) if s.aes_key else None
        self.modes = accepted_modes(s.webhook.accepted_modes, bool(s.aes_key))
        if "plain" in self.modes:
            log.warning("the webhook accepts plaintext requests, whose signature does not cover the body")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path:
            return self.inner(environ, start_response)
        status, body, kind = self.answer(environ)
        data = body.encode()
        start_response(
            REASONS.get(status, f"{status} Error"), [("Content-Type", kind), ("Content-Length", str(len(data)))]
        )
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
            body, plain, aes = self.decode(environ, params, ts, nonce)
            msg = to_message(parse_xml(plain))
            msg.nonce_guard = self.nonce_guard(ts, nonce, body)
        except RequestRefused as exc:
            return refuse(exc)
        try:
            xml = self.services.pipeline.handle(msg, started)
        except RequestRefused as exc:  # the nonce guard: this timestamp and nonce came with another body
            return refuse(exc)
        except Exception:  # the last line of defence: WeChat must never see a 5xx
            log.exception("pipeline failed")
            metrics.REQUESTS.labels("error").inc()
            xml = render(TextReply(FALLBACK), msg)
        metrics.REQUESTS_OK.inc()
        if xml is None:
            return 200, "success", TEXT
        return 200, (self.need_crypto().envelope(xml, nonce) if aes else xml), XML

    def check_time(self, params: Mapping[str, str]) -> tuple[str, str]:
        """Timestamp and nonce of a request whose timestamp is inside the window (junk values are refused)."""
        ts, nonce = params.get("timestamp", ""), params.get("nonce", "")
        stamp = as_int(ts)
        if stamp is None or abs(time.time() - stamp) > self.window:
            raise RequestRefused(403, "timestamp missing or outside the window")
        if not nonce or len(nonce) > MAX_NONCE:
            raise RequestRefused(403, "nonce missing or too long")
        return ts, nonce

    def nonce_guard(self, ts: str, nonce: str, body: bytes) -> tuple[str, str, int]:
        """What the pipeline checks in its first Redis round trip (no extra one here): a (timestamp, nonce) seen
        with another body inside the window is refused 403; an identical resend is WeChat's retry and passes."""
        ttl = max(1, int(ts) + self.window - int(time.time()) + 1)  # until the timestamp leaves the window
        return NONCE_KEY.format(ts, nonce), hashlib.blake2b(body, digest_size=16).hexdigest(), ttl

    def echo(self, params: Mapping[str, str], ts: str, nonce: str) -> tuple[int, str, str]:
        """URL verification: echostr back when the signature is right."""
        if not verify(params.get("signature"), self.services.settings.token, ts, nonce):
            raise RequestRefused(403, "bad signature")
        return 200, params.get("echostr", ""), TEXT

    def need_crypto(self) -> Crypto:
        if self.crypto is None:
            raise RequestRefused(400, "safe mode used but WECHAT_AES_KEY is not set")
        return self.crypto

    def decode(
        self, environ: dict[str, Any], params: Mapping[str, str], ts: str, nonce: str
    ) -> tuple[bytes, bytes, bool]:
        """The body as sent, the plaintext message XML after signature checks, and whether it was encrypted.
        A mode the settings do not accept is refused before the body is read: encrypt_type=aes (WeChat's safe
        and compatible modes) or plain (no encrypt_type, or any other value)."""
        mode = "aes" if params.get("encrypt_type", "raw").lower() == "aes" else "plain"
        if mode not in self.modes:
            raise RequestRefused(403, f"{mode} mode is not accepted")
        body = read_body(environ, self.cap)
        token = self.services.settings.token
        if mode == "plain":
            if not verify(params.get("signature"), token, ts, nonce):
                raise RequestRefused(403, "bad signature")
            return body, body, False
        encrypted = parse_xml(body).get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise RequestRefused(400, "Encrypt missing")
        if not verify(params.get("msg_signature"), token, ts, nonce, encrypted):
            raise RequestRefused(403, "bad msg_signature")
        return body, self.need_crypto().decrypt(encrypted), True


def refuse(exc: RequestRefused) -> tuple[int, str, str]:
    """The answer to a refused request (counted and logged without the request's details)."""
    metrics.REQUESTS.labels(f"refused_{exc.status}").inc()
    log.info("webhook refused a request (%s): %s", exc.status, exc.reason)
    return exc.status, exc.reason, TEXT


def accepted_modes(configured: Sequence[str], has_key: bool) -> frozenset[str]:
    """webhook.accepted_modes (default aes only) with an AES key; plain is the only mode without one."""
    if not has_key:
        return frozenset({"plain"})
    return frozenset(configured or ("aes",))


def query(environ: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters, first value of each. WeChat's are plain ASCII: a split is exact and
    cheaper than a full parser, which still handles anything escaped."""
    qs = environ.get("QUERY_STRING", "")
    if "%" in qs or "+" in qs or not qs.isascii():
        pairs = parse_qsl(qs, keep_blank_values=True)
    else:
        pairs = [tuple(p.partition("=")[::2]) for p in qs.split("&") if p]
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def read_body(environ: Mapping[str, Any], cap: int) -> bytes:
    """The request body, refused with 413 past the cap (also when no length is announced)."""
    length = as_int(environ.get("CONTENT_LENGTH") or "")
    if length is not None and length > cap:
        raise RequestRefused(413, "body too large")
    stream = environ["wsgi.input"]
    body = stream.read(length) if length is not None else stream.read(cap + 1)
    if len(body) > cap:
        raise RequestRefused(413, "body too large")
    return body
