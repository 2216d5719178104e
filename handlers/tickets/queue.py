"""The caseworkers' ticket queue as SQL (read by handlers/tickets/console.py): who sees what, filters, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, union_all
from sqlalchemy.orm import Session

from bot.core.organisations import Organisation
from handlers.tickets.models import OPEN_STATUSES, STATUSES, Ticket
from handlers.tickets.rules import NUMBER

if TYPE_CHECKING:
    from bot.core.accounts import Account

QUERY_MAX = 50  # characters of a search text used (a scan: ~110 ms on SQLite, ~60 ms on PostgreSQL at 100k tickets)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page asks for; empty strings mean "any"."""

    status: str = ""  # "" = still open, "all", or a key of STATUSES
    category: str = ""
    department: str = ""  # a tickets.departments id, or "none" (not yet assigned)
    district: str = ""
    organisation: str = ""  # an organisation's code: its tickets and those of everything under it
    q: str = ""  # number, or text in the description or place
    overdue: bool = False  # open and past the resolution deadline
    mine: bool = False  # accepted by or assigned to the viewer

    def statuses(self) -> tuple[str, ...]:
        """The statuses shown, each scanned on its own (status, due_at) index range."""
        if self.status == "all":
            wanted: tuple[str, ...] = tuple(STATUSES)
        elif self.status in STATUSES:
            wanted = (self.status,)
        else:
            wanted = OPEN_STATUSES
        return tuple(s for s in wanted if s in OPEN_STATUSES) if self.overdue else wanted


@dataclass
class QueuePage:
    """One page of the queue; no total (counting everything would be the slow part)."""

    items: list[Ticket]
    number: int
    size: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def visible_to(account: Account) -> ColumnElement[bool] | None:
    """handlers.tickets.rules.can_view as a WHERE clause; None when the account sees every ticket."""
    if account.is_admin:
        return None
    if not account.has_role("caseworker"):
        return false()
    seen = [
        and_(Ticket.assignee_id.is_(None), Ticket.department.is_(None)),
        Ticket.assignee_id == account.id,
        Ticket.accepted_by_id == account.id,
    ]
    if account.department:
        seen.append(Ticket.department == account.department)
    return or_(*seen)


def text_match(q: str) -> ColumnElement[bool]:
    """A whole ticket number exactly (unique index); otherwise a part of the number, description or place."""
    q = q.strip()[:QUERY_MAX]
    if NUMBER.match(q.upper()):
        return Ticket.number == q.upper()
    return or_(
        Ticket.number.contains(q.upper(), autoescape=True),
        Ticket.description.contains(q, autoescape=True),
        Ticket.place.contains(q, autoescape=True),
    )


def subtree_of(code: str) -> Select[Any]:
    """SQL selecting the ids of the organisation with this code and of everything under it (none if unknown)."""
    root = select(Organisation.path).where(Organisation.code == code).scalar_subquery()
    return select(Organisation.id).where(Organisation.path.startswith(root))  # paths are digits and "/": no escaping


def conditions(f: QueueFilter, account: Account, now: datetime) -> list[ColumnElement[bool]]:
    """Every filter but the status, as WHERE clauses."""
    found: list[ColumnElement[bool]] = []
    seen = visible_to(account)
    if seen is not None:
        found.append(seen)
    if f.category:
        found.append(Ticket.category == f.category)
    if f.department == "none":
        found.append(Ticket.department.is_(None))
    elif f.department:
        found.append(Ticket.department == f.department)
    if f.district:
        found.append(Ticket.district == f.district)
    if f.organisation:
        found.append(Ticket.organisation_id.in_(subtree_of(f.organisation)))
    if f.q.strip():
        found.append(text_match(f.q))
    if f.overdue:
        found.append(Ticket.due_at < now)
    if f.mine:
        found.append(or_(Ticket.assignee_id == account.id, Ticket.accepted_by_id == account.id))
    return found


def ordered_ids(f: QueueFilter, account: Account, now: datetime, limit: int, offset: int) -> Select[Any]:
    """Ids by deadline: per status the first `offset + limit` of its index range, merged and cut."""
    where = conditions(f, account, now)
    parts = [
        select(Ticket.id.label("id"), Ticket.due_at.label("due_at"))
        .where(Ticket.status == s, *where)
        .order_by(Ticket.due_at, Ticket.id)
        .limit(offset + limit)
        .subquery()
        for s in f.statuses()
    ]
    merged = union_all(*[select(p.c.id, p.c.due_at) for p in parts]).subquery()
    return select(merged.c.id).order_by(merged.c.due_at, merged.c.id).limit(limit).offset(offset)


def queue_page(db: Session, f: QueueFilter, account: Account, now: datetime, number: int, size: int) -> QueuePage:
    """Page `number` (from 1) of the tickets `account` may see, soonest deadline first."""
    number = max(1, number)
    if not f.statuses():  # e.g. overdue among closed tickets
        return QueuePage([], number, size, False)
    ids = list(db.scalars(ordered_ids(f, account, now, size + 1, (number - 1) * size)))
    rows = {t.id: t for t in db.scalars(select(Ticket).where(Ticket.id.in_(ids[:size])))} if ids else {}
    return QueuePage([rows[i] for i in ids[:size] if i in rows], number, size, len(ids) > size)
