"""Followers table upkeep: subscribe / unsubscribe / scan events and the last-interaction time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, String, bindparam, cast, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.core.database import Follower, aware, utcnow
from bot.core.logs import mask

WINDOW = timedelta(hours=48)  # WeChat's customer-service window after a user's message

log = logging.getLogger(__name__)
PENDING = "followers.pending"  # Session.info: statements run just before the session's next commit (before_commit)
SCANNED = select(Follower.subscribed, Follower.scene).where(Follower.openid == bindparam("openid"))  # built once
NEW_SCENE = update(Follower).where(Follower.openid == bindparam("who")).values(scene=bindparam("new_scene"))


class Followers:
    """Writes to the followers table; each call commits its own short transaction."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def _upsert(self, openid: str, change: Callable[[Follower], None]) -> Follower:
        """Load or create the follower, apply `change`, commit (retrying once on a racing insert)."""
        for attempt in (1, 2):
            with self.sessions() as db:
                row = db.get(Follower, openid)
                if row is None:
                    row = Follower(openid=openid, subscribed=True, first_seen=utcnow(), tags=[])
                    db.add(row)
                change(row)
                try:
                    db.commit()
                    db.refresh(row)
                    db.expunge(row)
                    return row
                except IntegrityError:
                    db.rollback()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def touch(self, openid: str, when: datetime | None = None) -> None:
        """The user sent a message: the 48-hour window starts again (a message implies a follower).

        Events (follow, clicks, scans) open only WeChat's short 3-in-a-minute window and are not noted.
        """
        when = when or utcnow()

        def change(row: Follower) -> None:
            row.last_interaction = when

        self._upsert(openid, change)

    def subscribe(self, openid: str, scene: str | None = None) -> Follower:
        """Mark subscribed (again), remembering the QR scene if any."""
        now = utcnow()

        def change(row: Follower) -> None:
            row.subscribed, row.subscribed_at, row.unsubscribed_at = True, now, None
            if scene:
                row.scene = scene

        log.info("follower %s subscribed", mask(openid))
        return self._upsert(openid, change)

    def scanned(self, openid: str, scene: str | None, db: Session | None = None) -> None:
        """A follower scanned a QR code (SCAN): subscribed, remembering the scene. Nothing is written when both
        already hold (a retried or repeated scan): one primary-key read. Else one UPDATE — with `db` (the message's
        session) run just before its next commit, so a feature's write and this bookkeeping share one short
        transaction (the caller commits at the latest); without `db`, in a session of its own. A follower not yet
        known is created as subscribe() does."""
        if db is None:
            with self.sessions() as own:
                self.scanned(openid, scene, own)
                own.commit()
            return
        row = db.connection().execute(SCANNED, {"openid": openid}).first()  # Core: no ORM object loaded
        if row is None:
            self.subscribe(openid, scene)
        elif row.subscribed and scene and row.scene != scene:
            before_commit(db, NEW_SCENE, {"who": openid, "new_scene": scene})
        elif not row.subscribed:  # the unfollow was missed: following again from now
            again = {"scene": scene} if scene else {}
            stmt = update(Follower).where(Follower.openid == openid)
            before_commit(db, stmt.values(subscribed=True, subscribed_at=utcnow(), unsubscribed_at=None, **again))
            log.info("follower %s subscribed (a scan)", mask(openid))

    def unsubscribe(self, openid: str) -> None:
        """Mark unsubscribed (from the event, or from a 43004 answer of the API)."""
        now = utcnow()

        def change(row: Follower) -> None:
            row.subscribed, row.unsubscribed_at = False, now

        log.info("follower %s unsubscribed", mask(openid))
        self._upsert(openid, change)

    def get(self, openid: str) -> Follower | None:
        with self.sessions() as db:
            return db.get(Follower, openid)

    def in_window(self, openid: str, now: datetime | None = None) -> bool:
        """True while the follower is subscribed and their last message is less than 48 hours old."""
        row = self.get(openid)
        if row is None or not row.subscribed or row.last_interaction is None:
            return False
        return (now or utcnow()) - aware(row.last_interaction) < WINDOW

    def count(self) -> dict[str, int]:
        """Subscribed and unsubscribed counts."""
        with self.sessions() as db:
            rows = db.execute(select(Follower.subscribed)).scalars().all()
        return {"subscribed": sum(1 for r in rows if r), "unsubscribed": sum(1 for r in rows if not r)}


def before_commit(db: Session, stmt: Executable, params: dict[str, Any] | None = None) -> None:
    """Run `stmt` on `db` just before its next commit (a rollback keeps it for the commit after; closing drops it)."""
    db.info.setdefault(PENDING, []).append((stmt, params or {}))


@event.listens_for(Session, "before_commit")
def _run_pending(db: Session) -> None:
    for stmt, params in db.info.pop(PENDING, ()):
        db.connection().execute(stmt, params)


def has_tag(tag_id: int) -> ColumnElement[bool]:
    """SQL: the follower's JSON list of tag ids holds `tag_id` (works on SQLite and PostgreSQL)."""
    text = cast(Follower.tags, String)
    n = str(int(tag_id))
    return or_(text.like(f"[{n}]"), text.like(f"[{n},%"), text.like(f"%, {n},%"), text.like(f"%, {n}]"))
