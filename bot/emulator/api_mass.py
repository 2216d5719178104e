"""The fake mass-send API (群发): sendall by tag or to all, send to an openid list, preview, get, delete."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from bot.emulator.api_base import ApiError, account_type, api, body, ok, post_event, state
from bot.emulator.keys import DAY, MASS_PER_DAY, MASS_PER_MONTH
from bot.emulator.shapes import MASS_SENDER, mass_finish
from bot.emulator.state_gate import Quota

MASS_QUOTAS = (Quota("mass-day", 100, DAY, 45009), Quota("mass-minute", 60, 60, 45011))  # sendall + send calls
PREVIEW_QUOTA = (Quota("preview", 100, DAY, 45009),)  # preview calls a day
MASS_TYPES = frozenset({"mpnews", "text", "voice", "image", "mpvideo", "wxcard"})  # msgtype values of mass sends
MIN_OPENIDS, MAX_OPENIDS = 2, 10_000  # message/mass/send takes 2 to 10,000 openids
CLIENT_MSGID_MAX = 64  # bytes of a clientmsgid


def content(data: dict[str, Any]) -> dict[str, Any]:
    """What the recipients see: {"msgtype": t, t: {...}}; 40008 bad type, 44004 empty text."""
    msgtype = data.get("msgtype")
    if msgtype not in MASS_TYPES or not isinstance(data.get(msgtype), dict):
        raise ApiError(40008)
    if msgtype == "text" and not str(data["text"].get("content") or ""):
        raise ApiError(44004)
    return {"msgtype": msgtype, msgtype: data[msgtype]}


def subscribed(users: list[dict[str, Any] | None]) -> list[str]:
    return [u["openid"] for u in users if u and u.get("subscribed")]


def by_filter(spec: Any) -> list[str]:
    """Followers selected by sendall's filter: everyone (is_to_all) or one tag."""
    if not isinstance(spec, dict):
        raise ApiError(40035)
    users = state().users()
    if spec.get("is_to_all") is True:
        return subscribed(users)
    try:
        tag_id = int(spec["tag_id"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(40035) from None
    if state().tag(tag_id) is None:
        raise ApiError(45159)
    return subscribed([u for u in users if tag_id in u.get("tagid_list", [])])


@api("message/mass/sendall", quotas=MASS_QUOTAS)
def sendall() -> Any:
    data = body()
    message = content(data)
    targets = by_filter(data.get("filter"))
    return launch(data, message, targets, len(targets))


@api("message/mass/send", quotas=MASS_QUOTAS)
def send() -> Any:
    data = body()
    message = content(data)
    if account_type() != "service":
        raise ApiError(48001)
    touser = data.get("touser")
    openids = list(dict.fromkeys(str(o) for o in touser)) if isinstance(touser, list) else []
    if not MIN_OPENIDS <= len(openids) <= MAX_OPENIDS:
        raise ApiError(40130)
    return launch(data, message, subscribed(state().users_by_ids(openids)), len(openids))


def launch(data: dict[str, Any], message: dict[str, Any], targets: list[str], total: int) -> Any:
    """Dedupe by clientmsgid, apply the account's quota, deliver, report MASSSENDJOBFINISH to the webhook."""
    msg_id = state().next_msg_id()
    client_msgid = claim(data.get("clientmsgid"), msg_id)
    if account_type() != "service" and not state().take_mass_day(MASS_PER_DAY):
        if client_msgid:
            state().release_client_msgid(client_msgid)
        raise ApiError(45028)
    sent = state().take_monthly(targets, MASS_PER_MONTH) if account_type() == "service" else targets
    state().record_many(sent, "out", "mass", message)
    counts = {"TotalCount": total, "FilterCount": len(sent), "SentCount": len(sent), "ErrorCount": 0}
    state().save_mass_job(msg_id, {"status": "SEND_SUCCESS", **counts})
    post_event(MASS_SENDER, "MASSSENDJOBFINISH", **mass_finish(msg_id, counts, mpnews=message["msgtype"] == "mpnews"))
    extra = {"msg_data_id": msg_id} if message["msgtype"] == "mpnews" else {}
    return ok("send job submission success", msg_id=msg_id, **extra)


def claim(client_msgid: Any, msg_id: int) -> str | None:
    """The clientmsgid, now remembered for 24 h; 45065 (with the first msg_id) when it was used already."""
    if client_msgid in (None, ""):
        return None
    value = str(client_msgid)
    if len(value.encode()) > CLIENT_MSGID_MAX:
        raise ApiError(45067)
    first = state().claim_client_msgid(value, msg_id)
    if first is not None:
        raise ApiError(45065, msg_id=first)
    return value


@api("message/mass/preview", quotas=PREVIEW_QUOTA)
def preview() -> Any:
    data = body()
    message = content(data)
    openid = str(data.get("touser") or "")  # previews by WeChat id (towxname) are not emulated
    user = state().user(openid) if openid else None
    if user is None:
        raise ApiError(40003)
    if not user.get("subscribed"):
        raise ApiError(43004)
    state().record(openid, "out", "preview", message)
    return ok("preview success", msg_id=state().next_msg_id())


def job_id() -> int:
    """The msg_id of an existing mass job from the body; 40035 otherwise."""
    try:
        msg_id = int(body().get("msg_id"))
    except (TypeError, ValueError):
        raise ApiError(40035) from None
    if state().mass_job(msg_id) is None:
        raise ApiError(40035)
    return msg_id


@api("message/mass/get")
def get() -> Any:
    msg_id = job_id()
    job = state().mass_job(msg_id) or {}
    return jsonify(msg_id=msg_id, msg_status=job.get("status", "SEND_SUCCESS"))


@api("message/mass/delete")
def delete() -> Any:
    state().set_mass_status(job_id(), "DELETE")
    return ok()
