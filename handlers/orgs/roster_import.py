"""Import of the roster (党员花名册): check every row, plan added / changed / transferred / removed, apply in bulk.

Members are matched by 手机号. A member whose organisation changes is transferred: same id (their binding,
points and history stay), a RosterTransfer row, and their binding follows to the new organisation. Members absent
from the file whose organisation appears in the file leave the roster (left_at), never deleted. Nothing here logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.core.members import Membership
from bot.core.organisations import CATEGORIES, POSTS, SEXES, Organisation, RosterMember, RosterTransfer, mask_phone
from handlers.orgs.importing import BATCH, Item, Plan, Progress, blank, date_of, phone_of, table
from handlers.orgs.sheets import EXAMPLE_MARK, NOTE, ROSTER, Problem, Sheet

NAME_MAX = 32
FIELDS = ("name", "sex", "category", "joined_on", "post")
LABELS = {"name": "name", "sex": "sex", "category": "category", "joined_on": "joined", "post": "post"}


@dataclass
class RosterOps:
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # id + the new values
    transfers: list[tuple[int, int, int]] = field(default_factory=list)  # member id, from, to
    removed: list[int] = field(default_factory=list)


def check(db: Session, sheet: Sheet, report: Progress) -> Plan:
    plan = Plan(kind=ROSTER, rows=len(sheet.rows))
    orgs = {row.code: row for row in db.execute(select(Organisation.id, Organisation.code,
                                                       Organisation.name, Organisation.dissolved_at))}  # fmt: skip
    rows = read_rows(sheet, orgs, plan, report)
    if not rows and plan.ok:
        plan.problems.append(Problem(0, "", "文件中没有党员（示例行不导入）"))
    if not plan.ok:
        return plan
    ops, names = RosterOps(), {row.id: row.name for row in orgs.values()}
    columns = (RosterMember.id, RosterMember.phone, RosterMember.name, RosterMember.sex, RosterMember.organisation_id,
               RosterMember.category, RosterMember.joined_on, RosterMember.post, RosterMember.left_at)  # fmt: skip
    existing = {row.phone: row for row in db.execute(select(*columns))}
    now = utcnow()
    absent = [f for f in FIELDS if LABELS[f] not in sheet.fields]  # a column the file leaves out keeps its values
    for n, (phone, (row, values)) in enumerate(rows.items(), start=1):
        report("plan", n, len(rows))
        old = existing.get(phone)
        label = mask_phone(phone)
        if old is None:
            values["created_at"] = values["updated_at"] = now  # in place: no second copy of 100,000 rows
            ops.added.append(values)
            plan.note("added", Item(row, label, names[values["organisation_id"]]))
            continue
        for name in absent:
            values[name] = getattr(old, name)
        changes = [(sheet.header(LABELS[f]), text(getattr(old, f)), text(values[f])) for f in FIELDS]
        changes = [c for c in changes if c[1] != c[2]]
        if old.left_at is not None:
            changes.append(("状态", "已移出", "在册"))
        if changes:
            ops.changed.append({"id": old.id, **{f: values[f] for f in FIELDS}, "left_at": None, "updated_at": now})
            plan.note("changed", Item(row, label, names[values["organisation_id"]], masked(changes, sheet)))
        if old.organisation_id != values["organisation_id"]:
            ops.transfers.append((old.id, old.organisation_id, values["organisation_id"]))
            move = (sheet.header("org"), names.get(old.organisation_id, ""), names[values["organisation_id"]])
            plan.note("transferred", Item(row, label, names[values["organisation_id"]], [move]))
    in_file = {values["organisation_id"] for _row, values in rows.values()}
    for phone, old in existing.items():
        if old.left_at is None and phone not in rows and old.organisation_id in in_file:
            ops.removed.append(old.id)
            plan.note("removed", Item(0, mask_phone(phone), names.get(old.organisation_id, "")))
    plan.ops = ops
    return plan


def text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


def masked(changes: list[tuple[str, str, str]], sheet: Sheet) -> list[tuple[str, str, str]]:
    """A name change shows as changed, not as the names (the preview never shows roster names in full)."""
    name = sheet.header("name")
    return [(c, "…", "（已修改）") if c == name else (c, old, new) for c, old, new in changes]


def read_rows(
    sheet: Sheet, orgs: dict[str, Any], plan: Plan, report: Progress
) -> dict[str, tuple[int, dict[str, Any]]]:
    """phone → (Excel row number, the row's cleaned values)."""
    get = sheet.getter()
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    first: dict[str, int] = {}
    for n, (row, values) in enumerate(sheet.rows, start=1):
        report("check", n, len(sheet.rows))
        if get(values, NOTE) == EXAMPLE_MARK:
            continue
        before = len(plan.problems)

        def bad(name: str, message: str, row: int = row) -> None:
            plan.problems.append(Problem(row, sheet.header(name), message))

        name, sex, phone_text = get(values, "name"), get(values, "sex"), get(values, "phone")
        code, category, joined, post = (
            get(values, "org"),
            get(values, "category"),
            get(values, "joined"),
            get(values, "post"),
        )
        for column, value in (("name", name), ("phone", phone_text), ("org", code), ("category", category)):
            if not value:
                bad(column, "必填项为空")
        if len(name) > NAME_MAX:
            bad("name", f"超过 {NAME_MAX} 个字符")
        if sex and sex not in SEXES:
            bad("sex", "性别应为：男、女")
        phone = phone_of(phone_text) if phone_text else None
        if phone_text and phone is None:
            bad("phone", "不是有效的 11 位手机号")
        elif phone is not None and phone in first:
            bad("phone", f"手机号重复（与第{first[phone]}行相同）")
        org = orgs.get(code)
        if code and org is None:
            bad("org", f"组织编码「{code}」不存在，请先导入组织")
        elif org is not None and org.dissolved_at is not None:
            bad("org", f"组织「{code}」已撤销")
        if category and category not in CATEGORIES:
            bad("category", f"未知的类别「{category}」，应为：{'、'.join(CATEGORIES)}")
        joined_on = date_of(joined) if joined else None
        if joined and joined_on is None:
            bad("joined", "日期无效，应写作 2010-07-01")
        if post and post not in POSTS:
            bad("post", f"未知的职务「{post}」，应为：{'、'.join(POSTS)}")
        if phone is not None and phone not in first:
            first[phone] = row
        if len(plan.problems) == before and phone is not None and org is not None:
            found[phone] = (
                row,
                {
                    "name": name,
                    "sex": blank(sex),
                    "phone": phone,
                    "organisation_id": org.id,
                    "category": category,
                    "joined_on": joined_on,
                    "post": blank(post),
                },
            )
    return found


def apply(db: Session, plan: Plan, actor: str, report: Progress) -> None:
    ops: RosterOps = plan.ops
    now = utcnow()
    total = len(ops.added) + len(ops.changed) + len(ops.transfers) + len(ops.removed)
    done = 0
    for start in range(0, len(ops.added), BATCH):
        chunk = ops.added[start : start + BATCH]
        db.execute(insert(table(RosterMember)), chunk)  # Core executemany: no ORM bookkeeping
        done += len(chunk)
        report("apply", done, total)
    for start in range(0, len(ops.changed), BATCH):
        chunk = ops.changed[start : start + BATCH]
        db.execute(update(RosterMember), chunk)
        done += len(chunk)
        report("apply", done, total)
    transfers = [{"member_id": m, "from_organisation_id": f, "to_organisation_id": t, "at": now, "actor": actor}
                 for m, f, t in ops.transfers]  # fmt: skip
    for start in range(0, len(transfers), BATCH):
        chunk = transfers[start : start + BATCH]
        db.execute(update(RosterMember), [{"id": t["member_id"], "organisation_id": t["to_organisation_id"],
                                           "updated_at": now} for t in chunk])  # fmt: skip
        db.execute(insert(table(RosterTransfer)), chunk)
        done += len(chunk)
        report("apply", done, total)
    follow_transfers(db, ops.transfers)
    for start in range(0, len(ops.removed), BATCH):
        ids = ops.removed[start : start + BATCH]
        db.execute(update(RosterMember).where(RosterMember.id.in_(ids)).values(left_at=now, updated_at=now))
        done += len(ids)
        report("apply", done, total)
    report("apply", total, total, force=True)


def follow_transfers(db: Session, transfers: list[tuple[int, int, int]]) -> None:
    """Bindings of transferred members name their new organisation and its 片区 (one statement per organisation)."""
    by_org: dict[int, list[int]] = {}
    for member, _old, new in transfers:
        by_org.setdefault(new, []).append(member)
    if not by_org:
        return
    orgs = {row.id: row for row in db.execute(select(Organisation.id, Organisation.code, Organisation.district)
                                              .where(Organisation.id.in_(list(by_org))))}  # fmt: skip
    for org_id, members in by_org.items():
        org = orgs[org_id]
        for start in range(0, len(members), BATCH):
            chunk = members[start : start + BATCH]
            db.execute(update(Membership).where(Membership.member_id.in_(chunk))
                       .values(organisation=org.code, district=org.district))  # fmt: skip
