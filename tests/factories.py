"""Message factories: WeChat XML fields for every message type and event, and signed request builders."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlencode

from bot.emulator.client import SimClient

ACCOUNT = "gh_test00000001"  # ToUserName in test messages
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)  # 1x1
AMR = b"#!AMR\n" + bytes([0x3C]) + bytes(31)  # an AMR file header and one (silent) frame
# Hostile bodies the XML parser must refuse: an entity expansion ("billion laughs") and an external entity.
BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<xml><Content>&lol2;</Content></xml>"""
XXE = (
    b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>"""
)
_ids = iter(range(7_000_000_000_000_000_000, 8_000_000_000_000_000_000))


def fields(openid: str, msg_type: str, **extra: Any) -> dict[str, Any]:
    """Fields of one message; non-events get a fresh MsgId."""
    base: dict[str, Any] = {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": msg_type,
    }
    if msg_type != "event":
        base["MsgId"] = next(_ids)
    base.update(extra)
    return base


def text(openid: str, content: str) -> dict[str, Any]:
    return fields(openid, "text", Content=content)


def event(openid: str, name: str, key: str = "", **extra: Any) -> dict[str, Any]:
    return fields(openid, "event", Event=name, EventKey=key, **extra)


# Every message type and event the reference lists, with WeChat's field names.
ALL_KINDS: dict[str, dict[str, Any]] = {
    "text": {"MsgType": "text", "Content": "你好"},
    "image": {"MsgType": "image", "PicUrl": "http://example.invalid/p.jpg", "MediaId": "media1"},
    "voice": {"MsgType": "voice", "MediaId": "media2", "Format": "amr", "Recognition": "你好"},
    "video": {"MsgType": "video", "MediaId": "media3", "ThumbMediaId": "thumb3"},
    "shortvideo": {"MsgType": "shortvideo", "MediaId": "media4", "ThumbMediaId": "thumb4"},
    "location": {"MsgType": "location", "Location_X": "39.9", "Location_Y": "116.4", "Scale": "15", "Label": "北京"},
    "link": {"MsgType": "link", "Title": "标题", "Description": "描述", "Url": "http://example.invalid/"},
    "file": {
        "MsgType": "file",
        "Title": "a.pdf",
        "Description": "",
        "FileKey": "k",
        "FileMd5": "m",
        "FileTotalLen": "10",
    },
    "subscribe": {"MsgType": "event", "Event": "subscribe", "EventKey": ""},
    "subscribe_qr": {"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_park1", "Ticket": "t"},
    "unsubscribe": {"MsgType": "event", "Event": "unsubscribe", "EventKey": ""},
    "scan": {"MsgType": "event", "Event": "SCAN", "EventKey": "park1", "Ticket": "t"},
    "click": {"MsgType": "event", "Event": "CLICK", "EventKey": "HELP"},
    "view": {"MsgType": "event", "Event": "VIEW", "EventKey": "http://example.invalid/"},
    "location_event": {
        "MsgType": "event",
        "Event": "LOCATION",
        "Latitude": "39.9",
        "Longitude": "116.4",
        "Precision": "30",
    },
    "template_finish": {
        "MsgType": "event",
        "Event": "TEMPLATESENDJOBFINISH",
        "MsgID": "200163836",
        "Status": "success",
    },
    "mass_finish": {
        "MsgType": "event",
        "Event": "MASSSENDJOBFINISH",
        "MsgID": "1000001625",
        "Status": "send success",
        "TotalCount": "100",
        "FilterCount": "80",
        "SentCount": "75",
        "ErrorCount": "5",
    },
    "subscribe_popup": {
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "SubscribeMsgPopupEvent": {"List": {"TemplateId": "tpl", "SubscribeStatusString": "accept", "PopupScene": "2"}},
    },
    "subscribe_change": {
        "MsgType": "event",
        "Event": "subscribe_msg_change_event",
        "SubscribeMsgChangeEvent": {"List": {"TemplateId": "tpl", "SubscribeStatusString": "reject"}},
    },
    "subscribe_sent": {
        "MsgType": "event",
        "Event": "subscribe_msg_sent_event",
        "SubscribeMsgSentEvent": {
            "List": {"TemplateId": "tpl", "MsgID": "1", "ErrorCode": "0", "ErrorStatus": "success"}
        },
    },
}


def of_kind(openid: str, kind: str) -> dict[str, Any]:
    extra = dict(ALL_KINDS[kind])
    return fields(openid, extra.pop("MsgType"), **extra)


def signed(
    sim: SimClient, body_fields: dict[str, Any] | None = None, raw_body: str | None = None, timestamp: str | None = None
) -> tuple[str, bytes]:
    """Query string and body for the Flask test client, signed as `sim` would sign them."""
    query, body = sim.query_and_body(body_fields or {}, timestamp)
    if raw_body is not None:
        body = raw_body
    return urlencode(query), body.encode()
