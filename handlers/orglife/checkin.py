"""Check-in at a meeting, Flask-free: a meeting's temporary QR code (scene mt:<id>) scanned in WeChat (SCAN, or
subscribe with qrscene_mt:<id>) records the attendance — once, however often WeChat retries or the member scans."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.clock import aware, china, utcnow
from bot.core.database import insert_ignoring
from bot.core.errors import UserFacingError, WeChatAPIError
from bot.core.members import CONFIRMED, Membership
from bot.core.qrcodes import QrCode, by_scene
from bot.inbound.context import Context
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import CANCELLED, EXPECTED, GUEST, HELD, PLANNED, SCAN, Attendance, Meeting

SCENE = "mt:"  # a meeting's check-in code: mt:<meeting id>
MAX_EXPIRY = 30 * 86400  # seconds: WeChat's longest temporary code
REUSE_DAYS = 7  # a meeting beyond a code's 30 days: the stored code is kept while it has this many days left
MARGIN = 600  # seconds a code outlives the window's end (a scan at the last minute still reaches us)

UNKNOWN = "这个签到二维码对应的会议不存在。请向会议组织者核实。"
TRY_AGAIN = "签到未能完成，请稍后再扫一次。"
UNCONFIRMED = (
    "扫码签到仅限已认证的党员。请先回复「党员认证」，用姓名和手机号码完成认证（需党组织书记确认的，确认后再扫码）。"
)


def scene_of(meeting_id: int) -> str:
    return f"{SCENE}{meeting_id}"


def window(cfg: OrgLifeConfig, meeting: Meeting | Scan) -> tuple[datetime, datetime]:
    """When the meeting's code records attendance: checkin_before minutes before the start … checkin_after after."""
    start = aware(meeting.starts_at)
    return start - timedelta(minutes=cfg.checkin_before), start + timedelta(minutes=cfg.checkin_after)


def shown(when: datetime) -> str:
    """A time in China time as the replies show it, e.g. 12月01日 19:30."""
    return china(when).strftime("%m月%d日 %H:%M")


def scene_hook(ctx: Context, scene: str) -> str | None:
    """A meeting's code (scene mt:<id>), scanned or followed through: the check-in's answer; other scenes: None."""
    if not scene.startswith(SCENE):
        return None
    number = scene[len(SCENE) :]
    if not number.isdigit() or len(number) > 12:
        return UNKNOWN
    return check_in(ctx.db, ctx.openid, int(number), OrgLifeConfig.of(ctx.settings))


class Scan(NamedTuple):
    """What a scan needs, read in one query: the meeting, the scanner's confirmed roster member, and their row."""

    status: str
    topic: str
    place: str
    starts_at: datetime
    member_id: int | None  # None: not a confirmed member (党员认证)
    row_id: int | None  # the member's row at the meeting (expected or invited), else this WeChat user's guest row
    role: str | None
    attended_at: datetime | None


def check_in(db: Session, openid: str, meeting_id: int, cfg: OrgLifeConfig, now: datetime | None = None) -> str:
    """Record `openid`'s attendance at the meeting (committed) and the reply; a second call finds the row. One read,
    then at most one write transaction (the row, and the meeting marked held by its first check-in)."""
    now = now or utcnow()
    found = lookup(db, meeting_id, openid)
    if found is None:
        return UNKNOWN
    if found.status == CANCELLED:
        return f"会议「{found.topic}」已取消，无需签到。"
    if found.member_id is None:
        return UNCONFIRMED
    if found.attended_at is not None:
        return already(found)
    opens, closes = window(cfg, found)
    if now < opens:
        return f"签到尚未开始：会议「{found.topic}」于 {shown(found.starts_at)} 开始，{shown(opens)} 起可扫码签到。"
    if now > closes:
        return f"签到已结束（{shown(closes)} 截止）：会议「{found.topic}」。如实际参会，请联系会议组织者补记。"
    done = f"！\n会议：{found.topic}\n时间：{shown(found.starts_at)}\n地点：{found.place}"
    held = found.status == PLANNED  # the first check-in marks the meeting held, in the same transaction
    if found.row_id is not None:  # expected (or invited to attend as a guest): the row is marked
        wrote, role = mark_attended(db, found.row_id, openid, now, meeting_id if held else None), found.role
    else:
        wrote, role = insert_guest(db, meeting_id, found.member_id, openid, now, held), GUEST
    if not wrote:  # another scan got there first: its row answers
        again = lookup(db, meeting_id, openid)
        return already(again) if again is not None and again.attended_at is not None else TRY_AGAIN
    return ("签到成功" if role == EXPECTED else "列席签到成功") + done


