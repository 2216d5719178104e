"""Study days (what 参学率 counts): quiz answers, episodes and articles opened record one StudyDay per member per day.

Called from the chat handlers (quiz, study) after their reply is decided. Cheap on the hot path: a Redis SET NX per
member per China day lets only the first study of the day reach the database; the row is the truth and its insert is
INSERT … ON CONFLICT DO NOTHING, so racing requests, a Redis flush or a missing Redis never duplicate or fail it.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime

import redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.clock import day_of, utcnow
from bot.core.database import insert_ignoring
from bot.core.organisations import StudyDay

GUARD_KEY = "study:day:{}:{}"  # (China day, openid): this member's study day is already recorded
GUARD_TTL = 2 * 86400  # seconds: outlives the day it guards
log = logging.getLogger(__name__)


def insert_day(db: Session, openid: str, day: date) -> None:
    """INSERT the (openid, day) row unless it exists (race-safe on PostgreSQL and SQLite); committed."""
    db.execute(insert_ignoring(db, StudyDay, {"openid": openid, "day": day}))
    db.commit()


def record_study(db: Session, openid: str, now: datetime | None = None, cache: redis.Redis | None = None) -> bool:
    """Note that `openid` studied on the China day of `now`; True when this call wrote (or tried to write) the row.

    With `cache`, only the day's first call touches the database. A database error is rolled back and logged (the
    member's reply matters more than the figure); the guard is then released so a later study retries."""
    day = day_of(now or utcnow())
    key = GUARD_KEY.format(day.isoformat(), openid)
    if cache is not None:
        try:
            if not cache.set(key, 1, nx=True, ex=GUARD_TTL):
                return False
        except redis.RedisError:
            log.warning("study day recorded without the Redis guard")
            cache = None
    try:
        insert_day(db, openid, day)
    except SQLAlchemyError as exc:  # its message may carry the openid: only the error's kind is logged
        db.rollback()
        log.warning("study day not recorded: %s", type(exc).__name__)
        if cache is not None:
            with contextlib.suppress(redis.RedisError):
                cache.delete(key)
    return True
