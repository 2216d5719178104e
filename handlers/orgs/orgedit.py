"""Editing one organisation and the guidance groups from the console, Flask-free: checks, moves, 撤销.

A move rewrites the materialised `path` of the whole moved subtree in one UPDATE; a 片区 change (chosen, or taken
from the new parent on a move) is applied to the whole subtree and to the Membership rows bound under it. Nothing is
committed here: the console view commits together with its audit entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.core.members import Membership
from bot.core.organisations import KINDS, GuidanceGroup, Organisation, by_code, in_subtree, path_of
from bot.core.phones import digits_of

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")  # 0731-12345678
PHONE_PROBLEM = "联系电话格式不正确：应为 11 位手机号，或带区号的座机号（如 0731-12345678）"
CODE_SPLIT = re.compile(r"[\s,，、;；]+")


class EditRefused(Exception):
    """The edit is refused: field name → message (shown next to the field)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def clean_phone(raw: str | None) -> str | None:
    """A mobile as its 11 digits, a landline as typed (0731-12345678); None when empty; ValueError when neither."""
    text = (raw or "").strip()
    if not text:
        return None
    digits = digits_of(text)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if MOBILE.match(digits):
        return digits
    landline = text.replace(" ", "")
    if LANDLINE.match(landline):
        return landline
    raise ValueError(PHONE_PROBLEM)


@dataclass(frozen=True)
class OrgFields:
    """What the edit form asks for (parent by code; "" for none)."""

    name: str
    kind: str
    parent_code: str
    district: str
    enterprise: str
    secretary: str
    phone: str
    group_id: int | None


def current_fields(db: Session, org: Organisation) -> OrgFields:
    parent = db.get(Organisation, org.parent_id) if org.parent_id else None
    return OrgFields(
        name=org.name,
        kind=org.kind,
        parent_code=parent.code if parent else "",
        district=org.district or "",
        enterprise=org.enterprise or "",
        secretary=org.secretary or "",
        phone=org.phone or "",
        group_id=org.guidance_group_id,
    )


def check_parent(
    db: Session, org: Organisation, code: str, scope: Organisation | None
) -> tuple[Organisation | None, str | None]:
    """The new parent for `code`, or a problem: unknown, a cycle, 撤销, outside the scope, the scope's own root."""
    if not code:
        return None, "只有不限范围的账号可以设置最上级组织" if scope is not None else None
    parent = by_code(db, code)
    if parent is None:
        return None, f"上级组织编码「{code}」不存在"
    if parent.id == org.id or parent.path.startswith(org.path):
        return None, "不能把组织移到它自己或它的下级组织之下"
    if parent.dissolved_at is not None:
        return None, "上级组织已撤销"
    if not in_subtree(parent, scope):
        return None, "上级组织不在你的管理范围内"
    return parent, None


def problems_of(
    db: Session, org: Organisation, wanted: OrgFields, districts: tuple[str, ...], scope: Organisation | None
) -> tuple[dict[str, str], Organisation | None]:
    """Every problem of the wanted values (field → message), and the wanted parent."""
    problems: dict[str, str] = {}
    if not wanted.name.strip():
        problems["name"] = "名称不能为空"
    if wanted.kind not in KINDS:
        problems["kind"] = "类型无效"
    if wanted.district and wanted.district not in districts:
        problems["district"] = f"片区「{wanted.district}」不在配置的片区列表中"
    try:
        clean_phone(wanted.phone)
    except ValueError as exc:
        problems["phone"] = str(exc)
    if wanted.group_id is not None and db.get(GuidanceGroup, wanted.group_id) is None:
        problems["group_id"] = "指导小组不存在"
    parent = db.get(Organisation, org.parent_id) if org.parent_id else None
    if wanted.parent_code != (parent.code if parent else ""):
        if scope is not None and org.id == scope.id:
            problems["parent_code"] = "不能移动你所管理的最上级组织"
        else:
            parent, problem = check_parent(db, org, wanted.parent_code.strip(), scope)
            if problem:
                problems["parent_code"] = problem
    return problems, parent


def edit(
    db: Session, org: Organisation, wanted: OrgFields, districts: tuple[str, ...], scope: Organisation | None
) -> list[str]:
    """Apply `wanted` to `org` (EditRefused with every problem, nothing changed); the names of the changed fields."""
    problems, parent = problems_of(db, org, wanted, districts, scope)
    if problems:
        raise EditRefused(problems)
    before = current_fields(db, org)
    changed = [f.name for f in fields(OrgFields) if getattr(before, f.name) != getattr(wanted, f.name)]
    org.name, org.kind = wanted.name.strip(), wanted.kind
    org.enterprise, org.secretary = wanted.enterprise.strip() or None, wanted.secretary.strip() or None
    org.phone, org.guidance_group_id = clean_phone(wanted.phone), wanted.group_id
    district = wanted.district or None
    if "parent_code" in changed:
        if "district" not in changed and parent is not None and parent.district:
            district = parent.district  # a move takes the new parent's 片区 unless one was chosen
        move(db, org, parent)
    if district != org.district:
        set_district(db, org, district)
        if "district" not in changed:
            changed.append("district")
    if changed:
        org.updated_at = utcnow()
    return changed


