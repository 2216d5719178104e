"""The roster (党员花名册) in the console, Flask-free: the filtered list, what a viewer sees, edits, transfers, export.

Privacy: a viewer who does not run the member's organisation sees masked values (`shown`); the Excel export is
always masked. Nothing here logs. The console view commits each change together with its audit entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import (
    CATEGORIES,
    POSTS,
    SEXES,
    Organisation,
    RosterMember,
    RosterTransfer,
    mask_name,
    mask_phone,
    subtree_ids,
)
from bot.core.phones import digits_of
from handlers.orgs.orgedit import MOBILE, EditRefused

STATUS_NAMES = {"unconfirmed": "未认证", "pending": "待确认", CONFIRMED: "已认证"}
BATCH = 2000  # rows fetched at a time for the export
EXPORT_HEADER = ["姓名", "手机号", "所属组织", "组织编码", "片区", "类别", "职务", "入党年份", "认证状态", "在册"]
FORMULA = re.compile(r"^[=+\-@\t\r]")  # a cell spreadsheet programs would run as a formula


@dataclass(frozen=True)
class RosterFilter:
    """The list's filters: category, post, a name or phone (only for viewers who see names), left members too."""

    category: str = ""
    post: str = ""
    q: str = ""
    left: bool = False

    def args(self) -> dict[str, str]:
        out = {"category": self.category, "post": self.post, "q": self.q, "left": "1" if self.left else ""}
        return {k: v for k, v in out.items() if v}


def query(root: Organisation | None, f: RosterFilter) -> Select[Any]:
    """Members of `root`'s subtree (None: everyone) matching `f`, by organisation then id."""
    q = select(RosterMember)
    if root is not None:
        q = q.where(RosterMember.organisation_id.in_(subtree_ids(root)))
    if f.category in CATEGORIES:
        q = q.where(RosterMember.category == f.category)
    if f.post in POSTS:
        q = q.where(RosterMember.post == f.post)
    if f.q:
        digits = digits_of(f.q)
        q = q.where(RosterMember.phone == digits if len(digits) == 11 else RosterMember.name.contains(f.q.strip()))
    if not f.left:
        q = q.where(RosterMember.left_at.is_(None))
    return q.order_by(RosterMember.organisation_id, RosterMember.id)


def organisations_of(db: Session, members: Iterable[RosterMember]) -> dict[int, Organisation]:
    ids = {m.organisation_id for m in members}
    return {o.id: o for o in db.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}


def statuses(db: Session, members: Iterable[RosterMember]) -> dict[int, str]:
    """Member id → their binding status (absent: nobody has bound to them)."""
    ids = [m.id for m in members]
    if not ids:
        return {}
    rows = db.execute(select(Membership.member_id, Membership.status).where(Membership.member_id.in_(ids)))
    return {member_id: status for member_id, status in rows if member_id is not None}


@dataclass(frozen=True)
class Shown:
    """A member's personal data as this viewer may see it."""

    name: str
    phone: str
    sex: str
    joined_on: str
    full: bool


def shown(member: RosterMember, full: bool) -> Shown:
    """In full for those who run the organisation (and admins); masked for everyone else."""
    joined = member.joined_on.isoformat() if member.joined_on else ""
    if full:
        return Shown(member.name, member.phone, member.sex or "", joined, True)
    return Shown(mask_name(member.name), mask_phone(member.phone), "*" if member.sex else "", joined[:4], False)


