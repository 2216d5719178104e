"""Texts that wait for a user's next message: kept in the database, sent once when the user writes again.

A feature that cannot reach someone now (outside the 48-hour window, no template) calls `send_or_keep` or `keep`.
The row is durable (Redis may be lost); a Redis set of openids with something waiting is only a hint that keeps the
webhook's turn to one round trip, rebuilt from the table when Redis lost it. When the user's message reopens the
window, `on_message` (a window observer wired by the composition root) flushes their texts in the background, in
order, each claimed by one UPDATE … RETURNING so two processes never send the same text twice. A row may name a
`then` hook ("module:function", called with the services and the row's `ref` once the text went out) so its feature
can record the delivery (a meeting notice then reads as delivered).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import redis
from sqlalchemy import DateTime, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow
from bot.core.feature import resolve
from bot.core.logs import mask

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
HINT = "outbound:pending"  # Redis set: openids with texts waiting (a hint; the table is the truth)
READY = "outbound:pending:ready"  # set once HINT was built from the table (gone with a lost Redis: rebuilt)
QUEUE = "outbound:pending:{}"  # ordered-pool key of one user's flush
KEEP = timedelta(days=14)  # a text older than this is not sent any more
FLUSH_MAX = 20  # texts sent per flush (the rest go at the following message)
RESENT = "【补发】"  # the head of a text that waited


class PendingText(Base):
    """One text waiting for its user's next message; delivered_at set once it went out (claimed by one process)."""

    __tablename__ = "pending_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))  # the feature's name for it (logs, the console)
    ref: Mapped[str] = mapped_column(String(64), default="")  # what `then` is told about (e.g. an attendance id)
    then: Mapped[str | None] = mapped_column(String(128), nullable=True)  # "module:function"(services, ref)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def keep(
    services: Services,
    openid: str,
    text: str,
    source: str,
    *,
    ref: str = "",
    then: str | None = None,
    ttl: timedelta = KEEP,
) -> int:
    """Keep `text` for `openid`'s next message (committed before the hint is set); the row's id."""
    now = utcnow()
    with services.sessions() as db:
        row = PendingText(
            openid=openid, text=text, source=source[:32], ref=ref[:64], then=then, created_at=now, expires_at=now + ttl
        )
        db.add(row)
        db.commit()
        row_id = row.id
    _hint(services, openid)
    log.info("%s text to %s waits for their next message", source, mask(openid))
    return row_id


def send_or_keep(
    services: Services,
    openid: str,
    text: str,
    source: str,
    *,
    ref: str = "",
    then: str | None = None,
    now: datetime | None = None,
) -> bool:
    """A customer-service message when the window is open at `now` and WeChat takes it (True); else kept (False)."""
    if services.followers.in_window(openid, now or utcnow()) and services.outbox.send_text(openid, text).ok:
        return True
    keep(services, openid, text, source, ref=ref, then=then)
    return False


def _hint(services: Services, openid: str) -> None:
    try:
        services.redis.sadd(HINT, openid)
    except redis.RedisError:
        log.warning("pending-text hint not set; it is rebuilt from the table at the next message")
        with contextlib.suppress(redis.RedisError):
            services.redis.delete(READY)


def on_message(services: Services, openid: str) -> None:
    """A window observer: the user wrote, so what waited for them goes out in the background (one Redis trip)."""
    try:
        pipe = services.redis.pipeline(transaction=False)
        pipe.exists(READY)
        pipe.sismember(HINT, openid)
        ready, waiting = pipe.execute()
    except redis.RedisError:
        return
    if waiting or not ready:
        services.ordered.submit(QUEUE.format(openid), _safe_flush, services, openid)


def _safe_flush(services: Services, openid: str) -> None:
    try:
        if not services.redis.exists(READY):
            rebuild(services)
        flush(services, openid)
    except Exception:  # noqa: BLE001 - a background job: log it; the rows stay for the next message
        log.exception("waiting texts for %s not sent", mask(openid))


def rebuild(services: Services) -> int:
    """The hint set from the table (after Redis lost it); the number of users with texts waiting."""
    with services.sessions() as db:
        openids = list(
            db.scalars(
                select(PendingText.openid)
                .where(PendingText.delivered_at.is_(None), PendingText.expires_at > utcnow())
                .distinct()
            )
        )
    pipe = services.redis.pipeline()
    if openids:
        pipe.sadd(HINT, *openids)
    pipe.set(READY, 1)
    pipe.execute()
    return len(openids)


def flush(services: Services, openid: str) -> int:
    """Send `openid`'s waiting texts, oldest first (at most FLUSH_MAX), each claimed first so it goes out once; a
    text WeChat refuses is put back for the next message. The number sent."""
    services.redis.srem(HINT, openid)  # before the claim: a text kept meanwhile sets the hint again
    now = utcnow()
    with services.sessions() as db:
        oldest = (
            select(PendingText.id)
            .where(PendingText.openid == openid, PendingText.delivered_at.is_(None), PendingText.expires_at > now)
            .order_by(PendingText.id)
            .limit(FLUSH_MAX)
        )
        claimed = db.execute(
            update(PendingText)
            .where(PendingText.id.in_(oldest.scalar_subquery()), PendingText.delivered_at.is_(None))
            .values(delivered_at=now)
            .returning(PendingText.id, PendingText.text, PendingText.ref, PendingText.then)
        ).all()
        db.commit()
    claimed = sorted(claimed)
    sent = 0
    for n, (_row_id, text, ref, then) in enumerate(claimed):
        if not services.outbox.send_text(openid, text if text.startswith(RESENT) else RESENT + text).ok:
            _put_back(services, openid, [r[0] for r in claimed[n:]])
            break
        sent += 1
        if then:
            _after(services, then, ref)
    if len(claimed) == FLUSH_MAX:
        _hint(services, openid)  # more may wait: they go at the following message
    return sent


def _put_back(services: Services, openid: str, ids: list[int]) -> None:
    with services.sessions() as db:
        db.execute(update(PendingText).where(PendingText.id.in_(ids)).values(delivered_at=None))
        db.commit()
    _hint(services, openid)


def _after(services: Services, then: str, ref: str) -> None:
    try:
        resolve(then)(services, ref)
    except Exception:  # noqa: BLE001 - the text went out; only its feature's record of it failed
        log.exception("after-delivery hook %s failed", then)


def waiting(services: Services, openid: str) -> int:
    """How many texts wait for `openid` (not expired)."""
    with services.sessions() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(PendingText)
                .where(
                    PendingText.openid == openid, PendingText.delivered_at.is_(None), PendingText.expires_at > utcnow()
                )
            )
            or 0
        )
