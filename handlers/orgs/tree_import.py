"""Import of the organisation tree (the whole tree in one file): check every row, plan, apply with bulk statements.

Rules: organisations are matched by 编码; a parent must be in the same file; no cycles; 类型 in KINDS; 片区 one of
organisations.districts (empty: the parent's; the 党工委 root has none; a 片区党委 needs one); 联系电话 optional
but a mainland mobile. Organisations absent from the file are dissolved (撤销) when they have members, history,
bindings or scoped accounts (or a dissolved descendant), deleted when they never had any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from bot.core.accounts import Account
from bot.core.database import utcnow
from bot.core.members import Membership
from bot.core.organisations import (
    KINDS,
    GuidanceGroup,
    Organisation,
    OrganisationsConfig,
    RosterMember,
    RosterTransfer,
    mask_name,
    mask_phone,
)
from handlers.orgs.importing import BATCH, Item, Plan, Progress, blank, phone_of, table
from handlers.orgs.sheets import EXAMPLE_MARK, NOTE, ORG, Problem, Sheet

CODE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
ROOT_KIND, DISTRICT_KIND = "党工委", "片区党委"
FIELDS = ("name", "kind", "parent", "district", "enterprise", "secretary", "phone", "group")
OPTIONAL = ("enterprise", "secretary", "phone", "group")  # columns that may be left out of the file
LIMITS = {"code": 32, "name": 128, "enterprise": 128, "secretary": 32, "group": 64}


@dataclass
class Entry:
    """One organisation row of the file, cleaned."""

    row: int
    code: str
    name: str
    kind: str
    parent: str | None
    district: str | None  # as written (None: inherit)
    enterprise: str | None
    secretary: str | None
    phone: str | None
    group: str | None


@dataclass
class TreeOps:
    entries: dict[str, Entry]
    districts: dict[str, str | None]  # code → effective 片区
    existing: dict[str, Any]  # code → row of the organisations table
    to_dissolve: list[int] = field(default_factory=list)
    to_delete: list[int] = field(default_factory=list)


def check(db: Session, sheet: Sheet, cfg: OrganisationsConfig, report: Progress) -> Plan:
    plan = Plan(kind=ORG, rows=len(sheet.rows))
    entries = read_entries(sheet, cfg, plan, report)
    if not entries and plan.ok:  # an empty file would dissolve the whole tree
        plan.problems.append(Problem(0, "", "文件中没有组织（示例行不导入）"))
    check_parents(sheet, entries, plan)
    districts = effective_districts(sheet, entries, plan) if plan.ok else {}
    if not plan.ok:
        return plan
    existing = {row.code: row for row in db.execute(select(*existing_columns()).outerjoin(GuidanceGroup)).all()}
    ops = TreeOps(entries, districts, existing)
    by_id = {row.id: row for row in existing.values()}
    absent = [f for f in OPTIONAL if f not in sheet.fields]  # a column the file leaves out keeps its values
    for code, entry in entries.items():
        old = existing.get(code)
        for name in absent if old is not None else ():
            setattr(entry, name, getattr(old, name))
        new = values_of(entry, districts[code])
        if old is None:
            plan.note("added", Item(entry.row, code, entry.name))
            continue
        olds = old_values(old, by_id)
        changes = [(sheet.header(f), shown(f, olds[f]), shown(f, new[f])) for f in FIELDS if olds[f] != new[f]]
        if old.dissolved_at is not None:
            changes.append(("状态", "已撤销", "恢复"))
        if changes:
            plan.note("changed", Item(entry.row, code, entry.name, changes))
    plan_absent(db, ops, plan)
    plan.ops = ops
    return plan


def existing_columns() -> tuple[Any, ...]:
    o = Organisation
    return (o.id, o.code, o.name, o.kind, o.parent_id, o.path, o.district, o.enterprise, o.secretary, o.phone,
            o.dissolved_at, GuidanceGroup.name.label("group"))  # fmt: skip


def shown(name: str, value: Any) -> str:
    """A value as the preview shows it: the secretary's name and phone masked (personal data)."""
    text = str(value or "")
    if name == "secretary":
        return mask_name(text) if text else ""
    return mask_phone(text) if name == "phone" else text