def move(db: Session, org: Organisation, parent: Organisation | None) -> None:
    """Put `org` under `parent`, rewriting the path of its whole subtree in one statement."""
    old, new = org.path, path_of(parent, org.id)
    db.flush()
    db.execute(
        update(Organisation)
        .where(Organisation.path.startswith(old, autoescape=True))
        .values(path=literal(new).concat(func.substr(Organisation.path, len(old) + 1)))
        .execution_options(synchronize_session=False)
    )
    db.expire_all()
    org.parent_id = parent.id if parent else None


def set_district(db: Session, org: Organisation, district: str | None) -> None:
    """The 片区 of `org`'s whole subtree, and of the memberships bound to organisations in it."""
    db.flush()
    subtree = Organisation.path.startswith(org.path, autoescape=True)
    db.execute(
        update(Organisation).where(subtree).values(district=district).execution_options(synchronize_session=False)
    )
    codes = select(Organisation.code).where(subtree).scalar_subquery()
    db.execute(
        update(Membership)
        .where(Membership.organisation.in_(codes))
        .values(district=district)
        .execution_options(synchronize_session=False)
    )
    db.expire_all()


def dissolve(db: Session, org: Organisation, scope: Organisation | None) -> None:
    """Mark `org` 撤销 (it keeps its members and history); refused while it has sub-organisations not 撤销."""
    if scope is not None and org.id == scope.id:
        raise EditRefused({"dissolve": "不能撤销你所管理的最上级组织"})
    active_children = db.scalar(
        select(Organisation.id).where(Organisation.parent_id == org.id, Organisation.dissolved_at.is_(None)).limit(1)
    )
    if active_children is not None:
        raise EditRefused({"dissolve": "其下还有未撤销的下级组织，请先撤销或移走它们"})
    org.dissolved_at = org.updated_at = utcnow()


def restore(db: Session, org: Organisation) -> None:
    """Undo 撤销; refused while the parent is 撤销."""
    parent = db.get(Organisation, org.parent_id) if org.parent_id else None
    if parent is not None and parent.dissolved_at is not None:
        raise EditRefused({"restore": "上级组织已撤销，请先恢复上级组织"})
    org.dissolved_at, org.updated_at = None, utcnow()


# ----- guidance groups --------------------------------------------------------------------------------------


def group_problems(db: Session, group: GuidanceGroup | None, name: str, instructor: str, phone: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = "名称不能为空"
    else:
        same = db.scalar(select(GuidanceGroup).where(GuidanceGroup.name == name.strip()))
        if same is not None and (group is None or same.id != group.id):
            problems["name"] = "已有同名的指导小组"
    if len(instructor.strip()) > 32:
        problems["instructor"] = "姓名过长"
    try:
        clean_phone(phone)
    except ValueError as exc:
        problems["phone"] = str(exc)
    return problems


def save_group(db: Session, group: GuidanceGroup | None, name: str, instructor: str, phone: str) -> GuidanceGroup:
    """Create or update a guidance group (EditRefused with the problems)."""
    problems = group_problems(db, group, name, instructor, phone)
    if problems:
        raise EditRefused(problems)
    if group is None:
        group = GuidanceGroup(name=name.strip())
        db.add(group)
    group.name, group.instructor, group.phone = name.strip(), instructor.strip() or None, clean_phone(phone)
    db.flush()
    return group


def assign(db: Session, group: GuidanceGroup, raw_codes: str, scope: Organisation | None) -> list[str]:
    """Put the organisations named by code under `group`; the codes assigned (EditRefused naming bad codes)."""
    codes = [c for c in dict.fromkeys(CODE_SPLIT.split(raw_codes.strip())) if c]
    if not codes:
        raise EditRefused({"codes": "请填写组织编码"})
    orgs = {o.code: o for o in db.scalars(select(Organisation).where(Organisation.code.in_(codes)))}
    unknown = [c for c in codes if c not in orgs or not in_subtree(orgs[c], scope)]
    if unknown:
        raise EditRefused({"codes": "这些组织编码不存在或不在你的管理范围内：" + "、".join(unknown[:20])})
    for org in orgs.values():
        org.guidance_group_id, org.updated_at = group.id, utcnow()
    return codes