def lookup_query() -> Any:
    """The scan's one query (bound: meeting_id, openid), built once."""
    m, b, a = Meeting.__table__, Membership.__table__, Attendance.__table__
    openid = bindparam("openid", type_=String)
    confirmed = and_(b.c.openid == openid, b.c.status == CONFIRMED, b.c.member_id.is_not(None))
    theirs = and_(a.c.meeting_id == m.c.id, or_(a.c.member_id == b.c.member_id, a.c.openid == openid))
    return (
        select(m.c.status, m.c.topic, m.c.place, m.c.starts_at, b.c.member_id, a.c.id, a.c.role, a.c.attended_at)
        .add_columns(a.c.member_id.label("row_member"))
        .select_from(m.outerjoin(b, confirmed).outerjoin(a, theirs))
        .where(m.c.id == bindparam("meeting_id", type_=Integer))
    )


LOOKUP = lookup_query()
_m, _a = Meeting.__table__, Attendance.__table__
HELD_NOW = update(_m).where(_m.c.id == bindparam("meeting_id"), _m.c.status == PLANNED).values(status=HELD)
ATTENDED = update(_a).where(_a.c.id == bindparam("row_id"), _a.c.attended_at.is_(None))  # values: at, method (+ who)
SCANNED = ATTENDED.values(attended_at=bindparam("at"), method=SCAN, openid=bindparam("who"))
SCANNED_KEEPING_OPENID = ATTENDED.values(attended_at=bindparam("at"), method=SCAN)


def lookup(db: Session, meeting_id: int, openid: str) -> Scan | None:
    """The meeting (None when there is none), the follower's confirmed member (党员认证) and their row at the meeting:
    the member's own row first, else a guest row this WeChat user scanned — one Core query, read committed."""
    rows = db.connection().execute(LOOKUP, {"meeting_id": meeting_id, "openid": openid}).all()
    if not rows:
        return None
    row = next((r for r in rows if r.row_member is not None and r.row_member == r.member_id), rows[0])
    return Scan(*row[:8])


def mark_held(db: Session, meeting_id: int) -> None:
    """Someone checked in: the meeting took place (PLANNED → HELD; a record made by hand is left as it is). Not
    committed: part of the check-in's transaction."""
    db.connection().execute(HELD_NOW, {"meeting_id": meeting_id})


def already(found: Scan) -> str:
    assert found.attended_at is not None
    return f"您已签到（{shown(found.attended_at)}）：会议「{found.topic}」。"


def mark_attended(db: Session, row_id: int, openid: str, now: datetime, held: int | None = None) -> bool:
    """A member with a row here (expected, or an invited guest) attended: only the first scan writes
    (UPDATE … WHERE attended_at IS NULL), with the meeting `held` marked held; committed. True when this call wrote."""
    try:
        done = written(db.connection().execute(SCANNED, {"row_id": row_id, "at": now, "who": openid}))
    except IntegrityError:  # this WeChat user already has a guest row here: keep the member's row without it
        db.rollback()
        done = written(db.connection().execute(SCANNED_KEEPING_OPENID, {"row_id": row_id, "at": now}))
    if done and held is not None:
        mark_held(db, held)
    db.commit()
    return done


