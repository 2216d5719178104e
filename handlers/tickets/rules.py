"""Tickets (急难愁盼): numbers, submission from chat, the submitter's view, and privacy rules (settings: config.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.clock import china  # ticket numbers, months and deadlines shown follow China time
from bot.core.database import insert_ignoring, utcnow
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import Organisation, RosterMember
from bot.core.phones import mask_phone  # noqa: F401 - re-exported: the console and the export import it from here
from handlers.tickets.config import TicketConfig
from handlers.tickets.media import add_rows
from handlers.tickets.models import Ticket, TicketCounter, TicketEvent

if TYPE_CHECKING:
    from bot.core.accounts import Account

PHONE = re.compile(r"^1[3-9]\d{9}$")  # a mainland mobile number (11 digits, 13x–19x)
NUMBER = re.compile(r"^[A-Z]{1,4}\d{10}$")  # a ticket number: prefix, yymmdd, 4-digit sequence


@dataclass
class Submission:
    """What the chat dialog collected; `key` (the draft's id) makes confirming twice create one ticket."""

    key: str
    openid: str
    category: str
    description: str
    place: str
    phone: str | None = None
    anonymous: bool = False
    media: list[dict[str, Any]] = field(default_factory=list)
    district: str | None = None
    organisation_id: int | None = None  # a confirmed member's organisation (with its 片区 in district)


def valid_phone(text: str) -> str | None:
    """The mobile number in `text` (spaces and dashes allowed), or None."""
    digits = re.sub(r"[\s\-]", "", text or "").removeprefix("+86")
    return digits if PHONE.match(digits) else None


def next_number(db: Session, cfg: TicketConfig, now: datetime) -> str:
    """Take the day's next sequence number inside the caller's transaction (JK2611210007)."""
    day = china(now).strftime("%y%m%d")
    db.execute(insert_ignoring(db, TicketCounter, {"day": day, "last": 0}, index_elements=["day"]))
    seq = db.execute(
        update(TicketCounter)
        .where(TicketCounter.day == day)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    ).scalar_one()
    return f"{cfg.prefix}{day}{seq:04d}"


def submit(db: Session, cfg: TicketConfig, sub: Submission, now: datetime | None = None) -> tuple[Ticket, bool]:
    """Write the ticket, its first event and its media rows in one transaction; (ticket, created). Idempotent on
    `sub.key`."""
    existing = db.scalar(select(Ticket).where(Ticket.submission_key == sub.key))
    if existing is not None:
        return existing, False
    now = now or utcnow()
    tier = cfg.categories.get(sub.category, "general")
    ticket = Ticket(
        number=next_number(db, cfg, now),
        submission_key=sub.key,
        openid=sub.openid,
        category=sub.category,
        tier=tier,
        description=sub.description[: cfg.description_max],
        media=sub.media[: cfg.media_max],
        place=sub.place[:100],
        phone=sub.phone,
        anonymous=sub.anonymous,
        district=sub.district,
        organisation_id=sub.organisation_id,
        status="new",
        month=china(now).strftime("%Y-%m"),
        created_at=now,
        updated_at=now,
        accept_due_at=now + cfg.intake,
        due_at=now + cfg.tiers[tier][1] if tier in cfg.tiers else now,
    )
    db.add(ticket)
    try:
        db.flush()
        db.add(TicketEvent(ticket_id=ticket.id, at=now, kind="submit", actor="submitter", details={}))
        add_rows(db, ticket)  # its images and voice, to copy from WeChat before their media ids expire
        db.commit()
    except IntegrityError:  # the same draft confirmed at the same moment elsewhere
        db.rollback()
        return db.scalars(select(Ticket).where(Ticket.submission_key == sub.key)).one(), False
    return ticket, True


def member_organisation(db: Session, openid: str) -> Organisation | None:
    """The roster organisation of a confirmed member still on the roster."""
    member = db.get(Membership, openid)
    if member is None or member.status != CONFIRMED or member.member_id is None:
        return None
    row = db.get(RosterMember, member.member_id)
    return db.get(Organisation, row.organisation_id) if row is not None and row.left_at is None else None


def by_number(db: Session, number: str) -> Ticket | None:
    return db.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))


def of_submitter(db: Session, openid: str, limit: int = 10) -> Sequence[Ticket]:
    """The submitter's newest tickets."""
    return db.scalars(
        select(Ticket).where(Ticket.openid == openid).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    ).all()


def own_ticket(db: Session, openid: str, number: str) -> Ticket | None:
    """The ticket with this number if `openid` submitted it; None for anyone else's (they learn nothing)."""
    ticket = by_number(db, number)
    return ticket if ticket is not None and ticket.openid == openid else None


def timeline(db: Session, ticket: Ticket) -> Sequence[TicketEvent]:
    """The ticket's events in order (staff view: all; filter `public` for the submitter)."""
    return db.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at, TicketEvent.id)
    ).all()


def awaiting_rating(db: Session, openid: str) -> Ticket | None:
    """The submitter's newest resolved ticket that has not been rated."""
    return db.scalar(
        select(Ticket)
        .where(Ticket.openid == openid, Ticket.status == "resolved")
        .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def is_handler_of(account: Account, ticket: Ticket) -> bool:
    """The account accepted the ticket or has it assigned."""
    return account.id in (ticket.accepted_by_id, ticket.assignee_id)


def can_see_submitter(account: Account, ticket: Ticket) -> bool:
    """Who submitted it: the caseworker of record; for an anonymous ticket never the assignee alone."""
    if ticket.anonymous:
        return account.id == ticket.accepted_by_id
    return is_handler_of(account, ticket)


def can_see_phone(account: Account, ticket: Ticket) -> bool:
    """The phone number in full: only the ticket's caseworker (and not the assignee of an anonymous ticket)."""
    return bool(ticket.phone) and can_see_submitter(account, ticket)


def can_view(account: Account, ticket: Ticket) -> bool:
    """Admins see every ticket; a caseworker sees the queue (unassigned), their department's and their own."""
    if account.is_admin:
        return True
    if not account.has_role("caseworker"):
        return False
    return (
        (ticket.assignee_id is None and ticket.department is None)
        or ticket.assignee_id == account.id
        or ticket.accepted_by_id == account.id
        or (account.department is not None and ticket.department == account.department)
    )


def attach(services: Any) -> None:
    """The tickets feature's setup: the departments (id → name) the console's account page offers."""
    services.departments = {key: name for key, (name, _) in TicketConfig.of(services.settings).departments.items()}
