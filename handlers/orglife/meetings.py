"""Organisation life's meetings: who is expected, planning, replies, the record (应到/实到/请假/缺席) and corrections.

Flask-free: the console (handlers/orglife/console.py) and chat (handlers/orglife/chat.py) call these. A meeting becomes
HELD as soon as minutes are saved or attendance is recorded (by hand here, or by a check-in scan), unless cancelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.accounts import Account, AuditEntry
from bot.core.clock import TZ, aware, china, utcnow
from bot.core.members import CONFIRMED as BOUND, Membership
from bot.core.organisations import Organisation, RosterMember
from handlers.orglife.config import MeetingKind, OrgLifeConfig
from handlers.orglife.models import CANCELLED, CONFIRMED, EXPECTED, HELD, LEAVE, MANUAL, PLANNED, Attendance, Meeting

COMMITTEE_POSTS = ("书记", "副书记", "组织委员", "宣传委员", "纪检委员", "青年委员")  # the committee (支委)
GROUP_KIND = "党小组"
STATUS_NAMES = {PLANNED: "已安排", HELD: "已召开", CANCELLED: "已取消"}
CORRECTABLE = ("topic", "starts_at", "place", "minutes", "status")
UPCOMING_GRACE = timedelta(hours=3)  # a meeting still counts as upcoming this long after its start


class PlanError(ValueError):
    """A plan that cannot be made; the message is user-facing Chinese."""


def kinds_for(cfg: OrgLifeConfig, org: Organisation, db: Session) -> list[MeetingKind]:
    """The configured kinds an organisation may plan (党小组会 only where it has 党小组 under it)."""
    has_groups = bool(groups_of(db, org))
    return [k for k in cfg.kinds if org.kind in k.applies_to and (has_groups or not k.requires_groups)]


def groups_of(db: Session, org: Organisation) -> list[Organisation]:
    """The live 党小组 under `org`."""
    return list(
        db.scalars(
            select(Organisation)
            .where(
                Organisation.path.startswith(org.path, autoescape=True),
                Organisation.kind == GROUP_KIND,
                Organisation.dissolved_at.is_(None),
                Organisation.id != org.id,
            )
            .order_by(Organisation.code)
        )
    )


def active_members(db: Session, org_ids: list[int]) -> list[RosterMember]:
    return list(
        db.scalars(
            select(RosterMember)
            .where(RosterMember.organisation_id.in_(org_ids), RosterMember.left_at.is_(None))
            .order_by(RosterMember.id)
        )
    )


def default_attendees(db: Session, org: Organisation, kind: MeetingKind, group: Organisation | None) -> list[int]:
    """Who the kind names: all = the organisation's members and its 党小组's; committee = members holding a post;
    group = the chosen 党小组's members. Roster member ids."""
    if kind.attendees == "group":
        return [m.id for m in active_members(db, [group.id])] if group else []
    if kind.attendees == "committee":
        return [m.id for m in active_members(db, [org.id]) if m.post in COMMITTEE_POSTS]
    return [m.id for m in active_members(db, [org.id, *(g.id for g in groups_of(db, org))])]


def audit(
    db: Session, action: str, actor: Account | None, meeting_id: int, actor_name: str = "", **details: Any
) -> None:
    """One audit row (target: the meeting id; never a name or phone); the caller commits."""
    db.add(
        AuditEntry(
            action=action,
            actor_id=actor.id if actor else None,
            actor=actor_name or (actor.username if actor else "-"),
            target=str(meeting_id),
            details=details,
        )
    )


@dataclass(frozen=True)
class Plan:
    """What a secretary entered: organisation, kind, topic, time, place, the 党小组 (for a group meeting)."""

    org: Organisation
    kind: MeetingKind
    topic: str
    starts_at: datetime
    place: str
    group: Organisation | None = None


def check_plan(db: Session, cfg: OrgLifeConfig, plan: Plan) -> None:
    if plan.kind not in kinds_for(cfg, plan.org, db):
        raise PlanError(f"{plan.org.name}不安排「{plan.kind.name}」。")
    if plan.kind.attendees == "group" and (plan.group is None or plan.group not in groups_of(db, plan.org)):
        raise PlanError("请选择本组织下的一个党小组。")
    if not plan.topic.strip() or not plan.place.strip():
        raise PlanError("请填写会议主题和地点。")


def create(
    db: Session,
    cfg: OrgLifeConfig,
    plan: Plan,
    by: str,
    attendees: list[int] | None = None,
    actor: Account | None = None,
) -> Meeting:
    """Plan a meeting with its expected attendees (default: who the kind names); audited meeting.plan; committed."""
    check_plan(db, cfg, plan)
    meeting = Meeting(
        organisation_id=plan.org.id,
        kind=plan.kind.key,
        topic=plan.topic.strip()[:200],
        starts_at=plan.starts_at,
        place=plan.place.strip()[:200],
        status=PLANNED,
        group_id=plan.group.id if plan.group else None,
        planned_by=by[:64],
    )
    db.add(meeting)
    db.flush()
    ids = attendees if attendees is not None else default_attendees(db, plan.org, plan.kind, plan.group)
    for member_id in dict.fromkeys(ids):
        db.add(Attendance(meeting_id=meeting.id, member_id=member_id, role=EXPECTED))
    audit(db, "meeting.plan", actor, meeting.id, by if actor is None else "", kind=plan.kind.key, expected=len(ids))
    db.commit()
    return meeting


def add_attendee(db: Session, meeting: Meeting, member: RosterMember) -> bool:
    """Add one expected attendee (False when already listed); the caller commits."""
    if db.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.member_id == member.id)):
        return False
    db.add(Attendance(meeting_id=meeting.id, member_id=member.id, role=EXPECTED))
    return True


