"""The fake parametric QR code API: qrcode/create (temporary and permanent codes) and showqrcode (the image)."""

from __future__ import annotations

import io
from typing import Any

import segno
from flask import Response, jsonify, request

from bot.emulator.api_base import ApiError, account_type, api, body, state
from bot.emulator.keys import (
    QR_DEFAULT_EXPIRY,
    QR_MAX_EXPIRY,
    QR_PERMANENT_IDS,
    QR_SCENE_STR,
    QR_TEMPORARY_IDS,
)
from bot.emulator.state_qr import PERMANENT, STRING_SCENES, TEMPORARY

INVALID_ACTION_NAME = 40052  # action_name is none of the four
INVALID_ACTION_INFO = 40053  # action_info / scene missing, scene_id out of range, scene_str of a wrong length
NOT_FOUND = "<html><body><h1>404 Not Found</h1></body></html>"  # showqrcode for an unknown or expired ticket


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def scene_of(action: str, info: Any) -> str:
    """The scene as a scan's EventKey carries it: scene_str, or scene_id as a string; 40053 when invalid."""
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise ApiError(INVALID_ACTION_INFO)
    if action in STRING_SCENES:
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= QR_SCENE_STR:
            raise ApiError(INVALID_ACTION_INFO)
        return value
    low, high = QR_PERMANENT_IDS if action in PERMANENT else QR_TEMPORARY_IDS
    number = scene.get("scene_id")
    if not is_int(number) or not low <= number <= high:
        raise ApiError(INVALID_ACTION_INFO)
    return str(number)


def expire_seconds_of(data: dict[str, Any]) -> int:
    """A temporary code's life: QR_DEFAULT_EXPIRY when absent, at most QR_MAX_EXPIRY (longer is cut to 30 days)."""
    value = data.get("expire_seconds", QR_DEFAULT_EXPIRY)
    if not is_int(value):
        raise ApiError(47001)
    if value < 1:
        raise ApiError(40035)
    return min(value, QR_MAX_EXPIRY)


@api("qrcode/create")
def create() -> Any:
    """{ticket, expire_seconds, url} for a temporary code, {ticket, url} for a permanent one (no errcode)."""
    if account_type() != "service":
        raise ApiError(48001)  # parametric codes are for (verified) service accounts
    data = body()
    action = data.get("action_name")
    if action not in TEMPORARY | PERMANENT:
        raise ApiError(INVALID_ACTION_NAME)
    scene = scene_of(str(action), data.get("action_info"))
    seconds = 0 if action in PERMANENT else expire_seconds_of(data)
    errcode, code = state().create_qr(str(action), scene, seconds)
    if errcode or code is None:
        raise ApiError(errcode or -1)
    if code.permanent:
        return jsonify(ticket=code.ticket, url=code.url)
    return jsonify(ticket=code.ticket, expire_seconds=code.expire_seconds(), url=code.url)


def png_of(url: str) -> bytes:
    """A real QR code (error correction M) encoding `url`, as PNG."""
    out = io.BytesIO()
    segno.make(url, error="m", boost_error=False).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


@api("showqrcode", methods=("GET",), check_token=False)
def show() -> Any:
    """?ticket=: the code's image (no access token, like mp.weixin.qq.com's); 404 for an unknown or expired ticket."""
    code = state().live_qr(request.args.get("ticket", ""))
    if code is None:
        return Response(NOT_FOUND, status=404, mimetype="text/html")
    res = Response(png_of(code.url), content_type="image/png")
    res.headers["Cache-Control"] = "max-age=86400" if code.permanent else "no-cache"
    return res
