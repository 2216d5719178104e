"""Leaderboard test helpers (tests/handlers/quiz/): members with points, confirmed or not, on the small test tree.

Every person here is obviously fictional (测试 names, 199 phone numbers from tests/org_helpers.py).
"""

from __future__ import annotations

import itertools
from typing import Any

from bot.core.database import utcnow
from bot.core.members import Membership
from bot.core.organisations import Organisation, RosterMember
from bot.emulator.client import new_openid
from handlers.quiz.models import PointsEntry
from handlers.quiz.points import day_of
from tests.org_helpers import add_member, confirm

_keys = itertools.count(1)


def award(services: Any, openid: str, points: int) -> None:
    """`points` in the ledger today for `openid`, published to the leaderboards as an answer's award is."""
    with services.sessions() as db:
        db.add(
            PointsEntry(
                openid=openid,
                activity="daily",
                points=points,
                reason="测试",
                award_key=f"lb-test:{next(_keys)}",
                day=day_of(utcnow()),
            )
        )
        db.commit()
        services.points.publish(db, openid, points)


def bind(services: Any, openid: str, org: Organisation) -> None:
    """A self-declared (unconfirmed) binding to `org`, as 绑定组织 left them; the boards follow."""
    with services.sessions() as db:
        old = services.points.membership(db, openid)
        db.merge(Membership(openid=openid, organisation=org.code, district=org.district))
        db.commit()
        services.points.move(db, openid, old, (org.code, org.district))


def confirmed(services: Any, openid: str, member: RosterMember) -> None:
    """`openid` confirmed as `member` (as 党员认证 leaves it), then the boards told, as that helper does."""
    with services.sessions() as db:
        old = services.points.membership(db, openid)
        row = confirm(db, openid, member)
        services.points.move(db, openid, old, (row.organisation, row.district))


def unbind(services: Any, openid: str) -> None:
    """The member leaves their binding."""
    with services.sessions() as db:
        old = services.points.membership(db, openid)
        row = db.get(Membership, openid)
        if row is not None:
            db.delete(row)
            db.commit()
        services.points.move(db, openid, old, (None, None))


def member(
    services: Any,
    org: Organisation,
    points: int,
    name: str = "测试党员",
    status: str = "confirmed",
    openid: str | None = None,
) -> str:
    """A follower with `points`: "confirmed" as a new roster member of `org`, "unconfirmed" (bound to `org`, not on
    its roster), "roster" (on the roster, never bound: counts in the organisation's size only) or "none"."""
    openid = openid or new_openid()
    with services.sessions() as db:
        person = add_member(db, db.get(Organisation, org.id), name) if status in ("confirmed", "roster") else None
    if status == "confirmed" and person is not None:
        confirmed(services, openid, person)
    elif status == "unconfirmed":
        bind(services, openid, org)
    if points:
        award(services, openid, points)
    return openid
