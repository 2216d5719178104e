"""The chat page's JSON endpoints under /emulator/chat/ (tests/emulator): users, follow, text, pictures, menu, poll."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.emulator import chat
from bot.emulator.client import SimClient
from bot.emulator.state import EmulatorState
from handlers.tickets.models import TicketMedia
from tests.factories import PNG
from tests.helpers import poll

VIEW_MENU = {
    "button": [
        {"type": "click", "name": "帮助", "key": "HELP"},
        {"type": "view", "name": "官网", "url": "https://example.com/home"},
    ]
}


class Chat:
    """A small client of the chat endpoints on the live server."""

    def __init__(self, base: str) -> None:
        self.base = base + "/emulator/chat"

    def post(self, path: str, data: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        res = requests.post(self.base + path, json=data or {}, timeout=30)
        assert res.status_code == status, res.text
        return res.json()

    def get(self, path: str, status: int = 200) -> dict[str, Any]:
        res = requests.get(self.base + path, timeout=10)
        assert res.status_code == status, res.text
        return res.json()

    def new_user(self, nickname: str = "", follow: bool = True) -> str:
        openid = self.post("/users", {"nickname": nickname}, status=201)["user"]["openid"]
        if follow:
            self.post(f"/users/{openid}/follow")
        return openid

    def items(self, openid: str, since: int = 0) -> list[dict[str, Any]]:
        return self.get(f"/users/{openid}/messages?since={since}")["messages"]


@pytest.fixture
def api(live: str) -> Chat:
    return Chat(live)


def test_page_and_static_files_are_served(client):
    page = client.get("/emulator")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/emulator/chat/static/chat.js" in html and "/emulator/chat/static/chat.css" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # nothing external
    for name in ("chat.js", "chat.css"):
        res = client.get(f"/emulator/chat/static/{name}")
        assert res.status_code == 200
        assert b"https://" not in res.data and b"@import" not in res.data and b"url(" not in res.data
        res.close()


def test_config_gives_the_menu(client, services):
    data = client.get("/emulator/chat/config").get_json()
    assert data["menu"] == services.settings.section("menu")
    assert data["account"]


def test_create_and_list_users(client):
    first = client.post("/emulator/chat/users", json={"nickname": " 小王 "})
    assert first.status_code == 201
    assert first.get_json()["user"]["nickname"] == "小王"
    assert first.get_json()["user"]["subscribed"] is False
    second = client.post("/emulator/chat/users", json={}).get_json()["user"]
    assert second["nickname"].startswith("用户")
    users = client.get("/emulator/chat/users").get_json()["users"]
    assert {u["openid"] for u in users} == {first.get_json()["user"]["openid"], second["openid"]}
    assert client.get(f"/emulator/chat/users/{second['openid']}").get_json()["user"] == second
    chosen = client.post("/emulator/chat/users", json={"openid": "oChosen_1"})
    assert chosen.status_code == 201 and chosen.get_json()["user"]["openid"] == "oChosen_1"
    assert client.post("/emulator/chat/users", json={"openid": "oChosen_1"}).status_code == 409
    assert client.post("/emulator/chat/users", json={"openid": "bad id"}).status_code == 400


def test_bad_requests_are_refused_in_chinese(client, user):
    assert client.post("/emulator/chat/users", data="nickname=x").status_code == 400  # a form, not JSON
    assert client.post("/emulator/chat/users", json={"nickname": "长" * 40}).status_code == 400
    assert client.get("/emulator/chat/users/nobody/messages").status_code == 404
    assert client.get("/emulator/chat/users/bad%20id").status_code == 400
    res = client.get(f"/emulator/chat/users/{user}/messages?since=-1")
    assert res.status_code == 400 and "since" in res.get_json()["error"]
    assert client.post(f"/emulator/chat/users/{user}/text", json={"content": "   "}).status_code == 400
    assert client.post(f"/emulator/chat/users/{user}/text", json={"content": "字" * 2001}).status_code == 400
    assert client.post(f"/emulator/chat/users/{user}/click", json={"key": "NO_SUCH_KEY"}).status_code == 400
    assert client.post(f"/emulator/chat/users/{user}/follow", json={}).status_code == 409  # already following


def test_follow_text_and_click_go_through_the_webhook(api: Chat):
    openid = api.new_user("小李", follow=False)
    assert api.post(f"/users/{openid}/text", {"content": "你好"}, status=409)["error"] == "请先关注公众号"
    followed = api.post(f"/users/{openid}/follow")
    assert followed["ok"] and followed["user"]["subscribed"]
    assert "欢迎关注" in followed["reply"]["Content"]
    helped = api.post(f"/users/{openid}/text", {"content": "帮助"})
    assert helped["ok"] and "常用指令" in helped["reply"]["Content"]
    clicked = api.post(f"/users/{openid}/click", {"key": "HELP"})
    assert clicked["ok"] and clicked["reply"]["Content"] == helped["reply"]["Content"]
    items = api.items(openid)
    shown = [(i["side"], i["format"], i.get("text", "")[:6]) for i in items]
    assert shown == [
        ("system", "note", "你关注了公众"),
        ("account", "text", "欢迎关注！这"),
        ("user", "text", "帮助"),
        ("account", "text", "您好！这里是"),
        ("system", "note", "点击菜单「帮"),
        ("account", "text", "您好！这里是"),
    ]
    assert [i["seq"] for i in items] == sorted(i["seq"] for i in items)


def test_a_picture_is_stored_as_wechat_media_and_sent_as_an_image_message(
    api: Chat, live: str, emu: EmulatorState, services: Any
):
    openid = api.new_user("小图")
    assert "第1步" in api.post(f"/users/{openid}/text", {"content": "我要反映"})["reply"]["Content"]
    api.post(f"/users/{openid}/text", {"content": "3"})
    res = requests.post(f"{api.base}/users/{openid}/image", data=PNG, headers={"Content-Type": "image/png"}, timeout=30)
    assert res.status_code == 200 and "已收到图片" in res.json()["reply"]["Content"]
    [sent] = emu.messages(openid, kind="image")
    media_id, pic_url = sent["body"]["MediaId"], sent["body"]["PicUrl"]
    assert emu.media(media_id).data == PNG and pic_url == f"{live}/emulator/chat/media/{media_id}"
    assert requests.get(pic_url, timeout=10).content == PNG  # the PicUrl shows the picture, as WeChat's CDN would
    item = [i for i in api.items(openid) if i["kind"] == "image"][0]
    assert (item["side"], item["format"], item["src"]) == ("user", "image", f"/emulator/chat/media/{media_id}")
    for answer in ("公司拖欠工资", "某某电子厂", "跳过", "否", "确认"):
        api.post(f"/users/{openid}/text", {"content": answer})
    with services.sessions() as db:  # the bot copied it from the fake media/get
        poll(lambda: db.scalar(select(TicketMedia.fetched_at).where(TicketMedia.media_id == media_id)))


def test_bad_pictures_are_refused(client, user, emu: EmulatorState):
    url = f"/emulator/chat/users/{user}/image"
    assert client.post(url, json={"content": "x"}).status_code == 400  # not an image body
    assert client.post(url, data=b"plain text", content_type="image/png").status_code == 400  # not really an image
    assert client.post(url, data=b"x" * (10 * 1024 * 1024 + 1), content_type="image/png").status_code == 413
    assert client.post("/emulator/chat/users/nobody/image", data=PNG, content_type="image/png").status_code == 404
    assert client.get("/emulator/chat/media/unknown").status_code == 404
    voice = emu.add_media("voice", b"#!AMR\n", "audio/amr")
    assert client.get(f"/emulator/chat/media/{voice}").status_code == 404  # only pictures have a PicUrl


def test_poll_returns_only_newer_entries(api: Chat):
    openid = api.new_user()
    first = api.get(f"/users/{openid}/messages?since=0")
    assert first["user"]["openid"] == openid and first["last"] == first["messages"][-1]["seq"]
    assert api.get(f"/users/{openid}/messages?since={first['last']}")["messages"] == []
    api.post(f"/users/{openid}/text", {"content": "帮助"})
    newer = api.items(openid, first["last"])
    assert [i["side"] for i in newer] == ["user", "account"]


def test_custom_message_from_the_app_appears(api: Chat, services):
    openid = api.new_user()
    api.post(f"/users/{openid}/text", {"content": "在吗"})  # opens the 48 h window
    result = services.outbox.send_text(openid, "客服：<b>稍等</b>")
    assert result.ok, result
    last = api.items(openid)[-1]
    assert (last["side"], last["kind"], last["label"], last["text"]) == (
        "account",
        "custom",
        "客服消息",
        "客服：<b>稍等</b>",
    )


def test_unfollow_then_custom_send_is_refused(api: Chat, services):
    openid = api.new_user()
    gone = api.post(f"/users/{openid}/unfollow")
    assert gone["ok"] and not gone["user"]["subscribed"]
    assert api.items(openid)[-1]["text"] == "你已不再关注公众号"
    assert services.outbox.send_text(openid, "还在吗").kind == "unsubscribed"
    api.post(f"/users/{openid}/unfollow", status=409)


def test_failed_webhook_shows_wechats_error_line(api: Chat, monkeypatch, services):
    openid = api.new_user()
    s = services.settings

    def dead_client() -> SimClient:  # nothing listens on port 9: every attempt fails to connect
        return SimClient(
            "http://127.0.0.1:9/wechat", s.token, s.aes_key, s.appid, observer=EmulatorState(services.redis)
        )

    monkeypatch.setattr(chat, "sim_client", dead_client)
    res = api.post(f"/users/{openid}/text", {"content": "有人吗"})
    assert res["ok"] is False and res["status"] == 0 and res["attempts"] == 3
    assert res["error"] == "该公众号暂时无法提供服务，请稍后再试"
    last = api.items(openid)[-2:]
    assert [i["side"] for i in last] == ["user", "system"]
    assert last[1]["format"] == "error" and last[1]["text"] == chat.UNAVAILABLE and "3 次" in last[1]["detail"]
    assert EmulatorState(services.redis).received(openid) == []  # the error line is not something the account sent


@pytest.mark.config(menu=VIEW_MENU)
def test_view_button_records_the_visit(api: Chat):
    openid = api.new_user()
    res = api.post(f"/users/{openid}/view", {"url": "https://example.com/home"})
    assert res["ok"] and res["reply"] is None
    assert api.items(openid)[-1]["text"] == "打开网页 https://example.com/home"
    api.post(f"/users/{openid}/view", {"url": "https://evil.example/"}, status=400)
    api.post(f"/users/{openid}/click", {"key": "HELP"})


def test_present_formats_every_kind(app):
    news = {
        "MsgType": "news",
        "ArticleCount": "1",
        "Articles": {"item": {"Title": "标题", "Description": "描述", "Url": "https://x.test/a", "PicUrl": ""}},
    }
    template = {
        "touser": "o1",
        "template_id": "TPL1",
        "url": "https://x.test/t",
        "data": {"first": {"value": "您好"}, "keyword1": {"value": "已受理"}, "remark": {"value": "谢谢"}},
    }
    mass = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "通知"}}
    custom_news = {"touser": "o1", "msgtype": "news", "news": {"articles": [{"title": "T", "url": "https://x.test"}]}}
    with app.test_request_context():
        p = chat.present({"seq": 1, "time": 0, "dir": "out", "kind": "passive", "body": news})
        assert (
            p["format"] == "news"
            and p["articles"][0]["title"] == "标题"
            and p["articles"][0]["url"] == "https://x.test/a"
        )
        t = chat.present({"seq": 2, "time": 0, "dir": "out", "kind": "template", "body": template})
        assert t["label"] == "模板消息" and t["template"]["first"] == "您好" and t["template"]["remark"] == "谢谢"
        assert t["template"]["fields"] == [{"name": "keyword1", "value": "已受理"}]
        m = chat.present({"seq": 3, "time": 0, "dir": "out", "kind": "mass", "body": mass})
        assert (m["label"], m["text"]) == ("群发消息", "通知")
        c = chat.present({"seq": 4, "time": 0, "dir": "out", "kind": "custom", "body": custom_news})
        assert c["articles"][0]["title"] == "T"
        img = chat.present({"seq": 5, "time": 0, "dir": "in", "kind": "image", "body": {"MsgType": "image"}})
        assert (img["side"], img["text"]) == ("user", "[图片]")
        elsewhere = {"MsgType": "image", "MediaId": "m1", "PicUrl": "http://example.invalid/p.jpg"}
        img = chat.present({"seq": 6, "time": 0, "dir": "in", "kind": "image", "body": elsewhere})
        assert (img["format"], img["text"]) == ("text", "[图片]")  # only this page's own pictures are shown
