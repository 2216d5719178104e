"""The fake WeChat API's temporary media: media/upload (image, voice) and media/get, kept 3 days like WeChat's."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, jsonify, request

from bot.emulator.api_base import ApiError, api, state
from bot.emulator.keys import DAY, MEDIA_LIMITS
from bot.emulator.state_gate import Quota
from bot.emulator.state_media import content_type_of

UPLOAD_QUOTA = (Quota("media-upload", 100_000, DAY, 45009),)  # temporary media uploads a day


@api("media/upload", quotas=UPLOAD_QUOTA)
def upload() -> Any:
    """?type=image|voice with a multipart file "media": {type, media_id, created_at} (no errcode, like WeChat)."""
    kind = request.args.get("type", "")
    if kind not in MEDIA_LIMITS:
        raise ApiError(40004)
    part = request.files.get("media")
    if part is None:
        raise ApiError(41005)
    data = part.stream.read(MEDIA_LIMITS[kind] + 1)
    if not data:
        raise ApiError(44001)
    if len(data) > MEDIA_LIMITS[kind]:
        raise ApiError(40006)
    content_type = content_type_of(kind, data, part.mimetype or "")
    if content_type is None:
        raise ApiError(40005)
    return jsonify(type=kind, media_id=state().add_media(kind, data, content_type), created_at=int(time.time()))


@api("media/get", methods=("GET",))
def get() -> Any:
    """?media_id=: the file with WeChat's headers; 40007 for an unknown or expired id."""
    media = state().media(request.args.get("media_id", ""))
    if media is None:
        raise ApiError(40007)
    res = Response(media.data, content_type=media.content_type)
    res.headers["Content-disposition"] = f'attachment; filename="{media.filename}"'
    res.headers["Cache-Control"] = "no-cache, must-revalidate"
    return res
