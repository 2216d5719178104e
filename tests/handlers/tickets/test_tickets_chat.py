"""我要反映 through the emulator: the whole dialog with media, cancel, 上一步 and 修改, a timed-out dialog resumed
from its draft, the bad phone message, retries making one ticket, the database down, 我的诉求 and ratings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import undefer

from bot.core.members import Membership
from handlers.tickets import flow
from handlers.tickets.chat import DRAFT_KEY
from handlers.tickets.media import retry_pending
from handlers.tickets.models import Ticket, TicketCounter, TicketMedia, TicketNotice
from handlers.tickets.rules import Submission, TicketConfig, submit
from tests.factories import AMR, PNG
from tests.helpers import poll

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in China
NUMBER = re.compile(r"[A-Z]{2}\d{10}")
ANSWERS = ["我要反映", "3", "公司拖欠两个月工资", "某某电子厂", "跳过", "否"]  # up to the summary


def fill(wx: Any, user: str, answers: list[str] = ANSWERS) -> str:
    """Send the answers in turn; the last reply's text."""
    return [wx.text(user, a).text for a in answers][-1]


def tickets(services: Any, openid: str | None = None) -> list[Ticket]:
    with services.sessions() as db:
        query = select(Ticket).order_by(Ticket.id)
        return list(db.scalars(query.where(Ticket.openid == openid) if openid else query))


def number_in(text: str) -> str:
    found = NUMBER.search(text)
    assert found, text
    return found.group()


def step(services: Any, ticket_id: int, action: Any, *args: Any, now: datetime = NOW) -> None:
    with services.sessions() as db:
        s = flow.Step.by(db, TicketConfig.of(services.settings), "staff", now)
        action(s, db.get(Ticket, ticket_id), *args)
        db.commit()


def other_ticket(services: Any, openid: str = "o_someone_else", key: str = "other", now: datetime = NOW) -> Ticket:
    sub = Submission(key=key, openid=openid, category="住房保障", description="公租房漏水", place="某某小区")
    with services.sessions() as db:
        return submit(db, TicketConfig.of(services.settings), sub, now)[0]


def test_a_whole_submission_with_voice_and_image(wx, user, services):
    with services.sessions() as db:
        db.add(Membership(openid=user, organisation="org1", district="东片区"))
        db.commit()
    first = wx.click(user, "TICKET_NEW").text
    assert "第1步/共5步" in first and "3. 劳动权益" in first
    assert "请描述" in wx.text(user, "劳动权益").text  # the name works as well as the number
    voice = wx.post(wx.build(user, "voice", MediaId="voice-1", Format="amr", Recognition="老板不发工资")).text
    assert "已收到语音" in voice and "共1个附件" in voice
    assert "共2个附件" in wx.post(wx.build(user, "image", MediaId="img-1", PicUrl="http://example.invalid/a.jpg")).text
    assert "企业名称或地点" in wx.text(user, "公司拖欠两个月工资").text
    assert "联系电话" in wx.text(user, "某某电子厂").text
    bad = wx.text(user, "1381234").text
    assert "不是有效的手机号码" in bad and "跳过" in bad
    assert "匿名" in wx.text(user, "138 1234 5678").text
    summary = wx.text(user, "是").text
    for part in (
        "劳动权益",
        "公司拖欠两个月工资（附件2个）",
        "某某电子厂",
        "138****5678",
        "对用人单位匿名：是",
        "「确认」",
    ):
        assert part in summary
    done = wx.text(user, "确认").text
    assert "提交成功" in done and "2小时内受理" in done
    [ticket] = tickets(services, user)
    assert number_in(done) == ticket.number
    assert (ticket.category, ticket.description, ticket.place, ticket.phone, ticket.anonymous, ticket.district) == (
        "劳动权益",
        "公司拖欠两个月工资",
        "某某电子厂",
        "13812345678",
        True,
        None,  # an unconfirmed, self-declared binding carries nothing (test_ticket_organisation.py: confirmed ones)
    )
    assert ticket.media == [
        {"type": "voice", "media_id": "voice-1", "text": "老板不发工资"},
        {"type": "image", "media_id": "img-1", "url": "http://example.invalid/a.jpg"},
    ]
    assert services.dialogs.get(user).state is None


