"""党员认证 in chat through the emulator: automatic confirmation, the secretary's confirmation in WeChat, wrong guesses
limited with one reply for every failure, 我的认证 / 解除认证, carried-over bindings and points kept."""

from __future__ import annotations

import pytest

from bot.core.members import CONFIRMED, PENDING, UNCONFIRMED, Membership
from bot.outbound import pending
from handlers.quiz.points import GROUP
from tests.handlers.orgs.auth_helpers import (
    NOT_VERIFIED,
    SECRETARY,
    apply,
    audits,
    member_id,
    membership,
    secretary,
    tree_with_members,
)
from tests.handlers.quiz.quiz_helpers import FAST, current, right


def test_an_exact_match_confirms_at_once(wx, user, services):
    ids = tree_with_members(services)
    reply = apply(wx, user, "测试党员甲", "19900001001")
    assert "认证成功" in reply and "测试甲公司第一党支部" in reply and "测***甲" in reply
    row = membership(services, user)
    assert (row.status, row.member_id, row.organisation, row.district) == (CONFIRMED, ids["jia"], "T111", "第一片区")
    assert (row.method, row.confirmed_by) == ("auto", "auto") and row.confirmed_at is not None
    [entry] = audits(services, "member.apply")
    assert entry.target == str(ids["jia"]) and "19900001001" not in str(entry.details)
    mine = wx.text(user, "我的认证").text
    assert "测试甲公司第一党支部" in mine and "已认证" in mine and "测***甲" in mine and "测试党员甲" not in mine


def test_menu_aliases_and_typing_are_forgiving(wx, user, services):
    tree_with_members(services)
    assert "请回复您的姓名" in wx.click(user, "ORG_CONFIRM").text
    assert "请回复您的姓名" in wx.text(user, "绑定组织").text
    assert "姓名" in wx.text(user, "1").text  # not a name: asked again
    wx.text(user, "测试　党员 甲")  # spaces (full-width too) dropped
    assert "11 位" in wx.text(user, "12345").text  # not a phone number: asked again, not counted
    assert "认证成功" in wx.text(user, "１９９ ００００-１００１").text  # full-width digits, spaces, dashes


def test_every_failure_gets_the_same_reply(wx, services, emu):
    tree_with_members(services)
    users = [emu.create_user(subscribed=True)["openid"] for _ in range(5)]
    assert "认证成功" in apply(wx, users[0], "测试党员甲", "19900001001")
    replies = [
        apply(wx, users[1], "测试无此人", "19900001001"),  # unknown name
        apply(wx, users[2], "测试党员甲", "19900009999"),  # the phone differs
        apply(wx, users[3], "测试党员甲", "19900001001"),  # bound to another WeChat
        apply(wx, users[4], "测试党员丙", "19900001003"),  # off the roster
    ]
    assert NOT_VERIFIED in replies[0] and len(set(replies)) == 1
    assert "测试党员甲" not in replies[0] and "测试甲公司" not in replies[0]
    assert all(membership(services, u) is None for u in users[1:])


@pytest.mark.config(organisations={"max_attempts": 2, "attempt_window": 86400})
def test_wrong_guesses_are_limited(wx, user, services):
    tree_with_members(services)
    assert "还可尝试 1 次" in apply(wx, user, "测试党员甲", "19900009999")
    assert "请明天再试" in apply(wx, user, "测试无此人", "19900001001")
    refused = wx.text(user, "党员认证").text  # even the right answer waits for the window to end
    assert "请明天再试" in refused and "姓名" not in refused
    assert membership(services, user) is None


def test_my_binding_and_leaving_it(wx, user, services):
    ids = tree_with_members(services)
    assert "还没有进行党员认证" in wx.text(user, "我的认证").text
    apply(wx, user, "测试党员甲", "19900001001")
    assert "确定要解除" in wx.text(user, "解除认证").text
    assert "请回复「是」" in wx.text(user, "好吧").text
    assert "已保留" in wx.text(user, "否").text
    assert membership(services, user).status == CONFIRMED
    wx.text(user, "解除认证")
    assert "已解除认证" in wx.text(user, "是").text
    assert membership(services, user) is None
    [entry] = audits(services, "member.unbind")
    assert entry.target == str(ids["jia"])
    assert "还没有进行党员认证" in wx.text(user, "我的认证").text


def test_cancel_and_help_inside_the_dialog(wx, user, services):
    tree_with_members(services)
    wx.text(user, "党员认证")
    assert "还没有进行党员认证" in wx.text(user, "我的认证").text  # a command, not a name
    assert "请回复您的姓名" in wx.text(user, "帮助").text
    assert "「党员认证」" in wx.text(user, "帮助").text
    assert "已取消" in wx.text(user, "取消").text
    assert "请回复「党员认证」" not in wx.text(user, "测试党员甲").text  # no longer taken as a name


def test_carried_over_unconfirmed_membership_can_be_confirmed(wx, user, services):
    ids = tree_with_members(services)
    with services.sessions() as db:
        db.add(Membership(openid=user, organisation="T112", district="第一片区", status=UNCONFIRMED))
        db.commit()
    mine = wx.text(user, "我的认证").text
    assert "测试甲公司第二党支部" in mine and "未认证" in mine
    assert "认证成功" in apply(wx, user, "测试党员甲", "19900001001")
    row = membership(services, user)
    assert (row.status, row.member_id, row.organisation) == (CONFIRMED, ids["jia"], "T111")


