"""The emulator chat page at /emulator and its JSON endpoints under /emulator/chat/ (development and tests only)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from bot.core.errors import RequestRefused
from bot.emulator.api_base import own_address, webhook_client
from bot.emulator.client import REPLY_LIMIT, Exchange, SimClient
from bot.emulator.keys import MEDIA_LIMITS
from bot.emulator.state import EmulatorState
from bot.emulator.state_media import content_type_of

bp = Blueprint(
    "emulator_chat",
    __name__,
    url_prefix="/emulator",
    template_folder="templates",
    static_folder="static",
    static_url_path="/chat/static",
)

UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"  # what WeChat shows when the webhook fails
OPENID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an acceptable openid in a URL
MAX_TEXT = 2000  # characters in one text message
MAX_NICKNAME = 32  # characters in a nickname
PICTURES = "/emulator/chat/media/"  # where a sent picture's PicUrl points (WeChat's is a public CDN address)
SCANNED = {"subscribe": "你扫码关注了公众号", "scan": "你扫描了二维码"}  # notes for a scan's event
OUT_LABELS = {"custom": "客服消息", "template": "模板消息", "mass": "群发消息", "preview": "群发预览"}
MEDIA_LABELS = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "music": "音乐",
    "mpnews": "图文消息",
    "mpnewsarticle": "图文消息",
    "wxcard": "卡券",
    "miniprogrampage": "小程序卡片",
    "shortvideo": "小视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
}


class Refused(HTTPException):
    """A request the chat endpoints refuse, answered as JSON {"error": ...} in Chinese."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.code = status
        self.message = message


@bp.errorhandler(Refused)
def refused(exc: Refused) -> Any:
    return jsonify(error=exc.message), exc.code


# Helpers --------------------------------------------------------------------
def settings() -> Any:
    return current_app.extensions["bot"].settings


def state() -> EmulatorState:
    return EmulatorState(current_app.extensions["bot"].redis)


def menu() -> dict[str, Any]:
    return settings().menu or {}


def account_name() -> str:
    return settings().emulator.account_name or "公众号"


def menu_items() -> Iterator[dict[str, Any]]:
    """Every leaf button of the menu (sub-buttons, or a top-level button without them)."""
    for button in menu().get("button", []):
        yield from button.get("sub_button") or [button]


def menu_name(key: str) -> str:
    return next((b["name"] for b in menu_items() if b.get("key") == key), key)


def body() -> dict[str, Any]:
    """The JSON object posted; anything else is refused (also keeps other sites from posting forms here)."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise Refused(400, "请求体须为 JSON 对象（Content-Type: application/json）")
    return data


def known_user(openid: str) -> dict[str, Any]:
    if not OPENID_RE.fullmatch(openid):
        raise Refused(400, "openid 格式不正确")
    user = state().user(openid)
    if user is None:
        raise Refused(404, "没有这个模拟用户")
    return user


def following(openid: str) -> dict[str, Any]:
    user = known_user(openid)
    if not user.get("subscribed"):
        raise Refused(409, "请先关注公众号")
    return user


def sim_client() -> SimClient:
    """A simulated WeChat client posting to this very app's webhook (its configured address), recording into the log."""
    return webhook_client(observer=state())


def deliver(openid: str, send: Callable[[SimClient], Exchange]) -> Any:
    """Run one send through the webhook; a failure is logged as WeChat's error line; JSON of the outcome."""
    try:
        ex = send(sim_client())
        error = None if ex.ok else failure_detail(ex)
    except (ValueError, RequestRefused) as exc:  # a reply WeChat could not open
        ex, error = Exchange(200, ""), f"回复无法解析：{exc}"
    shown = ex.notice or UNAVAILABLE  # WeChat's own words for what went wrong
    if error is not None:
        state().record(openid, "sys", "error", {"text": shown, "detail": error})
    return jsonify(
        ok=error is None,
        status=ex.status,
        attempts=ex.attempts,
        reply=None if ex.notice else ex.reply,
        error=shown if error else None,
        detail=error,
        user=state().user(openid),
    )


def failure_detail(ex: Exchange) -> str:
    if ex.status == 0:
        return f"webhook {ex.attempts} 次尝试均超时或无法连接"
    if ex.notice:
        size = len(str((ex.reply or {}).get("Content", "")).encode("utf-8"))
        return f"回复文本 {size} 字节，超过微信的 {REPLY_LIMIT} 字节上限，用户看不到它"
    return f"webhook 返回 HTTP {ex.status}"