def remove_attendee(db: Session, meeting: Meeting, member_id: int) -> bool:
    row = db.scalar(select(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.member_id == member_id))
    if row is None or row.attended_at is not None:
        return False
    db.delete(row)
    return True


# Replies from members ------------------------------------------------------------------------------------------
def member_of(db: Session, openid: str) -> int | None:
    """The roster member a WeChat user is confirmed as."""
    row = db.get(Membership, openid)
    return row.member_id if row is not None and row.status == BOUND else None


def upcoming_for(db: Session, member_id: int, now: datetime | None = None) -> list[tuple[Meeting, Attendance]]:
    """Planned meetings the member is expected at, nearest first."""
    since = (now or utcnow()) - UPCOMING_GRACE
    rows = db.execute(
        select(Meeting, Attendance)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .where(Attendance.member_id == member_id, Meeting.status == PLANNED, Meeting.starts_at >= since)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [(m, a) for m, a in rows]


def answer(row: Attendance, reply: str, reason: str = "") -> None:
    """Record 确认参加 or 请假 (with its reason) on the attendee's row; the caller commits."""
    row.reply = reply
    row.leave_reason = reason.strip()[:200] if reply == LEAVE else None


# The record ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Counts:
    """应到 (expected), 实到 (attended), 请假 (leave, not attended), 缺席 (absent: expected, not there, no leave);
    replies to the notice: 已确认, 未回复, 未送达."""

    expected: int
    present: int
    leave: int
    absent: int
    confirmed: int
    unanswered: int
    unreached: int
    guests: int


def counts(rows: list[Attendance]) -> Counts:
    expected = [r for r in rows if r.role == EXPECTED]
    present = [r for r in expected if r.attended_at is not None]
    leave = [r for r in expected if r.attended_at is None and r.reply == LEAVE]
    return Counts(
        expected=len(expected),
        present=len(present),
        leave=len(leave),
        absent=len(expected) - len(present) - len(leave),
        confirmed=sum(r.reply == CONFIRMED for r in expected),
        unanswered=sum(r.reply is None and r.notice != "unreached" for r in expected),
        unreached=sum(r.notice == "unreached" for r in expected),
        guests=sum(r.role != EXPECTED and r.attended_at is not None for r in rows),
    )


def attendance(db: Session, meeting_id: int) -> list[Attendance]:
    return list(db.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id).order_by(Attendance.id)))


def mark(db: Session, meeting: Meeting, row: Attendance, present: bool, reason: str, by: Account) -> None:
    """Attendance by hand (present or absent, with the reason); audited meeting.mark; committed."""
    row.attended_at = (row.attended_at or utcnow()) if present else None
    row.method, row.marked_by, row.mark_reason = MANUAL, by.username, reason.strip()[:200] or None
    if meeting.status == PLANNED:
        meeting.status = HELD
    meeting.updated_at = utcnow()
    audit(db, "meeting.mark", by, meeting.id, member=row.member_id, present=present, reason=row.mark_reason or "")
    db.commit()


def correct(db: Session, meeting: Meeting, changes: dict[str, Any], by: Account | None, by_name: str = "") -> list[str]:
    """Change topic / starts_at / place / minutes / status; audited meeting.correct with the fields changed (minutes:
    their length, not their text); committed. The fields changed."""
    changed: dict[str, Any] = {}
    for field in CORRECTABLE:
        if field not in changes or changes[field] is None:
            continue
        old, new = getattr(meeting, field), changes[field]
        if field == "starts_at":
            old = aware(old)
        if field == "minutes":
            new = str(new).strip() or None
        if old == new:
            continue
        setattr(meeting, field, new)
        changed[field] = {"chars": len(new or "")} if field == "minutes" else {"from": str(old), "to": str(new)}
    if not changed:
        return []
    if "minutes" in changed and meeting.minutes and meeting.status == PLANNED and "status" not in changed:
        meeting.status = HELD  # minutes are in: the meeting was held
    meeting.updated_at = utcnow()
    audit(db, "meeting.correct", by, meeting.id, by_name, fields=sorted(changed), changes=changed)
    db.commit()
    return sorted(changed)


# Times as people type them ---------------------------------------------------------------------------------------
TIME_RE = re.compile(
    r"^(?:(?P<y>\d{4})[-/年.])?(?P<mo>\d{1,2})[-/月.](?P<d>\d{1,2})日?号?\s*(?P<h>\d{1,2})[:：点时](?P<mi>\d{1,2})?分?$"
)


def parse_time(text: str, now: datetime | None = None) -> datetime | None:
    """「12月5日 14:30」, 「2026-12-05 14:30」, 「12/5 9点」 in China time → an aware UTC moment (None if not a time).
    Without a year: the next such day (this year, or next year when it has passed)."""
    found = TIME_RE.match(re.sub(r"\s+", " ", text.strip().replace("：", ":")))
    if not found:
        return None
    local_now = china(now or utcnow())
    try:
        year = int(found["y"]) if found["y"] else local_now.year
        moment = datetime(year, int(found["mo"]), int(found["d"]), int(found["h"]), int(found["mi"] or 0), tzinfo=TZ)
    except ValueError:
        return None
    if not found["y"] and moment < local_now - timedelta(days=1):
        moment = moment.replace(year=year + 1)
    return moment.astimezone(UTC)


def shown(when: datetime) -> str:
    """A meeting time for people: 12月05日 14:30 (China time)."""
    return china(when).strftime("%m月%d日 %H:%M")
