"""Ticket test helpers (tests/): a submission, a ticket submitted at a fixed time, a console account made directly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.accounts import Account
from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in China


def sub(openid: str = "o_user", key: str = "draft-1", **fields: Any) -> Submission:
    """A confirmed draft of a labour-rights ticket; `fields` change it."""
    base = dict(category="劳动权益", description="工资拖欠两个月", place="某某电子厂", phone="13812345678")
    base.update(fields)
    return Submission(key=key, openid=openid, **base)


def new_ticket(services: Any, now: datetime = NOW, **fields: Any) -> Ticket:
    """A ticket submitted at `now` (asserts it is new)."""
    with services.sessions() as db:
        ticket, created = submit(db, TicketConfig.of(services.settings), sub(**fields), now)
        assert created
        return ticket


def account(services: Any, name: str, *roles: str, **fields: Any) -> int:
    """A console account made directly (no usable password); its id."""
    with services.sessions() as db:
        row = Account(username=name, password_hash="x", roles=list(roles), **fields)
        db.add(row)
        db.commit()
        return row.id
