"""Check-in test helpers: a meeting of 测试甲公司第一党支部 with its members expected, and confirmed followers.

Every person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.console.accounts import create_account
from bot.core.clock import utcnow
from bot.core.organisations import Organisation
from handlers.orglife.models import EXPECTED, PLANNED, Attendance, Meeting
from tests.console.console_helpers import PASSWORD
from tests.org_helpers import add_member, confirm, small_tree


def meeting_of(db: Any, org_id: int, starts_in: timedelta = timedelta(minutes=10), **extra: Any) -> Meeting:
    """A 主题党日 of the organisation starting `starts_in` from now (planned unless `status` is given)."""
    meeting = Meeting(
        organisation_id=org_id,
        kind="zhuti_dangri",
        topic=extra.pop("topic", "测试主题党日"),
        starts_at=utcnow() + starts_in,
        place="测试会议室",
        status=extra.pop("status", PLANNED),
        planned_by="test",
        **extra,
    )
    db.add(meeting)
    db.commit()
    return meeting


def expect(db: Any, meeting: Meeting, member_ids: list[int]) -> None:
    for member_id in member_ids:
        db.add(Attendance(meeting_id=meeting.id, member_id=member_id, role=EXPECTED))
    db.commit()


def checkin_setup(
    services: Any, emu: Any, starts_in: timedelta = timedelta(minutes=10), **extra: Any
) -> dict[str, Any]:
    """small_tree; three members of 第一党支部 (T111) expected at its meeting, 甲 and 乙 confirmed in WeChat; 丁 of
    乙公司党支部 (T21) confirmed (a guest here); a follower who is not confirmed."""
    with services.sessions() as db:
        orgs = small_tree(db)
        jia = add_member(db, orgs["a1"], "测试党员甲")
        yi = add_member(db, orgs["a1"], "测试党员乙")
        bing = add_member(db, orgs["a1"], "测试党员丙")
        ding = add_member(db, orgs["b"], "测试党员丁")
        meeting = meeting_of(db, orgs["a1"].id, starts_in, **extra)
        expect(db, meeting, [jia.id, yi.id, bing.id])
        people = {name: emu.create_user(subscribed=True)["openid"] for name in ("jia", "yi", "ding", "stranger")}
        confirm(db, people["jia"], jia)
        confirm(db, people["yi"], yi)
        confirm(db, people["ding"], ding)
        db.commit()
        return {"meeting": meeting.id, "members": {"jia": jia.id, "yi": yi.id, "ding": ding.id}, **people}


def rows(services: Any, meeting_id: int) -> list[Attendance]:
    with services.sessions() as db:
        return list(db.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id).order_by(Attendance.id)))


def attended(services: Any, meeting_id: int) -> list[Attendance]:
    return [r for r in rows(services, meeting_id) if r.attended_at is not None]


def scoped_account(services: Any, username: str, org_code: str | None, role: str = "secretary") -> int:
    """A console account with `role`, scoped to the organisation `org_code` (None: the whole park)."""
    with services.sessions() as db:
        org_id = db.scalar(select(Organisation.id).where(Organisation.code == org_code)) if org_code else None
        account = create_account(db, username, PASSWORD, [role], organisation_id=org_id)
        db.commit()
        return account.id
