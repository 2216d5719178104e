"""Every documented inbound message and event shape, with WeChat's field names and nesting (the simulated
client posts them; fields a test does not give get WeChat-like example values)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

MASS_SENDER = "mphelper"  # WeChat's mass-send assistant: the FromUserName of MASSSENDJOBFINISH


def _md5() -> str:
    return secrets.token_hex(16)


def _image() -> dict[str, Any]:
    return {"PicUrl": "http://mmbiz.qpic.cn/mmbiz_jpg/emulator/0", "MediaId": "media_" + secrets.token_hex(8)}


def _voice() -> dict[str, Any]:
    return {
        "MediaId": "media_" + secrets.token_hex(8),
        "Format": "amr",
        "MediaId16K": "media_" + secrets.token_hex(8),
        "Recognition": "",
    }


def _video() -> dict[str, Any]:
    return {"MediaId": "media_" + secrets.token_hex(8), "ThumbMediaId": "thumb_" + secrets.token_hex(8)}


def pics(count: int = 1) -> dict[str, Any]:
    """SendPicsInfo of the photo menu events: Count, then PicList/item/PicMd5Sum (4 levels below <xml>)."""
    return {"Count": count, "PicList": {"item": [{"PicMd5Sum": _md5()} for _ in range(count)]}}


def copyright_check(articles: int = 1) -> dict[str, Any]:
    """CopyrightCheckResult of MASSSENDJOBFINISH for an mpnews send (ResultList/item/... 4 levels below <xml>)."""
    items = [
        {
            "ArticleIdx": i,
            "UserDeclareState": 0,
            "AuditState": 2,
            "OriginalArticleUrl": "",
            "OriginalArticleType": 1,
            "CanReprint": 1,
            "NeedReplaceContent": 1,
            "NeedShowReprintSource": 1,
        }
        for i in range(1, articles + 1)
    ]
    return {"Count": articles, "ResultList": {"item": items}, "CheckState": 2}


def article_urls(msg_id: int, articles: int = 1) -> dict[str, Any]:
    """ArticleUrlResult of MASSSENDJOBFINISH: the published article addresses."""
    items = [
        {"ArticleIdx": i, "ArticleUrl": f"https://mp.weixin.qq.com/s/emulator{msg_id}_{i}"}
        for i in range(1, articles + 1)
    ]
    return {"Count": articles, "ResultList": {"item": items}}


def mass_finish(
    msg_id: int, counts: dict[str, int], mpnews: bool = False, status: str = "send success"
) -> dict[str, Any]:
    """The fields of MASSSENDJOBFINISH after Event (with the copyright check and article list for mpnews)."""
    fields: dict[str, Any] = {"MsgID": msg_id, "Status": status, **counts}
    if mpnews:
        fields.update(CopyrightCheckResult=copyright_check(), ArticleUrlResult=article_urls(msg_id))
    return fields


def _popup(name: str, **entry: Any) -> dict[str, Any]:
    return {name: {"List": [{"TemplateId": "tpl_" + secrets.token_hex(6), **entry}]}}


# name → (MsgType, Event or "", extra fields in WeChat's order); events carry EventKey where WeChat sends one.
SHAPES: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    "text": ("text", "", lambda: {"Content": "你好"}),
    "image": ("image", "", _image),
    "voice": ("voice", "", _voice),
    "video": ("video", "", _video),
    "shortvideo": ("shortvideo", "", _video),
    "location": (
        "location",
        "",
        lambda: {
            "Location_X": "39.908860",
            "Location_Y": "116.397390",
            "Scale": "16",
            "Label": "北京市东城区天安门广场",
        },
    ),
    "link": (
        "link",
        "",
        lambda: {"Title": "一篇文章", "Description": "文章摘要", "Url": "https://mp.weixin.qq.com/s/emulator"},
    ),
    "file": (
        "file",
        "",
        lambda: {
            "Title": "材料.pdf",
            "Description": "",
            "FileKey": secrets.token_hex(8),
            "FileMd5": _md5(),
            "FileTotalLen": "20480",
        },
    ),
    "subscribe": ("event", "subscribe", lambda: {"EventKey": ""}),
    "subscribe_qrscene": (
        "event",
        "subscribe",
        lambda: {"EventKey": "qrscene_park1", "Ticket": "gQH47joAAAAAAAAAASxodHRw"},
    ),
    "unsubscribe": ("event", "unsubscribe", lambda: {"EventKey": ""}),
    "SCAN": ("event", "SCAN", lambda: {"EventKey": "park1", "Ticket": "gQH47joAAAAAAAAAASxodHRw"}),
    "LOCATION": (
        "event",
        "LOCATION",
        lambda: {"Latitude": "39.908860", "Longitude": "116.397390", "Precision": "65.000000"},
    ),
    "CLICK": ("event", "CLICK", lambda: {"EventKey": "HELP"}),
    "VIEW": ("event", "VIEW", lambda: {"EventKey": "https://mp.weixin.qq.com/", "MenuId": "208379533"}),
    "view_miniprogram": ("event", "view_miniprogram", lambda: {"EventKey": "pages/index/index", "MenuId": "208379533"}),
    "scancode_push": (
        "event",
        "scancode_push",
        lambda: {
            "EventKey": "SCAN_PUSH",
            "ScanCodeInfo": {"ScanType": "qrcode", "ScanResult": "https://example.com/1"},
        },
    ),
    "scancode_waitmsg": (
        "event",
        "scancode_waitmsg",
        lambda: {
            "EventKey": "SCAN_WAIT",
            "ScanCodeInfo": {"ScanType": "barcode", "ScanResult": "EAN_13,6901234567892"},
        },
    ),
    "pic_sysphoto": ("event", "pic_sysphoto", lambda: {"EventKey": "PIC_CAMERA", "SendPicsInfo": pics(1)}),
    "pic_photo_or_album": ("event", "pic_photo_or_album", lambda: {"EventKey": "PIC_ANY", "SendPicsInfo": pics(2)}),
    "pic_weixin": ("event", "pic_weixin", lambda: {"EventKey": "PIC_ALBUM", "SendPicsInfo": pics(3)}),
    "location_select": (
        "event",
        "location_select",
        lambda: {
            "EventKey": "PLACE",
            "SendLocationInfo": {
                "Location_X": "39.908860",
                "Location_Y": "116.397390",
                "Scale": "15",
                "Label": "北京市东城区",
                "Poiname": "",
            },
        },
    ),
    "TEMPLATESENDJOBFINISH": ("event", "TEMPLATESENDJOBFINISH", lambda: {"MsgID": 200163836, "Status": "success"}),
    "MASSSENDJOBFINISH": (
        "event",
        "MASSSENDJOBFINISH",
        lambda: mass_finish(
            1000001625, {"TotalCount": 100, "FilterCount": 80, "SentCount": 75, "ErrorCount": 5}, mpnews=True
        ),
    ),
    "subscribe_msg_popup_event": (
        "event",
        "subscribe_msg_popup_event",
        lambda: _popup("SubscribeMsgPopupEvent", SubscribeStatusString="accept", PopupScene="2"),
    ),
    "subscribe_msg_change_event": (
        "event",
        "subscribe_msg_change_event",
        lambda: _popup("SubscribeMsgChangeEvent", SubscribeStatusString="reject"),
    ),
    "subscribe_msg_sent_event": (
        "event",
        "subscribe_msg_sent_event",
        lambda: _popup("SubscribeMsgSentEvent", MsgID="1700827132819554304", ErrorCode="0", ErrorStatus="success"),
    ),
}


def shape(name: str, **override: Any) -> tuple[str, dict[str, Any]]:
    """(MsgType, fields after MsgType) of one documented shape; `override` replaces or adds fields."""
    msg_type, event, extra = SHAPES[name]
    fields: dict[str, Any] = {"Event": event} if event else {}
    fields.update(extra())
    fields.update(override)
    return msg_type, fields
