"""Meeting test helpers: a 党支部 with a committee, plain members and a 党小组, some bound in WeChat; a secretary.

Every person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.accounts import AuditEntry
from bot.core.clock import utcnow
from handlers.orglife import meetings
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import Attendance, Meeting
from tests.handlers.orgs.auth_helpers import secretary
from tests.org_helpers import add_member, confirm, small_tree

__all__ = ["secretary"]


def branch(services: Any) -> dict[str, Any]:
    """small_tree; in 甲公司第一党支部 (T111): 书记, 组织委员, a plain member, one who left; in its 党小组: 小组长 and a
    member; in 乙公司党支部 (T21): one member. Ids of organisations and members."""
    with services.sessions() as db:
        orgs = small_tree(db)
        ids: dict[str, Any] = {"orgs": {k: v.id for k, v in orgs.items()}}
        people = [
            ("shuji", orgs["a1"], "测试书记", "书记"),
            ("zuzhi", orgs["a1"], "测试组织委员", "组织委员"),
            ("putong", orgs["a1"], "测试普通党员", None),
            ("likai", orgs["a1"], "测试离开党员", None),
            ("zuzhang", orgs["g"], "测试党小组长", "党小组长"),
            ("xiaozu", orgs["g"], "测试小组党员", None),
            ("yi", orgs["b"], "测试乙党员", None),
        ]
        for key, org, name, post in people:
            ids[key] = add_member(db, org, name, post=post).id
        left = db.get(meetings.RosterMember, ids["likai"])
        assert left is not None
        left.left_at = utcnow()
        db.commit()
        return ids


def bind(services: Any, openid: str, member_id: int) -> None:
    with services.sessions() as db:
        member = db.get(meetings.RosterMember, member_id)
        assert member is not None
        confirm(db, openid, member)


def plan(services: Any, org_id: int, kind: str = "zhuti_dangri", group_id: int | None = None, hours: int = 48) -> int:
    """A meeting planned directly (no notices); its id."""
    with services.sessions() as db:
        cfg = OrgLifeConfig.of(services.settings)
        org = db.get(meetings.Organisation, org_id)
        group = db.get(meetings.Organisation, group_id) if group_id else None
        found = cfg.kind(kind)
        assert org is not None and found is not None
        when = utcnow() + timedelta(hours=hours)
        return meetings.create(db, cfg, meetings.Plan(org, found, "测试学习主题", when, "测试会议室", group), "test").id


def rows(services: Any, meeting_id: int) -> dict[int | None, Attendance]:
    with services.sessions() as db:
        return {r.member_id: r for r in meetings.attendance(db, meeting_id)}


def meeting(services: Any, meeting_id: int) -> Meeting:
    with services.sessions() as db:
        found = db.get(Meeting, meeting_id)
        assert found is not None
        return found


def audits(services: Any, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
