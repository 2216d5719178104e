"""Logging set-up: one format for every process; secrets, query strings, phones and openids scrubbed from each line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO

from bot.core.phones import mask_phones

OPENID = re.compile(r"\b(o[A-Za-z0-9_-]{3})[A-Za-z0-9_-]{18,30}([A-Za-z0-9_-]{3})\b")  # WeChat openids (28 chars)
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"  # one line per record
# A URL's query string (it carries access_token, signature, nonce...): "?" after a path, up to a space or quote.
QUERY = re.compile(r"(?<=[\w/.])\?(?=[^\s'\"<>]*=)[^\s'\"<>)\]]*")
# name=value / "name": "value" of anything secret, wherever it is written (form bodies, JSON, reprs).
SECRET_FIELD = re.compile(
    r"(?i)(\b(?:access_token|secret|appsecret|app_secret|secret_key|token|signature|msg_signature|nonce|password"
    r"|encodingaeskey|aes_key|authorization)\b[\"']?\s*[:=]\s*[\"']?)(?:Bearer\s+)?[^\s\"'&,;}\]]+"
)
HIDDEN = "***"
MIN_SECRET = 4  # a configured secret shorter than this is not searched for (it would hide ordinary words)
_secrets: set[str] = set()  # the configured secret values of this process (token, AES key, app secret, ...)


def mask(openid: str) -> str:
    """An openid shortened to its first 4 and last 3 characters."""
    if len(openid) <= 8:
        return openid[:2] + "***"
    return f"{openid[:4]}***{openid[-3:]}"


def add_secrets(values: Iterable[str | None]) -> None:
    """Values that must never appear in a log line (called at start-up with the configured secrets)."""
    _secrets.update(v for v in values if v and len(v) >= MIN_SECRET)


def scrub(text: str) -> str:
    """`text` without query strings, secret fields, configured secret values, full phone numbers or openids."""
    text = QUERY.sub("", text)
    text = SECRET_FIELD.sub(r"\1" + HIDDEN, text)
    for value in sorted(_secrets, key=len, reverse=True):  # longest first: one secret may contain another
        if value in text:
            text = text.replace(value, HIDDEN)
    return OPENID.sub(r"\1***\2", mask_phones(text))


class Scrub(logging.Filter):
    """Scrubs the formatted message, the traceback and the stack of a record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = scrub(text)
        if clean != text:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


MaskOpenids = Scrub  # the earlier name (openids were all it masked)


def handler(stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler with our format and the scrubbing filter (stderr by default)."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(logging.Formatter(FORMAT))
    out.addFilter(Scrub())
    return out


def guard(logger: logging.Logger) -> None:
    """Add the scrubbing filter to every handler of `logger` that lacks it (gunicorn's own loggers)."""
    for each in logger.handlers:
        if not any(isinstance(f, Scrub) for f in each.filters):
            each.addFilter(Scrub())


def setup(level: str = "INFO") -> None:
    """Configure the root logger once (idempotent); every root handler scrubs."""
    root = logging.getLogger()
    if not any(getattr(h, "_bot", False) for h in root.handlers):
        ours = handler()
        ours._bot = True  # type: ignore[attr-defined]
        root.addHandler(ours)
    guard(root)
    root.setLevel(level.upper())
