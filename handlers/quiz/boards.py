"""Who is on a leaderboard and how organisations compare: masked names, average points per member (cached boards).

Read by 排行榜, 组织排行 and 我的积分 (handlers/quiz/chat.py). An organisation's average is what its confirmed members
earned (the `lb:orgsum:*` sums kept by handlers/quiz/points.py) divided by its active roster (members not off the
roster); a 片区's is the same over its organisations. The averages are computed from those sums and the roster sizes
at most once a minute per process and kept in Redis sorted sets, so a lookup is a few Redis reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import Organisation, RosterMember, mask_name
from handlers.quiz.points import ORGSUM, ORGSUM_WEEK, Points

ORG_AVG = "lb:orgavg:{}"  # "all" or a week → organisation code → average points per roster member
DISTRICT_AVG = "lb:districtavg:{}"  # "all" or a week → 片区 → average points per roster member
FRESH = "lb:avg:fresh:{}"  # week → present while the averages of that week (and all-time) are fresh
TTL = 60  # seconds an average board is served before it is computed again
KEEP = 3600  # seconds the average sets outlive their freshness flag (a week's sets then go away by themselves)
_computing = threading.Lock()


@dataclass(frozen=True)
class Place:
    """Where one organisation or 片区 stands on an average board."""

    rank: int  # 1-based
    of: int  # how many are on the board
    average: float


def spans(week: str) -> tuple[str, str]:
    return ("all", week)


def fresh(points: Points, db: Session, week: str) -> None:
    """Compute the average boards when the cached ones are older than TTL (or lost)."""
    points.ensure_built()
    if points.redis.exists(FRESH.format(week)):
        return
    with _computing:
        if not points.redis.exists(FRESH.format(week)):
            compute(points.redis, db, week)


def roster_sizes(db: Session) -> list[tuple[str, str | None, int]]:
    """(code, 片区, active roster members) of every organisation that has some and is not dissolved."""
    stmt = (
        select(Organisation.code, Organisation.district, func.count(RosterMember.id))
        .join(RosterMember, RosterMember.organisation_id == Organisation.id)
        .where(RosterMember.left_at.is_(None), Organisation.dissolved_at.is_(None))
        .group_by(Organisation.code, Organisation.district)
    )
    return [(code, district, int(n)) for code, district, n in db.execute(stmt)]


def compute(client: redis.Redis, db: Session, week: str) -> dict[str, float]:
    """Write the organisations' and 片区' average boards (all-time and `week`); returns sizes and seconds."""
    t0 = time.monotonic()
    sizes = roster_sizes(db)
    pipe = client.pipeline(transaction=False)
    pipe.zrange(ORGSUM, 0, -1, withscores=True).zrange(ORGSUM_WEEK.format(week), 0, -1, withscores=True)
    sums_all, sums_week = (dict(rows) for rows in pipe.execute())
    for span, sums in zip(spans(week), (sums_all, sums_week), strict=True):
        orgs = {code: sums.get(code, 0.0) / n for code, _, n in sizes}
        members: dict[str, int] = {}
        points: dict[str, float] = {}
        for code, district, n in sizes:
            if district:
                members[district] = members.get(district, 0) + n
                points[district] = points.get(district, 0.0) + sums.get(code, 0.0)
        districts = {d: points[d] / members[d] for d in members}
        for key, board in ((ORG_AVG.format(span), orgs), (DISTRICT_AVG.format(span), districts)):
            pipe.delete(key)
            if board:
                pipe.zadd(key, board)
            pipe.expire(key, TTL + KEEP)
    pipe.set(FRESH.format(week), "1", ex=TTL)
    pipe.execute()
    return {"organisations": len(sizes), "seconds": time.monotonic() - t0}


def top(points: Points, db: Session, week: str, n: int = 5) -> dict[str, list[tuple[str, float]]]:
    """The top n organisations by average, all-time and this week ({"org:all": [(code, avg)], "org:week": …}), and
    every 片区 (a handful) by average ("district:all", "district:week")."""
    fresh(points, db, week)
    pipe = points.redis.pipeline(transaction=False)
    names = []
    for kind, pattern, end in (("org", ORG_AVG, n - 1), ("district", DISTRICT_AVG, -1)):
        for span in spans(week):
            pipe.zrevrange(pattern.format(span), 0, end, withscores=True)
            names.append(f"{kind}:{'all' if span == 'all' else 'week'}")
    return {name: [(m, float(s)) for m, s in rows] for name, rows in zip(names, pipe.execute(), strict=True)}


def place(points: Points, db: Session, week: str, code: str, span: str = "all") -> Place | None:
    """Where organisation `code` stands among organisations by average (None: not on the board)."""
    fresh(points, db, week)
    key = ORG_AVG.format(span)
    rank, size, score = (
        points.redis.pipeline(transaction=False).zrevrank(key, code).zcard(key).zscore(key, code).execute()
    )
    return None if rank is None else Place(int(rank) + 1, int(size), float(score or 0))


def org_names(db: Session, codes: Iterable[str]) -> dict[str, str]:
    """Organisation code → name, in one query."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    return dict(db.execute(select(Organisation.code, Organisation.name).where(Organisation.code.in_(wanted))).all())


def member_names(db: Session, openids: Iterable[str], style: str) -> dict[str, str]:
    """openid → the confirmed member's roster name masked by `style`, in one query (others are left out)."""
    wanted = sorted(set(openids))
    if not wanted:
        return {}
    rows = db.execute(
        select(Membership.openid, RosterMember.name)
        .join(RosterMember, RosterMember.id == Membership.member_id)
        .where(Membership.openid.in_(wanted), Membership.status == CONFIRMED)
    ).all()
    return {openid: mask_name(name, style) for openid, name in rows}