def old_values(old: Any, by_id: dict[int, Any]) -> dict[str, Any]:
    parent = by_id.get(old.parent_id)
    return {
        "name": old.name,
        "kind": old.kind,
        "parent": parent.code if parent is not None else None,
        "district": old.district,
        "enterprise": old.enterprise,
        "secretary": old.secretary,
        "phone": old.phone,
        "group": old.group,
    }


def values_of(entry: Entry, district: str | None) -> dict[str, Any]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "parent": entry.parent,
        "district": district,
        "enterprise": entry.enterprise,
        "secretary": entry.secretary,
        "phone": entry.phone,
        "group": entry.group,
    }


def read_entries(sheet: Sheet, cfg: OrganisationsConfig, plan: Plan, report: Progress) -> dict[str, Entry]:
    get, entries = sheet.getter(), dict[str, Entry]()
    for n, (row, values) in enumerate(sheet.rows, start=1):
        report("check", n, len(sheet.rows))
        if get(values, NOTE) == EXAMPLE_MARK:
            continue

        def bad(name: str, message: str, row: int = row) -> None:
            plan.problems.append(Problem(row, sheet.header(name), message))

        cells = {name: get(values, name) for name in ("code", "name", "kind", "parent", "district", "enterprise",
                                                      "secretary", "phone", "group")}  # fmt: skip
        for name in ("code", "name", "kind"):
            if not cells[name]:
                bad(name, "必填项为空")
        for name, limit in LIMITS.items():
            if len(cells[name]) > limit:
                bad(name, f"超过 {limit} 个字符")
        code = cells["code"]
        if code and not set(code) <= CODE_CHARS:
            bad("code", "编码只能包含字母、数字和 - _ .")
        if cells["kind"] and cells["kind"] not in KINDS:
            bad("kind", f"未知的类型「{cells['kind']}」，应为：{'、'.join(KINDS)}")
        if cells["district"] and cells["district"] not in cfg.districts:
            bad("district", f"未知的片区「{cells['district']}」，应为 config.yaml 中的片区之一")
        if not cells["parent"] and cells["kind"] and cells["kind"] != ROOT_KIND:
            bad("parent", "必填项为空（只有党工委可以没有上级）")
        phone = phone_of(cells["phone"]) if cells["phone"] else None
        if cells["phone"] and phone is None:
            bad("phone", "不是有效的 11 位手机号")
        if code in entries:
            bad("code", f"编码重复（与第{entries[code].row}行相同）")
            continue
        if code:
            entries[code] = Entry(row, code, cells["name"], cells["kind"], blank(cells["parent"]),
                                  blank(cells["district"]), blank(cells["enterprise"]), blank(cells["secretary"]),
                                  phone, blank(cells["group"]))  # fmt: skip
    return entries


def check_parents(sheet: Sheet, entries: dict[str, Entry], plan: Plan) -> None:
    """Every parent is in the file, and following parents never comes back round (a cycle)."""
    column = sheet.header("parent")
    for entry in entries.values():
        if entry.parent is not None and entry.parent not in entries:
            plan.problems.append(Problem(entry.row, column, f"上级编码「{entry.parent}」不在文件中"))
        elif entry.parent == entry.code:
            plan.problems.append(Problem(entry.row, column, "上级编码不能是自己"))
    state: dict[str, int] = {}  # 1: being followed, 2: reaches a root
    for start in entries:
        chain: list[str] = []
        code = start
        while code in entries and state.get(code) != 2:
            if state.get(code) == 1:
                loop = chain[chain.index(code) :] + [code]
                first = entries[code]
                plan.problems.append(Problem(first.row, column, "上级关系形成循环：" + " → ".join(loop)))
                break
            state[code] = 1
            chain.append(code)
            code = entries[code].parent or ""
        for c in chain:
            state[c] = 2


