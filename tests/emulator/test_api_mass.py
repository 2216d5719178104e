"""Mass sends: sendall / send / preview / get / delete, clientmsgid, quotas, MASSSENDJOBFINISH at the webhook."""

from __future__ import annotations

import time

import pytest

from bot.core.errors import WeChatAPIError
from bot.emulator.shapes import MASS_SENDER


def masses(emu, openid: str) -> list[str]:
    return [e["body"]["text"]["content"] for e in emu.received(openid, "mass")]


@pytest.fixture
def followers(emu) -> list[str]:
    """Three followers and one former follower."""
    openids = emu.create_users(3)
    emu.create_user("走了", subscribed=False)
    return openids


def test_sendall_reaches_every_follower_and_reports_the_job(live, services, emu, followers, wait_for):
    result = services.outbox.send_mass_text("七一活动通知", client_msg_id="july-1")
    assert result.ok
    msg_id = result.response["msg_id"]
    assert all(masses(emu, o) == ["七一活动通知"] for o in followers)
    assert [u for u in emu.users() if not u["subscribed"] and emu.received(u["openid"])] == []
    job = wait_for(lambda: services.redis.hgetall(f"wxjob:masssendjobfinish:{msg_id}"))
    assert job["Status"] == "send success" and job["FromUserName"] == MASS_SENDER  # WeChat's mass-send assistant
    assert (job["TotalCount"], job["FilterCount"], job["SentCount"], job["ErrorCount"]) == ("3", "3", "3", "0")
    assert services.wx.message.get_mass(msg_id)["msg_status"] == "SEND_SUCCESS"


def test_repeated_clientmsgid_45065_with_the_first_msg_id(live, services, emu, followers, wxapi):
    first = services.outbox.send_mass_text("只发一次", client_msg_id="once")
    again = services.outbox.send_mass_text("只发一次", client_msg_id="once")
    assert (again.ok, again.kind, again.errcode) == (True, "duplicate", 45065)
    body = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "只发一次"}, "clientmsgid": "once"}
    raw = wxapi.post("message/mass/sendall", body)
    assert raw["errcode"] == 45065 and raw["msg_id"] == first.response["msg_id"]
    assert masses(emu, followers[0]) == ["只发一次"]
    assert wxapi.post("message/mass/sendall", {**body, "clientmsgid": "x" * 65})["errcode"] == 45067


def test_sendall_by_tag(live, services, emu, followers):
    tag = services.wx.tag.create("支部一")
    services.wx.tag.tag_user(tag["id"], followers[:2])
    assert services.outbox.send_mass_text("支部会议", tag_id=tag["id"]).ok
    assert [masses(emu, o) for o in followers] == [["支部会议"], ["支部会议"], []]
    assert services.outbox.send_mass_text("?", tag_id=999).errcode == 45159


def test_service_account_each_user_gets_four_a_month(live, services, emu, followers):
    extra = emu.create_users(1)
    for i in range(4):
        assert services.outbox.send_mass_text(f"第{i}次").ok
    emu.create_users(1)  # a newcomer has not had any yet
    fifth = services.outbox.send_mass_text("第5次")
    assert fifth.ok
    assert len(masses(emu, followers[0])) == 4 and len(masses(emu, extra[0])) == 4
    # what MASSSENDJOBFINISH reports (job events of one second share the webhook's dedupe key: read the job here)
    job = emu.mass_job(fifth.response["msg_id"])
    assert (job["TotalCount"], job["FilterCount"], job["SentCount"]) == ("5", "1", "1")


@pytest.mark.config(emulator={"account_type": "subscription"})
def test_subscription_account_one_mass_send_a_day(live, services, emu, followers):
    assert services.outbox.send_mass_text("今天的", client_msg_id="day-1").ok
    second = services.outbox.send_mass_text("再发一条", client_msg_id="day-2")
    assert (second.ok, second.errcode) == (False, 45028)
    assert masses(emu, followers[0]) == ["今天的"]
    assert emu.claim_client_msgid("day-2", 1) is None  # a refused send does not burn its clientmsgid
    with pytest.raises(WeChatAPIError) as exc:
        services.wx.message.send_mass_text("按名单", tag_or_users=followers[:2])
    assert exc.value.errcode == 48001  # message/mass/send is for service accounts


def test_send_to_an_openid_list(live, services, emu, followers):
    res = services.wx.message.send_mass_text("名单通知", tag_or_users=followers[:2])
    assert res["errcode"] == 0 and res["msg_id"]
    assert [masses(emu, o) for o in followers] == [["名单通知"], ["名单通知"], []]
    with pytest.raises(WeChatAPIError) as exc:
        services.wx.message.send_mass_text("一个人", tag_or_users=followers[:1])
    assert exc.value.errcode == 40130


def test_preview_goes_to_one_user(live, services, emu, followers):
    res = services.wx.message.send_mass_text("预览内容", tag_or_users=followers[0], preview=True)
    assert res["errcode"] == 0
    assert [e["body"]["text"]["content"] for e in emu.received(followers[0], "preview")] == ["预览内容"]
    assert emu.received(followers[1]) == []


def test_get_and_delete(live, services, wxapi, followers):
    msg_id = services.outbox.send_mass_text("将被删除").response["msg_id"]
    services.wx.message.delete_mass(msg_id)
    assert services.wx.message.get_mass(msg_id)["msg_status"] == "DELETE"
    assert wxapi.post("message/mass/get", {"msg_id": 12345})["errcode"] == 40035


def test_mass_api_60_calls_a_minute(live, wxapi, followers):
    into_minute = time.time() % 60  # the quota counts per clock minute, as WeChat's does: start early in one
    if into_minute > 40:
        time.sleep(60.2 - into_minute)
    answers = [
        wxapi.post("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "bad"})["errcode"]
        for _ in range(61)
    ]
    assert answers == [40008] * 60 + [45011]
