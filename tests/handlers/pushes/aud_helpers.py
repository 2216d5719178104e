"""Helpers for the tree audiences, the push form's choices and tickets' organisations (tests/handlers/pushes and
tickets): a small tree with confirmed members who follow the account, scoped accounts, audiences as lists.

Every person is obviously fictional (测试 names, 199 numbers from tests/org_helpers.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.core.accounts import Account
from bot.core.database import Follower, utcnow
from bot.core.members import PENDING, Membership
from bot.core.organisations import Organisation
from handlers.pushes.content import recipients
from handlers.pushes.models import Push
from tests.console.console_helpers import login
from tests.org_helpers import add_member, confirm, small_tree


@dataclass
class Park:
    """The small tree and who is who: openids by a short name."""

    orgs: dict[str, Organisation]
    people: dict[str, str] = field(default_factory=dict)  # short name → openid


def follower(db: Any, openid: str, subscribed: bool = True, tags: list[int] | None = None) -> str:
    db.add(Follower(openid=openid, subscribed=subscribed, last_interaction=utcnow(), tags=tags or []))
    return openid


def park(services: Any) -> Park:
    """small_tree with followers: confirmed members in T111 (one 书记), T112 (副书记, 预备党员), T1111 (党小组),
    T21 (书记); an unconfirmed and a pending self-declared T11, an unsubscribed confirmed member of T111, one who
    left the roster, and a follower with no binding."""
    with services.sessions() as db:
        orgs = small_tree(db)
        p = Park(orgs)
        spec = [  # (short name, org, post, category, subscribed)
            ("a1_sec", "a1", "书记", "正式党员", True),
            ("a1_m", "a1", None, "正式党员", True),
            ("a1_gone", "a1", None, "正式党员", False),
            ("a2_vice", "a2", "副书记", "预备党员", True),
            ("g_m", "g", None, "发展对象", True),
            ("b_sec", "b", "书记", "正式党员", True),
            ("b_m", "b", None, "入党积极分子", True),
        ]
        for i, (name, org, post, category, subscribed) in enumerate(spec):
            openid = follower(db, f"o_aud_{name}", subscribed)
            db.commit()
            member = add_member(db, orgs[org], f"测试{i}号", post=post, category=category)
            confirm(db, openid, member)
            p.people[name] = openid
        left = add_member(db, orgs["a1"], "测试离册", left_at=utcnow())
        p.people["left"] = follower(db, "o_aud_left")
        db.commit()
        confirm(db, p.people["left"], left)
        for name, status in (("self", "unconfirmed"), ("pending", PENDING)):
            p.people[name] = follower(db, f"o_aud_{name}")
            db.add(Membership(openid=p.people[name], organisation="T11", district="第一片区", status=status))
        p.people["nobody"] = follower(db, "o_aud_nobody")
        db.commit()
    return p


def audience(services: Any, kind: str, ref: str | None = None, content_kind: str = "text") -> set[str]:
    """The openids the fan-out would read for this audience (skip reasons ignored)."""
    push = Push(audience_kind=kind, audience_ref=ref, content_kind=content_kind, channel="template", test_openids=[])
    with services.sessions() as db:
        return {openid for openid, _ in recipients(db, push, utcnow())}


def names(p: Park, openids: set[str]) -> set[str]:
    back = {v: k for k, v in p.people.items()}
    return {back.get(o, o) for o in openids}


def scoped(app: Any, make_account: Any, services: Any, username: str, org: Organisation | None, *roles: str) -> Any:
    """A new test client signed in as an account scoped to `org` (roles default: secretary; org None: an account
    from before the scope rule, which the account form now refuses)."""
    roles = roles or ("secretary",)
    make_account(username, *roles, "editor")
    with services.sessions() as db:
        account = db.scalar(select(Account).where(Account.username == username))
        account.organisation_id, account.roles = (org.id if org else None), list(roles)
        db.commit()
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def rescope(services: Any, username: str, org: Organisation) -> None:
    with services.sessions() as db:
        account = db.scalar(select(Account).where(Account.username == username))
        account.organisation_id = org.id
        db.commit()
