"""Points: the ledger in the database (capped, idempotent awards) and leaderboards in Redis sorted sets.

Organisations are compared on what their confirmed members (党员认证) earned: `lb:counted` says which organisation
each confirmed member's points count toward, `lb:orgsum:*` holds every organisation's sum (see handlers/quiz/boards.py
for the averages). Both follow `publish`, `move` and `rebuild`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import redis
from redis.client import Pipeline
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.clock import TZ, day_of  # noqa: F401 - re-exported: points days, streaks and weeks follow China time
from bot.core.database import utcnow
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import OrganisationsConfig
from handlers.quiz.config import QuizConfig
from handlers.quiz.models import PointsEntry

BUILT_KEY = "lb:built"  # present while the leaderboards match the ledger; gone after a Redis flush
ALL = "lb:all"  # all-time leaderboard
WEEK = "lb:week:{}"  # week (week_of) → that week's leaderboard
GROUP = "lb:{}:{}:all"  # (org or district, its id) → the group's all-time leaderboard
GROUP_WEEK = "lb:{}:{}:week:{}"  # (org or district, its id, week) → the group's leaderboard of that week
COUNTED = "lb:counted"  # hash: confirmed member's openid → the organisation code their points count toward
ORGSUM = "lb:orgsum:all"  # organisation code → all-time points of its confirmed members
ORGSUM_WEEK = "lb:orgsum:week:{}"  # week → organisation code → that week's points of its confirmed members
NAMES = "lb:names:{}:{}"  # (mask style, 10-minute slot) → openid → masked roster name, "" when not confirmed
NAMES_SLOT = 600  # seconds a names cache is read before a new one starts (a renamed member shows within that)
BOARDS = "lb:*"  # every leaderboard key (BUILT_KEY included), for a rebuild
BATCH = 10_000  # members written per pipeline during a rebuild
log = logging.getLogger(__name__)


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}w{week:02d}"


def board_keys(day: date, org: str | None, district: str | None) -> list[str]:
    """Every leaderboard a point earned on `day` counts in."""
    week = week_of(day)
    keys = [ALL, WEEK.format(week)]
    for kind, name in (("org", org), ("district", district)):
        if name:
            keys += [GROUP.format(kind, name), GROUP_WEEK.format(kind, name, week)]
    return keys


class Points:
    """Awards points within daily caps; keeps the Redis leaderboards in step with the ledger."""

    def __init__(
        self, client: redis.Redis, sessions: Callable[[], Session], caps: dict[str, int], name_mask: str = "middle"
    ) -> None:
        self.redis, self.sessions, self.caps = client, sessions, caps
        self.name_mask = name_mask  # how names show on the boards (organisations.name_mask)
        self.rebuilding = threading.Lock()

    def earned_today(self, db: Session, openid: str, activity: str, day: date) -> int:
        stmt = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.openid == openid, PointsEntry.activity == activity, PointsEntry.day == day
        )
        return int(db.scalar(stmt) or 0)

    def stage(
        self, db: Session, openid: str, activity: str, points: int, reason: str, key: str, now: datetime | None = None
    ) -> int:
        """Add an award to the session (committed with the caller's other writes); returns the points after the cap."""
        now = now or utcnow()
        day = day_of(now)
        room = self.caps.get(activity, 0) - self.earned_today(db, openid, activity, day)
        granted = max(0, min(points, room))
        if granted > 0:
            db.add(
                PointsEntry(
                    openid=openid,
                    activity=activity,
                    points=granted,
                    reason=reason[:200],
                    award_key=key[:120],
                    day=day,
                    created_at=now,
                )
            )
        return granted

    def publish(
        self,
        db: Session,
        openid: str,
        granted: int,
        now: datetime | None = None,
        membership: tuple[str | None, str | None] | None = None,
    ) -> None:
        """After the commit: add the points to every leaderboard of the member (membership: if already known)."""
        if granted <= 0:
            return
        org, district = membership or self.membership(db, openid)
        day = day_of(now or utcnow())
        pipe = self.redis.pipeline(transaction=False)
        for key in board_keys(day, org, district):
            pipe.zincrby(key, granted, openid)
        pipe.hget(COUNTED, openid)
        counted = pipe.execute()[-1]
        if counted:  # a confirmed member: their organisation's sums too
            pipe.zincrby(ORGSUM, granted, counted).zincrby(ORGSUM_WEEK.format(week_of(day)), granted, counted)
            pipe.execute()

    def membership(self, db: Session, openid: str) -> tuple[str | None, str | None]:
        row = db.get(Membership, openid)
        return (row.organisation, row.district) if row else (None, None)

    def summary(
        self,
        db: Session,
        openid: str,
        now: datetime | None = None,
        group: str | None = None,
        more: Callable[[Pipeline], object] | None = None,
    ) -> dict[str, Any]:
        """Today's points by activity, total, current daily streak and rank (leaderboards rebuilt if lost); with
        `group` (a board's key) also the rank on that board and how many are on it; `more` adds reads to the same
        round trip (their results in "more")."""
        built, total, rank, members, *rest = self.standing(openid, group, more)
        if not built:
            self.ensure_built()
            built, total, rank, members, *rest = self.standing(openid, group, more)
        on_group, extra = (rest[:2], rest[2:]) if group else ([], rest)
        day = day_of(now or utcnow())
        rows = db.execute(
            select(PointsEntry.activity, func.sum(PointsEntry.points))
            .where(PointsEntry.openid == openid, PointsEntry.day == day)
            .group_by(PointsEntry.activity)
        ).all()
        return {
            "today": {a: int(p) for a, p in rows},
            "total": int(total or 0),
            "streak": self.streak(db, openid, day),
            "rank": None if rank is None else rank + 1,
            "members": members,
            "group_rank": None if not on_group or on_group[0] is None else on_group[0] + 1,
            "group_members": on_group[1] if on_group else 0,
            "more": extra,
        }

    def standing(
        self, openid: str, group: str | None = None, more: Callable[[Pipeline], object] | None = None
    ) -> list[Any]:
        """One round trip: boards built?, total, rank (0-based), members on the overall board (and on `group`, and
        what `more` reads)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(BUILT_KEY).zscore(ALL, openid).zrevrank(ALL, openid).zcard(ALL)
        if group:
            pipe.zrevrank(group, openid).zcard(group)
        if more:
            more(pipe)
        return pipe.execute()

    def streak(self, db: Session, openid: str, day: date) -> int:
        """Consecutive days up to today (or yesterday, if nothing yet today) with points."""
        days = set(
            db.scalars(
                select(PointsEntry.day)
                .where(PointsEntry.openid == openid, PointsEntry.day >= day - timedelta(days=400))
                .distinct()
            )
        )
        current = day if day in days else day - timedelta(days=1)
        n = 0
        while current in days:
            n, current = n + 1, current - timedelta(days=1)
        return n

    def top(self, key: str, n: int = 10) -> list[tuple[str, int]]:
        return self.tops([key], n)[0]

    def tops(self, keys: list[str], n: int = 10) -> list[list[tuple[str, int]]]:
        """The top n of several boards in one round trip (rebuilt first if Redis lost them)."""
        for attempt in range(2):
            pipe = self.redis.pipeline(transaction=False)
            pipe.exists(BUILT_KEY)
            for key in keys:
                pipe.zrevrange(key, 0, n - 1, withscores=True)
            built, *boards = pipe.execute()
            if built or attempt:
                break
            self.ensure_built()
        return [[(m, int(s)) for m, s in rows] for rows in boards]

    def ensure_built(self) -> None:
        """Rebuild the leaderboards from the ledger when Redis lost them."""
        if not self.redis.exists(BUILT_KEY):
            with self.rebuilding:
                if not self.redis.exists(BUILT_KEY):
                    self.rebuild()

    def rebuild(self, now: datetime | None = None) -> dict[str, float]:
        """Recompute every leaderboard from the ledger; returns members and seconds."""
        t0 = time.monotonic()
        today = day_of(now or utcnow())
        monday = today - timedelta(days=today.weekday())
        with self.sessions() as db:
            totals = db.execute(
                select(PointsEntry.openid, func.sum(PointsEntry.points)).group_by(PointsEntry.openid)
            ).all()
            weekly = db.execute(
                select(PointsEntry.openid, func.sum(PointsEntry.points))
                .where(PointsEntry.day >= monday)
                .group_by(PointsEntry.openid)
            ).all()
            bindings = db.execute(
                select(Membership.openid, Membership.organisation, Membership.district, Membership.status)
            ).all()
        members = {openid: (org, district) for openid, org, district, _ in bindings}
        counted = {openid: org for openid, org, _, status in bindings if status == CONFIRMED}
        self.clear()
        self.write(totals, "all", members, week_of(today))
        self.write(weekly, "week", members, week_of(today))
        self.write_sums(totals, weekly, counted, week_of(today))
        self.redis.set(BUILT_KEY, str(int(time.time())))
        seconds = time.monotonic() - t0
        log.info("leaderboards rebuilt: %d members in %.2f s", len(totals), seconds)
        return {"members": len(totals), "seconds": seconds}

    def clear(self) -> None:
        for key in self.redis.scan_iter(BOARDS, count=1000):
            self.redis.delete(key)

    def write(self, rows: list[Any], span: str, members: dict[str, tuple[str | None, str | None]], week: str) -> None:
        """ZADD the sums to the overall board and the member's organisation / district boards."""
        pipe = self.redis.pipeline(transaction=False)
        for i, (openid, points) in enumerate(rows, 1):
            org, district = members.get(openid, (None, None))
            for key in self.span_keys(span, week, org, district):
                pipe.zadd(key, {openid: int(points)})
            if i % BATCH == 0:
                pipe.execute()
        pipe.execute()

    def write_sums(self, totals: list[Any], weekly: list[Any], counted: dict[str, str], week: str) -> None:
        """The organisations' sums over their confirmed members, and who counts toward which."""
        pipe = self.redis.pipeline(transaction=False)
        for key, rows in ((ORGSUM, totals), (ORGSUM_WEEK.format(week), weekly)):
            sums: dict[str, int] = {}
            for openid, points in rows:
                if openid in counted:
                    sums[counted[openid]] = sums.get(counted[openid], 0) + int(points)
            if sums:
                pipe.zadd(key, sums)
        items = list(counted.items())
        for i in range(0, len(items), BATCH):
            pipe.hset(COUNTED, mapping=dict(items[i : i + BATCH]))
            pipe.execute()
        pipe.execute()

    @staticmethod
    def span_keys(span: str, week: str, org: str | None, district: str | None) -> list[str]:
        keys = board_keys(date.fromisocalendar(int(week[:4]), int(week[5:]), 1), org, district)
        return [k for k in keys if ("week" in k) == (span == "week")]

    def move(
        self, db: Session, openid: str, old: tuple[str | None, str | None], new: tuple[str | None, str | None]
    ) -> None:
        """A member's binding changed (another organisation, confirmed, or left): move their scores between
        organisation boards and recount them in the organisations' sums. Call it after committing the change."""
        self.ensure_built()
        week = week_of(day_of(utcnow()))
        scores = {
            span: self.redis.zscore(ALL if span == "all" else WEEK.format(week), openid) for span in ("all", "week")
        }
        pipe = self.redis.pipeline(transaction=False)
        for span, score in scores.items():
            for key in self.span_keys(span, week, *old)[1:]:
                pipe.zrem(key, openid)
            for key in self.span_keys(span, week, *new)[1:]:
                pipe.zadd(key, {openid: score or 0}) if score else None
        pipe.execute()
        self.recount(db, openid, {span: int(score or 0) for span, score in scores.items()}, week)

    def recount(self, db: Session, openid: str, scores: dict[str, int], week: str) -> None:
        """Count the member's points toward their organisation's sums only while their binding is confirmed."""
        row = db.execute(
            select(Membership.organisation, Membership.status).where(Membership.openid == openid)
        ).first()  # read from the database, not a session's cached object: the change may come from elsewhere
        now = row.organisation if row is not None and row.status == CONFIRMED else None
        was = self.redis.pipeline(transaction=False).hget(COUNTED, openid).hdel(self.names_key(), openid).execute()[0]
        if was == now:  # (the names cache forgot them above: named, renamed or no longer named from now on)
            return
        pipe = self.redis.pipeline(transaction=False)
        for key, score in ((ORGSUM, scores["all"]), (ORGSUM_WEEK.format(week), scores["week"])):
            if score and was:
                pipe.zincrby(key, -score, was)
            if score and now:
                pipe.zincrby(key, score, now)
        pipe.hset(COUNTED, openid, now) if now else pipe.hdel(COUNTED, openid)
        pipe.execute()

    def names_key(self) -> str:
        """The names cache read now."""
        return NAMES.format(self.name_mask, int(time.time() // NAMES_SLOT))


def attach(services: Any) -> None:
    """The quiz feature's setup: `services.points`, built once per process from the `quiz.caps` settings (and
    `organisations.name_mask`)."""
    caps = dict(QuizConfig.of(services.settings).caps)
    mask = OrganisationsConfig.of(services.settings).name_mask
    services.points = Points(services.redis, services.sessions, caps, mask)
