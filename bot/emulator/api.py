"""The fake WeChat API server at /emulator/cgi-bin/ (minimal: token and custom send; being extended)."""
from __future__ import annotations

import secrets
import time
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from bot.emulator.state import PREFIX, EmulatorState

bp = Blueprint("emulator_api", __name__, url_prefix="/emulator")
TOKEN = PREFIX + "token:{}"  # valid access tokens


def state() -> EmulatorState:
    return EmulatorState(current_app.extensions["bot"].redis)


def err(code: int, msg: str) -> Any:
    return jsonify(errcode=code, errmsg=msg)


@bp.get("/cgi-bin/token")
def token() -> Any:
    s = current_app.extensions["bot"].settings
    if request.args.get("appid") != s.appid or request.args.get("secret") != s.secret:
        return err(40013, "invalid appid or secret")
    value = secrets.token_urlsafe(32)
    state().redis.set(TOKEN.format(value), "1", ex=7200)
    return jsonify(access_token=value, expires_in=7200)


@bp.post("/cgi-bin/message/custom/send")
def custom_send() -> Any:
    if not state().redis.get(TOKEN.format(request.args.get("access_token", ""))):
        return err(40001, "invalid credential")
    body = request.get_json(force=True)
    user = state().user(body["touser"])
    if user is not None and not user.get("subscribed"):
        return err(43004, "require subscribe")
    state().record(body["touser"], "out", "custom", body)
    return err(0, "ok")
