"""Plumbing shared by the fake WeChat API: the blueprint, the per-call gate, error answers, events to the webhook."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from bot.core.config import Settings
from bot.emulator.client import Observer, SimClient
from bot.emulator.state import EmulatorState
from bot.emulator.state_gate import Quota

bp = Blueprint("emulator_api", __name__, url_prefix="/emulator")
STATE = "emulator_state"  # app.extensions key of the EmulatorState shared by requests
log = logging.getLogger(__name__)

# WeChat's errmsg for each errcode the emulator answers.
ERRMSG = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid meida size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40035: "invalid parameter",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info",
    40125: "invalid appsecret",
    40130: "invalid openid list size, at least two openid",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44001: "empty media data",
    44002: "empty post data",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45029: "qrcode count out of limit",
    45047: "out of response count limit",
    45056: "too many tags",
    45058: "can't modify sys tag",
    45059: "user has too many tags",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    48001: "api unauthorized",
}


class ApiError(Exception):
    """Raised inside an endpoint: answered as {errcode, errmsg, **extra}."""

    def __init__(self, errcode: int, **extra: Any) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.extra = extra


@bp.errorhandler(ApiError)
def api_error(exc: ApiError) -> Response:
    return fail(exc.errcode, **exc.extra)


def fail(code: int, **extra: Any) -> Response:
    return jsonify(errcode=code, errmsg=ERRMSG.get(code, "error"), **extra)


OK_BODY = b'{"errcode":0,"errmsg":"ok"}\n'  # what jsonify(errcode=0, errmsg="ok") writes, encoded once


def ok(errmsg: str = "ok", **data: Any) -> Response:
    if errmsg == "ok" and not data:
        return Response(OK_BODY, mimetype="application/json")
    return jsonify(errcode=0, errmsg=errmsg, **data)


def state() -> EmulatorState:
    """The EmulatorState on the app's Redis (built once per app)."""
    ext = current_app.extensions
    if STATE not in ext:
        ext[STATE] = EmulatorState(ext["bot"].redis)
    return ext[STATE]


def settings() -> Settings:
    return current_app.extensions["bot"].settings


def account_type() -> str:
    """ "service" or "subscription", from config emulator.account_type."""
    return settings().emulator.account_type


def body() -> dict[str, Any]:
    """The JSON body; 44002 when empty, 47001 when not a JSON object."""
    raw = request.get_data()
    if not raw.strip():
        raise ApiError(44002)
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(47001)
    return data


def delay() -> int:
    """Simulated latency and random failures of one call: 0, or -1 (system busy)."""
    cfg = settings().emulator
    latency = float(cfg.latency_ms)
    if latency > 0:
        time.sleep(latency / 1000)
    rate = cfg.failure_rate
    if rate > 0 and random.random() < rate:
        return -1
    return 0


def admit(path: str, quotas: tuple[Quota, ...], check_token: bool) -> int:
    """Latency, random failures, injected errors, token and quotas for one call: 0 or the errcode."""
    token = request.args.get("access_token", "") if check_token else None
    return delay() or state().gate(path, token, quotas)


def api(
    path: str,
    methods: tuple[str, ...] = ("POST",),
    quotas: tuple[Quota, ...] = (),
    check_token: bool = True,
    own_gate: bool = False,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register `fn` at /emulator/cgi-bin/<path>, behind the gate.

    own_gate: only latency and random failures come first; `fn` runs the gate itself (in its own Redis round trip).
    """

    def wrap(fn: Callable[[], Any]) -> Callable[[], Any]:
        def view() -> Any:
            code = delay() if own_gate else admit(path, quotas, check_token)
            return fail(code) if code else fn()

        bp.add_url_rule(f"/cgi-bin/{path}", endpoint=path.replace("/", "_"), view_func=view, methods=list(methods))
        return fn

    return wrap


def own_address(s: Settings) -> str:
    """This app's address as configured (127.0.0.1 and PORT): never taken from a request's Host header, which
    would let any request make the emulator post signed messages elsewhere."""
    return f"http://127.0.0.1:{s.port}"


def webhook_client(observer: Observer | None = None) -> SimClient:
    """A simulated WeChat client posting to this app's own webhook at its configured address."""
    s = settings()
    url = own_address(s) + s.webhook.path
    return SimClient(url, s.token, s.aes_key, s.appid, mode="safe" if s.aes_key else "plain", observer=observer)


def post_event(sender: str, event: str, **fields: Any) -> None:
    """WeChat's report of a finished job, posted to the webhook from a daemon thread after the API answers."""
    client = webhook_client()
    message = client.build(sender, "event", Event=event, **fields)
    threading.Thread(target=deliver, args=(client, message), name="emulator-event", daemon=True).start()


def deliver(client: SimClient, message: dict[str, Any]) -> None:
    try:
        ex = client.post(message)
    except Exception:  # a background thread: log, never raise
        log.exception("emulator could not post %s to the webhook", message.get("Event"))
        return
    if not ex.ok:
        log.warning("webhook refused %s: status %s", message.get("Event"), ex.status)