def test_a_voice_message_alone_can_describe_the_problem(wx, user, services):
    fill(wx, user, ["我要反映", "1"])
    wx.post(wx.build(user, "voice", MediaId="v1", Format="amr", Recognition="办证跑了三趟"))
    assert "企业名称或地点" in wx.text(user, "下一步").text
    video = wx.post(wx.build(user, "video", MediaId="vid", ThumbMediaId="t")).text
    assert "只能接收文字、图片和语音" in video and "企业名称或地点" in video
    where = wx.build(user, "location", Location_X="28.2", Location_Y="113.1", Scale="15", Label="经开区政务服务中心")
    assert "联系电话" in wx.post(where).text  # a shared location answers the place step
    fill(wx, user, ["跳过", "否", "确认"])
    [ticket] = tickets(services, user)
    assert (ticket.description, ticket.place, ticket.phone, ticket.district) == (
        "办证跑了三趟",
        "经开区政务服务中心",
        None,
        None,
    )


def media_rows(services: Any, ticket_id: int) -> list[TicketMedia]:
    with services.sessions() as db:
        rows = db.scalars(
            select(TicketMedia)
            .options(undefer(TicketMedia.data))
            .where(TicketMedia.ticket_id == ticket_id)
            .order_by(TicketMedia.id)
        ).all()
        return list(rows)


def submit_with(wx: Any, services: Any, user: str, *media: tuple[str, str]) -> Ticket:
    """Go through the dialog sending these (kind, media id) messages as the description; the ticket made."""
    fill(wx, user, ["我要反映", "3"])
    for kind, media_id in media:
        extra = {"PicUrl": "http://example.invalid/p.jpg"} if kind == "image" else {"Format": "amr"}
        assert "已收到" in wx.post(wx.build(user, kind, MediaId=media_id, **extra)).text
    fill(wx, user, ["老板拖欠工资，见图", "某某电子厂", "跳过", "否"])
    assert "提交成功" in wx.text(user, "确认").text
    [ticket] = tickets(services, user)
    return ticket


def test_submitted_images_and_voice_are_copied_before_wechat_forgets_them(wx, user, services, emu):
    image, voice = emu.add_media("image", PNG, "image/png"), emu.add_media("voice", AMR, "audio/amr")
    ticket = submit_with(wx, services, user, ("image", image), ("voice", voice))
    rows = poll(lambda: (r := media_rows(services, ticket.id)) and all(x.fetched_at for x in r) and r, timeout=10)
    assert [(r.media_id, r.kind, r.content_type, r.data, r.size, r.error, r.attempts) for r in rows] == [
        (image, "image", "image/png", PNG, len(PNG), None, 1),
        (voice, "voice", "audio/amr", AMR, len(AMR), None, 1),
    ]
    emu.expire_media(image)  # three days later WeChat has forgotten it; the copy stays
    assert retry_pending(services) == 0 and media_rows(services, ticket.id)[0].data == PNG


def test_an_expired_media_id_is_recorded_and_not_retried(wx, user, services, emu):
    gone = emu.add_media("image", PNG, "image/png")
    emu.expire_media(gone)  # e.g. sent into a draft more than 3 days before 确认
    ticket = submit_with(wx, services, user, ("image", gone), ("voice", "never-existed"))
    rows = poll(lambda: (r := media_rows(services, ticket.id)) and all(x.attempts for x in r) and r, timeout=10)
    assert [(r.error, r.fetched_at, r.data, r.attempts) for r in rows] == [("expired", None, None, 1)] * 2
    assert retry_pending(services) == 0
    assert [r.attempts for r in media_rows(services, ticket.id)] == [1, 1]  # WeChat's answer is final


def test_the_retry_job_fetches_what_failed_the_first_time(wx, user, services, emu):
    image = emu.add_media("image", PNG, "image/png")
    emu.inject("media/get", -1)  # WeChat is busy for the first try
    ticket = submit_with(wx, services, user, ("image", image))
    [row] = poll(lambda: (r := media_rows(services, ticket.id)) and r[0].attempts and r, timeout=10)
    assert (row.error, row.fetched_at, row.data) == ("errcode -1", None, None)
    assert retry_pending(services) == 1  # the scheduler's job
    [row] = media_rows(services, ticket.id)
    assert (row.error, row.data, row.attempts) == (None, PNG, 2) and row.fetched_at is not None


def test_cancel_discards_the_draft(wx, user, services):
    fill(wx, user, ANSWERS[:3])
    assert "已取消" in wx.text(user, "取消").text
    assert services.dialogs.get(user).state is None and not services.redis.exists(DRAFT_KEY.format(user))
    assert "第1步" in wx.text(user, "我要反映").text  # no draft offered
    assert tickets(services) == []


