"""Helpers for the scoped accounts and figures tests: scoped console accounts, study days and points on known days."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select

from bot.console.accounts import create_account
from bot.core.accounts import Account
from bot.core.organisations import Organisation, StudyDay
from tests.console.console_helpers import PASSWORD, login


def scoped_account(services: Any, username: str, org: Organisation | None, *roles: str) -> int:
    """An account holding `roles` (default secretary) scoped to `org`; its id."""
    with services.sessions() as db:
        account = create_account(
            db, username, PASSWORD, roles or ("secretary",), organisation_id=org.id if org else None
        )
        db.commit()
        return account.id


def signed_in(app: Any, username: str) -> Any:
    """A new test client signed in as `username`."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def account(services: Any, username: str) -> Account:
    with services.sessions() as db:
        return db.execute(select(Account).where(Account.username == username)).scalar_one()


def studied(db: Any, openid: str, *days: date) -> None:
    """`openid` studied on each of `days`."""
    db.execute(insert(StudyDay), [{"openid": openid, "day": d} for d in days])
    db.commit()


def earned(db: Any, openid: str, points: int, day: date, key: str) -> None:
    """A points ledger row (the quiz's table, written by name as the figures read it)."""
    from handlers.quiz.models import PointsEntry  # tests may reach into the quiz feature's table

    db.add(PointsEntry(openid=openid, activity="daily", points=points, reason="测试", award_key=key, day=day))
    db.commit()


NOV, WEEK48 = "2026-11", "2026-W48"  # the known world's month and its week of 23 to 29 November


def known_world(db: Any) -> dict[str, Organisation]:
    """small_tree with members, bindings, study days and points whose figures are worked out in test_figures.

    a1 (T111): m1, m2, m3 confirmed, m4 pending; g (T1111, under a1): m5 confirmed; a2 (T112): m6 confirmed and m7
    confirmed but off the roster; b (T21): m8 confirmed, m9 and m10 not bound.
    """
    from datetime import UTC, datetime

    from bot.core.members import PENDING, Membership
    from tests.org_helpers import add_member, confirm, small_tree

    orgs = small_tree(db)
    people = {}
    for name, org in [("m1", "a1"), ("m2", "a1"), ("m3", "a1"), ("m4", "a1"), ("m5", "g"), ("m6", "a2"), ("m7", "a2")]:
        people[name] = add_member(db, orgs[org], f"测试{name}")
    for name in ("m8", "m9", "m10"):
        people[name] = add_member(db, orgs["b"], f"测试{name}")
    for name in ("m1", "m2", "m3", "m5", "m6", "m7", "m8"):
        confirm(db, f"o-{name}", people[name])
    db.add(Membership(openid="o-m4", organisation="T111", status=PENDING, member_id=people["m4"].id))
    people["m7"].left_at = datetime(2026, 11, 1, tzinfo=UTC)
    db.commit()
    nov = lambda d: date(2026, 11, d)  # noqa: E731
    studied(db, "o-m1", nov(3), nov(24))
    studied(db, "o-m2", nov(10))
    studied(db, "o-m4", nov(11))  # pending: not counted
    studied(db, "o-m5", date(2026, 10, 31))
    studied(db, "o-m6", nov(25))
    studied(db, "o-m7", nov(25))  # off the roster: not counted
    studied(db, "o-m8", date(2026, 12, 1))
    studied(db, "o-stranger", nov(5))  # a follower who never bound: not counted
    for openid, points, day, key in [
        ("o-m1", 10, nov(3), "k1"),
        ("o-m1", 5, nov(24), "k2"),
        ("o-m3", 20, nov(30), "k3"),
        ("o-m6", 7, nov(25), "k4"),
        ("o-m7", 100, nov(25), "k5"),
        ("o-m4", 50, nov(11), "k6"),
        ("o-m8", 9, date(2026, 10, 30), "k7"),
    ]:
        earned(db, openid, points, day, key)
    return orgs
