"""Console ticket test helpers (tests/handlers/tickets/): tickets as the chat makes them, staff, steps, audit."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import select

from bot.core.accounts import Account, AuditEntry
from bot.core.database import utcnow
from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit as submit_ticket
from tests.console.console_helpers import login, submit as post_form

PHONE = "13812345678"
_keys = count(1)


def new_ticket(services: Any, now: datetime | None = None, **fields: Any) -> Ticket:
    """A submitted ticket (as the chat dialog would make it), then changed directly by `changes`."""
    changes = {k: fields.pop(k) for k in ("department", "assignee_id", "accepted_by_id", "status") if k in fields}
    base = dict(openid="o_worker", category="劳动权益", description="工资拖欠两个月", place="某某电子厂", phone=PHONE)
    base.update(fields)
    with services.sessions() as db:
        ticket, _ = submit_ticket(
            db, TicketConfig.of(services.settings), Submission(key=f"k{next(_keys)}", **base), now or utcnow()
        )
        for name, value in changes.items():
            setattr(ticket, name, value)
        db.commit()
        return ticket


def signed_in(app: Any, make_account: Any, username: str, *roles: str, **fields: Any) -> Any:
    """A new client signed in as a new account (with e.g. department=...)."""
    account_id = make_account(username, *roles)
    if fields:
        with app.extensions["bot"].sessions() as db:
            row = db.get(Account, account_id)
            for name, value in fields.items():
                setattr(row, name, value)
            db.commit()
    client = app.test_client()
    assert login(client, username).status_code == 302
    client.account_id = account_id
    return client


def page(client: Any, url: str) -> str:
    """The HTML of `url` (asserts 200)."""
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return res.get_data(as_text=True)


def step(client: Any, ticket: Ticket, action: str, **data: Any) -> Any:
    """Post one workflow step's form on the ticket page."""
    url = f"/console/tickets/{ticket.number}"
    return post_form(client, url, data, action=f"{url}/{action}")


def fresh(services: Any, ticket: Ticket) -> Ticket:
    """The ticket as saved now."""
    with services.sessions() as db:
        return db.get(Ticket, ticket.id)


def audit_entries(services: Any, action: str | None = None) -> list[AuditEntry]:
    """The audit log, oldest first (only `action`'s entries when given)."""
    with services.sessions() as db:
        query = select(AuditEntry).order_by(AuditEntry.id)
        return list(db.scalars(query.where(AuditEntry.action == action) if action else query))
