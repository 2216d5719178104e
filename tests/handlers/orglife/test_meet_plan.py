"""Meetings planned: default attendees per kind, planning in the console (audited, scoped) and by 安排会议 in chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.core.clock import TZ, china
from handlers.orglife.models import EXPECTED, PLANNED, Meeting
from tests.console.console_helpers import csrf_token, login
from tests.handlers.orglife.meet_helpers import audits, branch, meeting, plan, rows, secretary

NEW = "/console/meetings/new"


def test_default_attendees_follow_the_kind(services):
    ids = branch(services)
    everyone = rows(services, plan(services, ids["orgs"]["a1"], "zhuti_dangri"))
    assert set(everyone) == {ids[k] for k in ("shuji", "zuzhi", "putong", "zuzhang", "xiaozu")}  # not who left
    assert all(r.role == EXPECTED and r.reply is None for r in everyone.values())
    committee = rows(services, plan(services, ids["orgs"]["a1"], "zhiwei_hui"))
    assert set(committee) == {ids["shuji"], ids["zuzhi"]}  # 党小组长 is not on the committee
    group = rows(services, plan(services, ids["orgs"]["a1"], "dangxiaozu_hui", group_id=ids["orgs"]["g"]))
    assert set(group) == {ids["zuzhang"], ids["xiaozu"]}
    assert audits(services, "meeting.plan")[0].details["expected"] == 5


def test_a_secretary_plans_in_the_console_within_scope(client, services):
    ids = branch(services)
    secretary(services, "shuji", "T111")
    login(client, "shuji")
    page = client.get(NEW).get_data(as_text=True)
    assert "测试甲公司第一党支部" in page and "测试乙公司党支部" not in page
    data = {
        "csrf_token": csrf_token(client, NEW),
        "organisation": ids["orgs"]["a1"],
        "kind": "zhiwei_hui",
        "topic": "测试支委会议题",
        "starts_at": "2026-12-20T14:30",
        "place": "测试三楼会议室",
    }
    answer = client.post(NEW, data=data)
    assert answer.status_code == 302
    with services.sessions() as db:
        made = db.scalars(select(Meeting)).one()
        assert (made.kind, made.status, made.planned_by) == ("zhiwei_hui", PLANNED, "shuji")
        assert china(made.starts_at).replace(tzinfo=None) == datetime(2026, 12, 20, 14, 30)
    assert set(rows(services, made.id)) == {ids["shuji"], ids["zuzhi"]}
    [entry] = audits(services, "meeting.plan")
    assert (entry.actor, entry.target) == ("shuji", str(made.id))
    shown = client.get(f"/console/meetings/{made.id}").get_data(as_text=True)
    assert "测试书记" in shown and "应到" in shown
    assert client.post(NEW, data={**data, "organisation": ids["orgs"]["b"]}).status_code == 404  # outside scope


def test_pages_outside_the_scope_are_404(client, services):
    ids = branch(services)
    other = plan(services, ids["orgs"]["b"])
    secretary(services, "shuji", "T111")
    login(client, "shuji")
    assert client.get(f"/console/meetings/{other}").status_code == 404
    token = csrf_token(client, "/console/meetings/")
    assert (
        client.post(f"/console/meetings/{other}/correct", data={"csrf_token": token, "topic": "x"}).status_code == 404
    )
    assert "测试乙公司党支部" not in client.get("/console/meetings/").get_data(as_text=True)
    assert meeting(services, other).topic == "测试学习主题"


def test_a_bound_secretary_plans_in_chat(wxo, services, emu):
    ids = branch(services)
    boss, stranger = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    secretary(services, "shuji", "T111", boss)
    assert "只有绑定了管理后台" in wxo.text(stranger, "安排会议").text
    kinds = wxo.text(boss, "安排会议").text
    assert "测试甲公司第一党支部" in kinds and "3. 党小组会" in kinds
    assert "请回复 1 到" in wxo.text(boss, "99").text
    assert "哪个党小组" in wxo.text(boss, "3").text
    assert "主题" in wxo.text(boss, "1").text
    assert "时间" in wxo.text(boss, "测试小组学习").text
    assert "没有看懂" in wxo.text(boss, "下周").text
    assert "地点" in wxo.text(boss, "2026-12-05 14:30").text
    summary = wxo.text(boss, "测试活动室").text
    assert "参会：2 人" in summary and "12月05日 14:30" in summary and "测试甲公司第一党小组" in summary
    assert "已安排" in wxo.text(boss, "确认").text
    with services.sessions() as db:
        made = db.scalars(select(Meeting)).one()
        assert (made.kind, made.group_id, made.place) == ("dangxiaozu_hui", ids["orgs"]["g"], "测试活动室")
        assert made.starts_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") == "2026-12-05 14:30"
        assert made.planned_by == "wechat:shuji"
    assert set(rows(services, made.id)) == {ids["zuzhang"], ids["xiaozu"]}
    assert audits(services, "meeting.plan")[0].actor == "shuji"


def test_help_lists_the_commands_and_fits(wx, user):
    text = wx.text(user, "帮助").text
    assert "安排会议" in text and "请假 原因" in text and len(text.encode()) <= 2047


def test_help_mid_dialog_and_cancel(wxo, services, emu):
    branch(services)
    boss = emu.create_user(subscribed=True)["openid"]
    secretary(services, "shuji", "T111", boss)
    wxo.text(boss, "安排会议")
    assert "正在安排会议" in wxo.text(boss, "帮助").text
    wxo.text(boss, "取消")
    assert "党员认证" in wxo.text(boss, "我的认证").text  # the dialog is closed: texts route as usual