def effective_districts(sheet: Sheet, entries: dict[str, Entry], plan: Plan) -> dict[str, str | None]:
    """Each organisation's 片区: its own, else its parent's (a 片区党委 must name one)."""
    found: dict[str, str | None] = {}

    def of(code: str) -> str | None:
        if code not in found:
            entry = entries[code]
            found[code] = entry.district or (of(entry.parent) if entry.parent else None)
        return found[code]

    for code, entry in entries.items():
        if of(code) is None and entry.kind == DISTRICT_KIND:
            plan.problems.append(Problem(entry.row, sheet.header("district"), "片区党委必须填写片区"))
    return found


def plan_absent(db: Session, ops: TreeOps, plan: Plan) -> None:
    """Organisations absent from the file: dissolved when they (or a descendant kept) have history, else deleted."""
    absent = {row.id: row for code, row in ops.existing.items() if code not in ops.entries}
    if not absent:
        return
    history = with_history(db)
    keep = {i for i, row in absent.items() if i in history or row.code in history or row.dissolved_at is not None}
    for i in list(keep):
        parent = absent[i].parent_id
        while parent in absent and parent not in keep:
            keep.add(parent)
            parent = absent[parent].parent_id
    for i, row in sorted(absent.items(), key=lambda kv: kv[1].path):
        if i not in keep:
            ops.to_delete.append(i)
            plan.note("deleted", Item(0, row.code, row.name))
        elif row.dissolved_at is None:
            ops.to_dissolve.append(i)
            plan.note("dissolved", Item(0, row.code, row.name))


# (table, column) of other features' rows that name an organisation: such an organisation is dissolved, never deleted
OTHER_REFERENCES = (
    ("tickets", "organisation_id"),
    ("meetings", "organisation_id"),
    ("meetings", "group_id"),
    ("task_reports", "organisation_id"),
    ("task_lists", "scope_id"),
    ("orglife_notices", "organisation_id"),
    ("orglife_assessment_adjustments", "organisation_id"),
)


def with_history(db: Session) -> set[Any]:
    """Organisation ids (and codes) that members, transfers, bindings or accounts refer to."""
    found: set[Any] = set(db.scalars(select(RosterMember.organisation_id).distinct()))
    found |= set(db.scalars(select(RosterTransfer.from_organisation_id).distinct()))
    found |= set(db.scalars(select(RosterTransfer.to_organisation_id).distinct()))
    found |= set(db.scalars(select(Membership.organisation).distinct()))
    found |= set(db.scalars(select(Account.organisation_id).where(Account.organisation_id.is_not(None)).distinct()))
    tables = set(inspect(db.get_bind()).get_table_names())
    for name, column in OTHER_REFERENCES:  # other features' tables, by name: features don't import each other
        if name in tables:
            found |= set(db.scalars(text(f"SELECT DISTINCT {column} FROM {name} WHERE {column} IS NOT NULL")))
    return found


def apply(db: Session, plan: Plan, report: Progress) -> None:
    ops: TreeOps = plan.ops
    now, total = utcnow(), len(ops.entries) * 2 + len(ops.to_delete) + len(ops.to_dissolve)
    groups = ensure_groups(db, {e.group for e in ops.entries.values() if e.group})
    new = [e for code, e in ops.entries.items() if code not in ops.existing]
    for start in range(0, len(new), BATCH):
        rows = [{"code": e.code, "name": e.name, "kind": e.kind, "path": "/", "created_at": now, "updated_at": now}
                for e in new[start : start + BATCH]]  # fmt: skip
        db.execute(insert(table(Organisation)), rows)
        report("apply", start + len(rows), total)
    ids = dict(db.execute(select(Organisation.code, Organisation.id)).all())
    parents = dict(db.execute(select(Organisation.id, Organisation.parent_id)).all())
    for code, entry in ops.entries.items():
        parents[ids[code]] = ids[entry.parent] if entry.parent else None
    paths = materialised(parents)
    updates = changed_rows(ops, ids, parents, paths, groups, now)
    for start in range(0, len(updates), BATCH):
        db.execute(update(Organisation), updates[start : start + BATCH])
        report("apply", len(new) + start + BATCH, total)
    for start in range(0, len(ops.to_dissolve), BATCH):
        chunk = ops.to_dissolve[start : start + BATCH]
        db.execute(update(Organisation).where(Organisation.id.in_(chunk)).values(dissolved_at=now, updated_at=now))
    doomed = sorted(ops.to_delete, key=lambda i: -len(paths.get(i, "")))  # deepest first
    for start in range(0, len(doomed), BATCH):
        db.execute(delete(Organisation).where(Organisation.id.in_(doomed[start : start + BATCH])))
    refresh_districts(db, ops)
    report("apply", total, total, force=True)


