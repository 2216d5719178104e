"""Who is on a leaderboard and how organisations compare: masked names, average points per member (cached boards).

Read by 排行榜, 组织排行 and 我的积分 (handlers/quiz/chat.py). An organisation's average is what its confirmed members
earned (the `lb:orgsum:*` sums kept by handlers/quiz/points.py) divided by its active roster (members not off the
roster); a 片区's is the same over its organisations. The averages are kept in Redis sorted sets, so a lookup is one
round trip. They are computed again once they are a minute old, in a background thread while the older ones are still
served (only when there are none, after a Redis flush, does a lookup wait for them).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis
from redis.client import Pipeline
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import Organisation, RosterMember, mask_name
from handlers.quiz.points import BUILT_KEY, NAMES_SLOT, ORGSUM, ORGSUM_WEEK, Points

ORG_AVG = "lb:orgavg:{}"  # "all" or a week → organisation code → average points per roster member
DISTRICT_AVG = "lb:districtavg:{}"  # "all" or a week → 片区 → average points per roster member
MADE = "lb:avg:made:{}"  # week → present while the average sets of that week (and all-time) exist
TOP = "lb:avg:top:{}"  # week → JSON of what 组织排行 shows: the top organisations (by name) and every 片区
SHOWN = 5  # organisations on each of 组织排行's boards
TOP_PARTS = ("orgs", "orgs_week", "districts", "districts_week")  # what TOP holds, in Averages' order
FRESH = "lb:avg:fresh:{}"  # week → present while they are younger than TTL
REFRESHING = "lb:avg:lock:{}"  # week → present while one process computes them again
TTL = 60  # seconds the averages are served before they are computed again
KEEP = 3600  # seconds the average sets outlive their freshness (a past week's sets then go away by themselves)
_computing = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """Where one organisation or 片区 stands on an average board."""

    rank: int  # 1-based
    of: int  # how many are on the board
    average: float


def ensure(points: Points, db: Session, week: str) -> None:
    """Make the leaderboards and the average sets when Redis has none (the caller waits)."""
    points.ensure_built()
    with _computing:
        if not points.redis.exists(MADE.format(week)):
            compute(points.redis, db, week)


def refresh_later(points: Points, week: str) -> None:
    """Compute the averages again in a background thread (one process at a time); stale ones are served meanwhile."""
    if points.redis.set(REFRESHING.format(week), "1", nx=True, ex=TTL):
        threading.Thread(target=refresh, args=(points, week), name="lb-averages", daemon=True).start()


def refresh(points: Points, week: str) -> None:
    try:
        with points.sessions() as db:
            compute(points.redis, db, week)
    except (SQLAlchemyError, redis.RedisError):
        log.exception("average boards not refreshed")
    finally:
        points.redis.delete(REFRESHING.format(week))


def roster_sizes(db: Session) -> list[tuple[str, str, str | None, int]]:
    """(code, name, 片区, active roster members) of every organisation that has some and is not dissolved."""
    stmt = (
        select(Organisation.code, Organisation.name, Organisation.district, func.count(RosterMember.id))
        .join(RosterMember, RosterMember.organisation_id == Organisation.id)
        .where(RosterMember.left_at.is_(None), Organisation.dissolved_at.is_(None))
        .group_by(Organisation.code, Organisation.name, Organisation.district)
    )
    return [(code, name, district, int(n)) for code, name, district, n in db.execute(stmt)]


def compute(client: redis.Redis, db: Session, week: str) -> dict[str, float]:
    """Write the organisations' and 片区' average boards (all-time and `week`); returns sizes and seconds."""
    t0 = time.monotonic()
    sizes = roster_sizes(db)
    pipe = client.pipeline(transaction=False)
    pipe.zrange(ORGSUM, 0, -1, withscores=True).zrange(ORGSUM_WEEK.format(week), 0, -1, withscores=True)
    sums = [dict(rows) for rows in pipe.execute()]
    names = {code: name for code, name, _, _ in sizes}
    pipe = client.pipeline(transaction=True)  # readers see the old sets or the new ones, never an empty one
    shown: dict[str, list[Any]] = {}
    for span, part, span_sums in (("all", "", sums[0]), (week, "_week", sums[1])):
        orgs, districts = averages_of(sizes, span_sums)
        shown[f"orgs{part}"] = [[names[code], avg] for code, avg in ranked(orgs)[:SHOWN]]
        shown[f"districts{part}"] = ranked(districts)
        for key, board in ((ORG_AVG.format(span), orgs), (DISTRICT_AVG.format(span), districts)):
            pipe.delete(key)
            if board:
                pipe.zadd(key, board)
            pipe.expire(key, TTL + KEEP)
    pipe.set(TOP.format(week), json.dumps(shown, ensure_ascii=False), ex=TTL + KEEP)
    pipe.set(FRESH.format(week), "1", ex=TTL).set(MADE.format(week), "1", ex=TTL + KEEP)
    pipe.execute()
    return {"organisations": len(sizes), "seconds": time.monotonic() - t0}


def averages_of(
    sizes: list[tuple[str, str, str | None, int]], sums: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Points per roster member of every organisation (by code) and every 片区."""
    orgs = {code: sums.get(code, 0.0) / n for code, _, _, n in sizes}
    members: dict[str, int] = {}
    points: dict[str, float] = {}
    for code, _, district, n in sizes:
        if district:
            members[district] = members.get(district, 0) + n
            points[district] = points.get(district, 0.0) + sums.get(code, 0.0)
    return orgs, {d: points[d] / members[d] for d in members}


