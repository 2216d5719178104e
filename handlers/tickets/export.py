"""Excel export of tickets (openpyxl write-only, bounded memory): the filtered tickets and the rates tables.

Privacy: phone numbers are always masked (mask_phone; mobile numbers typed into the description or place too,
however written: bot.core.phones), an anonymous ticket's phone is left out, and no openid is exported at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.organisations import Organisation
from bot.core.phones import mask_phones
from handlers.tickets.models import RATINGS, STATUSES, Ticket
from handlers.tickets.queue import visible_to
from handlers.tickets.rules import TicketConfig, china, mask_phone
from handlers.tickets.stats import Counts, Filters, Report

if TYPE_CHECKING:
    from bot.core.accounts import Account

BATCH = 2000  # rows fetched from the database at a time
COLUMNS = [  # header → width (characters) of the tickets sheet
    ("编号", 15),
    ("提交时间", 17),
    ("月份", 9),
    ("类别", 10),
    ("时限类别", 9),
    ("状态", 9),
    ("承办部门", 18),
    ("片区", 10),
    ("党组织", 24),
    ("企业或地点", 20),
    ("诉求内容", 50),
    ("联系电话", 13),
    ("匿名", 6),
    ("首次响应时间", 17),
    ("按时响应", 9),
    ("办理期限", 17),
    ("办结时间", 17),
    ("已解决", 7),
    ("评价", 9),
    ("重办次数", 9),
]
FIELDS = (
    Ticket.number,
    Ticket.created_at,
    Ticket.month,
    Ticket.category,
    Ticket.tier,
    Ticket.status,
    Ticket.department,
    Ticket.district,
    Ticket.place,
    Ticket.description,
    Ticket.phone,
    Ticket.anonymous,
    Ticket.responded_at,
    Ticket.responded_on_time,
    Ticket.due_at,
    Ticket.resolved_at,
    Ticket.solved,
    Ticket.rating,
    Ticket.reopened,
)
RATE_HEADER = ["", "提交", "已收集", "不予受理", "办理中", "已解决", "响应率", "解决率", "满意率"]
DEFINITIONS = [
    "口径说明",
    "已收集：全部诉求，不含被合并的重复诉求。",
    "响应率：在受理时限内首次答复（受理、交办、不予受理、合并）的件数 ÷ 已答复或已过受理时限的件数。",
    "解决率：已办结且未被重办的件数 ÷ 已受理件数（已收集 − 不予受理）。",
    "满意率：评价为满意、基本满意的件数 ÷ 已评价件数（以最近一次评价为准）。",
    "按月统计以提交月份（北京时间）为准。",
]


def clean(text: str | None) -> str:
    """Free text fit for a cell: characters XML refuses dropped, mobile numbers masked."""
    return mask_phones(ILLEGAL_CHARACTERS_RE.sub("", text or ""))


def text_cell(ws: WriteOnlyWorksheet, text: str) -> Any:
    """A cell that is always text: "=..." from a submitter must never become a formula (or an error value)."""
    if not (text.startswith("=") or text in ERROR_CODES):
        return text
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    return cell


def local(when: datetime | None) -> datetime | None:
    """China time without the zone (Excel keeps none)."""
    return china(when).replace(tzinfo=None) if when else None


def yes_no(value: bool | None) -> str:
    return "—" if value is None else ("是" if value else "否")


def ticket_row(ws: WriteOnlyWorksheet, cfg: TicketConfig, row: Any) -> list[Any]:
    phone = "" if row.anonymous else mask_phone(row.phone)
    return [
        row.number,
        local(row.created_at),
        row.month,
        text_cell(ws, clean(row.category)),
        cfg.tier_name(row.tier),
        STATUSES.get(row.status, row.status),
        cfg.department_name(row.department) if row.department else "",
        text_cell(ws, clean(row.district)),
        text_cell(ws, clean(f"{row.org_name}（{row.org_code}）" if row.org_code else "")),
        text_cell(ws, clean(row.place)),
        text_cell(ws, clean(row.description)),
        phone,
        "是" if row.anonymous else "否",
        local(row.responded_at),
        yes_no(row.responded_on_time),
        local(row.due_at),
        local(row.resolved_at),
        yes_no(row.solved),
        RATINGS.get(row.rating or "", ""),
        row.reopened,
    ]


def tickets(db: Session, filters: Filters, viewer: Account) -> Iterator[Any]:
    """The filtered tickets the viewer may see (handlers.tickets.rules.can_view), oldest first, fetched in batches."""
    seen = visible_to(viewer)  # as the queue: None for admins (every ticket)
    query = (
        select(*FIELDS, Organisation.name.label("org_name"), Organisation.code.label("org_code"))
        .select_from(Ticket)
        .outerjoin(Organisation, Organisation.id == Ticket.organisation_id)
    )
    query = query.where(*filters.where(), *([] if seen is None else [seen])).order_by(Ticket.id)
    yield from db.execute(query.execution_options(yield_per=BATCH))


def rate_cell(ws: WriteOnlyWorksheet, rate: float | None) -> Any:
    """A rate as a number shown as a percentage ("—" when there is nothing to divide by)."""
    if rate is None:
        return "—"
    cell = WriteOnlyCell(ws, value=rate)
    cell.number_format = "0.0%"
    return cell


def rate_row(ws: WriteOnlyWorksheet, label: Any, c: Counts) -> list[Any]:
    return [
        label,
        c.submitted,
        c.collected,
        c.rejected,
        c.open,
        c.solved,
        *(rate_cell(ws, r) for r in (c.response_rate, c.solve_rate, c.satisfaction_rate)),
    ]


def rates_sheet(wb: Workbook, cfg: TicketConfig, report: Report) -> None:
    """The totals and the four tables, then the definitions."""
    ws = wb.create_sheet("统计")
    ws.column_dimensions["A"].width = 24
    ws.append(["合计", *RATE_HEADER[1:]])
    ws.append(rate_row(ws, "全部", report.total))
    for title, rows in tables(cfg, report):
        ws.append([])
        ws.append([title, *RATE_HEADER[1:]])
        for label, counts in rows:
            ws.append(rate_row(ws, text_cell(ws, clean(label)), counts))
    ws.append([])
    for line in DEFINITIONS:
        ws.append([line])


def tables(cfg: TicketConfig, report: Report) -> list[tuple[str, list[tuple[str, Counts]]]]:
    """(title, [(label, counts)]) of the four tables, labelled for people (department names from config)."""
    deps = [(cfg.department_name(k) if k else "未交办部门", c) for k, c in report.rows("department", cfg.departments)]
    return [
        ("按月份", report.months()),
        ("按类别", report.rows("category", cfg.categories)),
        ("按承办部门", deps),
        ("按片区", [(k or "未填写片区", c) for k, c in report.rows("district")]),
    ]


def write(out: IO[bytes], db: Session, cfg: TicketConfig, filters: Filters, viewer: Account, report: Report) -> int:
    """The workbook into `out` (a binary file); the number of tickets written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("诉求明细")
    for letter, (_, width) in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", COLUMNS, strict=False):  # a letter per column
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "B2"
    ws.append([name for name, _ in COLUMNS])
    count = 0
    for row in tickets(db, filters, viewer):
        ws.append(ticket_row(ws, cfg, row))
        count += 1
    rates_sheet(wb, cfg, report)
    wb.save(out)
    return count
