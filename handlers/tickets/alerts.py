"""Ticket alerts to staff in WeChat (those who bound it, see handlers.staff): new submissions and passed deadlines
reach them there as well as in the console."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.accounts import Account
from bot.core.database import utcnow
from bot.core.logs import mask
from bot.outbound.outbox import TEMPLATE_VALUE
from handlers.tickets.models import Ticket
from handlers.tickets.rules import TicketConfig, china

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
STAFF_QUEUE = "staff:{}"  # ordered-pool key of one account's alerts
INTAKE_QUEUE = "staff:intake"  # ordered-pool key of new-submission alerts (in submission order)


def intake_staff(db: Session) -> list[int]:
    """Who takes in new submissions: active handlers without a department, else the admins."""
    accounts = db.scalars(select(Account).where(Account.active.is_(True))).all()
    intake = [a.id for a in accounts if "caseworker" in (a.roles or []) and not a.department]
    return intake or [a.id for a in accounts if a.is_admin]


def send(services: Services, account_ids: Iterable[int], text: str) -> int:
    """Send `text` to each account's bound WeChat: customer-service message in the window, else the staff
    template when configured; the number sent."""
    cfg, sent, now = TicketConfig.of(services.settings), 0, utcnow()
    with services.sessions() as db:
        openids = db.scalars(
            select(Account.openid).where(
                Account.id.in_(list(account_ids)), Account.active.is_(True), Account.openid.is_not(None)
            )
        ).all()
    for openid in openids:
        if services.followers.in_window(openid, now) and services.outbox.send_text(openid, text).ok:
            sent += 1
        elif cfg.staff_template_id:
            data = {"first": {"value": text.split("\n", 1)[0][:TEMPLATE_VALUE]}}
            sent += services.outbox.send_template(openid, cfg.staff_template_id, data).ok
        else:
            log.info("staff alert to %s stays in the console (outside the 48 h window, no template)", mask(openid))
    return sent


def send_later(services: Services, account_ids: Iterable[int], text: str) -> None:
    """Send in the background: the caller (a chat turn, the scheduler) does not wait for WeChat; each person's
    alerts arrive in the order they were made, different people's at once."""
    for account_id in account_ids:
        services.ordered.submit(STAFF_QUEUE.format(account_id), _safe_send, services, [account_id], text)


def new_ticket(services: Services, ticket: Ticket) -> None:
    """A submission came in: tell the intake staff (in the background), with the intake deadline."""
    if not TicketConfig.of(services.settings).alert_new:
        return
    due = china(ticket.accept_due_at).strftime("%m月%d日 %H:%M")
    text = f"【新诉求】{ticket.number}（{ticket.category}）待受理，请于 {due} 前在管理后台受理。"
    services.ordered.submit(INTAKE_QUEUE, _safe_send, services, None, text)


def _safe_send(services: Services, account_ids: list[int] | None, text: str) -> None:
    """A background send; None: to the intake staff."""
    try:
        if account_ids is None:
            with services.sessions() as db:
                account_ids = intake_staff(db)
        send(services, account_ids, text)
    except Exception:  # noqa: BLE001 - a background job: log it; the console shows the ticket anyway
        log.exception("staff alert not sent")
