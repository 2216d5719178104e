"""Test helpers for the orgs console pages: the small tree with invented members, scoped accounts, audit rows.

Every person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.console.accounts import create_account
from bot.core.accounts import AuditEntry
from tests.console.console_helpers import PASSWORD, login
from tests.org_helpers import add_member, confirm, small_tree


def seeded(services: Any) -> dict[str, Any]:
    """The small tree; 测试员 (199 0000 0001) and two more in 测试甲公司第一党支部 (one confirmed), one in its
    党小组, one in 测试乙公司党支部. Returns ids and codes (detached from any session)."""
    with services.sessions() as db:
        t = small_tree(db)
        first = add_member(db, t["a1"], "测试员", "19900000001", post="书记", sex="女")
        add_member(db, t["a1"], "测试二号", "19900000002", category="预备党员")
        add_member(db, t["a1"], "测试三号", "19900000003")
        add_member(db, t["g"], "测试四号", "19900000004", post="党小组长")
        other = add_member(db, t["b"], "测试乙员", "19900000009")
        confirm(db, "o_test_first", first)
        t["a"].secretary, t["b"].secretary = "测试甲书记", "测试乙书记"
        db.commit()
        out: dict[str, Any] = {k: (o.id, o.code) for k, o in t.items()}
        out["first"], out["other"] = first.id, other.id
        return out


def scoped_client(app: Any, services: Any, username: str, role: str, org_id: int | None) -> Any:
    """A new test client signed in as an account with `role`, scoped to `org_id` (None: unscoped, as an account
    from before the scope rule)."""
    with services.sessions() as db:
        account = create_account(db, username, PASSWORD, [role, "editor"], organisation_id=org_id)
        account.roles = [role]
        db.commit()
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def audits(services: Any, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
