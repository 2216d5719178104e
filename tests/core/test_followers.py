"""Followers table kept by subscribe / unsubscribe / SCAN and by every message (the 48-hour window)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from bot.core.database import utcnow
from bot.emulator.client import new_openid


def test_subscribe_creates_the_follower_and_welcomes(wx, services):
    openid = new_openid()
    ex = wx.subscribe(openid, scene="park1")
    assert "欢迎关注" in ex.text
    row = services.followers.get(openid)
    assert row.subscribed and row.scene == "park1" and row.first_seen and row.subscribed_at
    assert row.last_interaction is None  # following opens no 48-hour window; a message does


def test_unsubscribe_then_resubscribe_keeps_first_seen(wx, services):
    openid = new_openid()
    wx.subscribe(openid)
    first = services.followers.get(openid).first_seen
    assert wx.unsubscribe(openid).reply is None
    row = services.followers.get(openid)
    assert not row.subscribed and row.unsubscribed_at
    again = wx.build(openid, "event", Event="subscribe")
    again["CreateTime"] += 1  # a retry is the same user, time, event and key; a new subscribe is later
    wx.post(again)
    row = services.followers.get(openid)
    assert row.subscribed and row.first_seen == first and row.unsubscribed_at is None


def test_scan_by_a_follower_records_the_scene(wx, services):
    openid = new_openid()
    wx.subscribe(openid)
    assert "欢迎回来" in wx.event(openid, "SCAN", "park9").text
    assert services.followers.get(openid).scene == "park9"


def test_a_repeated_scan_writes_nothing_and_a_scan_is_no_new_subscription(wx, services):
    openid = new_openid()
    wx.subscribe(openid, scene="park1")
    since = services.followers.get(openid).subscribed_at
    scan = wx.build(openid, "event", Event="SCAN", EventKey="park9")
    wx.post(dict(scan))
    writes: list[str] = []

    def note(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("UPDATE FOLLOWERS", "INSERT INTO FOLLOWERS")):
            writes.append(statement)

    event.listen(services.engine, "before_cursor_execute", note)
    try:
        assert "欢迎回来" in wx.post({**scan, "CreateTime": scan["CreateTime"] + 1}).text  # the same code again
    finally:
        event.remove(services.engine, "before_cursor_execute", note)
    row = services.followers.get(openid)
    assert writes == [] and row.scene == "park9" and row.subscribed_at == since


def test_a_scan_after_a_missed_follow_marks_the_follower_subscribed(wx, services):
    openid = new_openid()
    wx.subscribe(openid)
    wx.unsubscribe(openid)  # then followed again, and WeChat's subscribe event never reached us
    assert "欢迎回来" in wx.event(openid, "SCAN", "park9").text
    row = services.followers.get(openid)
    assert row.subscribed and row.unsubscribed_at is None and row.scene == "park9"


def test_a_message_from_an_unknown_user_creates_them_and_opens_the_window(wx, services):
    openid = new_openid()
    wx.text(openid, "你好")
    row = services.followers.get(openid)
    assert row.subscribed and services.followers.in_window(openid)
    assert not services.followers.in_window(openid, now=utcnow() + timedelta(hours=49))


def test_last_interaction_is_written_at_most_once_per_interval(wx, services):
    openid = new_openid()
    wx.text(openid, "你好")
    first = services.followers.get(openid).last_interaction
    wx.text(openid, "再来")
    assert services.followers.get(openid).last_interaction == first  # throttled by followers.touch_interval
    services.redis.delete(f"seen:{openid}")
    wx.text(openid, "又来")
    assert services.followers.get(openid).last_interaction > first


def test_job_reports_and_unfollows_open_no_window(wx, services):
    openid = new_openid()
    wx.subscribe(openid)
    wx.event(openid, "TEMPLATESENDJOBFINISH", MsgID="1", Status="success")
    wx.unsubscribe(openid)
    assert services.followers.get(openid).last_interaction is None


def test_counts(wx, services):
    a, b = new_openid(), new_openid()
    wx.subscribe(a)
    wx.subscribe(b)
    wx.unsubscribe(b)
    assert services.followers.count() == {"subscribed": 1, "unsubscribed": 1}
