"""Console push test helpers (tests/handlers/pushes/): the new-push form, posting it, the saved push, audit actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.accounts import AuditEntry
from bot.core.database import utcnow
from handlers.pushes.models import Push
from handlers.quiz.points import TZ
from tests.console.console_helpers import submit


def when(days: int = 1, hour: int = 12) -> str:
    """The form's run_at value for `hour` o'clock China time `days` from now."""
    day = (utcnow().astimezone(TZ) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00"


FORM = {
    "title": "支部学习<script>alert(1)</script>",
    "content_kind": "text",
    "body": "今晚八点学习 <b>x</b>",
    "audience_kind": "all",
    "channel": "custom",
    "timing": "once",
    "run_at": when(),
    "episode": "",
    "article": "",
    "audience_tag": "",
    "audience_org": "",
    "audience_district": "",
    "audience_category": "",
    "test_openids": "",
    "recurrence": "",
    "series_from": "",
    "series_to": "",
    "series_every_days": "",
}


def create(client: Any, **changes: Any) -> Any:
    """Post the new-push form (FORM with `changes`)."""
    return submit(client, "/console/pushes/new", {**FORM, **changes})


def actions(services: Any) -> list[str]:
    """The audit log's actions, oldest first."""
    with services.sessions() as db:
        return [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def only_push(services: Any) -> Push:
    """The one push saved (fails if there are none or several)."""
    with services.sessions() as db:
        return db.scalars(select(Push)).one()
