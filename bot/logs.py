"""Logging set-up: one format for every process, openids masked wherever they appear."""
from __future__ import annotations

import logging
import re

OPENID = re.compile(r"\b(o[A-Za-z0-9_-]{3})[A-Za-z0-9_-]{18,30}([A-Za-z0-9_-]{3})\b")  # WeChat openids (28 chars)
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"  # one line per record


def mask(openid: str) -> str:
    """An openid shortened to its first 4 and last 3 characters."""
    if len(openid) <= 8:
        return openid[:2] + "***"
    return f"{openid[:4]}***{openid[-3:]}"


class MaskOpenids(logging.Filter):
    """Masks anything shaped like an openid in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = OPENID.sub(r"\1***\2", text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def setup(level: str = "INFO") -> None:
    """Configure the root logger once (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "_bot", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(MaskOpenids())
        handler._bot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
