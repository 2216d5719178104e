"""The console's ticket dashboard: collected / resolved counts and the three rates, charts, Excel export (being built)."""
from __future__ import annotations

from flask import Blueprint

from bot.console.web import role_required

bp = Blueprint("ticket_reports", __name__, url_prefix="/ticket-reports")


@bp.get("/")
@role_required("handler")
def index() -> str:
    return "诉求统计（建设中）"
