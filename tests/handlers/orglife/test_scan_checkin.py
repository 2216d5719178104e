"""Check-in by a meeting's QR code (scene mt:<id>): expected members attend, other confirmed members are guests,
unconfirmed followers are sent to 党员认证; early, late, cancelled, unknown and second scans; retries and races."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.core.clock import utcnow
from handlers.orglife import checkin
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import CANCELLED, EXPECTED, GUEST, HELD, SCAN, Attendance, Meeting
from tests.handlers.orglife.scan_helpers import attended, checkin_setup, expect, meeting_of, rows


def scene(ids: dict) -> str:
    return f"mt:{ids['meeting']}"


def rescan(wx, openid: str, key: str, later: int = 1) -> str:
    """A later scan (WeChat dedupes events by sender, CreateTime and key: a scan in the same second is a retry)."""
    fields = wx.build(openid, "event", Event="SCAN", EventKey=key)
    return wx.post({**fields, "CreateTime": fields["CreateTime"] + later}).text


def test_an_expected_member_scans_and_is_checked_in(wx, services, emu):
    ids = checkin_setup(services, emu)
    reply = wx.event(ids["jia"], "SCAN", scene(ids)).text
    assert reply.startswith("签到成功！") and "测试主题党日" in reply and "测试会议室" in reply
    [row] = attended(services, ids["meeting"])
    assert (row.member_id, row.role, row.method, row.openid) == (ids["members"]["jia"], EXPECTED, SCAN, ids["jia"])
    assert len(rows(services, ids["meeting"])) == 3  # no row added
    with services.sessions() as db:
        assert db.get(Meeting, ids["meeting"]).status == HELD  # someone checked in: the meeting took place


def test_a_second_scan_says_already_checked_in(wx, services, emu):
    ids = checkin_setup(services, emu)
    wx.event(ids["jia"], "SCAN", scene(ids))
    again = rescan(wx, ids["jia"], scene(ids))
    assert again.startswith("您已签到（") and "测试主题党日" in again
    assert len(attended(services, ids["meeting"])) == 1


def test_a_member_of_another_organisation_is_a_guest(wx, services, emu):
    ids = checkin_setup(services, emu)
    assert wx.event(ids["ding"], "SCAN", scene(ids)).text.startswith("列席签到成功！")
    assert rescan(wx, ids["ding"], scene(ids)).startswith("您已签到（")
    guests = [r for r in rows(services, ids["meeting"]) if r.role == GUEST]
    assert [(g.member_id, g.openid, g.method) for g in guests] == [(ids["members"]["ding"], ids["ding"], SCAN)]


def test_an_unconfirmed_follower_is_asked_to_confirm_first(wx, services, emu):
    ids = checkin_setup(services, emu)
    assert "党员认证" in wx.event(ids["stranger"], "SCAN", scene(ids)).text
    assert attended(services, ids["meeting"]) == [] and len(rows(services, ids["meeting"])) == 3


def test_a_new_follower_subscribing_through_the_code(wx, services, emu):
    ids = checkin_setup(services, emu)
    reply = wx.subscribe(ids["yi"], scene(ids)).text
    assert reply.startswith(services.settings.followers.welcome) and "签到成功！" in reply
    newcomer = emu.create_user(subscribed=False)["openid"]
    assert "请先回复「党员认证」" in wx.subscribe(newcomer, scene(ids)).text


def test_early_late_cancelled_and_unknown(wx, services, emu):
    ids = checkin_setup(services, emu, starts_in=timedelta(hours=2))
    assert wx.event(ids["jia"], "SCAN", scene(ids)).text.startswith("签到尚未开始")
    late = checkin_setup_more(services, emu, ids, timedelta(minutes=-61))
    assert wx.event(ids["jia"], "SCAN", f"mt:{late}").text.startswith("签到已结束")
    cancelled = checkin_setup_more(services, emu, ids, timedelta(minutes=5), status=CANCELLED)
    assert "已取消" in wx.event(ids["jia"], "SCAN", f"mt:{cancelled}").text
    assert "不存在" in wx.event(ids["jia"], "SCAN", "mt:999999").text
    assert "不存在" in wx.event(ids["jia"], "SCAN", "mt:abc").text
    assert all(not attended(services, m) for m in (ids["meeting"], late, cancelled))


def checkin_setup_more(services, emu, ids, starts_in, **extra) -> int:
    """Another meeting of the same organisation, jia expected."""
    with services.sessions() as db:
        org_id = db.get(Meeting, ids["meeting"]).organisation_id
        meeting = meeting_of(db, org_id, starts_in, **extra)
        expect(db, meeting, [ids["members"]["jia"]])
        return meeting.id


def test_the_window_edges(services, emu):
    ids = checkin_setup(services, emu)
    cfg = OrgLifeConfig.of(services.settings)
    with services.sessions() as db:
        meeting = db.get(Meeting, ids["meeting"])
        opens, closes = checkin.window(cfg, meeting)
        assert closes - opens == timedelta(minutes=cfg.checkin_before + cfg.checkin_after)
        assert checkin.check_in(db, ids["jia"], meeting.id, cfg, opens - timedelta(seconds=1)).startswith("签到尚未")
        assert checkin.check_in(db, ids["jia"], meeting.id, cfg, closes + timedelta(seconds=1)).startswith("签到已结束")
        assert checkin.check_in(db, ids["jia"], meeting.id, cfg, closes).startswith("签到成功")
        # once recorded, even a scan after the window says so
        assert checkin.check_in(db, ids["jia"], meeting.id, cfg, closes + timedelta(hours=1)).startswith("您已签到")


def test_a_retried_scan_gets_the_same_reply_and_one_row(wx, services, emu):
    ids = checkin_setup(services, emu)
    fields = wx.build(ids["jia"], "event", Event="SCAN", EventKey=scene(ids))
    first, retry = wx.post(dict(fields)).text, wx.post(dict(fields)).text
    assert first == retry and first.startswith("签到成功！")
    guest = wx.build(ids["ding"], "event", Event="SCAN", EventKey=scene(ids))
    assert wx.post(dict(guest)).text == wx.post(dict(guest)).text
    assert len(attended(services, ids["meeting"])) == 2 and len(rows(services, ids["meeting"])) == 4


def test_a_crash_before_the_reply_loses_and_duplicates_nothing(services, emu):
    """The row is the truth: written and committed before the reply; the scan handled again finds it."""
    ids = checkin_setup(services, emu)
    cfg = OrgLifeConfig.of(services.settings)
    for who in ("jia", "ding"):
        with services.sessions() as db:
            checkin.check_in(db, ids[who], ids["meeting"], cfg)  # its reply is lost
        with services.sessions() as db:
            assert checkin.check_in(db, ids[who], ids["meeting"], cfg).startswith("您已签到")
    assert len(attended(services, ids["meeting"])) == 2 and len(rows(services, ids["meeting"])) == 4


def test_racing_scans_record_exactly_one_row(services, emu):
    ids = checkin_setup(services, emu)
    cfg = OrgLifeConfig.of(services.settings)
    replies: list[str] = []
    start = threading.Barrier(8)

    def scan(who: str) -> None:
        start.wait()
        with services.sessions() as db:
            replies.append(checkin.check_in(db, ids[who], ids["meeting"], cfg, utcnow()))

    threads = [threading.Thread(target=scan, args=(who,)) for who in ("jia", "ding") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[:4] for r in replies).count("您已签到") == 6
    assert (
        sum(r.startswith("签到成功") for r in replies) == 1 and sum(r.startswith("列席签到成功") for r in replies) == 1
    )
    assert len(attended(services, ids["meeting"])) == 2 and len(rows(services, ids["meeting"])) == 4


def test_racing_webhook_scans_through_the_emulator(wx, services, emu):
    """Two different scans (distinct CreateTime) and retries of each, all at once: one row, no error reply."""
    ids = checkin_setup(services, emu)
    first = wx.build(ids["yi"], "event", Event="SCAN", EventKey=scene(ids))
    second = {**first, "CreateTime": first["CreateTime"] + 1}
    replies: list[str] = []

    def post(fields: dict) -> None:
        replies.append(wx.post(dict(fields)).text or "")

    threads = [threading.Thread(target=post, args=(f,)) for f in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(attended(services, ids["meeting"])) == 1
    assert all(r.startswith(("签到成功", "您已签到")) or r == "" for r in replies), replies


def test_an_invited_guest_row_is_marked_not_doubled(wx, services, emu):
    ids = checkin_setup(services, emu)
    with services.sessions() as db:
        db.add(Attendance(meeting_id=ids["meeting"], member_id=ids["members"]["ding"], role=GUEST))  # invited 列席
        db.commit()
    assert wx.event(ids["ding"], "SCAN", scene(ids)).text.startswith("列席签到成功！")
    [row] = [r for r in rows(services, ids["meeting"]) if r.role == GUEST]
    assert row.attended_at is not None and row.openid == ids["ding"] and len(rows(services, ids["meeting"])) == 4


def test_other_scenes_still_reach_their_features(wx, user, services, emu):
    checkin_setup(services, emu)
    assert "欢迎回来" in wx.event(user, "SCAN", "park1").text
    assert "【党员认证·测试甲公司党委】" in wx.event(user, "SCAN", "org:T11").text


def test_a_guests_check_in_alone_marks_the_meeting_held_and_a_second_scan_writes_nothing(wx, services, emu):
    ids = checkin_setup(services, emu)
    assert wx.event(ids["ding"], "SCAN", scene(ids)).text.startswith("列席签到成功！")
    with services.sessions() as db:
        assert db.get(Meeting, ids["meeting"]).status == HELD
    [first] = attended(services, ids["meeting"])
    assert rescan(wx, ids["ding"], scene(ids)).startswith("您已签到（")
    [again] = attended(services, ids["meeting"])
    assert (again.id, again.attended_at) == (first.id, first.attended_at)
    assert services.followers.get(ids["ding"]).scene == scene(ids)  # written with the check-in, in its commit