# Turning log entries into what the page and the terminal show ---------------------
def present(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry as a display item: side (user, account, system), format and the text or card to show."""
    item = {
        "seq": entry["seq"],
        "time": entry["time"],
        "dir": entry["dir"],
        "kind": entry["kind"],
        "label": OUT_LABELS.get(entry["kind"], ""),
    }
    b = entry.get("body") or {}
    if entry["dir"] == "in":
        item.update(inbound(entry["kind"], b))
    elif entry["dir"] == "out" and entry["kind"] == "passive":
        item.update(side="account", **passive(b))
    elif entry["dir"] == "out" and entry["kind"] == "template":
        item.update(side="account", **template(b))
    elif entry["dir"] == "out":
        item.update(side="account", **api_message(b))
    else:
        item.update(
            side="system",
            format="error" if entry["kind"] == "error" else "note",
            text=str(b.get("text", "")),
            detail=str(b.get("detail", "")),
        )
    return item


def inbound(kind: str, b: dict[str, Any]) -> dict[str, Any]:
    if kind == "text":
        return {"side": "user", "format": "text", "text": str(b.get("Content", ""))}
    src = PICTURES + str(b.get("MediaId", ""))
    if kind == "image" and str(b.get("PicUrl", "")).endswith(src):  # a picture sent from this page: shown
        return {"side": "user", "format": "image", "text": "[图片]", "src": src}
    if kind != "event":
        return {"side": "user", "format": "text", "text": f"[{MEDIA_LABELS.get(kind, kind)}]"}
    event, key = str(b.get("Event", "")).lower(), str(b.get("EventKey", "") or "")
    if event in ("subscribe", "scan") and b.get("Ticket"):  # from a parametric QR code
        scene = key.removeprefix("qrscene_") if event == "subscribe" else key
        return {"side": "system", "format": "note", "text": f"{SCANNED[event]}（场景 {scene}）"}
    notes = {
        "subscribe": "你关注了公众号",
        "unsubscribe": "你已不再关注公众号",
        "click": f"点击菜单「{menu_name(key)}」",
        "view": f"打开网页 {key}",
    }
    return {"side": "system", "format": "note", "text": notes.get(event, f"事件 {b.get('Event', '')} {key}".strip())}


def passive(b: dict[str, Any]) -> dict[str, Any]:
    """A passive reply's fields (WeChat's XML names)."""
    kind = str(b.get("MsgType", "text"))
    if kind == "text":
        return {"format": "text", "text": str(b.get("Content", ""))}
    if kind == "news":
        items = (b.get("Articles") or {}).get("item") or []
        items = items if isinstance(items, list) else [items]
        return {"format": "news", "articles": [article(i, "Title", "Description", "Url", "PicUrl") for i in items]}
    return {"format": "text", "text": f"[{MEDIA_LABELS.get(kind, kind)}]"}


def api_message(b: dict[str, Any]) -> dict[str, Any]:
    """A customer-service, mass or preview message body (the API's JSON names)."""
    kind = str(b.get("msgtype", "text"))
    inner = b.get(kind) if isinstance(b.get(kind), dict) else {}
    if kind == "text":
        return {"format": "text", "text": str(inner.get("content", ""))}
    if kind == "news":
        items = inner.get("articles") or []
        return {"format": "news", "articles": [article(i, "title", "description", "url", "picurl") for i in items]}
    if kind == "msgmenu":
        options = [f"{o.get('content', '')}" for o in inner.get("list") or []]
        lines = [inner.get("head_content", ""), *options, inner.get("tail_content", "")]
        return {"format": "text", "text": "\n".join(str(x) for x in lines if x)}
    title = inner.get("title") or inner.get("media_id") or ""
    return {"format": "text", "text": f"[{MEDIA_LABELS.get(kind, kind)}] {title}".strip()}


def article(i: dict[str, Any], *names: str) -> dict[str, str]:
    title, description, url, picurl = (str(i.get(n, "") or "") for n in names)
    return {"title": title, "description": description, "url": url, "picurl": picurl}


def template(b: dict[str, Any]) -> dict[str, Any]:
    """A template message: its data fields in order, first and remark apart."""
    data = b.get("data") or {}

    def value(key: str) -> str:
        field = data.get(key)
        return str(field.get("value", "")) if isinstance(field, dict) else str(field or "")

    fields = [{"name": k, "value": value(k)} for k in data if k not in ("first", "remark")]
    return {
        "format": "template",
        "template": {
            "id": str(b.get("template_id", "")),
            "url": str(b.get("url", "") or ""),
            "first": value("first"),
            "remark": value("remark"),
            "fields": fields,
        },
    }


# The page and the endpoints ---------------------------------------------------
@bp.get("")
@bp.get("/")
def page() -> Any:
    return render_template("emulator/chat.html", account=account_name())


@bp.get("/chat/config")
def config() -> Any:
    return jsonify(account=account_name(), menu=menu())


@bp.get("/chat/users")
def list_users() -> Any:
    return jsonify(users=state().users())


@bp.post("/chat/users")
def create_user() -> Any:
    """A new simulated user: {"nickname": optional, "openid": optional (chosen by the emulator if absent)}."""
    data = body()
    nickname, openid = str(data.get("nickname") or "").strip(), data.get("openid") or None
    if len(nickname) > MAX_NICKNAME:
        raise Refused(400, f"昵称最多 {MAX_NICKNAME} 个字")
    if openid is not None and (not isinstance(openid, str) or not OPENID_RE.fullmatch(openid)):
        raise Refused(400, "openid 格式不正确")
    if openid and state().user(openid) is not None:
        raise Refused(409, "这个 openid 已经有用户了")
    return jsonify(user=state().create_user(nickname, openid=openid)), 201


@bp.get("/chat/users/<openid>")
def get_user(openid: str) -> Any:
    return jsonify(user=known_user(openid))


@bp.post("/chat/users/<openid>/follow")
def follow(openid: str) -> Any:
    body()  # an empty JSON object, like every POST here
    if known_user(openid).get("subscribed"):
        raise Refused(409, "已经关注了")
    return deliver(openid, lambda c: c.subscribe(openid))


@bp.post("/chat/users/<openid>/unfollow")
def unfollow(openid: str) -> Any:
    body()
    following(openid)
    return deliver(openid, lambda c: c.unsubscribe(openid))


@bp.post("/chat/users/<openid>/text")
def send_text(openid: str) -> Any:
    content = str(body().get("content") or "")
    if not content.strip():
        raise Refused(400, "不能发送空白消息")
    if len(content) > MAX_TEXT:
        raise Refused(400, f"消息最多 {MAX_TEXT} 个字")
    following(openid)
    return deliver(openid, lambda c: c.text(openid, content))


@bp.post("/chat/users/<openid>/image")
def send_image(openid: str) -> Any:
    """A picture (the raw file as the body, Content-Type image/...): stored as WeChat media, sent as an image message
    with its MediaId and a PicUrl. A raw image body cannot come from another site's form (it needs a preflight)."""
    if not request.mimetype.startswith("image/"):
        raise Refused(400, "请求体须为图片文件（Content-Type: image/...）")
    if (request.content_length or 0) > MEDIA_LIMITS["image"]:
        raise Refused(413, "图片不能超过 10MB")
    data = request.get_data()
    content_type = content_type_of("image", data)  # by its leading bytes: a real picture
    if not data or content_type is None:
        raise Refused(400, "只能发送 JPG、PNG、GIF 或 BMP 图片")
    following(openid)
    media_id = state().add_media("image", data, content_type)
    pic_url = own_address(settings()) + PICTURES + media_id
    return deliver(openid, lambda c: c.post(c.build(openid, "image", PicUrl=pic_url, MediaId=media_id)))


@bp.get("/chat/media/<media_id>")
def picture(media_id: str) -> Any:
    """A picture's PicUrl: the stored image while WeChat would keep it (3 days)."""
    media = state().media(media_id)
    if media is None or media.kind != "image":
        raise Refused(404, "图片不存在或已过期")
    res = Response(media.data, content_type=media.content_type)
    res.headers["X-Content-Type-Options"] = "nosniff"
    return res


@bp.post("/chat/users/<openid>/click")
def click(openid: str) -> Any:
    key = str(body().get("key") or "")
    if not any(b.get("type") == "click" and b.get("key") == key for b in menu_items()):
        raise Refused(400, f"菜单里没有 click 按钮 {key!r}")
    following(openid)
    return deliver(openid, lambda c: c.click(openid, key))


@bp.post("/chat/users/<openid>/view")
def view(openid: str) -> Any:
    url = str(body().get("url") or "")
    if not any(b.get("type") == "view" and b.get("url") == url for b in menu_items()):
        raise Refused(400, "菜单里没有这个网页按钮")
    following(openid)
    return deliver(openid, lambda c: c.event(openid, "VIEW", url))


@bp.get("/chat/users/<openid>/messages")
def messages(openid: str) -> Any:
    """The user's log after `since`, as display items; `last` is the seq to pass next time."""
    user = known_user(openid)
    since = request.args.get("since", "0")
    if not since.isdigit():
        raise Refused(400, "since 须为非负整数")
    entries = state().messages(openid, int(since))
    last = max([int(since), *(e["seq"] for e in entries)])
    return jsonify(messages=[present(e) for e in entries], last=last, user=user)
