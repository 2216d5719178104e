"""Pushes: once / recurring / series on a controlled clock, quiet hours, quotas, approval, opt-outs, two schedulers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.database import utcnow
from handlers.pushes import service as pushes
from handlers.pushes.chat import choose
from handlers.pushes.models import Push, PushRun
from handlers.pushes.report import report
from handlers.quiz.points import TZ
from tests.push_helpers import get, got, local, make, members

TEMPLATES = {
    "push": {"templates": {"reminder": "TM_REMIND", "text": "TM_TEXT", "episode": "TM_EP"}}
}  # template channel on


def test_once_fires_at_its_time_and_only_once(live, services, emu):
    people = members(emu, services, 3)
    push_id = make(services, run_at=local(1, 12))
    at = pushes.aware(get(services, push_id).next_run_at)
    assert pushes.run_push(services, push_id, now=at - timedelta(minutes=1)) is None  # not yet
    run_id = pushes.run_push(services, push_id, now=at)
    assert run_id is not None
    assert pushes.run_push(services, push_id, now=at + timedelta(minutes=1)) is None  # done, not again
    assert all(len(got(emu, p, "custom")) == 1 for p in people)
    assert get(services, push_id).status == "done"
    rep = report(services, run_id)
    assert rep["targeted"] == 3 and rep["totals"]["sent"] == 3 and rep["status"] == "done"


@pytest.mark.config(**TEMPLATES)
def test_recurring_first_monday_of_the_month(live, services, emu):
    people = members(emu, services, 2)
    push_id = make(
        services,
        title="支部例会提醒",
        content_kind="reminder",
        body="本周一 09:30 召开支部党员大会",
        channel="template",
        timing="recurring",
        recurrence="每月第一个周一 09:00",
    )
    first = pushes.aware(get(services, push_id).next_run_at).astimezone(TZ)
    assert first.weekday() == 0 and first.day <= 7 and (first.hour, first.minute) == (9, 0)
    assert pushes.run_push(services, push_id, now=first) is not None
    second = pushes.aware(get(services, push_id).next_run_at).astimezone(TZ)
    assert second.weekday() == 0 and second.day <= 7 and second.month != first.month
    assert pushes.run_push(services, push_id, now=first + timedelta(minutes=5)) is None
    assert pushes.run_push(services, push_id, now=second) is not None
    assert [len(got(emu, p, "template")) for p in people] == [2, 2]
    assert get(services, push_id).status == "active"


@pytest.mark.config(**TEMPLATES)
def test_series_one_episode_every_two_days(live, services, emu):
    people = members(emu, services, 2)
    start = local(1, 20)
    push_id = make(
        services,
        title="新声连载",
        content_kind="episode",
        channel="template",
        timing="series",
        run_at=start,
        series_from=1,
        series_to=3,
        series_every_days=2,
    )
    for i in range(3):
        due = pushes.aware(get(services, push_id).next_run_at)
        assert due == start + timedelta(days=2 * i)
        assert pushes.run_push(services, push_id, now=due) is not None
    assert get(services, push_id).status == "done"
    sent = [e["body"]["data"]["thing1"]["value"] for e in got(emu, people[0], "template")]
    assert [s[:5] for s in sent] == ["新声第1集", "新声第2集", "新声第3集"]


def test_quiet_hours_move_a_send_to_their_end(live, services, emu):
    members(emu, services, 1)
    push_id = make(services, run_at=local(1, 23, 0))
    due = pushes.aware(get(services, push_id).next_run_at).astimezone(TZ)
    assert due == local(2, 6, 30)
    assert pushes.run_push(services, push_id, now=local(1, 23, 0)) is None  # waits for the end


@pytest.mark.config(push={"account_type": "subscription"})
def test_subscription_account_second_mass_send_the_same_day_is_refused(live, services):
    make(services, channel="mass", run_at=local(1, 9))
    with services.sessions() as db:
        push = Push(
            title="第二条",
            content_kind="text",
            body="x",
            audience_kind="all",
            channel="mass",
            timing="once",
            run_at=local(1, 18),
            test_openids=[],
        )
        problems = pushes.plan(db, services, push, utcnow())
    assert problems and "订阅号每天只能群发 1 次" in problems[0]
    with services.sessions() as db:  # another day is fine
        push = Push(
            title="次日",
            content_kind="text",
            body="x",
            audience_kind="all",
            channel="mass",
            timing="once",
            run_at=local(2, 18),
            test_openids=[],
        )
        assert pushes.plan(db, services, push, utcnow()) == []


def test_service_account_fifth_mass_send_in_a_month_is_refused(live, services):
    month = local(40, 12).replace(day=1)  # a whole future month
    for day in range(4):
        make(services, channel="mass", run_at=month + timedelta(days=day + 2))
    with services.sessions() as db:
        push = Push(
            title="第五条",
            content_kind="text",
            body="x",
            audience_kind="all",
            channel="mass",
            timing="once",
            run_at=month + timedelta(days=10),
            test_openids=[],
        )
        problems = pushes.plan(db, services, push, utcnow())
    assert problems and "每月最多收到 4 次群发" in problems[0]


def test_unapproved_push_does_not_go_out_and_the_editor_is_told(live, services, emu):
    people = members(emu, services, 2)
    push_id = make(services, timing="recurring", recurrence="每天 12:00", needs_approval=True)
    due = pushes.aware(get(services, push_id).next_run_at)
    run_id = pushes.run_push(services, push_id, now=due)
    with services.sessions() as db:
        assert db.get(PushRun, run_id).status == "blocked"
    assert all(got(emu, p) == [] for p in people)
    assert "未经审核" in get(services, push_id).notice
    with services.sessions() as db:
        pushes.approve(db.get(Push, push_id), "reviewer")
        db.commit()
    nxt = pushes.aware(get(services, push_id).next_run_at)
    assert pushes.run_push(services, push_id, now=nxt) is not None
    assert all(len(got(emu, p, "custom")) == 1 for p in people)


def test_two_schedulers_fire_a_run_once(live, services, emu):
    people = members(emu, services, 5)
    push_id = make(services, run_at=local(1, 12))
    due = pushes.aware(get(services, push_id).next_run_at)
    barrier, results = threading.Barrier(2), []

    def scheduler() -> None:
        barrier.wait()
        results.append(pushes.run_push(services, push_id, now=due))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(r is None for r in results) == [False, True]
    with services.sessions() as db:
        assert len(db.scalars(select(PushRun)).all()) == 1
    assert all(len(got(emu, p, "custom")) == 1 for p in people)


def test_opt_out_in_chat_is_respected(wx, services, emu):
    people = members(emu, services, 3)
    assert "已退订" in wx.text(people[0], "退订新声").text
    assert "已订阅" in wx.text(people[1], "订阅提醒").text
    episode = make(services, content_kind="episode", content_ref="5", run_at=local(1, 12))
    reminder = make(services, content_kind="reminder", body="交党费", audience_kind="reminders", run_at=local(1, 13))
    run_a = pushes.run_push(services, episode, now=local(1, 12))
    run_b = pushes.run_push(services, reminder, now=local(1, 13))
    assert report(services, run_a)["reasons"]["skipped"] == {"opted_out": 1}
    assert [len(got(emu, p, "custom")) for p in people] == [0, 2, 1]
    assert report(services, run_b)["targeted"] == 1
    with services.sessions() as db:
        choose(db, people[1], "reminders", False)
    again = make(services, content_kind="reminder", body="再提醒", audience_kind="all", run_at=local(1, 14))
    pushes.run_push(services, again, now=local(1, 14))
    assert [len(got(emu, p, "custom")) for p in people] == [1, 2, 2]


def test_customer_service_push_skips_followers_outside_the_window(live, services, emu):
    inside = members(emu, services, 1)[0]
    outside = emu.create_user("老粉丝", subscribed=True)["openid"]
    services.followers.subscribe(outside)
    gone = members(emu, services, 1)[0]
    services.followers.unsubscribe(gone)
    push_id = make(services, run_at=local(1, 12))
    run_id = pushes.run_push(services, push_id, now=local(1, 12))
    rep = report(services, run_id)
    assert rep["totals"]["sent"] == 1 and rep["reasons"]["skipped"] == {"window": 1, "unsubscribed": 1}
    assert len(got(emu, inside, "custom")) == 1 and got(emu, outside) == []


@pytest.mark.parametrize("kind,ref", [("organisation", "T1"), ("district", "第一片区")])
def test_organisation_and_district_audiences_reach_only_their_members(live, services, emu, kind, ref):
    from bot.core.members import Membership
    from tests.org_helpers import add_member, confirm, small_tree

    inside, other, unbound, unconfirmed = members(emu, services, 4)
    with services.sessions() as db:
        tree = small_tree(db)
        confirm(db, inside, add_member(db, tree["a1"], "测试甲"))
        confirm(db, other, add_member(db, tree["b"], "测试乙"))
        db.add(Membership(openid=unconfirmed, organisation="T111", district="第一片区"))  # self-declared: not counted
        db.commit()
    push_id = make(services, run_at=local(1, 12), audience_kind=kind, audience_ref=ref)
    pushes.run_push(services, push_id, now=local(1, 12))
    assert [len(got(emu, p, "custom")) for p in (inside, other, unbound, unconfirmed)] == [1, 0, 0, 0]


def test_preview_goes_to_test_openids_at_once(live, services, emu):
    tester = members(emu, services, 1)[0]
    push_id = make(services, run_at=local(3, 12), test_openids=[tester])
    results = pushes.preview(services, get(services, push_id))
    assert [r.ok for _, r in results] == [True]
    assert "【预览】" in got(emu, tester, "preview")[0]["body"]["text"]["content"]


def test_mass_send_reports_wechat_counts(live, services, emu):
    members(emu, services, 3)
    push_id = make(services, channel="mass", run_at=local(1, 12))
    run_id = pushes.run_push(services, push_id, now=local(1, 12))
    rep = report(services, run_id)
    assert rep["status"] == "done" and rep["mass_msg_id"]
    for _ in range(100):
        rep = report(services, run_id)
        if rep["mass"]:
            break
        threading.Event().wait(0.05)
    assert rep["mass"]["SentCount"] == "3"
    assert pushes.run_push(services, push_id, now=local(1, 12)) is None
