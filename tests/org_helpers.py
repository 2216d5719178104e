"""Test helpers for organisations and the roster: a small invented tree, roster members and confirmed bindings.

Every person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import Organisation, RosterMember, path_of


def add_org(
    db: Session, code: str, name: str, kind: str, parent: Organisation | None = None, district: str | None = None
) -> Organisation:
    """One organisation under `parent` (its 片区 inherited unless given)."""
    org = Organisation(
        code=code, name=name, kind=kind, parent_id=parent.id if parent else None, path="/", district=district
    )
    if district is None and parent is not None:
        org.district = parent.district
    db.add(org)
    db.flush()
    org.path = path_of(parent, org.id)
    db.flush()
    return org


def small_tree(db: Session) -> dict[str, Organisation]:
    """党工委 → 2 片区党委 → a 党委 with two 党支部 (one with a 党小组), and a 党支部 in the second 片区."""
    root = add_org(db, "T0", "测试园区党工委", "党工委")
    d1 = add_org(db, "T1", "测试第一片区党委", "片区党委", root, "第一片区")
    d2 = add_org(db, "T2", "测试第二片区党委", "片区党委", root, "第二片区")
    a = add_org(db, "T11", "测试甲公司党委", "党委", d1)
    a1 = add_org(db, "T111", "测试甲公司第一党支部", "党支部", a)
    a2 = add_org(db, "T112", "测试甲公司第二党支部", "党支部", a)
    g = add_org(db, "T1111", "测试甲公司第一党小组", "党小组", a1)
    b = add_org(db, "T21", "测试乙公司党支部", "党支部", d2)
    db.commit()
    return {"root": root, "d1": d1, "d2": d2, "a": a, "a1": a1, "a2": a2, "g": g, "b": b}


_phones = iter(range(19900000001, 19999999999))


def add_member(
    db: Session,
    org: Organisation,
    name: str = "测试党员",
    phone: str | None = None,
    category: str = "正式党员",
    post: str | None = None,
    **extra: Any,
) -> RosterMember:
    """One roster member of `org` (a fresh 199 phone number unless given)."""
    member = RosterMember(
        name=name,
        sex=extra.pop("sex", "男"),
        phone=phone or str(next(_phones)),
        organisation_id=org.id,
        category=category,
        joined_on=extra.pop("joined_on", date(2010, 7, 1)),
        post=post,
        **extra,
    )
    db.add(member)
    db.commit()
    return member


def confirm(db: Session, openid: str, member: RosterMember, by: str = "auto") -> Membership:
    """`openid` is confirmed as `member` (as 党员认证 leaves it)."""
    org = db.get(Organisation, member.organisation_id)
    assert org is not None
    row = db.get(Membership, openid) or Membership(openid=openid, organisation=org.code)
    row.organisation, row.district, row.member_id = org.code, org.district, member.id
    row.status, row.method, row.confirmed_at, row.confirmed_by = CONFIRMED, by, utcnow(), by
    db.add(row)
    db.commit()
    return row
