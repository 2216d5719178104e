"""The console's ticket dashboard: collected / solved counts, the three rates by month, category, department and
片区 with bar charts, a month-range filter, and the Excel export (audited)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template, request, send_file
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.web import current, db, role_required, services
from bot.core.database import utcnow
from handlers.tickets import export as ticket_export, stats as ticket_stats, suggest
from handlers.tickets.models import Ticket
from handlers.tickets.rules import TicketConfig, china
from handlers.tickets.stats import Counts, Filters, percent

bp = Blueprint("ticket_reports", __name__, url_prefix="/ticket-reports", template_folder="templates")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL = 8 * 1024 * 1024  # an export up to this size stays in memory; a bigger one goes to a temp file
RATES = (("response", "响应率"), ("solve", "解决率"), ("satisfaction", "满意率"))  # Counts.<key>_rate → name


@dataclass
class Bar:
    """One month of a chart: the label, the bars' values and their lengths (0-100, for an SVG width)."""

    label: str
    values: list[Any]
    lengths: list[float]


def config() -> TicketConfig:
    return TicketConfig.of(services().settings)


def count_bars(months: list[tuple[str, Counts]]) -> list[Bar]:
    """Per month: collected and solved, scaled to the busiest month."""
    top = max((c.collected for _, c in months), default=0) or 1
    return [Bar(m, [c.collected, c.solved], [100 * c.collected / top, 100 * c.solved / top]) for m, c in months]


def rate_bars(months: list[tuple[str, Counts]]) -> list[Bar]:
    """Per month: the three rates as percentages of 100 ("—" and no bar when undefined)."""
    bars = []
    for m, c in months:
        rates = [getattr(c, f"{key}_rate") for key, _ in RATES]
        bars.append(Bar(m, [percent(r) for r in rates], [100 * (r or 0) for r in rates]))
    return bars


def districts() -> list[str]:
    """The 片区 tickets name (for the filter)."""
    found = db().execute(select(Ticket.district).where(Ticket.district.is_not(None)).distinct()).scalars()
    return sorted(found)


@bp.get("/")
@role_required("caseworker")
def index() -> str:
    """The headline figure, the three rates, charts per month and the four tables."""
    cfg, filters = config(), Filters.of(request.args)
    report, _ = ticket_stats.cached_report(services().redis, db(), filters)
    months = report.months()
    dispatch_total, dispatch_rows = suggest.taken(db(), filters.where())
    return render_template(
        "console/ticket_reports.html",
        report=report,
        total=report.total,
        filters=filters,
        cfg=cfg,
        tables=ticket_export.tables(cfg, report),
        count_bars=count_bars(months),
        rate_bars=rate_bars(months),
        rates=RATES,
        percent=percent,
        districts=districts(),
        export_args=filters.args(),
        intake_hours=f"{cfg.intake.total_seconds() / 3600:g}",
        dispatch_total=dispatch_total,
        dispatch_rows=dispatch_rows,
    )


@bp.get("/export.xlsx")
@role_required("caseworker")
def export() -> Response:
    """The filtered tickets the account may see and the rates tables, as an Excel workbook."""
    cfg, filters = config(), Filters.of(request.args)
    report, _ = ticket_stats.cached_report(services().redis, db(), filters)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (send_file closes it with the response)
    rows = ticket_export.write(out, db(), cfg, filters, current(), report)
    audit.record("ticket.export", None, filters=filters.args(), rows=rows)
    out.seek(0)
    name = f"诉求明细_tickets_{china(utcnow()).strftime('%Y%m%d-%H%M')}.xlsx"
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=name, max_age=0)
