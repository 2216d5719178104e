"""Meeting notices: each expected attendee bound in WeChat is told, through whichever channel can reach them.

Inside the 48-hour window: a customer-service message (custom). Outside it: a template message when
`orglife.notice_template` is configured (template), else the notice is kept (bot.outbound.pending) and goes out at
their next message (waiting, then later once it went). No confirmed binding: unreached. Recorded on
Attendance.notice. Sent in the background after the plan is committed, so neither a console page nor a chat turn
waits for WeChat. A corrected meeting time goes to the attendees already noticed as a 时间变更 notice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot.core.clock import utcnow
from bot.core.members import CONFIRMED as BOUND, Membership
from bot.core.organisations import Organisation
from bot.outbound import pending
from handlers.orglife.models import EXPECTED, Attendance, Meeting

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
CUSTOM, TEMPLATE, WAITING, LATER, UNREACHED = "custom", "template", "waiting", "later", "unreached"
NOTICE_NAMES = {
    CUSTOM: "客服消息",
    TEMPLATE: "模板消息",
    WAITING: "待下次互动送达",
    LATER: "已送达（下次互动时）",
    UNREACHED: "未送达（未认证）",
}
SOURCE = "meeting"  # pending texts' source
DELIVERED = "handlers.orglife.notices:delivered"  # the pending texts' hook: the notice went at the next message
COMMIT_EVERY = 50  # notices recorded per commit


def text_of(meeting: Meeting, org_name: str, kind_name: str, when: str) -> str:
    return (
        f"【会议通知】{org_name}\n{kind_name}：{meeting.topic}\n时间：{when}\n地点：{meeting.place}\n"
        "请回复「确认参加」，或「请假 原因」（如：请假 出差在外）。"
    )


def template_id(services: Services) -> str:
    return str((services.settings.section("orglife") or {}).get("notice_template") or "")


def deliver(services: Services, openid: str, text: str, data: dict[str, dict[str, str]], row_id: int = 0) -> str:
    """One notice to `openid`: the channel it went by (custom, template or waiting: kept for their next message,
    attendance row `row_id` then reads LATER)."""
    if services.followers.in_window(openid, utcnow()) and services.outbox.send_text(openid, text).ok:
        return CUSTOM
    template = template_id(services)
    if template and services.outbox.send_template(openid, template, data).ok:
        return TEMPLATE
    pending.keep(services, openid, text, SOURCE, ref=str(row_id) if row_id else "", then=DELIVERED if row_id else None)
    return WAITING


def delivered(services: Services, ref: str) -> None:
    """A kept notice went out at the person's next message: its attendance row reads LATER (not waiting)."""
    if not ref.isdigit():
        return
    with services.sessions() as db:
        db.execute(
            update(Attendance).where(Attendance.id == int(ref), Attendance.notice == WAITING).values(notice=LATER)
        )
        db.commit()


def template_data(org_name: str, kind_name: str, meeting: Meeting, when: str, head: str = "通知") -> dict[str, Any]:
    return {
        "first": {"value": f"{org_name}{kind_name}{head}"},
        "keyword1": {"value": meeting.topic},
        "keyword2": {"value": when},
        "keyword3": {"value": meeting.place},
        "remark": {"value": "请回复「确认参加」，或「请假 原因」。"},
    }


def bound_openids(db: Any, rows: list[Attendance]) -> dict[int, str]:
    """Roster member id → the openid of their confirmed binding."""
    ids = [r.member_id for r in rows if r.member_id is not None]
    bound = select(Membership.member_id, Membership.openid).where(
        Membership.member_id.in_(ids), Membership.status == BOUND
    )
    return {member_id: openid for member_id, openid in db.execute(bound)}


def send_all(services: Services, meeting_id: int, kind_name: str, when: str) -> dict[str, int]:
    """Notify every expected attendee not noticed yet; the number per channel."""
    tally: dict[str, int] = {}
    with services.sessions() as db:
        meeting = db.get(Meeting, meeting_id)
        if meeting is None:
            return tally
        org = db.get(Organisation, meeting.organisation_id)
        text = text_of(meeting, org.name if org else "", kind_name, when)
        data = template_data(org.name if org else "", kind_name, meeting, when)
        rows = db.scalars(
            select(Attendance).where(
                Attendance.meeting_id == meeting_id, Attendance.role == EXPECTED, Attendance.notice.is_(None)
            )
        ).all()
        openids = bound_openids(db, list(rows))
        for i, row in enumerate(rows, 1):
            openid = openids.get(row.member_id)  # type: ignore[arg-type]
            row.notice = deliver(services, openid, text, data, row.id) if openid else UNREACHED
            tally[row.notice] = tally.get(row.notice, 0) + 1
            if i % COMMIT_EVERY == 0:
                db.commit()  # progress kept: a crash re-sends at most this many (rows with notice set are skipped)
        db.commit()
    return tally


def send_later(services: Services, meeting_id: int, kind_name: str, when: str) -> None:
    """Notices in the background (after the caller committed the meeting)."""
    services.pool.submit(_safe_send, services, meeting_id, kind_name, when)


def _safe_send(services: Services, meeting_id: int, kind_name: str, when: str) -> None:
    try:
        send_all(services, meeting_id, kind_name, when)
    except Exception:  # noqa: BLE001 - background: log it; the meeting page shows who was not noticed
        log.exception("notices of meeting %s not all sent", meeting_id)


def send_change(services: Services, meeting_id: int, kind_name: str, when: str) -> int:
    """The meeting's time was corrected: a 时间变更 notice to each expected attendee already noticed (and bound);
    how many were addressed."""
    addressed = 0
    with services.sessions() as db:
        meeting = db.get(Meeting, meeting_id)
        if meeting is None:
            return 0
        org = db.get(Organisation, meeting.organisation_id)
        name = org.name if org else ""
        text = text_of(meeting, name, kind_name, when).replace("【会议通知】", "【时间变更】", 1)
        data = template_data(name, kind_name, meeting, when, "时间变更")
        rows = db.scalars(
            select(Attendance).where(
                Attendance.meeting_id == meeting_id,
                Attendance.role == EXPECTED,
                Attendance.notice.is_not(None),
                Attendance.notice != UNREACHED,
            )
        ).all()
        for openid in bound_openids(db, list(rows)).values():
            deliver(services, openid, text, data)
            addressed += 1
    return addressed


def send_change_later(services: Services, meeting_id: int, kind_name: str, when: str) -> None:
    """时间变更 notices in the background (after the caller committed the correction)."""
    services.pool.submit(_safe_change, services, meeting_id, kind_name, when)


def _safe_change(services: Services, meeting_id: int, kind_name: str, when: str) -> None:
    try:
        send_change(services, meeting_id, kind_name, when)
    except Exception:  # noqa: BLE001 - background: log it; the meeting page shows the new time
        log.exception("时间变更 notices of meeting %s not all sent", meeting_id)
