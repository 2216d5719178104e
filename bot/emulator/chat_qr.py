"""The chat page's QR codes (development and tests only): the codes the account created, and scanning one."""

from __future__ import annotations

import time
from typing import Any

from flask import jsonify

from bot.emulator.chat import Refused, body, bp, deliver, known_user, state

MAX_CODE = 200  # characters of a ticket or scene typed in


@bp.get("/chat/qrcodes")
def qrcodes() -> Any:
    """The parametric QR codes created through qrcode/create, newest first, each marked permanent / expired."""
    return jsonify(codes=[c.as_dict() for c in state().qr_codes()], now=time.time())


@bp.post("/chat/users/<openid>/scan")
def scan(openid: str) -> Any:
    """The user scans a code: {"code": its ticket or scene}. SCAN for a follower, subscribe for a new follower;
    an expired code sends nothing (WeChat tells the user it has expired)."""
    value = str(body().get("code") or "").strip()
    if not value or len(value) > MAX_CODE:
        raise Refused(400, "请给出二维码的 ticket 或场景值")
    known_user(openid)
    code = state().find_qr(value)
    if code is None:
        raise Refused(404, "没有这个二维码")
    if code.expired():
        raise Refused(410, "该二维码已过期")
    return deliver(openid, lambda c: c.scan(openid, code))
