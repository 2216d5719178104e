"""Helpers for the yearly assessment tests: last year's small tree with meetings, tasks, studies and tickets.

Every organisation and person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.core.organisations import Organisation
from handlers.orglife.task_models import Task, TaskList, TaskReport
from handlers.tickets.models import Ticket
from tests.handlers.orglife.comp_helpers import cn, meeting, old_tree
from tests.handlers.orgs.fig_helpers import studied
from tests.org_helpers import add_member, confirm

ONE_KIND = [{"key": "zhiwei_hui", "name": "支部委员会", "period": "monthly", "applies_to": ["党支部"]}]
URL = "/console/assessment/"


def year_2025(services: Any) -> dict[str, int]:
    """2025 (over): a1 meets every month, tasks 1 of 2 accepted, 1 of 2 members studied; a2 January on time and
    February late, 1 member who did not study; b nothing held, two tickets (one answered on time, solved, satisfied;
    one answered late, open, unrated)."""
    with services.sessions() as db:
        tree = old_tree(db)
        for month in range(1, 13):
            meeting(db, tree["a1"], "zhiwei_hui", cn(2025, month, 5))
        meeting(db, tree["a2"], "zhiwei_hui", cn(2025, 1, 5))
        meeting(db, tree["a2"], "zhiwei_hui", cn(2025, 2, 5), recorded=cn(2025, 3, 3))
        a1, a2 = db.get(Organisation, tree["a1"]), db.get(Organisation, tree["a2"])
        assert a1 is not None and a2 is not None
        reader = add_member(db, a1, "测试甲一")
        add_member(db, a1, "测试甲二")
        add_member(db, a2, "测试乙一")
        confirm(db, "o-assess-reader", reader)
        studied(db, "o-assess-reader", date(2025, 6, 1))
        lst = TaskList(title="测试清单", period="2025年", target="全部", issued_by="test")
        db.add(lst)
        db.flush()
        for position, status in ((1, "accepted"), (2, "reported")):
            task = Task(list_id=lst.id, position=position, title=f"测试任务{position}", due_on=date(2025, 11, 30))
            db.add(task)
            db.flush()
            db.add(TaskReport(task_id=task.id, organisation_id=tree["a1"], status=status))
        for n, (on_time, solved, rating, status) in enumerate(
            ((True, True, "satisfied", "resolved"), (False, False, None, "accepted")), 1
        ):
            at = datetime(2025, 3, 10, tzinfo=UTC)
            db.add(
                Ticket(
                    number=f"TEST{n:04d}",
                    submission_key=f"test-assess-{n}",
                    openid="o-assess-ticket",
                    category="test",
                    tier="normal",
                    description="测试诉求",
                    place="测试地点",
                    organisation_id=tree["b"],
                    status=status,
                    month="2025-03",
                    responded_on_time=on_time,
                    solved=solved,
                    rating=rating,
                    created_at=at,
                    accept_due_at=at,
                    due_at=at,
                    updated_at=at,
                )
            )
        db.commit()
    return tree
