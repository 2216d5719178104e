"""Server-side console sessions: the cookie carries a random id, the database the state (so logout, a password
change or a disabled account ends a session even for a copied cookie, and losing Redis revives nothing)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from bot.core.accounts import ConsoleSession
from bot.core.database import aware, utcnow

SEEN_EVERY = timedelta(minutes=1)  # seen_at is written at most this often per session
KEEP = timedelta(days=7)  # rows are deleted this long after they started (a session lasts 12 hours at most)


def digest(sid: str) -> str:
    """What the table stores of a cookie's session id (the database alone opens no session)."""
    return hashlib.sha256(sid.encode()).hexdigest()


def start(db: Session, account_id: int, now: datetime | None = None) -> str:
    """A new session row for `account_id`; the id to put in the cookie."""
    now = now or utcnow()
    sid = secrets.token_urlsafe(32)
    db.add(ConsoleSession(id=digest(sid), account_id=account_id, created_at=now, seen_at=now))
    db.execute(delete(ConsoleSession).where(ConsoleSession.created_at < now - KEEP))
    return sid


def find(
    db: Session, sid: str, account_id: int, idle: timedelta, longest: timedelta, now: datetime | None = None
) -> ConsoleSession | None:
    """The live session row of this cookie, or None (unknown, ended, another account's, idle or too old: ended)."""
    now = now or utcnow()
    row = db.get(ConsoleSession, digest(sid)) if sid else None
    if row is None or row.ended_at is not None or row.account_id != account_id:
        return None
    reason = "expired" if now - aware(row.created_at) > longest else "idle" if now - aware(row.seen_at) > idle else None
    if reason:
        row.ended_at, row.end_reason = now, reason
        db.commit()
        return None
    if now - aware(row.seen_at) > SEEN_EVERY:
        row.seen_at = now
        db.commit()
    return row


def end(db: Session, sid: str, reason: str, now: datetime | None = None) -> None:
    """End one session (not committed)."""
    db.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == digest(sid), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason)
    )


def end_all(db: Session, account_id: int, reason: str, keep: str | None = None, now: datetime | None = None) -> int:
    """End every live session of the account, except the one with cookie id `keep` (not committed); how many."""
    query = update(ConsoleSession).where(ConsoleSession.account_id == account_id, ConsoleSession.ended_at.is_(None))
    if keep:
        query = query.where(ConsoleSession.id != digest(keep))
    return db.execute(query.values(ended_at=now or utcnow(), end_reason=reason)).rowcount
