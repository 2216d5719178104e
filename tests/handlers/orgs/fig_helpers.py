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
