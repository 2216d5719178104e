"""The fake WeChat API at /emulator/cgi-bin/: tokens, custom and template messages, controls
(+ api_mass, api_users, api_media, api_qr)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from bot.emulator import api_mass, api_media, api_qr, api_users  # noqa: F401  (their routes join bp)
from bot.emulator.api_base import ApiError, account_type, api, body, bp, fail, ok, post_event, settings, state
from bot.emulator.client import REPLY_LIMIT
from bot.emulator.keys import DAY
from bot.emulator.state_gate import Quota, api_path

__all__ = ["bp"]

TOKEN_QUOTA = (Quota("token", 2000, DAY, 45009),)  # /token: 2000 calls a day
TEMPLATE_QUOTA = (Quota("template", 100_000, DAY, 45009),)  # template messages a day
CUSTOM_TYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "mpnewsarticle",
        "msgmenu",
        "wxcard",
        "miniprogrampage",
    }
)  # msgtype values of message/custom/send


# Access tokens ------------------------------------------------------------------
def check_credentials(grant_type: Any, appid: Any, secret: Any) -> None:
    """40002 wrong grant_type, 40013 wrong appid, 40125 wrong secret."""
    s = settings()
    if grant_type != "client_credential":
        raise ApiError(40002)
    if appid != s.appid:
        raise ApiError(40013)
    if secret != s.secret:
        raise ApiError(40125)


@api("token", methods=("GET",), quotas=TOKEN_QUOTA, check_token=False)
def token() -> Any:
    a = request.args
    check_credentials(a.get("grant_type"), a.get("appid"), a.get("secret"))
    value, expires_in = state().issue_token()
    return jsonify(access_token=value, expires_in=expires_in)


@api("stable_token", check_token=False)
def stable_token() -> Any:
    data = body()
    check_credentials(data.get("grant_type"), data.get("appid"), data.get("secret"))
    code, value, expires_in = state().stable_token(force=data.get("force_refresh") is True)
    return fail(code) if code else jsonify(access_token=value, expires_in=expires_in)


# Messages -----------------------------------------------------------------------
@api("message/custom/send", own_gate=True)
def custom_send() -> Any:
    """The gate and the send in one Redis round trip; a malformed call passes the gate alone first (as others do)."""
    token = request.args.get("access_token", "")
    try:
        data = body()
        openid = str(data.get("touser") or "")
        msgtype = data.get("msgtype")
        if not openid:
            raise ApiError(40003)
        if msgtype not in CUSTOM_TYPES or not isinstance(data.get(msgtype), dict):
            raise ApiError(40008)
        if msgtype == "text" and not str(data["text"].get("content") or ""):
            raise ApiError(44004)
        if msgtype == "text" and len(str(data["text"]["content"]).encode("utf-8")) > REPLY_LIMIT:
            raise ApiError(45002)  # content size out of limit: the same 2,047 bytes as a passive reply
    except ApiError:
        code = state().gate("message/custom/send", token)
        if code:
            return fail(code)
        raise
    code = state().send_custom(openid, data, token=token)
    return fail(code) if code else ok()


@api("message/template/send", quotas=TEMPLATE_QUOTA)
def template_send() -> Any:
    data = body()
    openid, template_id = str(data.get("touser") or ""), str(data.get("template_id") or "")
    if account_type() != "service":
        raise ApiError(48001)
    if not template_id:
        raise ApiError(40037)
    if not isinstance(data.get("data", {}), dict):
        raise ApiError(47001)
    user = state().user(openid) if openid else None
    if user is None or not user.get("subscribed"):
        raise ApiError(43004)
    if state().refuses_template(openid, template_id):
        raise ApiError(43101)
    msg_id = state().next_msg_id()
    state().record(openid, "out", "template", data)
    post_event(openid, "TEMPLATESENDJOBFINISH", MsgID=msg_id, Status="success")
    return ok(msgid=msg_id)


# Test controls (no token: for processes that do not share the Python object) -------
# Each takes a JSON object (Content-Type: application/json): a form or a no-cors fetch on another site cannot
# send that type without a CORS preflight, so no web page can change the emulator's state.
NOT_JSON = "expected a JSON object (Content-Type: application/json)"  # a control call's refusal (400)


def control_body() -> dict[str, Any] | None:
    """The JSON object posted to a control endpoint; None for anything else."""
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else None


@bp.post("/control/inject")
def control_inject() -> Any:
    data = control_body()
    if data is None:
        return jsonify(ok=False, error=NOT_JSON), 400
    try:
        path, errcode, times = str(data["path"]), int(data["errcode"]), int(data.get("times", 1))
    except (KeyError, TypeError, ValueError):
        return jsonify(ok=False, error="expected JSON {path, errcode, times}"), 400
    state().inject(path, errcode, times)
    return jsonify(ok=True, path=api_path(path), errcode=errcode, times=times)


@bp.post("/control/reset")
def control_reset() -> Any:
    if control_body() is None:  # an empty JSON object
        return jsonify(ok=False, error=NOT_JSON), 400
    state().reset()
    return jsonify(ok=True)