def ranked(board: dict[str, float]) -> list[tuple[str, float]]:
    """Best first; ties in the order ZREVRANGE gives them."""
    return sorted(board.items(), key=lambda item: (item[1], item[0]), reverse=True)


def queue_checked(pipe: Pipeline, week: str, queue: Callable[[Pipeline], object]) -> None:
    """Add to `pipe` the check that the boards are there and fresh, then the reads `queue` adds."""
    pipe.exists(BUILT_KEY, MADE.format(week)).exists(FRESH.format(week))
    queue(pipe)


def checked(points: Points, week: str, results: list[Any]) -> list[Any] | None:
    """The reads after the checks; None when the boards are not there (make them, read again). Stale boards are
    served and computed again in the background."""
    there, fresh, *reads = results
    if there != 2:
        return None
    if not fresh:
        refresh_later(points, week)
    return reads


def read(points: Points, db: Session, week: str, queue: Callable[[Pipeline], object]) -> list[Any]:
    """The reads `queue` adds to a pipeline, in one round trip with the checks (the boards made first if missing)."""
    results: list[Any] = []
    for _ in range(2):
        pipe = points.redis.pipeline(transaction=False)
        queue_checked(pipe, week, queue)
        results = pipe.execute()
        reads = checked(points, week, results)
        if reads is not None:
            return reads
        ensure(points, db, week)
    return results[2:]


@dataclass(frozen=True)
class Averages:
    """The average boards as 组织排行 shows them: [(organisation name or 片区, average)], best first."""

    orgs: list[tuple[str, float]]  # the top SHOWN organisations, all-time
    orgs_week: list[tuple[str, float]]  # the top SHOWN, this week
    districts: list[tuple[str, float]]  # every 片区, all-time
    districts_week: list[tuple[str, float]]  # every 片区, this week
    mine: Place | None  # the asker's organisation, all-time (None: not asked or not on the board)


def averages(points: Points, db: Session, week: str, mine: str | None = None) -> Averages:
    """The top organisations and every 片区 by average, all-time and this week, and where `mine` stands: one
    round trip."""

    def queue(pipe: Pipeline) -> None:
        pipe.get(TOP.format(week))
        if mine:
            queue_place(pipe, ORG_AVG.format("all"), mine)

    raw, *where = read(points, db, week, queue)
    shown = json.loads(raw) if raw else {}
    parts = [[(str(k), float(v)) for k, v in shown.get(name, [])] for name in TOP_PARTS]
    return Averages(*parts, mine=as_place(where))


def place(points: Points, db: Session, week: str, code: str) -> Place | None:
    """Where organisation `code` stands among organisations by all-time average (None: not on the board)."""
    return as_place(read(points, db, week, place_reads(code)))


def place_reads(code: str) -> Callable[[Pipeline], object]:
    """What `place` reads, for a pipeline of the caller's (with queue_checked)."""
    return lambda pipe: queue_place(pipe, ORG_AVG.format("all"), code)


def queue_place(pipe: Pipeline, key: str, member: str) -> None:
    pipe.zrevrank(key, member).zcard(key).zscore(key, member)


def as_place(results: list[Any]) -> Place | None:
    if not results or results[0] is None:
        return None
    rank, size, score = results
    return Place(int(rank) + 1, int(size), float(score or 0))


class Binding(NamedTuple):
    """A follower's membership as the boards need it."""

    organisation: str  # the organisation's code
    confirmed: bool
    name: str | None  # the organisation's name (None: the code names no organisation)


def binding(db: Session, openid: str) -> Binding | None:
    """The follower's membership and its organisation's name, in one query (None: not bound)."""
    row = db.execute(
        select(Membership.organisation, Membership.status, Organisation.name)
        .outerjoin(Organisation, Organisation.code == Membership.organisation)
        .where(Membership.openid == openid)
    ).first()
    return Binding(row[0], row[1] == CONFIRMED, row[2]) if row else None


def member_names(points: Points, db: Session, openids: Iterable[str]) -> dict[str, str]:
    """openid → the confirmed member's roster name masked by organisations.name_mask (others are left out): from
    the names cache, the ones it lacks in one query (then cached, "" for followers who are not confirmed)."""
    wanted = sorted(set(openids))
    if not wanted:
        return {}
    key = points.names_key()
    names = {o: n for o, n in zip(wanted, points.redis.hmget(key, wanted), strict=True) if n is not None}
    missing = [o for o in wanted if o not in names]
    if missing:
        rows = db.execute(
            select(Membership.openid, RosterMember.name)
            .join(RosterMember, RosterMember.id == Membership.member_id)
            .where(Membership.openid.in_(missing), Membership.status == CONFIRMED)
        ).all()
        found = {openid: mask_name(name, points.name_mask) for openid, name in rows}
        fill = {o: found.get(o, "") for o in missing}
        points.redis.pipeline(transaction=False).hset(key, mapping=fill).expire(key, 2 * NAMES_SLOT).execute()
        names.update(fill)
    return {o: n for o, n in names.items() if n}
