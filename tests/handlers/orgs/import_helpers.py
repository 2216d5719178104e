"""Test helpers for the organisation and roster imports: sheets built in memory (csv or xlsx), run and count.

Every person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.organisations import Organisation, OrganisationsConfig, RosterMember
from handlers.orgs import import_run, importing
from handlers.orgs.sheets import ORG, ROSTER, csv_bytes, read, xlsx_bytes

CFG = OrganisationsConfig(districts=("第一片区", "第二片区"), confirm="auto", name_mask="middle", max_attempts=5,
                          attempt_window=86400)  # fmt: skip
ORG_HEAD = ["编码", "名称", "类型", "上级编码", "片区", "所属企业", "书记", "联系电话", "指导小组"]
ROSTER_HEAD = ["姓名", "性别", "手机号", "所属组织编码", "类别", "入党日期", "职务"]
TREE = [
    ["R", "测试园区党工委", "党工委", "", "", "", "", "", ""],
    ["D1", "测试第一片区党委", "片区党委", "R", "第一片区", "", "", "", ""],
    ["D2", "测试第二片区党委", "片区党委", "R", "第二片区", "", "", "", ""],
    ["A", "测试甲公司党委", "党委", "D1", "", "测试甲公司", "测试书记", "19900000100", "第一指导小组"],
    ["A1", "测试甲公司第一党支部", "党支部", "A", "", "测试甲公司", "", "", "第一指导小组"],
    ["B", "测试乙公司党支部", "党支部", "D2", "", "测试乙公司", "", "", "第二指导小组"],
]
ROSTER_ROWS = [
    ["测试党员一", "男", "19900000001", "A1", "正式党员", "2010-07-01", "书记"],
    ["测试党员二", "女", "19900000002", "A1", "预备党员", "2023/5/4", ""],
    ["测试党员三", "男", "19900000003", "B", "正式党员", "", "组织委员"],
]


def org_file(rows: Sequence[Sequence[Any]] = TREE, fmt: str = "csv", head: Sequence[str] = ORG_HEAD) -> bytes:
    return xlsx_bytes([head, *rows]) if fmt == "xlsx" else csv_bytes([head, *rows])


def roster_file(rows: Sequence[Sequence[Any]] = ROSTER_ROWS, fmt: str = "csv") -> bytes:
    return xlsx_bytes([ROSTER_HEAD, *rows]) if fmt == "xlsx" else csv_bytes([ROSTER_HEAD, *rows])


def run(db: Session, data: bytes, kind: str = ORG, write: bool = True, name: str = "x.csv") -> importing.Plan:
    """Read, check and (with `write`) apply one file."""
    return import_run.run(db, read(data, kind, name), CFG, write=write, actor="test")


def load_tree(db: Session) -> importing.Plan:
    plan = run(db, org_file())
    assert plan.ok, plan.problems
    return plan


def load_roster(db: Session, rows: Sequence[Sequence[Any]] = ROSTER_ROWS) -> importing.Plan:
    plan = run(db, roster_file(rows), ROSTER)
    assert plan.ok, plan.problems
    return plan


def counts(db: Session) -> tuple[int, int]:
    """(organisations, roster members) in the database."""
    return db.scalar(select(func.count(Organisation.id))) or 0, db.scalar(select(func.count(RosterMember.id))) or 0


def org(db: Session, code: str) -> Organisation:
    found = db.scalar(select(Organisation).where(Organisation.code == code))
    assert found is not None
    return found


def problems(plan: importing.Plan) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message) for p in plan.problems]
