"""The 党建数据 Excel export (openpyxl write-only): every organisation in scope (its subtree's figures) and every 片区.

Aggregates only: no names, phones or openids of members leave in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.core.organisations import Organisation
from handlers.orgs.figures import Period, Row, Tree

ORG_HEADERS = [("组织编码", 12), ("组织名称", 30), ("类型", 8), ("上级组织编码", 12), ("片区", 10)]
FIGURE_HEADERS = [
    ("党员数", 8),
    ("已认证", 8),
    ("认证率", 8),
    ("参学人数", 9),
    ("参学率", 8),
    ("积分合计", 9),
    ("人均积分", 9),
]
PERCENT, DECIMAL = "0.0%", "0.0"


def figure_cells(sheet: WriteOnlyWorksheet, row: Row) -> list[object]:
    """The seven figures; rates as Excel percentages, blank when nobody is on the roster."""
    cells: list[object] = [row.roster, row.confirmed, number(sheet, row.auth_rate, PERCENT), row.studied]
    cells += [number(sheet, row.study_rate, PERCENT), row.points, number(sheet, row.avg_points, DECIMAL)]
    return cells


def number(sheet: WriteOnlyWorksheet, value: float | None, fmt: str) -> object:
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=round(value, 4))
    cell.number_format = fmt
    return cell


def header(sheet: WriteOnlyWorksheet, columns: list[tuple[str, int]]) -> None:
    for i, (_, width) in enumerate(columns):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.append([name for name, _ in columns])


def write(out: IO[bytes], period: Period, tree: Tree, root: Organisation | None) -> int:
    """Write the workbook to `out`; the number of organisation and 片区 rows."""
    book = Workbook(write_only=True)
    orgs = book.create_sheet("按组织")
    header(orgs, ORG_HEADERS + FIGURE_HEADERS)
    written = 0
    for row in ordered(tree):
        orgs.append([row.code, row.label, row.kind, row.parent_code, row.district, *figure_cells(orgs, row)])
        written += 1
    districts = book.create_sheet("按片区")
    header(districts, [("片区", 12), *FIGURE_HEADERS])
    for row in tree.districts.values():
        if root is None or row.roster:
            districts.append([row.label, *figure_cells(districts, row)])
            written += 1
    about = book.create_sheet("说明")
    for line in notes(period, root):
        about.append([line])
    book.save(out)
    return written


def ordered(tree: Tree) -> Iterable[Row]:
    """The organisations depth first, each parent before its children (as the tree reads)."""
    stack = list(reversed(tree.children.get(None, [])))
    while stack:
        org_id = stack.pop()
        yield tree.rows[org_id]
        stack.extend(reversed(tree.children.get(org_id, [])))


def notes(period: Period, root: Organisation | None) -> list[str]:
    return [
        f"统计周期：{period.label}（{period.start} 至 {period.end}，不含）",
        f"范围：{root.code + ' ' + root.name if root else '整个园区'}；每个组织的数字包含其下级组织",
        "认证率 = 已认证党员 ÷ 花名册在册党员",
        "参学率 = 周期内至少学习一天（答题、收听新声、阅读文章）的已认证党员 ÷ 花名册在册党员",
        "人均积分 = 已认证党员周期内所得积分合计 ÷ 花名册在册党员",
    ]
