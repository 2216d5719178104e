"""The record after a meeting: 应到/实到/请假/缺席, attendance marked by hand and corrections (both audited), minutes
making it HELD, photos uploaded in the console (type checked) or sent from the secretary's phone (copied)."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.core.clock import utcnow
from handlers.orglife import media, meetings
from handlers.orglife.media import MeetingMedia
from handlers.orglife.models import CANCELLED, HELD, LEAVE, PLANNED, Attendance
from tests.console.console_helpers import csrf_token, login
from tests.factories import PNG
from tests.handlers.orglife.meet_helpers import audits, branch, meeting, plan, rows, secretary


def page(meeting_id: int) -> str:
    return f"/console/meetings/{meeting_id}"


def test_counts(services):
    ids = branch(services)
    meeting_id = plan(services, ids["orgs"]["a1"])  # five expected
    with services.sessions() as db:
        got = {r.member_id: r for r in meetings.attendance(db, meeting_id)}
        got[ids["shuji"]].attended_at = utcnow()
        got[ids["zuzhi"]].attended_at, got[ids["zuzhi"]].reply = utcnow(), LEAVE  # came after all
        got[ids["putong"]].reply, got[ids["putong"]].leave_reason = LEAVE, "测试出差"
        got[ids["zuzhang"]].notice = "unreached"
        db.add(Attendance(meeting_id=meeting_id, openid="guest", role="guest", attended_at=utcnow()))
        db.commit()
        c = meetings.counts(meetings.attendance(db, meeting_id))
    assert (c.expected, c.present, c.leave, c.absent, c.guests, c.unreached) == (5, 2, 1, 2, 1, 1)


def test_marking_and_correcting_are_audited(client, services):
    ids = branch(services)
    meeting_id = plan(services, ids["orgs"]["a1"])
    secretary(services, "shuji", "T111")
    login(client, "shuji")
    token = csrf_token(client, page(meeting_id))
    row = rows(services, meeting_id)[ids["putong"]]
    refused = client.post(f"{page(meeting_id)}/mark/{row.id}", data={"csrf_token": token, "present": "0"})
    assert "请填写原因" in client.get(refused.headers["Location"]).get_data(as_text=True)
    client.post(f"{page(meeting_id)}/mark/{row.id}", data={"csrf_token": token, "present": "1", "reason": "补签"})
    marked = rows(services, meeting_id)[ids["putong"]]
    assert marked.attended_at is not None and (marked.method, marked.marked_by) == ("manual", "shuji")
    assert meeting(services, meeting_id).status == HELD
    [entry] = audits(services, "meeting.mark")
    assert entry.target == str(meeting_id) and entry.details["member"] == ids["putong"] and entry.details["present"]
    other = rows(services, meeting_id)[ids["zuzhi"]]
    client.post(f"{page(meeting_id)}/mark/{other.id}", data={"csrf_token": token, "present": "0", "reason": "未到"})
    html = client.get(page(meeting_id)).get_data(as_text=True)
    assert 'id="count-present">1<' in html and 'id="count-absent">4<' in html and "缺席：未到" in html

    data = {
        "csrf_token": token,
        "topic": "测试更正主题",
        "place": "测试会议室",
        "minutes": "测试纪要内容",
        "status": HELD,
    }
    client.post(f"{page(meeting_id)}/correct", data=data)
    fixed = meeting(services, meeting_id)
    assert (fixed.topic, fixed.minutes) == ("测试更正主题", "测试纪要内容")
    [entry] = audits(services, "meeting.correct")
    assert entry.details["fields"] == ["minutes", "topic"] and entry.details["changes"]["minutes"] == {"chars": 6}
    client.post(f"{page(meeting_id)}/correct", data={**data, "status": CANCELLED, "starts_at": "2026-12-21T09:00"})
    assert meeting(services, meeting_id).status == CANCELLED
    assert audits(services, "meeting.correct")[-1].details["fields"] == ["starts_at", "status"]


def test_minutes_make_a_meeting_held(services):
    ids = branch(services)
    meeting_id = plan(services, ids["orgs"]["a1"])
    with services.sessions() as db:
        found = db.get(meetings.Meeting, meeting_id)
        assert found is not None and found.status == PLANNED
        assert meetings.correct(db, found, {"minutes": "测试纪要"}, None, "test") == ["minutes"]
        assert found.status == HELD


def test_photos_in_the_console(client, services):
    ids = branch(services)
    meeting_id = plan(services, ids["orgs"]["a1"])
    secretary(services, "shuji", "T111")
    login(client, "shuji")
    token = csrf_token(client, page(meeting_id))
    bad = client.post(
        f"{page(meeting_id)}/photos",
        data={"csrf_token": token, "photo": (io.BytesIO(b"<svg></svg>"), "x.png")},
        content_type="multipart/form-data",
    )
    assert "只接受" in client.get(bad.headers["Location"]).get_data(as_text=True)
    client.post(
        f"{page(meeting_id)}/photos",
        data={"csrf_token": token, "photo": (io.BytesIO(PNG), "a.png")},
        content_type="multipart/form-data",
    )
    with services.sessions() as db:
        [photo] = db.scalars(select(MeetingMedia)).all()
        photo_id = photo.id
    shown = client.get(f"{page(meeting_id)}/photos/{photo_id}")
    assert shown.data == PNG and shown.content_type == "image/png"
    assert audits(services, "meeting.media")[0].details["via"] == "console"


def test_photos_from_the_secretarys_phone(wxo, services, emu, wait_for):
    ids = branch(services)
    boss = emu.create_user(subscribed=True)["openid"]
    secretary(services, "shuji", "T111", boss)
    assert "没有可上传材料的会议" in wxo.text(boss, "上传会议材料").text
    meeting_id = plan(services, ids["orgs"]["a1"], hours=-2)  # held two hours ago
    plan(services, ids["orgs"]["a1"], hours=-24 * 30)  # a month ago: the window has closed
    assert "请发送" in wxo.text(boss, "上传会议材料").text
    image = emu.add_media("image", PNG, "image/png")
    sent = wxo.post(wxo.build(boss, "image", MediaId=image, PicUrl="http://example.invalid/p.jpg")).text
    assert "第 1 张" in sent
    assert "1 张照片" in wxo.text(boss, "完成").text

    def copied() -> bool:
        with services.sessions() as db:
            return any(r.fetched_at and r.data == PNG for r in db.scalars(select(MeetingMedia)))

    wait_for(copied)
    with services.sessions() as db:
        [row] = db.scalars(select(MeetingMedia)).all()
        assert (row.meeting_id, row.added_by, row.content_type) == (meeting_id, "wechat:shuji", "image/png")


def test_the_retry_job_copies_what_was_left(live, services, emu):
    ids = branch(services)
    meeting_id = plan(services, ids["orgs"]["a1"], hours=-2)
    image = emu.add_media("image", PNG, "image/png")
    with services.sessions() as db:
        db.add(MeetingMedia(meeting_id=meeting_id, media_id=image, added_by="wechat:test"))
        db.add(MeetingMedia(meeting_id=meeting_id, media_id="unknown-id", added_by="wechat:test"))
        db.commit()
    assert media.retry_pending(services) == 1
    with services.sessions() as db:
        got = {r.media_id: (r.fetched_at is not None, r.error) for r in db.scalars(select(MeetingMedia))}
    assert got[image] == (True, None) and got["unknown-id"][0] is False
    assert media.retry_pending(services) == 0


def test_editors_see_masked_names_and_each_view_is_audited(editor, services):
    ids = branch(services)
    meeting_id = plan(services, ids["orgs"]["a1"], "zhiwei_hui")
    html = editor.get(page(meeting_id)).get_data(as_text=True)
    assert "测试书记" not in html and "测**记" in html
    [entry] = audits(services, "meeting.view")
    assert entry.target == str(meeting_id) and set(entry.details["members"]) == {ids["shuji"], ids["zuzhi"]}
    assert "测试书记" not in str(entry.details)
