"""Whom a push goes to, from the organisation tree and the roster: audience SQL, sizes, checks of refs and scope.

Read by content.recipients (the fan-out), service.plan (validation) and the console's push form (choices, sizes).
Only confirmed members (党员认证 done: Membership CONFIRMED, still on the roster) count in the tree's audiences:
a self-declared or carried-over 绑定组织 names an organisation nobody checked, so it is not an audience.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, false, func, select
from sqlalchemy.orm import Session

from bot.core.accounts import ConsoleTag
from bot.core.database import Follower
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import CATEGORIES, Organisation, RosterMember, by_code, in_subtree, subtree_ids

TREE_KINDS = ("organisation", "district", "category", "secretaries")  # audiences read from the roster
SCOPED_KINDS = ("organisation", "category", "secretaries")  # what a scoped account may pick (inside its subtree)
SECRETARY_POSTS = ("书记", "副书记")  # "secretaries of …": roster members holding one of these posts
SEP = "@"  # a category audience's ref: "正式党员" (the whole park) or "正式党员@<org code>" (that subtree)


@dataclass(frozen=True)
class Ref:
    """An audience ref taken apart: the organisation code, the 片区, the category, the tag id (as given)."""

    org: str = ""
    district: str = ""
    category: str = ""
    tag: str = ""


def parse(kind: str, ref: str | None) -> Ref:
    """The parts of `ref` for an audience of `kind`."""
    ref = (ref or "").strip()
    if kind in ("organisation", "secretaries"):
        return Ref(org=ref)
    if kind == "district":
        return Ref(district=ref)
    if kind == "category":
        category, _, org = ref.partition(SEP)
        return Ref(category=category, org=org)
    if kind == "tag":
        return Ref(tag=ref)
    return Ref()


def compose(kind: str, parts: Ref) -> str | None:
    """The stored ref of an audience of `kind` from its parts (the form's pickers)."""
    if kind in ("organisation", "secretaries"):
        return parts.org or None
    if kind == "district":
        return parts.district or None
    if kind == "category":
        return (parts.category + (SEP + parts.org if parts.org else "")) or None
    if kind == "tag":
        return parts.tag or None
    return None


def confirmed() -> Select[Any]:
    """Confirmed members still on the roster: openid with their roster row joined."""
    return (
        select(Membership.openid)
        .join(RosterMember, RosterMember.id == Membership.member_id)
        .where(Membership.status == CONFIRMED, RosterMember.left_at.is_(None))
    )


def tree_openids(db: Session, kind: str, ref: str | None) -> Select[Any]:
    """SQL selecting the openids of a roster audience (nothing when the ref names nothing): one flat join of
    memberships, roster and organisations (the subtree as a path prefix), which the fan-out joins to followers."""
    parts = parse(kind, ref)
    stmt = confirmed().join(Organisation, Organisation.id == RosterMember.organisation_id)
    if kind in ("organisation", "secretaries") and not parts.org:
        return stmt.where(false())
    if parts.org:
        org = by_code(db, parts.org)
        if org is None:
            return stmt.where(false())
        stmt = stmt.where(Organisation.path.startswith(org.path, autoescape=True))
    if kind == "district":
        stmt = stmt.where(Organisation.district == parts.district)
    if kind == "category":
        stmt = stmt.where(RosterMember.category == parts.category)
    if kind == "secretaries":
        stmt = stmt.where(RosterMember.post.in_(SECRETARY_POSTS))
    return stmt


def tree_followers(db: Session, kind: str, ref: str | None, *cols: Any) -> Select[Any]:
    """`cols` of the followers in a roster audience, flat (no subquery: about 40% faster at 100,000 members)."""
    return tree_openids(db, kind, ref).with_only_columns(*cols).join(Follower, Follower.openid == Membership.openid)


def size(db: Session, ids: Select[Any]) -> tuple[int, int]:
    """(followers in the audience, of them still subscribed) for the audience SQL `ids`."""
    sub = ids.subquery()
    row = db.execute(
        select(func.count(), func.coalesce(func.sum(case((Follower.subscribed.is_(True), 1), else_=0)), 0)).select_from(
            Follower.__table__.join(sub, sub.c.openid == Follower.openid)
        )
    ).one()
    return int(row[0]), int(row[1])


def tests_size(db: Session, openids: Iterable[str]) -> tuple[int, int]:
    """(test openids, of them subscribed followers)."""
    wanted = list(dict.fromkeys(openids))
    subscribed = (
        db.scalar(select(func.count()).where(Follower.openid.in_(wanted), Follower.subscribed.is_(True)))
        if wanted
        else 0
    )
    return len(wanted), int(subscribed or 0)


# Checks (Chinese problems naming the field) ---------------------------------------------------------------------
def known_districts(db: Session, configured: Iterable[str]) -> list[str]:
    """The park's 片区: config's, then any other the tree names."""
    found = list(dict.fromkeys(configured))
    for name in db.scalars(select(Organisation.district).where(Organisation.district.is_not(None)).distinct()):
        if name not in found:
            found.append(name)
    return found


def org_problem(db: Session, code: str, field: str) -> str | None:
    org = by_code(db, code) if code else None
    if org is None:
        return f"{field}：请选择组织" if not code else f"{field}：没有编号为「{code}」的组织"
    if org.dissolved_at is not None:
        return f"{field}：「{org.name}」已撤销"
    return None


def ref_problems(db: Session, kind: str, ref: str | None, districts: Iterable[str]) -> list[str]:
    """What is wrong with the ref of an audience of `kind` (unknown tag, organisation, 片区 or category)."""
    parts = parse(kind, ref)
    if kind == "tag":
        if not parts.tag.isdigit():
            return ["受众标签：请选择标签"]
        if db.get(ConsoleTag, int(parts.tag)) is None:
            return [f"受众标签：没有编号为 {parts.tag} 的标签（请先在「粉丝」页从微信同步标签）"]
    if kind in ("organisation", "secretaries"):
        problem = org_problem(db, parts.org, "受众组织")
        return [problem] if problem else []
    if kind == "district" and parts.district not in known_districts(db, districts):
        return ["受众片区：请选择片区" if not parts.district else f"受众片区：没有「{parts.district}」这个片区"]
    if kind == "category":
        found = [] if parts.category in CATEGORIES else [f"受众类别：请从{'、'.join(CATEGORIES)}中选择"]
        problem = org_problem(db, parts.org, "受众组织") if parts.org else None
        return found + ([problem] if problem else [])
    return []


def scope_problems(
    db: Session, kind: str, ref: str | None, tests: Iterable[str], root: Organisation | None, own: str | None
) -> list[str]:
    """Why an account scoped to `root` may not send to this audience (nothing for an unscoped account).

    Inside: an organisation, its secretaries or a category of it, within `root`'s subtree; test openids of confirmed
    members inside it or the account's own bound WeChat (`own`)."""
    if root is None:
        return []
    problems = []
    if kind not in SCOPED_KINDS:
        problems.append(f"受众：你只能向「{root.name}」及其下级组织的党员推送")
    org_code = parse(kind, ref).org
    if kind in ("organisation", "secretaries", "category"):
        org = by_code(db, org_code) if org_code else None
        if org is None or not in_subtree(org, root):
            problems.append(f"受众组织：只能选择「{root.name}」或其下级组织")
    outside = foreign_tests(db, tests, root, own)
    if outside:
        problems.append(f"测试 openid：{len(outside)} 个不是本组织已认证的党员，不能用于预览")
    return problems


def foreign_tests(db: Session, tests: Iterable[str], root: Organisation, own: str | None) -> list[str]:
    """The test openids that are neither `own` nor a confirmed member inside `root`'s subtree."""
    wanted = [o for o in dict.fromkeys(tests) if o != own]
    if not wanted:
        return []
    inside = set(
        db.scalars(
            confirmed().where(Membership.openid.in_(wanted), RosterMember.organisation_id.in_(subtree_ids(root)))
        )
    )
    return [o for o in wanted if o not in inside]


def audience_root(db: Session, kind: str, ref: str | None) -> Organisation | None:
    """The organisation a push's audience lies in (None: not inside one organisation)."""
    code = parse(kind, ref).org if kind in ("organisation", "secretaries", "category") else ""
    return by_code(db, code) if code else None


def within(db: Session, kind: str, ref: str | None, root: Organisation | None) -> bool:
    """True when an account scoped to `root` may manage a push with this audience."""
    if root is None:
        return True
    org = audience_root(db, kind, ref)
    return org is not None and in_subtree(org, root)
