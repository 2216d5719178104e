"""Meeting notices: each expected attendee bound in WeChat is told, through whichever channel can reach them.

Inside the 48-hour window: a customer-service message (custom). Outside it: a template message when
`orglife.notice_template` is configured (template), else the notice waits in Redis and goes out at their next message
(waiting; Feature.window_observers). No confirmed binding: unreached. Recorded on Attendance.notice. Sent in the
background after the plan is committed, so neither a console page nor a chat turn waits for WeChat.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.core.clock import utcnow
from bot.core.logs import mask
from bot.core.members import CONFIRMED as BOUND, Membership
from bot.core.organisations import Organisation
from handlers.orglife.models import EXPECTED, Attendance, Meeting

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
CUSTOM, TEMPLATE, WAITING, UNREACHED = "custom", "template", "waiting", "unreached"
NOTICE_NAMES = {CUSTOM: "客服消息", TEMPLATE: "模板消息", WAITING: "待下次互动送达", UNREACHED: "未送达（未认证）"}
QUEUE = "orglife:notice:{}"  # ordered-pool key of one person's meeting messages
WAITING_KEY = "orglife:waiting:{}"  # Redis list: notices waiting for the person's next message
WAITING_TTL = 14 * 86400
WAITING_MAX = 20
RESENT = "【补发】"
COMMIT_EVERY = 50  # notices recorded per commit


def text_of(meeting: Meeting, org_name: str, kind_name: str, when: str) -> str:
    return (
        f"【会议通知】{org_name}\n{kind_name}：{meeting.topic}\n时间：{when}\n地点：{meeting.place}\n"
        "请回复「确认参加」，或「请假 原因」（如：请假 出差在外）。"
    )


def template_id(services: Services) -> str:
    return str((services.settings.section("orglife") or {}).get("notice_template") or "")


def deliver(services: Services, openid: str, text: str, data: dict[str, dict[str, str]]) -> str:
    """One notice to `openid`: the channel it went by (custom, template or waiting)."""
    if services.followers.in_window(openid, utcnow()) and services.outbox.send_text(openid, text).ok:
        return CUSTOM
    template = template_id(services)
    if template and services.outbox.send_template(openid, template, data).ok:
        return TEMPLATE
    key = WAITING_KEY.format(openid)
    pipe = services.redis.pipeline()
    pipe.rpush(key, text)
    pipe.ltrim(key, -WAITING_MAX, -1)
    pipe.expire(key, WAITING_TTL)
    pipe.execute()
    log.info("meeting notice to %s waits for their next message", mask(openid))
    return WAITING


def send_all(services: Services, meeting_id: int, kind_name: str, when: str) -> dict[str, int]:
    """Notify every expected attendee not noticed yet; the number per channel."""
    tally: dict[str, int] = {}
    with services.sessions() as db:
        meeting = db.get(Meeting, meeting_id)
        if meeting is None:
            return tally
        org = db.get(Organisation, meeting.organisation_id)
        text = text_of(meeting, org.name if org else "", kind_name, when)
        data = {
            "first": {"value": f"{org.name if org else ''}{kind_name}通知"},
            "keyword1": {"value": meeting.topic},
            "keyword2": {"value": when},
            "keyword3": {"value": meeting.place},
            "remark": {"value": "请回复「确认参加」，或「请假 原因」。"},
        }
        rows = db.scalars(
            select(Attendance).where(
                Attendance.meeting_id == meeting_id, Attendance.role == EXPECTED, Attendance.notice.is_(None)
            )
        ).all()
        ids = [r.member_id for r in rows if r.member_id is not None]
        bound = select(Membership.member_id, Membership.openid).where(
            Membership.member_id.in_(ids), Membership.status == BOUND
        )
        openids = {member_id: openid for member_id, openid in db.execute(bound)}
        for i, row in enumerate(rows, 1):
            openid = openids.get(row.member_id)
            row.notice = deliver(services, openid, text, data) if openid else UNREACHED
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


def on_message(services: Services, openid: str) -> None:
    """The person wrote (their window is open): notices that waited go out, oldest first."""
    if services.redis.exists(WAITING_KEY.format(openid)):
        services.ordered.submit(QUEUE.format(openid), _safe_flush, services, openid)


def _safe_flush(services: Services, openid: str) -> None:
    try:
        pipe = services.redis.pipeline()
        pipe.lrange(WAITING_KEY.format(openid), 0, -1)
        pipe.delete(WAITING_KEY.format(openid))
        waiting, _ = pipe.execute()
        for raw in waiting:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            services.outbox.send_text(openid, RESENT + text)
    except Exception:  # noqa: BLE001 - background: log it; the meeting page shows the notice state
        log.exception("waiting meeting notices not sent")