def insert_guest(db: Session, meeting_id: int, member_id: int, openid: str, now: datetime, held: bool = False) -> bool:
    """A confirmed member not expected here attended as a guest (列席): INSERT … ON CONFLICT DO NOTHING, with the
    meeting marked held when `held`; committed. True when this call wrote."""
    values: dict[str, Any] = {
        "meeting_id": meeting_id,
        "member_id": member_id,
        "openid": openid,
        "role": GUEST,
        "attended_at": now,
        "method": SCAN,
    }
    stmt = insert_ignoring(db, Attendance, values)
    inserted = db.connection().execute(stmt.returning(Attendance.id)).first() is not None  # no row: it conflicted
    if inserted and held:
        mark_held(db, meeting_id)
    db.commit()
    return inserted


def written(result: Any) -> bool:
    """Whether an UPDATE changed a row (its cursor's rowcount; an INSERT … ON CONFLICT is decided by RETURNING)."""
    return bool(result.rowcount)


def counts(db: Session, meeting_id: int) -> dict[str, int]:
    """实到 / 应到 and guests of a meeting: expected rows, expected rows attended, guests attended."""
    rows = db.execute(
        select(Attendance.role, func.count(), func.count(Attendance.attended_at))
        .where(Attendance.meeting_id == meeting_id)
        .group_by(Attendance.role)
    ).all()
    by_role = {role: (int(total), int(came)) for role, total, came in rows}
    expected, present = by_role.get(EXPECTED, (0, 0))
    return {"expected": expected, "present": present, "guests": by_role.get(GUEST, (0, 0))[1]}


def code_valid_until(cfg: OrgLifeConfig, meeting: Meeting, now: datetime) -> tuple[datetime, int]:
    """How long the code must live (the window's end plus a margin) and the expire_seconds to ask (≤ 30 days)."""
    until = window(cfg, meeting)[1] + timedelta(seconds=MARGIN)
    seconds = max(60, min(MAX_EXPIRY, int((until - now).total_seconds()) + 1))
    return until, seconds


def existing(db: Session, meeting: Meeting) -> QrCode | None:
    return by_scene(db, scene_of(meeting.id))


def ensure_code(db: Session, wx: Any, cfg: OrgLifeConfig, meeting: Meeting, now: datetime | None = None) -> QrCode:
    """The meeting's code: the stored one while it lasts until the window ends, else a fresh temporary code
    (qrcode/create, QR_STR_SCENE) replacing it. Committed. WeChat's refusal becomes a UserFacingError."""
    now = now or utcnow()
    until, seconds = code_valid_until(cfg, meeting, now)
    found = existing(db, meeting)
    needed = until if until <= now + timedelta(seconds=MAX_EXPIRY) else now + timedelta(days=REUSE_DAYS)
    if found is not None and found.expire_at is not None and aware(found.expire_at) >= needed:
        return found
    try:
        answer = wx.qrcode.create(
            {
                "expire_seconds": seconds,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": scene_of(meeting.id)}},
            }
        )
    except WeChatAPIError as exc:
        raise UserFacingError(f"微信未能生成签到二维码（{exc.errcode or '网络错误'}），请稍后刷新。") from None
    ticket = str(answer.get("ticket") or "")
    if not ticket:
        raise UserFacingError("微信未返回签到二维码，请稍后刷新。")
    lasts = int(answer.get("expire_seconds") or seconds)
    row = found or QrCode(scene=scene_of(meeting.id))
    row.ticket, row.url, row.expire_at = ticket, str(answer.get("url") or ""), now + timedelta(seconds=lasts)
    db.add(row)
    try:
        db.commit()
    except IntegrityError:  # the page opened twice at once: the other code is kept
        db.rollback()
        kept = existing(db, meeting)
        assert kept is not None
        return kept
    return row
