"""Helpers for the 三会一课 compliance tests: a backdated small tree, held meetings at China times, statuses by key.

Every organisation and person here is obviously fictional (测试 names).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.core.clock import TZ
from bot.core.organisations import Organisation
from handlers.orglife import compliance
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import HELD, Meeting
from tests.org_helpers import small_tree

LONG_AGO = datetime(2024, 1, 1, tzinfo=TZ)


def cn(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A China time."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def old_tree(db: Session) -> dict[str, int]:
    """tests.org_helpers.small_tree, every organisation created long ago; ids by key."""
    orgs = small_tree(db)
    for org in orgs.values():
        org.created_at = LONG_AGO
    db.commit()
    return {key: org.id for key, org in orgs.items()}


def meeting(
    db: Session, org_id: int, kind: str, starts: datetime, recorded: datetime | None = None, status: str = HELD
) -> Meeting:
    """A meeting of `kind` starting at `starts`, recorded (created) at `recorded` (default: when it started)."""
    starts, recorded = starts.astimezone(UTC), (recorded or starts).astimezone(UTC)  # stored as UTC (SQLite too)
    row = Meeting(
        organisation_id=org_id,
        kind=kind,
        topic="测试会议",
        starts_at=starts,
        place="测试会议室",
        status=status,
        planned_by="test",
        created_at=recorded,
        updated_at=recorded,
    )
    db.add(row)
    db.commit()
    return row


def grid(services: Any, year: int, now: datetime, root: Organisation | None = None) -> compliance.Grid:
    with services.sessions() as db:
        cfg = OrgLifeConfig.of(services.settings)
        return compliance.evaluate(db, cfg, year, now, root, compliance.guidance_group_names(db))


def statuses(found: compliance.Grid, org_id: int, kind: str) -> dict[str, str]:
    """Period key → status of one organisation's kind (missing key: not required)."""
    return {period.key: status for period, status in found.statuses.get((org_id, kind), [])}