def test_back_and_change_an_item(wx, user):
    assert "已经是第一步" in fill(wx, user, ["我要反映", "上一步"])
    fill(wx, user, ["2", "招工信息不实"])
    back = wx.text(user, "上一步").text
    assert "当前描述：招工信息不实" in back
    assert "企业名称或地点" in wx.text(user, "下一步").text  # keeps the description
    assert "请描述" in wx.text(user, "上一步").text
    assert "企业名称或地点" in wx.text(user, "中介发布的招聘信息与实际不符").text
    summary = fill(wx, user, ["某人力公司", "跳过", "否"])
    assert "中介发布的招聘信息与实际不符" in summary
    assert "是否需要对用人单位匿名" in wx.text(user, "上一步").text
    assert "请核对" in wx.text(user, "否").text
    assert "请回复要修改项目的序号" in wx.text(user, "修改").text
    assert "企业名称或地点" in wx.text(user, "3").text
    changed = wx.text(user, "某某人力资源公司").text  # back to the summary, not on to the phone
    assert "请核对" in changed and "3. 企业或地点：某某人力资源公司" in changed


def test_a_timed_out_dialog_is_kept_as_a_draft_to_resume(wx, user, services):
    fill(wx, user, ANSWERS[:4])
    key = DRAFT_KEY.format(user)
    days = services.settings.section("tickets")["draft_days"]
    assert days * 86400 - 60 < services.redis.ttl(key) <= days * 86400
    services.redis.delete(f"dlg:{user}")  # the dialog's TTL ran out
    offer = wx.text(user, "我要反映").text
    assert "未提交的诉求草稿" in offer and "劳动权益" in offer and "「继续」" in offer and "「重新填写」" in offer
    assert "联系电话" in wx.text(user, "继续").text  # at the saved step
    assert "请核对" in fill(wx, user, ["13900001111", "否"])
    services.redis.delete(f"dlg:{user}")
    wx.text(user, "我要反映")
    assert "请核对" in wx.text(user, "继续").text
    assert "提交成功" in wx.text(user, "确认").text
    [ticket] = tickets(services, user)
    assert (ticket.place, ticket.phone) == ("某某电子厂", "13900001111")


def test_starting_over_instead_of_resuming(wx, user, services):
    fill(wx, user, ANSWERS[:3])
    old = services.redis.get(DRAFT_KEY.format(user))
    services.redis.delete(f"dlg:{user}")
    wx.text(user, "我要反映")
    assert "第1步" in wx.text(user, "重新填写").text
    assert services.redis.get(DRAFT_KEY.format(user)) != old
    assert "请核对" in fill(wx, user, ANSWERS[1:])


def test_retried_and_repeated_confirmations_make_one_ticket(wx, user, services):
    fill(wx, user)
    fields = wx.build(user, "text", Content="确认")
    replies = [wx.post(fields).text for _ in range(3)]  # WeChat's retries of one message
    assert len(set(replies)) == 1 and "提交成功" in replies[0]
    again = wx.text(user, "确认").text  # the user sends 确认 once more
    assert "无需重复提交" in again and number_in(again) == number_in(replies[0])
    assert len(tickets(services)) == 1


