"""Organisations' QR codes, Flask-free: a permanent parametric code per organisation (scene org:<code>), made once
through WeChat's qrcode/create and kept in bot.core.qrcodes; scanning it starts 党员认证 (handlers.orgs.chat)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.core.errors import UserFacingError, WeChatAPIError
from bot.core.organisations import Organisation
from bot.core.qrcodes import QrCode, by_scene

SCENE = "org:{}"  # an organisation's scene_str (WeChat allows 64 characters; codes have at most 32)


def scene_of(org: Organisation) -> str:
    return SCENE.format(org.code)


def existing(db: Session, org: Organisation) -> QrCode | None:
    return by_scene(db, scene_of(org))


def ensure(db: Session, wx: Any, org: Organisation) -> tuple[QrCode, bool]:
    """The organisation's code, created through qrcode/create (QR_LIMIT_STR_SCENE) on first use; (code, created).
    Not committed. WeChat's refusal becomes a UserFacingError naming its errcode."""
    found = existing(db, org)
    if found is not None:
        return found, False
    try:
        answer = wx.qrcode.create(
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene_of(org)}}}
        )
    except WeChatAPIError as exc:
        raise UserFacingError(f"微信未能生成二维码（{exc.errcode or '网络错误'}），请稍后再试。") from None
    ticket = str(answer.get("ticket") or "")
    if not ticket:
        raise UserFacingError("微信未返回二维码，请稍后再试。")
    row = QrCode(scene=scene_of(org), ticket=ticket, url=str(answer.get("url") or ""))
    db.add(row)
    return row, True
