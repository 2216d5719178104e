"""The console's ticket pages: queue, ticket detail with the workflow steps, staff notices (being built)."""
from __future__ import annotations

from flask import Blueprint

from bot.console.web import role_required

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


@bp.get("/")
@role_required("handler")
def index() -> str:
    return "诉求队列（建设中）"