def test_database_unreachable_keeps_the_draft(wx, user, services, tmp_path):
    fill(wx, user)
    services.sessions.configure(bind=create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite"))
    try:
        reply = wx.text(user, "确认").text
    finally:
        services.sessions.configure(bind=services.engine)
    assert "暂未提交成功" in reply and "「确认」" in reply
    assert services.dialogs.get(user).state == "ticket:confirm" and tickets(services) == []
    assert "提交成功" in wx.text(user, "确认").text
    assert len(tickets(services)) == 1


def test_a_write_failing_midway_leaves_nothing_behind(wx, user, services):
    def fail(conn, cursor, statement, params, context, executemany):
        if statement.startswith("INSERT INTO ticket_events"):
            raise OperationalError(statement, params, Exception("disk I/O error"))

    fill(wx, user)
    event.listen(services.engine, "before_cursor_execute", fail)
    try:
        assert "暂未提交成功" in wx.text(user, "确认").text
    finally:
        event.remove(services.engine, "before_cursor_execute", fail)
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0
        assert db.scalar(select(func.count()).select_from(TicketCounter)) == 0
    assert number_in(wx.text(user, "确认").text).endswith("0001")


def test_my_tickets_shows_only_mine(wx, user, services):
    theirs = other_ticket(services)
    assert "还没有提交过诉求" in wx.click(user, "TICKET_MINE").text
    fill(wx, user)
    mine = number_in(wx.text(user, "确认").text)
    listing = wx.text(user, "我的诉求").text
    assert mine in listing and "劳动权益" in listing and "待受理" in listing and theirs.number not in listing
    shown = wx.text(user, f"诉求 {mine.lower()}").text
    assert f"【诉求 {mine}】" in shown and "提交" in shown
    not_mine = wx.text(user, f"诉求 {theirs.number}").text
    made_up = wx.text(user, "诉求 JK0000000001").text
    assert not_mine.replace(theirs.number, "#") == made_up.replace("JK0000000001", "#")
    assert "公租房" not in not_mine


def test_a_timeline_shows_public_events_in_china_time_and_the_result(wx, user, services):
    ticket = other_ticket(services, openid=user)
    step(services, ticket.id, flow.assign, "renshe", None)
    step(services, ticket.id, flow.return_, "不属于本部门职责", now=NOW + timedelta(hours=1))
    step(services, ticket.id, flow.assign, "jianshe", None, now=NOW + timedelta(hours=2))
    step(services, ticket.id, flow.resolve, "已维修屋顶", now=NOW + timedelta(days=1))
    text = wx.text(user, ticket.number).text
    assert "11-21 10:00 提交" in text and "11-21 10:00 交办（人力资源和社会保障局）" in text
    assert "11-21 12:00 交办（建设管理局）" in text and "11-22 10:00 办结" in text
    assert "退回" not in text and "不属于本部门职责" not in text
    assert "办理结果：已维修屋顶" in text and "「满意」" in text


def resolved(services: Any, openid: str, key: str) -> Ticket:
    ticket = other_ticket(services, openid=openid, key=key, now=datetime.now(UTC))
    step(services, ticket.id, flow.assign, "jianshe", None, now=datetime.now(UTC))
    step(services, ticket.id, flow.resolve, "已处理", now=datetime.now(UTC))
    return ticket


def test_ratings_close_or_reopen(wx, user, services, emu):
    services.followers.subscribe(user)
    services.followers.touch(user)
    emu.open_window(user)
    good = resolved(services, user, "a")
    assert "感谢您的评价" in wx.text(user, "满意").text
    bad = resolved(services, user, "b")
    reply = wx.text(user, "不满意 仍未解决").text
    assert "重新交办" in reply and bad.number in reply
    with services.sessions() as db:
        assert (db.get(Ticket, good.id).status, db.get(Ticket, good.id).rating) == ("closed", "satisfied")
        again = db.get(Ticket, bad.id)
        assert (again.status, again.rating, again.rating_comment, again.reopened) == (
            "assigned",
            "unsatisfied",
            "仍未解决",
            1,
        )
    notice = poll(lambda: [n for n in emu.received(user) if "已重新交办" in str(n["body"])])
    assert bad.number in str(notice[0]["body"])
    shown = wx.text(user, bad.number).text
    assert "状态：重办中（已交办）" in shown and "重办" in shown and "上次办理结果：已处理" in shown
    assert "重办中" in wx.text(user, "我的诉求").text

    def channel() -> str | None:
        with services.sessions() as db:
            return db.scalar(
                select(TicketNotice.channel).where(
                    TicketNotice.ticket_id == bad.id, TicketNotice.text.contains("已重新交办")
                )
            )

    assert poll(channel) == "custom"


def test_rating_words_fall_through_when_nothing_awaits_a_rating(wx, user):
    text = wx.text(user, "满意").text
    assert "感谢您的评价" not in text and "系统繁忙" not in text


def test_rating_by_number(wx, user, services):
    ticket = resolved(services, user, "c")
    assert "办结后才能评价" in wx.text(user, f"评价 {other_ticket(services, user, 'd').number} 满意").text
    assert "没有找到" in wx.text(user, "评价 JK0000000001 满意").text
    assert "感谢您的评价" in wx.text(user, f"评价 {ticket.number} 基本满意").text
    with services.sessions() as db:
        assert db.get(Ticket, ticket.id).rating == "fair"


def test_help_mentions_the_ticket_commands(wx, user):
    text = wx.text(user, "帮助").text
    assert "我要反映" in text and "我的诉求" in text
