"""Telling people about tickets: submitters (customer-service message, template, or at their next message)
and staff (a console notice once a deadline passes, found by the scheduler's escalation check)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import redis
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.core.clock import aware
from bot.core.database import utcnow
from bot.core.logs import mask
from bot.outbound.outbox import TEMPLATE_VALUE
from handlers.tickets.flow import Step
from handlers.tickets.models import OPEN_STATUSES, StaffNotice, Ticket, TicketNotice
from handlers.tickets.rules import TicketConfig, china

if TYPE_CHECKING:
    from bot.core.services import Services

PENDING_KEY = "tickets:notice-pending"  # Redis set of openids with notices waiting for their next message
LOCK_KEY = "tickets:notice-lock:{}"  # Redis lock: one process at a time sends a submitter's notices
LOCK_TTL = 60  # seconds the lock is held at most (a crashed sender frees it then)
LOCK_WAIT = 30  # seconds a background sender waits for another process's turn
log = logging.getLogger(__name__)


def template_data(notice: TicketNotice, number: str) -> dict[str, dict[str, str]]:
    first_line = notice.text.split("\n", 1)[0]
    return {"number": {"value": number}, "status": {"value": first_line[:TEMPLATE_VALUE]}}


def send_one(services: Services, db: Session, notice: TicketNotice, cfg: TicketConfig, now: datetime) -> str | None:
    """Send one notice: customer-service message in the window, else the template; the channel used, or None."""
    if services.followers.in_window(notice.openid, now):
        result = services.outbox.send_text(notice.openid, notice.text)
        if result.ok:
            return "custom"
        if result.kind != "window":
            return "failed" if result.kind in ("unsubscribed", "blocked") else None
    if cfg.template_id:
        ticket = db.get(Ticket, notice.ticket_id)
        result = services.outbox.send_template(
            notice.openid, cfg.template_id, template_data(notice, ticket.number if ticket else "")
        )
        if result.ok:
            return "template"
    return None


def deliver(services: Services, notice_ids: Iterable[int], now: datetime | None = None) -> int:
    """Send the given notices now where WeChat allows, each submitter's in order; the rest wait for the
    submitter's next message. The number sent."""
    ids = list(notice_ids)
    return sum(flush(services, openid, now, ids) for openid in submitters(services, ids))


def submitters(services: Services, notice_ids: Iterable[int]) -> list[str]:
    """The openids the given unsent notices go to."""
    with services.sessions() as db:
        return list(
            db.scalars(
                select(TicketNotice.openid)
                .where(TicketNotice.id.in_(list(notice_ids)), TicketNotice.sent_at.is_(None))
                .distinct()
            )
        )


def flush(services: Services, openid: str, now: datetime | None = None, ids: list[int] | None = None) -> int:
    """Send the submitter's unsent notices (those of `ids`, or all) oldest first, one process at a time (a Redis
    lock per submitter); the first that cannot go now holds the later ones back until their next message.
    The number sent."""
    cfg, now, sent = TicketConfig.of(services.settings), now or utcnow(), 0
    query = select(TicketNotice).where(TicketNotice.openid == openid, TicketNotice.sent_at.is_(None))
    if ids is not None:
        query = query.where(TicketNotice.id.in_(ids))
    lock = services.redis.lock(LOCK_KEY.format(openid), timeout=LOCK_TTL, blocking_timeout=LOCK_WAIT)
    with lock, services.sessions() as db:
        notices = db.scalars(query.order_by(TicketNotice.id)).all()
        for notice in notices:
            channel = send_one(services, db, notice, cfg, now)
            if channel is None:
                services.redis.sadd(PENDING_KEY, openid)
                break
            notice.sent_at, notice.channel, sent = now, channel, sent + 1
            db.commit()
    return sent


def deliver_later(services: Services, notice_ids: list[int]) -> None:
    """Deliver in the background (console actions answer at once), each submitter's notices in the order made."""
    for openid in submitters(services, notice_ids) if notice_ids else []:
        services.ordered.submit(openid, _safe_flush, services, openid, list(notice_ids))


def _safe_flush(services: Services, openid: str, ids: list[int]) -> None:
    try:
        flush(services, openid, ids=ids)
    except Exception:  # noqa: BLE001 - a background job: log it, the notices stay pending for the next message
        log.exception("ticket notices for %s not delivered", mask(openid))
        _mark_pending(services, openid)