def history(db: Session, member: RosterMember) -> list[tuple[RosterTransfer, Organisation | None, Organisation | None]]:
    """The member's transfers, oldest first, with the organisations they left and joined."""
    moves = list(
        db.scalars(select(RosterTransfer).where(RosterTransfer.member_id == member.id).order_by(RosterTransfer.id))
    )
    ids = {t.from_organisation_id for t in moves} | {t.to_organisation_id for t in moves}
    orgs = {o.id: o for o in db.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
    return [(t, orgs.get(t.from_organisation_id), orgs.get(t.to_organisation_id)) for t in moves]


def binding(db: Session, member: RosterMember) -> Membership | None:
    return db.scalar(select(Membership).where(Membership.member_id == member.id))


# ----- changes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFields:
    """The roster fields the edit form asks for (joined_on as typed, YYYY-MM-DD)."""

    name: str
    sex: str
    phone: str
    category: str
    joined_on: str
    post: str


def parse_day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("入党日期格式应为 2010-07-01") from exc
    if day > date.today() or day.year < 1921:
        raise ValueError("入党日期不在合理范围内")
    return day


def member_problems(db: Session, member: RosterMember, wanted: MemberFields) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not wanted.name.strip() or len(wanted.name.strip()) > 32:
        problems["name"] = "请填写姓名（最多 32 个字）"
    if wanted.sex and wanted.sex not in SEXES:
        problems["sex"] = "性别无效"
    phone = digits_of(wanted.phone)
    if not MOBILE.match(phone):
        problems["phone"] = "手机号应为 11 位大陆手机号"
    elif db.scalar(select(RosterMember.id).where(RosterMember.phone == phone, RosterMember.id != member.id)):
        problems["phone"] = "该手机号已属于花名册中的另一名党员"
    if wanted.category not in CATEGORIES:
        problems["category"] = "类别无效"
    if wanted.post and wanted.post not in POSTS:
        problems["post"] = "职务无效"
    try:
        parse_day(wanted.joined_on)
    except ValueError as exc:
        problems["joined_on"] = str(exc)
    return problems


def edit(db: Session, member: RosterMember, wanted: MemberFields) -> list[str]:
    """Apply the edit (EditRefused with every problem, nothing changed); the changed field names."""
    problems = member_problems(db, member, wanted)
    if problems:
        raise EditRefused(problems)
    values: dict[str, Any] = {
        "name": wanted.name.strip(),
        "sex": wanted.sex or None,
        "phone": digits_of(wanted.phone),
        "category": wanted.category,
        "joined_on": parse_day(wanted.joined_on),
        "post": wanted.post or None,
    }
    changed = [key for key, value in values.items() if getattr(member, key) != value]
    for key in changed:
        setattr(member, key, values[key])
    if changed:
        member.updated_at = utcnow()
    return changed


def transfer(db: Session, member: RosterMember, to: Organisation, actor: str) -> RosterTransfer:
    """Move `member` to `to`, keeping the same roster entry and writing the move into its history."""
    if to.id == member.organisation_id:
        raise EditRefused({"to_code": "该党员已在这个组织"})
    if to.dissolved_at is not None:
        raise EditRefused({"to_code": "目标组织已撤销"})
    move = RosterTransfer(
        member_id=member.id, from_organisation_id=member.organisation_id, to_organisation_id=to.id, actor=actor
    )
    db.add(move)
    member.organisation_id, member.updated_at = to.id, utcnow()
    bound = binding(db, member)
    if bound is not None:  # the member's own binding follows them
        bound.organisation, bound.district = to.code, to.district
    db.flush()
    return move


def set_left(member: RosterMember, left: bool) -> None:
    """Take the member off the roster (they stay, with their history) or put them back."""
    member.left_at = utcnow() if left else None
    member.updated_at = utcnow()


# ----- export -----------------------------------------------------------------------------------------------


def safe(value: Any) -> Any:
    """A text cell that cannot run as a formula."""
    return "'" + value if isinstance(value, str) and FORMULA.match(value) else value


def export_rows(db: Session, q: Select[Any]) -> Iterator[list[Any]]:
    """The masked rows of the query, fetched in batches."""
    last = 0
    while True:
        batch = list(db.scalars(q.where(RosterMember.id > last).order_by(None).order_by(RosterMember.id).limit(BATCH)))
        if not batch:
            return
        last = batch[-1].id
        orgs, bound = organisations_of(db, batch), statuses(db, batch)
        for m in batch:
            org = orgs.get(m.organisation_id)
            yield [
                mask_name(m.name),
                mask_phone(m.phone),
                org.name if org else "",
                org.code if org else "",
                (org.district or "") if org else "",
                m.category,
                m.post or "",
                m.joined_on.year if m.joined_on else "",
                STATUS_NAMES.get(bound.get(m.id, ""), "未绑定"),
                "否" if m.left_at else "是",
            ]


def write(out: IO[bytes], db: Session, q: Select[Any], report: Callable[[int], None] | None = None) -> int:
    """The filtered roster, masked, as an xlsx workbook into `out` (write-only, bounded memory); the row count.
    `report(rows)` is told the rows written after each batch."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("党员花名册（脱敏）")
    sheet.append(EXPORT_HEADER)
    rows = 0
    for row in export_rows(db, q):
        sheet.append([safe(v) for v in row])
        rows += 1
        if report is not None and rows % BATCH == 0:
            report(rows)
    book.save(out)
    return rows
