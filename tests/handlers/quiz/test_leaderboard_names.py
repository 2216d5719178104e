"""Leaderboards with identity: confirmed members by masked name, organisations and 片区 by average points per
member, 我的积分's rank in the organisation, boards rebuilt after a Redis flush, and the replies' size."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.database import utcnow
from bot.core.organisations import Organisation
from bot.emulator.client import new_openid
from handlers.quiz.boards import FRESH
from handlers.quiz.points import COUNTED, ORGSUM, day_of, week_of
from tests.handlers.quiz.lb_helpers import award, bind, confirmed, member, unbind
from tests.org_helpers import add_member, add_org, small_tree

LIMIT = 2047  # WeChat's text limit in UTF-8 bytes


@pytest.fixture
def tree(services: Any) -> dict[str, Organisation]:
    with services.sessions() as db:
        return small_tree(db)


def board_of(reply: str, title: str) -> list[str]:
    """The lines of one board (【title】 up to the next blank line)."""
    block = reply.split(f"【{title}】\n", 1)[1]
    return block.split("\n\n", 1)[0].splitlines()


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param("测*明", marks=pytest.mark.config(organisations={"name_mask": "middle"})),
        pytest.param("测**", marks=pytest.mark.config(organisations={"name_mask": "given"})),
        pytest.param("测试明", marks=pytest.mark.config(organisations={"name_mask": "none"})),
    ],
)
def test_confirmed_members_are_named_masked_others_as_today(wx, user, services, tree, shown):
    named = member(services, tree["a1"], 30, name="测试明")
    self_declared = member(services, tree["a1"], 20, status="unconfirmed")
    anonymous = member(services, tree["a1"], 10, status="none")
    member(services, tree["a1"], 5, name="测试我", openid=user)
    reply = wx.text(user, "排行榜").text
    assert board_of(reply, "总榜") == [
        f"1. {shown}　30分",
        f"2. 党员{self_declared[-4:]}　20分",
        f"3. 党员{anonymous[-4:]}　10分",
        "4. 我　5分",
    ]
    assert board_of(reply, "测试甲公司第一党支部榜") == [
        f"1. {shown}　30分",
        f"2. 党员{self_declared[-4:]}　20分",
        "3. 我　5分",
    ]
    assert named not in reply and "测试我" not in reply
    if shown != "测试明":
        assert "测试明" not in reply


def test_organisations_compare_by_average_not_total(wx, user, services, tree):
    for _ in range(2):  # 甲一: 4 on the roster, 2 confirmed with 10 each: 20 in total, 5.0 a member
        member(services, tree["a1"], 10)
        member(services, tree["a1"], 0, status="roster")
    member(services, tree["b"], 8)  # 乙: 1 on the roster with 8: less in total, more a member
    member(services, tree["a2"], 0, status="roster")  # 甲二: 2 on the roster, nobody confirmed
    member(services, tree["a2"], 0, status="roster")
    member(services, tree["a2"], 100, status="unconfirmed")  # self-declared: not counted for the organisation
    reply = wx.text(user, "组织排行").text
    assert board_of(reply, "组织人均积分榜") == [
        "1. 测试乙公司党支部　人均 8.0 分",
        "2. 测试甲公司第一党支部　人均 5.0 分",
        "3. 测试甲公司第二党支部　人均 0.0 分",
    ]
    assert board_of(reply, "组织本周人均积分榜")[:2] == [
        "1. 测试乙公司党支部　人均 8.0 分",
        "2. 测试甲公司第一党支部　人均 5.0 分",
    ]
    # 第一片区: 20 points over 6 roster members (甲一 4, 甲二 2); 第二片区: 8 over 1
    assert board_of(reply, "片区人均积分榜") == [
        "1. 第二片区　人均 8.0 分（本周 8.0）",
        "2. 第一片区　人均 3.3 分（本周 3.3）",
    ]
    assert "党员认证" in reply  # the asker is not confirmed


def test_my_points_names_the_organisation_and_the_rank_in_it(wx, user, services, tree):
    member(services, tree["a1"], 12)
    member(services, tree["a1"], 0, status="roster")
    member(services, tree["b"], 30)
    member(services, tree["a1"], 4, name="测试甲", openid=user)
    mine = wx.text(user, "我的积分").text
    assert "组织排名：测试甲公司第一党支部 第 2 名（共 2 人）" in mine
    assert "本组织人均 5.3 分，在 2 个组织中列第 2 名" in mine
    assert "党员认证" not in mine
    other = new_openid()
    member(services, tree["a1"], 3, status="unconfirmed", openid=other)
    theirs = wx.text(other, "我的积分").text
    assert "回复「党员认证」" in theirs and "组织排名" not in theirs


def test_confirming_moving_and_leaving_recount_the_organisations(wx, user, services, tree):
    with services.sessions() as db:
        person = add_member(db, db.get(Organisation, tree["b"].id), "测试乙")
    bind(services, user, tree["a1"])
    award(services, user, 6)
    other = new_openid()
    assert f"1. 党员{user[-4:]}　6分" in wx.text(other, "排行榜").text
    assert services.redis.zscore(ORGSUM, "T111") is None  # unconfirmed: not counted
    confirmed(services, user, person)  # confirmed as a member of 乙: counted there, with what they earned before
    assert services.redis.zscore(ORGSUM, "T21") == 6 and services.redis.hget(COUNTED, user) == "T21"
    assert "1. 测*乙　6分" in wx.text(other, "排行榜").text  # named at once (the names cache forgot them)
    award(services, user, 2)
    assert services.redis.zscore(ORGSUM, "T21") == 8
    assert "1. 测试乙公司党支部　人均 8.0 分" in wx.text(user, "组织排行").text
    unbind(services, user)
    assert services.redis.zscore(ORGSUM, "T21") == 0 and services.redis.hget(COUNTED, user) is None
    assert f"1. 党员{user[-4:]}　8分" in wx.text(other, "排行榜").text


def test_boards_are_the_same_after_redis_is_flushed(wx, user, services, tree):
    for org, pts in (("a1", 9), ("a1", 3), ("a2", 7), ("b", 5), ("g", 11)):
        member(services, tree[org], pts)
    member(services, tree["a1"], 20, status="unconfirmed")
    member(services, tree["b"], 0, status="roster")
    member(services, tree["a1"], 4, openid=user)
    before = [wx.text(user, text).text for text in ("排行榜", "组织排行", "我的积分")]
    services.redis.flushdb()
    assert [wx.text(user, text).text for text in ("排行榜", "组织排行", "我的积分")] == before


def test_the_boards_fit_one_message(wx, user, services, tree):
    with services.sessions() as db:
        parent = db.get(Organisation, tree["root"].id)
        orgs = [
            add_org(
                db, f"L{i}", f"测试超长名称有限责任公司第{i}生产车间联合党支部委员会", "党支部", parent, f"第{n}片区"
            )
            for i, n in enumerate("一二三四五六七八九十", 1)
        ]
        db.commit()
    for i in range(12):
        member(services, orgs[i % 10], 100 + i, name="测试长名字")
    member(services, orgs[0], 1, name="测试长名字", openid=user)
    for text in ("排行榜", "组织排行", "我的积分"):
        reply = wx.text(user, text).text
        assert len(reply.encode()) <= LIMIT and "回复「继续」" not in reply, text
    assert len(board_of(wx.text(user, "排行榜").text, "总榜")) == 10
    reply = wx.text(user, "组织排行").text
    assert len(board_of(reply, "组织人均积分榜")) == 5 and len(board_of(reply, "片区人均积分榜")) == 5


def test_stale_averages_are_served_while_they_are_computed_again(wx, user, services, tree, wait_for):
    member(services, tree["b"], 4)
    assert "1. 测试乙公司党支部　人均 4.0 分" in wx.text(user, "组织排行").text
    member(services, tree["a1"], 9)
    assert "测试甲公司第一党支部" not in wx.text(user, "组织排行").text  # cached for a minute
    services.redis.delete(FRESH.format(week_of(day_of(utcnow()))))  # the minute is up
    assert "1. 测试乙公司党支部　人均 4.0 分" in wx.text(user, "组织排行").text  # the old board, at once
    wait_for(lambda: "1. 测试甲公司第一党支部　人均 9.0 分" in wx.text(user, "组织排行").text)
