"""Every documented WeChat message and event, posted by the simulated client as WeChat nests it, gets a
sensible answer; the parser still refuses absurd nesting."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from bot.core.errors import RequestRefused
from bot.emulator.client import SimClient, new_openid, to_xml
from bot.emulator.shapes import SHAPES, shape
from bot.inbound.wire import MAX_DEPTH, parse_xml, signature

MEDIA = ("image", "voice", "video", "shortvideo", "location", "link", "file")  # acknowledged with a text reply
REPLIES = {
    "subscribe": "欢迎关注",
    "subscribe_qrscene": "欢迎关注",
    "SCAN": "欢迎回来",
    "CLICK": "学习",
    "text": "你好",
    **{kind: "已收到您的" for kind in MEDIA},
}  # shape → part of the reply the user sees


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_documented_shape_gets_a_sensible_answer(wx: SimClient, user: str, name: str):
    ex = wx.shape(user, name)
    assert ex.status == 200 and ex.attempts == 1
    if name in REPLIES:
        assert ex.reply is not None and ex.reply["ToUserName"] == user
        assert REPLIES[name] in ex.text
    else:  # events WeChat expects no answer to: "success", never an error the user sees
        assert ex.body == "success"


def test_the_photo_menu_event_arrives_four_levels_deep(wx: SimClient):
    """pic_weixin as WeChat sends it: SendPicsInfo/PicList/item/PicMd5Sum, items repeated."""
    _, fields = shape("pic_weixin")
    xml = to_xml({"MsgType": "event", **fields})
    assert re.search(
        r"<SendPicsInfo><Count>3</Count><PicList><item><PicMd5Sum><!\[CDATA\[[0-9a-f]{32}]]>"
        r"</PicMd5Sum></item><item>",
        xml,
    )
    doc = parse_xml(xml.encode())
    assert len(doc["SendPicsInfo"]["PicList"]["item"]) == 3


def test_mass_send_report_with_copyright_check_is_kept(wx: SimClient, services):
    """MASSSENDJOBFINISH with CopyrightCheckResult/ResultList/item/…: accepted and kept for the push report."""
    ex = wx.shape("mphelper", "MASSSENDJOBFINISH", MsgID=1000009999)
    assert ex.status == 200 and ex.body == "success"
    job = services.redis.hgetall("wxjob:masssendjobfinish:1000009999")
    assert job["Status"] == "send success" and job["SentCount"] == "75" and job["ErrorCount"] == "5"


def test_template_send_report_is_kept(wx: SimClient, user: str, services):
    assert wx.shape(user, "TEMPLATESENDJOBFINISH", MsgID=200160001).body == "success"
    assert services.redis.hgetall("wxjob:templatesendjobfinish:200160001")["Status"] == "success"


def test_subscribe_from_a_qr_code_records_the_scene(wx: SimClient, emu, services):
    from bot.core.database import Follower

    openid = emu.create_user("扫码的人")["openid"]
    assert "欢迎关注" in wx.shape(openid, "subscribe_qrscene", EventKey="qrscene_gate7").text
    with services.sessions() as db:
        follower = db.get(Follower, openid)
    assert follower is not None and follower.subscribed


def deep_field(depth: int) -> str:
    """An element nested `depth` levels: <L1><L2>…x…</L2></L1>."""
    inner = "x"
    for level in range(depth, 0, -1):
        inner = f"<L{level}>{inner}</L{level}>"
    return inner


def nested(depth: int) -> bytes:
    """A message with a field nested `depth` levels below <xml>."""
    return f"<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>{deep_field(depth)}</xml>".encode()


def test_the_depth_cap_takes_wechats_deepest_and_refuses_absurd_nesting():
    assert parse_xml(nested(MAX_DEPTH))["L1"]
    with pytest.raises(RequestRefused) as info:
        parse_xml(nested(MAX_DEPTH + 1))
    assert info.value.status == 400
    with pytest.raises(RequestRefused):
        parse_xml(nested(5000))


def test_absurd_nesting_at_the_webhook_is_400_and_handles_nothing(client, wx: SimClient, services):
    """A correctly signed and encrypted message nesting 50 levels deep: refused before any handler."""
    fields = wx.build(new_openid(), "text", Content="帮助")
    inner = to_xml(fields).replace("</xml>", deep_field(50) + "</xml>")
    query, _ = wx.query_and_body(fields)
    encrypted = wx.crypto.encrypt(inner)
    query["msg_signature"] = signature(wx.token, query["timestamp"], query["nonce"], encrypted)
    res = client.post("/wechat?" + urlencode(query), data=to_xml({"ToUserName": "gh", "Encrypt": encrypted}))
    assert res.status_code == 400
    assert services.redis.dbsize() == 0


def test_the_emulators_mpnews_mass_send_reports_with_its_copyright_check(live, emu, services, wait_for):
    """The fake API's mpnews sendall posts MASSSENDJOBFINISH as WeChat does (from mphelper, with
    CopyrightCheckResult four levels deep); the webhook keeps it for the push report."""
    import requests

    emu.create_users(2)
    token = emu.issue_token()[0]
    body = {
        "filter": {"is_to_all": True},
        "msgtype": "mpnews",
        "mpnews": {"media_id": "draft1"},
        "send_ignore_reprint": 0,
    }
    res = requests.post(
        f"{live}/emulator/cgi-bin/message/mass/sendall", params={"access_token": token}, json=body, timeout=30
    ).json()
    assert res["errcode"] == 0
    job = wait_for(lambda: services.redis.hgetall(f"wxjob:masssendjobfinish:{res['msg_id']}"))
    assert job["FromUserName"] == "mphelper" and job["SentCount"] == "2"
