"""Task list test helpers: the small invented tree with a guidance group, accounts scoped in it, a list issued.

Every person and organisation here is obviously fictional (测试 names).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from bot.console.accounts import create_account
from bot.core.accounts import AuditEntry
from bot.core.organisations import GuidanceGroup, Organisation
from handlers.orglife import tasks
from handlers.orglife.task_models import Task, TaskReport
from tests.console.console_helpers import PASSWORD, login
from tests.org_helpers import small_tree


def tree(services: Any) -> dict[str, int]:
    """small_tree, with 甲公司第一党支部 (T111) and 乙公司党支部 (T21) in the guidance group 测试第一指导小组."""
    with services.sessions() as db:
        orgs = small_tree(db)
        group = GuidanceGroup(name="测试第一指导小组", instructor="测试指导员")
        db.add(group)
        db.flush()
        orgs["a1"].guidance_group_id = orgs["b"].guidance_group_id = group.id
        db.commit()
        return {**{k: v.id for k, v in orgs.items()}, "group": group.id}


def account(services: Any, username: str, role: str, org_code: str | None, openid: str | None = None) -> int:
    """A console account with one role, scoped to `org_code`, its WeChat bound to `openid`."""
    with services.sessions() as db:
        org_id = db.scalar(select(Organisation.id).where(Organisation.code == org_code)) if org_code else None
        made = create_account(db, username, PASSWORD, [role], organisation_id=org_id)
        made.openid = openid
        db.commit()
        return made.id


def sign_in(app: Any, username: str) -> Any:
    """A fresh test client signed in as `username`."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def issue(services: Any, how: str = "all", value: str = "", due: date = date(2026, 12, 20), n: int = 2) -> int:
    """A list of `n` tasks issued by the committee (whole park); its id."""
    with services.sessions() as db:
        items = [(f"测试任务{i}", "说明", due) for i in range(1, n + 1)]
        lst = tasks.issue(
            db,
            title="测试清单",
            period="2026年11-12月",
            items=items,
            orgs=tasks.targets(db, None, how, value),
            target=how,
            scope=None,
            by="test",
        )
        db.commit()
        return lst.id


def reports(services: Any, list_id: int) -> dict[tuple[str, int], TaskReport]:
    """(organisation code, task position) → report."""
    with services.sessions() as db:
        rows = db.execute(
            select(TaskReport, Task.position, Organisation.code)
            .join(Task, Task.id == TaskReport.task_id)
            .join(Organisation, Organisation.id == TaskReport.organisation_id)
            .where(Task.list_id == list_id)
        ).all()
        return {(code, pos): r for r, pos, code in rows}


def audits(services: Any, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
