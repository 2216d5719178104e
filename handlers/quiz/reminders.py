"""Daily review reminders: members with due 错题本 items who wrote in the last 48 h get at most one a day."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.core.clock import TZ, day_of, in_quiet_hours, parse_clock
from bot.core.database import Follower, utcnow
from bot.core.followers import WINDOW
from bot.core.services import Services
from handlers.quiz.config import QuizConfig
from handlers.quiz.models import Mistake, ReviewReminder

TEXT = "您的错题本里有 {n} 道题到期待复习。回复「复习」开始，巩固学习成果。"  # the reminder message
log = logging.getLogger(__name__)


def candidates(services: Services, now: datetime) -> list[tuple[str, int]]:
    """(openid, due items) for subscribed members inside the 48 h window not yet reminded today."""
    reminded = select(ReviewReminder.openid).where(ReviewReminder.day == day_of(now))
    stmt = (
        select(Mistake.openid, func.count())
        .join(Follower, Follower.openid == Mistake.openid)
        .where(
            Mistake.learned_at.is_(None),
            Mistake.due_at <= now,
            Follower.subscribed.is_(True),
            Follower.last_interaction >= now - WINDOW,
            Mistake.openid.not_in(reminded),
        )
        .group_by(Mistake.openid)
    )
    with services.sessions() as db:
        return [(openid, int(n)) for openid, n in db.execute(stmt)]


def send_review_reminders(services: Services, now: datetime | None = None) -> int:
    """Send today's reminders; the reminder row is written before the send, so none goes twice."""
    now = now or utcnow()
    if in_quiet_hours(now, list(QuizConfig.of(services.settings).quiet_hours)):
        log.info("review reminders skipped: quiet hours")
        return 0
    sent = 0
    for openid, due in candidates(services, now):
        with services.sessions() as db:
            db.add(ReviewReminder(openid=openid, day=day_of(now), sent_at=now))
            try:
                db.commit()
            except IntegrityError:  # another scheduler run got there first
                continue
        sent += int(services.outbox.send_text(openid, TEXT.format(n=due)).ok)
    log.info("review reminders sent: %d", sent)
    return sent


def next_time(now: datetime, at: str) -> datetime:
    """The next reminder time after `now` (China time)."""
    local = now.astimezone(TZ)
    target = datetime.combine(local.date(), parse_clock(at), tzinfo=TZ)
    return target if target > local else target + timedelta(days=1)
