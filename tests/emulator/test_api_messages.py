"""Customer-service messages (43004, the 48-hour and 1-minute windows) and template messages."""

from __future__ import annotations

import time

import pytest

from bot.emulator.client import new_openid


def texts(emu, openid: str, kind: str = "custom") -> list[str]:
    return [e["body"]["text"]["content"] for e in emu.received(openid, kind)]


def test_unsubscribed_user_43004_marks_the_follower_unsubscribed(live, services, emu, user):
    services.followers.subscribe(user)
    emu.set_subscribed(user, False)
    result = services.outbox.send_text(user, "还在吗")
    assert (result.ok, result.kind, result.errcode) == (False, "unsubscribed", 43004)
    assert services.followers.get(user).subscribed is False
    assert emu.received(user) == []


def test_unknown_user_43004(live, services):
    assert services.outbox.send_text(new_openid(), "你是谁").errcode == 43004


def test_outside_any_window_45015(live, services, emu, user):
    result = services.outbox.send_text(user, "没有窗口")
    assert (result.kind, result.errcode) == ("window", 45015)
    emu.open_window(user, "message", at=time.time() - 48 * 3600 - 1)  # a message 48 h and 1 s ago
    assert services.outbox.send_text(user, "窗口已关").errcode == 45015


def test_a_user_message_allows_five_messages_then_45047(live, services, emu, wxo, user):
    assert wxo.text(user, "你好").ok
    results = [services.outbox.send_text(user, f"第{i}条") for i in range(1, 7)]
    assert [r.ok for r in results] == [True] * 5 + [False]
    assert (results[-1].kind, results[-1].errcode) == ("window", 45047)
    assert texts(emu, user) == [f"第{i}条" for i in range(1, 6)]
    wxo.text(user, "再来")  # a new message restarts the window and its budget
    assert services.outbox.send_text(user, "第6条").ok


def test_a_click_allows_three_within_a_minute(live, services, emu, wxo, user):
    assert wxo.click(user, "HELP").ok
    results = [services.outbox.send_text(user, str(i)) for i in range(4)]
    assert [r.errcode for r in results] == [None, None, None, 45047]
    emu.open_window(user, "event", at=time.time() - 61)  # the click was more than a minute ago
    assert services.outbox.send_text(user, "晚了").errcode == 45015


def test_subscribe_event_opens_the_short_window(live, services, emu, wxo):
    openid = new_openid()
    wxo.subscribe(openid)
    assert emu.user(openid)["subscribed"] is True
    assert [services.outbox.send_text(openid, "欢迎").ok for _ in range(4)] == [True, True, True, False]


def test_plain_client_without_observer_opens_no_window(live, services, wx, user):
    assert wx.text(user, "你好").ok  # the emulator never heard of it
    assert services.outbox.send_text(user, "发不出").errcode == 45015


def test_click_and_message_budgets_add_up(live, services, emu, user):
    emu.open_window(user, "message")
    emu.open_window(user, "event")
    assert sum(services.outbox.send_text(user, "x").ok for _ in range(9)) == 8


def test_custom_send_validates_the_body(live, emu, wxapi, user):
    emu.open_window(user)
    assert wxapi.post("message/custom/send", {"touser": user, "msgtype": "sticker", "sticker": {}})["errcode"] == 40008
    assert wxapi.post("message/custom/send", {"touser": user, "msgtype": "text", "text": {}})["errcode"] == 44004
    assert wxapi.post("message/custom/send", {"msgtype": "text", "text": {"content": "x"}})["errcode"] == 40003
    assert wxapi.post("message/custom/send", None)["errcode"] == 44002
    news = {"touser": user, "msgtype": "news", "news": {"articles": [{"title": "标题", "url": "https://example.com"}]}}
    assert wxapi.post("message/custom/send", news) == {"errcode": 0, "errmsg": "ok"}
    assert emu.received(user, "custom")[0]["body"]["news"]["articles"][0]["title"] == "标题"


def test_template_send_records_and_reports_the_job(live, services, emu, user, wait_for):
    data = {"thing1": {"value": "党课"}, "time2": {"value": "2024-07-01 09:00"}}
    result = services.outbox.send_template(user, "TPL_MEETING", data, url="https://example.com/m")
    assert result.ok
    msgid = result.response["msgid"]
    [entry] = emu.received(user, "template")
    assert entry["body"]["template_id"] == "TPL_MEETING" and entry["body"]["data"] == data
    job = wait_for(lambda: services.redis.hgetall(f"wxjob:templatesendjobfinish:{msgid}"))
    assert job["Status"] == "success" and job["FromUserName"] == user


def test_template_refused_43101_and_unsubscribed_43004(live, services, emu, user):
    emu.refuse_templates(user, "TPL_B")
    assert services.outbox.send_template(user, "TPL_A", {}).ok  # only TPL_B is refused
    refused = services.outbox.send_template(user, "TPL_B", {})
    assert (refused.kind, refused.errcode) == ("refused", 43101)
    emu.refuse_templates(user)
    assert services.outbox.send_template(user, "TPL_A", {}).errcode == 43101
    emu.refuse_templates(user, refuse=False)
    assert services.outbox.send_template(user, "TPL_A", {}).ok
    emu.set_subscribed(user, False)
    assert services.outbox.send_template(user, "TPL_A", {}).errcode == 43004
    assert len(emu.received(user, "template")) == 2


@pytest.mark.config(emulator={"account_type": "subscription"})
def test_templates_need_a_service_account(live, services, user):
    result = services.outbox.send_template(user, "TPL_A", {})
    assert (result.kind, result.errcode) == ("unauthorised", 48001)