def _mark_pending(services: Services, openid: str) -> None:
    try:
        services.redis.sadd(PENDING_KEY, openid)
    except redis.RedisError:
        log.warning("waiting ticket notices for %s not marked: Redis unavailable", mask(openid))


def deliver_pending(services: Services, openid: str) -> int:
    """The submitter wrote (the window is open): send what waited for them, oldest first."""
    if not services.redis.srem(PENDING_KEY, openid):
        return 0
    sent = flush(services, openid)
    log.info("%d waiting ticket notice(s) sent to %s", sent, mask(openid))
    return sent


def on_message(services: Services, openid: str) -> None:
    """Called when a user's message reopens the window: waiting notices go out in the background, in order."""
    if services.redis.sismember(PENDING_KEY, openid):
        services.ordered.submit(openid, _safe_pending, services, openid)


def _safe_pending(services: Services, openid: str) -> None:
    try:
        deliver_pending(services, openid)
    except Exception:  # noqa: BLE001 - a background job: log it, the notices stay pending
        _mark_pending(services, openid)
        log.exception("waiting ticket notices for %s not delivered", mask(openid))


def staff_to_tell(db: Session, cfg: TicketConfig, ticket: Ticket) -> set[int]:
    """The assignee and their supervisor, the department's accounts and supervisor; admins if nobody."""
    from bot.core.accounts import Account

    ids: set[int] = set()
    accounts = db.scalars(select(Account).where(Account.active.is_(True))).all()
    by_name = {a.username: a for a in accounts}
    for a in accounts:
        if a.id == ticket.assignee_id or (ticket.department and a.department == ticket.department):
            ids.add(a.id)
            if a.supervisor_id:
                ids.add(a.supervisor_id)
    supervisor = by_name.get(cfg.departments.get(ticket.department or "", ("", ""))[1])
    if supervisor is not None:
        ids.add(supervisor.id)
    return ids or {a.id for a in accounts if a.is_admin}


def escalate(services: Services, now: datetime | None = None) -> int:
    """Tell staff once about each ticket past its intake or resolution deadline; the number of tickets."""
    from handlers.tickets import alerts as staff_alerts

    cfg, now = TicketConfig.of(services.settings), now or utcnow()
    with services.sessions() as db:
        late = db.scalars(
            select(Ticket)
            .where(
                Ticket.status.in_(OPEN_STATUSES),
                or_(
                    (Ticket.due_at < now) & Ticket.escalated_at.is_(None),
                    (Ticket.status == "new") & (Ticket.accept_due_at < now) & Ticket.intake_escalated_at.is_(None),
                ),
            )
            .order_by(Ticket.due_at)
            .limit(500)
        ).all()
        alerts = [escalate_one(db, cfg, ticket, now) for ticket in late]
        db.commit()
    for staff, text in alerts:  # after the commit: WeChat too, for staff who bound it
        staff_alerts.send_later(services, staff, text)
    return len(alerts)


def escalate_one(db: Session, cfg: TicketConfig, ticket: Ticket, now: datetime) -> tuple[set[int], str]:
    """One overdue ticket: a staff notice per person and an event (intake and resolution deadlines apart);
    whom it told and what."""
    step = Step.by(db, cfg, "scheduler", now)
    intake = ticket.status == "new" and aware(ticket.accept_due_at) < now and ticket.intake_escalated_at is None
    if intake:
        ticket.intake_escalated_at = now
        what, due = "未在受理时限内受理", ticket.accept_due_at
    else:
        ticket.escalated_at = now
        what, due = "已超过办理时限", ticket.due_at
    text = (
        f"诉求 {ticket.number}（{ticket.category}）{what}（时限 {china(due).strftime('%m月%d日 %H:%M')}），请尽快处理。"
    )
    staff = staff_to_tell(db, cfg, ticket)
    for account_id in staff:
        db.add(StaffNotice(account_id=account_id, ticket_id=ticket.id, text=text, created_at=now))
    step.event(ticket, "escalate", public=False, deadline="intake" if intake else "resolution")
    return staff, text


def unread_staff_notices(db: Session, account_id: int, limit: int = 20) -> list[StaffNotice]:
    return list(
        db.scalars(
            select(StaffNotice)
            .where(StaffNotice.account_id == account_id, StaffNotice.read_at.is_(None))
            .order_by(StaffNotice.id.desc())
            .limit(limit)
        )
    )


def overdue(ticket: Ticket, now: datetime) -> bool:
    """Past its deadline and still open (highlighted in the queue)."""
    return ticket.status in OPEN_STATUSES and aware(ticket.due_at) < now