def ensure_groups(db: Session, names: set[str]) -> dict[str, int]:
    """Guidance groups by name, creating the missing ones."""
    have = dict(db.execute(select(GuidanceGroup.name, GuidanceGroup.id)).all())
    missing = sorted(names - set(have))
    if missing:
        db.execute(insert(GuidanceGroup), [{"name": n, "created_at": utcnow()} for n in missing])
        have = dict(db.execute(select(GuidanceGroup.name, GuidanceGroup.id)).all())
    return have


def materialised(parents: dict[int, int | None]) -> dict[int, str]:
    """id → "/root/…/id/" from id → parent id."""
    paths: dict[int, str] = {}

    def of(i: int) -> str:
        if i not in paths:
            chain: list[int] = []
            j: int | None = i
            while j is not None and j not in paths and len(chain) <= len(parents):
                chain.append(j)
                j = parents.get(j)
            base = paths[j] if j is not None and j in paths else "/"
            for k in reversed(chain):
                base = paths[k] = f"{base}{k}/"
        return paths[i]

    for i in parents:
        of(i)
    return paths


def changed_rows(
    ops: TreeOps,
    ids: dict[str, int],
    parents: dict[int, int | None],
    paths: dict[int, str],
    groups: dict[str, int],
    now: datetime,
) -> list[dict[str, Any]]:
    """One update per organisation whose fields, parent, path or dissolution change."""
    rows = []
    by_code = ops.existing
    for code, entry in ops.entries.items():
        i = ids[code]
        want = {
            "name": entry.name,
            "kind": entry.kind,
            "parent_id": parents[i],
            "path": paths[i],
            "district": ops.districts[code],
            "enterprise": entry.enterprise,
            "secretary": entry.secretary,
            "phone": entry.phone,
            "guidance_group_id": groups.get(entry.group) if entry.group else None,
            "dissolved_at": None,
        }
        old = by_code.get(code)
        if old is not None:
            have = {k: getattr(old, k) for k in want if k not in ("guidance_group_id",)}
            have["guidance_group_id"] = groups.get(old.group) if old.group else None
            if have == want:
                continue
        rows.append({"id": i, **want, "updated_at": now})
    for code, old in by_code.items():  # kept absent organisations whose ancestors moved
        if code not in ops.entries and old.id not in ops.to_delete and paths.get(old.id, old.path) != old.path:
            rows.append({"id": old.id, "path": paths[old.id], "updated_at": now})
    return rows


def refresh_districts(db: Session, ops: TreeOps) -> None:
    """Memberships of organisations whose 片区 changed take the new one (one statement per 片区)."""
    moved: dict[str | None, list[str]] = {}
    for code, district in ops.districts.items():
        old = ops.existing.get(code)
        if old is None or old.district != district:  # new organisations: carried-over 绑定组织 rows too
            moved.setdefault(district, []).append(code)
    for district, codes in moved.items():
        for start in range(0, len(codes), BATCH):
            chunk = codes[start : start + BATCH]
            db.execute(update(Membership).where(Membership.organisation.in_(chunk)).values(district=district))
