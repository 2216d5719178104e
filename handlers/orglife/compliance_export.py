"""The 三会一课 Excel export (openpyxl write-only): a year's completion by organisation, guidance group and 片区, month
by month, and by kind of meeting. Aggregates only: no person's name, phone or openid leaves in it."""

from __future__ import annotations

from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from handlers.orglife.compliance import Cell, Row
from handlers.orglife.config import OrgLifeConfig

PERCENT = "0.0%"
YEAR_HEADERS = ["应开展", "按时", "补录", "未开展", "进行中", "完成率"]


def rate_cell(sheet: WriteOnlyWorksheet, rate: float | None) -> object:
    if rate is None:
        return None
    cell = WriteOnlyCell(sheet, value=round(rate, 4))
    cell.number_format = PERCENT
    return cell


def cell_values(sheet: WriteOnlyWorksheet, cell: Cell) -> list[object]:
    return [cell.required, cell.on_time, cell.late, cell.missing, cell.open, rate_cell(sheet, cell.rate)]


def month_text(cell: Cell) -> str | None:
    """A month's cell as text: 按时/补录/未开展 counts (empty when nothing was due)."""
    if not cell.required and not cell.open:
        return None
    return f"{cell.on_time}/{cell.late}/{cell.missing}" + (f" (+{cell.open}进行中)" if cell.open else "")


def sheet_of(book: Workbook, title: str, first: list[str], rows: list[Row], with_code: bool) -> int:
    sheet = book.create_sheet(title)
    sheet.append(first + YEAR_HEADERS + [f"{m}月 按时/补录/未开展" for m in range(1, 13)])
    for row in rows:
        lead: list[object] = [row.key, row.label] if with_code else [row.label]
        sheet.append(lead + cell_values(sheet, row.year) + [month_text(row.months[m]) for m in range(1, 13)])
    return len(rows)


def write(
    out: IO[bytes],
    year: int,
    orgs: list[Row],
    groups: list[Row],
    districts: list[Row],
    total: Row,
    cfg: OrgLifeConfig,
) -> int:
    """Write the workbook to `out`; the number of organisation, group and 片区 rows."""
    book = Workbook(write_only=True)
    written = sheet_of(book, "按组织", ["组织编码", "组织名称"], orgs, True)
    written += sheet_of(book, "按指导小组", ["指导小组"], groups, False)
    written += sheet_of(book, "按片区", ["片区"], districts, False)
    sheet_of(book, "合计", ["范围"], [total], False)
    kinds = book.create_sheet("按会议类型")
    kinds.append(["会议类型", *YEAR_HEADERS])
    for kind in cfg.kinds:
        kinds.append([kind.name, *cell_values(kinds, total.kinds.get(kind.key, Cell()))])
    notes = book.create_sheet("口径")
    for line in (
        f"{year}年，北京时间。按时：周期内召开并在周期结束前登记；补录：周期内召开、周期结束后登记；未开展：周期结束仍无。",
        "完成率 =（按时 + 补录 ÷ 2）÷ 应开展；应开展 = 按时 + 补录 + 未开展（进行中的周期不计）。",
        "季度、年度会议计入周期最后一个月。",
    ):
        notes.append([line])
    book.save(out)
    return written
