"""Meeting notices by the channel that reaches each attendee (custom in the 48 h window, template when configured,
waiting for the next message otherwise, unreached without a binding); 确认参加 and 请假 with its reason."""

from __future__ import annotations

import pytest

from bot.outbound import pending
from handlers.orglife import notices
from handlers.orglife.models import CONFIRMED, LEAVE
from tests.console.console_helpers import csrf_token, login
from tests.handlers.orglife.meet_helpers import bind, branch, plan, rows, secretary


def plan_in_console(client, services, org_id: int, kind: str = "zhiwei_hui") -> int:
    data = {
        "csrf_token": csrf_token(client, "/console/meetings/new"),
        "organisation": org_id,
        "kind": kind,
        "topic": "测试通知会议",
        "starts_at": "2026-12-20T14:30",
        "place": "测试会议室",
    }
    answer = client.post("/console/meetings/new", data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_each_channel_is_recorded(wxo, client, services, emu, wait_for):
    ids = branch(services)
    near, far = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    bind(services, near, ids["shuji"])
    bind(services, far, ids["zuzhi"])
    wxo.text(near, "你好")  # 书记's window is open; 组织委员 has not written for 48 h
    secretary(services, "boss", "T111")
    login(client, "boss")
    meeting_id = plan_in_console(client, services, ids["orgs"]["a1"], "zhuti_dangri")
    wait_for(lambda: all(r.notice for r in rows(services, meeting_id).values()))
    got = {k: rows(services, meeting_id)[ids[k]].notice for k in ("shuji", "zuzhi", "putong")}
    assert got == {"shuji": "custom", "zuzhi": "waiting", "putong": "unreached"}
    told = emu.received(near, "custom")[0]["body"]["text"]["content"]
    assert "测试通知会议" in told and "12月20日 14:30" in told and "请假 原因" in told
    assert not emu.received(far, "custom")
    wxo.text(far, "在吗")  # the window opens: the notice that waited goes out
    wait_for(lambda: emu.received(far, "custom"))
    assert emu.received(far, "custom")[0]["body"]["text"]["content"].startswith(pending.RESENT)
    wait_for(lambda: rows(services, meeting_id)[ids["zuzhi"]].notice == notices.LATER)
    page = client.get(f"/console/meetings/{meeting_id}").get_data(as_text=True)
    assert "客服消息" in page and "已送达（下次互动时）" in page and "未送达" in page
    assert "待下次互动送达" not in page  # delivered at the next message: no longer waiting
    wxo.text(far, "再问一下")  # once only: a later message sends nothing again
    assert len(emu.received(far, "custom")) == 1


@pytest.mark.config(orglife={"notice_template": "TPL-MEETING"})
def test_a_configured_template_reaches_those_outside_the_window(live, services, emu):
    ids = branch(services)
    far = emu.create_user(subscribed=True)["openid"]
    bind(services, far, ids["zuzhi"])
    meeting_id = plan(services, ids["orgs"]["a1"], "zhiwei_hui")
    notices.send_all(services, meeting_id, "支部委员会", "12月20日 14:30")
    assert rows(services, meeting_id)[ids["zuzhi"]].notice == "template"
    [sent] = emu.received(far, "template")
    assert sent["body"]["template_id"] == "TPL-MEETING"
    assert sent["body"]["data"]["keyword1"]["value"] == "测试学习主题"


def test_confirm_and_leave_with_a_reason(wxo, services, emu):
    ids = branch(services)
    member = emu.create_user(subscribed=True)["openid"]
    assert "还没有完成党员认证" in wxo.text(member, "确认参加").text
    bind(services, member, ids["putong"])
    assert "没有待参加的会议" in wxo.text(member, "确认参加").text
    first = plan(services, ids["orgs"]["a1"], hours=24)
    assert "已确认参加" in wxo.text(member, "确认参加").text
    assert rows(services, first)[ids["putong"]].reply == CONFIRMED
    assert "写明原因" in wxo.text(member, "请假").text
    assert "原因：出差在外" in wxo.text(member, "请假 出差在外").text
    row = rows(services, first)[ids["putong"]]
    assert (row.reply, row.leave_reason) == (LEAVE, "出差在外")
    second = plan(services, ids["orgs"]["a1"], hours=72)
    asked = wxo.text(member, "请假：家中有事").text
    assert "请回复序号" in asked and "1. " in asked and "2. " in asked
    assert "已请假" in wxo.text(member, "2").text
    assert rows(services, second)[ids["putong"]].leave_reason == "家中有事"
    assert rows(services, first)[ids["putong"]].leave_reason == "出差在外"


def test_other_texts_about_leave_are_not_taken(wxo, services, emu):
    ids = branch(services)
    member = emu.create_user(subscribed=True)["openid"]
    bind(services, member, ids["putong"])
    meeting_id = plan(services, ids["orgs"]["a1"])
    assert "已请假" not in wxo.text(member, "请假条怎么写").text
    assert rows(services, meeting_id)[ids["putong"]].reply is None
    assert "已请假" in wxo.text(member, "请假，身体不适").text


def test_a_corrected_time_sends_a_time_change_notice(wxo, client, services, emu, wait_for):
    ids = branch(services)
    near, far = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    bind(services, near, ids["shuji"])
    bind(services, far, ids["zuzhi"])
    wxo.text(near, "你好")
    secretary(services, "boss", "T111")
    login(client, "boss")
    meeting_id = plan_in_console(client, services, ids["orgs"]["a1"], "zhuti_dangri")
    wait_for(lambda: all(r.notice for r in rows(services, meeting_id).values()))
    token = csrf_token(client, f"/console/meetings/{meeting_id}")
    client.post(f"/console/meetings/{meeting_id}/correct", data={"csrf_token": token, "topic": "测试通知会议"})
    assert len(emu.received(near, "custom")) == 1  # no new time: no new notice
    data = {"csrf_token": token, "starts_at": "2026-12-22T09:30"}
    assert client.post(f"/console/meetings/{meeting_id}/correct", data=data).status_code == 302
    wait_for(lambda: len(emu.received(near, "custom")) == 2)
    changed = emu.received(near, "custom")[1]["body"]["text"]["content"]
    assert changed.startswith("【时间变更】") and "12月22日 09:30" in changed and "测试通知会议" in changed
    wait_for(lambda: pending.waiting(services, far) == 2)  # the first notice and the change wait for 组织委员
    wxo.text(far, "在吗")
    wait_for(lambda: len(emu.received(far, "custom")) == 2)
    got = [m["body"]["text"]["content"] for m in emu.received(far, "custom")]
    assert "【会议通知】" in got[0] and "【时间变更】" in got[1]  # in the order they were made
