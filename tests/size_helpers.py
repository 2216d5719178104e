"""Helpers for the size-limit tests: byte counts, a bot with its fitting switched off, what a user was sent."""

from __future__ import annotations

from typing import Any

import pytest

from bot.emulator.client import REPLY_LIMIT
from bot.emulator.state import EmulatorState
from bot.inbound import fit


def nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def unfitted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot as it was before the limit was known: no paging, no safety net (to see what WeChat does then)."""
    monkeypatch.setattr(fit, "page", lambda ctx, result: result)
    monkeypatch.setattr(fit, "clip", lambda text, limit=REPLY_LIMIT, where="": text)


def custom_texts(emu: EmulatorState, openid: str) -> list[str]:
    """The customer-service texts the user received, oldest first."""
    return [
        str(e["body"]["text"]["content"]) for e in emu.received(openid, "custom") if e["body"].get("msgtype") == "text"
    ]


def all_fit(texts: list[str]) -> bool:
    return all(nbytes(t) <= REPLY_LIMIT for t in texts)


def read_all(wx: Any, user: str, first: Any) -> tuple[str, list[str]]:
    """Follow 「继续」 until the last page: the pages' text joined (footers removed) and every page as received."""
    pages = [first.text]
    while "回复「继续」查看下一页" in pages[-1]:
        pages.append(wx.text(user, "继续").text)
        assert len(pages) < 20, pages
    bodies = [p.split("\n\n（未完，第")[0] for p in pages]
    return "".join(bodies), pages