@pytest.mark.config(**FAST)
def test_points_follow_the_member_to_their_organisation(wx, user, services):
    tree_with_members(services)
    wx.text(user, "每日答题")
    wx.text(user, right(current(services, user)))
    wx.text(user, "退出")
    apply(wx, user, "测试党员甲", "19900001001")
    assert dict(services.points.top(GROUP.format("org", "T111")))[user] == 1
    wx.text(user, "解除认证")
    wx.text(user, "是")
    assert user not in dict(services.points.top(GROUP.format("org", "T111")))
    assert services.points.summary(services.sessions(), user)["total"] == 1


@pytest.mark.config(**SECRETARY)
def test_the_secretary_confirms_in_wechat(wxo, services, emu, wait_for):
    ids = tree_with_members(services)
    member, boss, other = (emu.create_user(subscribed=True)["openid"] for _ in range(3))
    secretary(services, "shuji", "T11", boss)  # 甲公司党委: covers 第一党支部
    secretary(services, "yuanqu", None, other)  # the whole park: farther away, not told
    wxo.text(boss, "你好")  # the secretary's 48 h window is open
    reply = apply(wxo, member, "测试党员甲", "19900001001")
    assert "等待党组织书记确认" in reply
    assert membership(services, member).status == PENDING
    assert "待党组织书记确认" in wxo.text(member, "我的认证").text
    wait_for(lambda: emu.received(boss, "custom"))
    told = emu.received(boss, "custom")[0]["body"]["text"]["content"]
    assert "测试党员甲" in told and f"确认认证 {ids['jia']}" in told
    assert not emu.received(other, "custom")

    assert "只有绑定了管理后台" in wxo.text(member, f"确认认证 {ids['jia']}").text  # not a secretary
    assert "已确认" in wxo.text(boss, f"确认认证{ids['jia']}").text
    row = membership(services, member)
    assert (row.status, row.method, row.confirmed_by) == (CONFIRMED, "secretary", "shuji")
    [entry] = audits(services, "member.confirm")
    assert (entry.actor, entry.target) == ("shuji", str(ids["jia"]))
    wait_for(lambda: emu.received(member, "custom"))
    assert "已通过" in emu.received(member, "custom")[0]["body"]["text"]["content"]
    assert "没有找到" in wxo.text(boss, f"确认认证 {ids['jia']}").text  # already done


@pytest.mark.config(**SECRETARY)
def test_the_secretary_rejects_and_scope_is_checked(wxo, services, emu, wait_for):
    ids = tree_with_members(services)
    member, boss, stranger = (emu.create_user(subscribed=True)["openid"] for _ in range(3))
    secretary(services, "shuji", "T111", boss)
    secretary(services, "yishuji", "T21", stranger)  # 乙公司: another subtree
    apply(wxo, member, "测试党员甲", "19900001001")
    assert "没有找到" in wxo.text(stranger, f"拒绝认证 {ids['jia']}").text
    assert membership(services, member).status == PENDING
    assert "已拒绝" in wxo.text(boss, f"拒绝认证 {ids['jia']}").text
    assert membership(services, member) is None
    assert audits(services, "member.reject")[0].target == str(ids["jia"])
    assert member_id(services, "19900001001") == ids["jia"]


def test_someone_else_trying_a_bound_member_tells_the_secretary(wxo, services, emu, wait_for):
    ids = tree_with_members(services)
    owner, other, boss = (emu.create_user(subscribed=True)["openid"] for _ in range(3))
    secretary(services, "shuji", "T111", boss)
    wxo.text(boss, "你好")
    apply(wxo, owner, "测试党员甲", "19900001001")
    assert NOT_VERIFIED in apply(wxo, other, "测试党员甲", "19900001001")
    wait_for(lambda: emu.received(boss, "custom"))
    told = emu.received(boss, "custom")[0]["body"]["text"]["content"]
    assert "已绑定其他微信" in told and f"编号 {ids['jia']}" in told
    assert membership(services, owner).member_id == ids["jia"] and membership(services, other) is None


@pytest.mark.config(**SECRETARY)
def test_notices_outside_the_window_wait_for_the_next_message(wxo, services, emu, wait_for):
    ids = tree_with_members(services)
    member, boss = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    secretary(services, "shuji", "T111", boss)  # has not written for 48 h: nothing can reach them yet
    apply(wxo, member, "测试党员甲", "19900001001")
    wait_for(lambda: pending.waiting(services, boss) == 1)
    assert not emu.received(boss, "custom")
    wxo.text(boss, "你好")  # the window opens: the application's notice goes out
    wait_for(lambda: emu.received(boss, "custom"))
    told = emu.received(boss, "custom")[0]["body"]["text"]["content"]
    assert told.startswith("【补发】") and f"确认认证 {ids['jia']}" in told
    assert pending.waiting(services, boss) == 0


def test_nothing_from_the_roster_reaches_a_log(wx, user, services, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    tree_with_members(services)
    apply(wx, user, "测试党员乙", "19900009999")  # a wrong guess
    assert "认证成功" in apply(wx, user, "测试党员甲", "19900001001")
    wx.text(user, "我的认证")
    assert caplog.records  # the requests were logged...
    for secret in ("测试党员甲", "测试党员乙", "19900001001", "19900009999", user):
        assert secret not in caplog.text  # ...without a name, a phone or the full openid
