"""Task lists' messages: the verdict to the organisation's secretaries, a report to the instructor linked to its
guidance group, and the scheduler's reminders before due dates (to the secretaries, a copy to that instructor).

Inside the 48-hour window a customer-service message; outside it the text is kept for the person's next message
(bot.outbound.pending). Flask-free: the console (tasks_console.py), the chat (task_chat.py) and the scheduler call it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.accounts import Account
from bot.core.clock import day_of
from bot.core.database import utcnow
from bot.core.organisations import Organisation, group_instructors, instructor_of
from bot.outbound import pending
from handlers.orglife.task_models import ACCEPTED, RETURNED, TODO, Task, TaskNotice, TaskReport

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
SOURCE = "tasks"  # pending texts' source


@dataclass(frozen=True)
class TaskConfig:
    """The task lists' keys of the `orglife` section."""

    SECTION = "orglife"

    remind_days: int  # days before a due date the organisation's bound secretary is reminded

    @classmethod
    def of(cls, settings: Any) -> TaskConfig:
        return settings.feature(cls)

    @classmethod
    def from_raw(cls, cfg: Mapping[str, Any] | None) -> TaskConfig:
        return cls(remind_days=int((cfg or {}).get("task_remind_days", 3)))


def secretaries(db: Session, org_id: int) -> list[str]:
    """The openids of the organisation's own bound secretaries."""
    accounts = db.scalars(
        select(Account).where(Account.organisation_id == org_id, Account.active.is_(True), Account.openid.is_not(None))
    ).all()
    return [a.openid for a in accounts if a.openid and a.has_role("secretary")]


def tell(services: Services, openids: Iterable[str], text: str) -> int:
    """A customer-service message to each inside the 48-hour window, kept for the next message of the others; how
    many went now."""
    return sum(pending.send_or_keep(services, openid, text, SOURCE) for openid in openids)


def verdict_text(task: Task, report: TaskReport) -> str:
    if report.status == ACCEPTED:
        return f"【任务清单】您上报的任务「{task.title}」已通过验收。"
    head = f"【任务清单】您上报的任务「{task.title}」被退回：{report.comment or ''}\n"
    return head + "请修改后重新上报（回复「任务清单」查看）。"


def reported_text(org: Organisation, task: Task) -> str:
    return f"【任务清单】{org.name}已上报任务「{task.title}」，请登录管理后台「任务清单」验收或退回。"


def tell_instructor(services: Services, org_id: int, task_id: int) -> bool:
    """A report came in: the instructor linked to the organisation's guidance group is told; False when none is
    linked or bound."""
    with services.sessions() as db:
        org, task = db.get(Organisation, org_id), db.get(Task, task_id)
        instructor = instructor_of(db, org)
        openid = instructor.openid if instructor is not None else None
        if org is None or task is None or not openid:
            return False
        text = reported_text(org, task)
    tell(services, [openid], text)
    return True


def tell_instructor_later(services: Services, org_id: int, task_id: int) -> None:
    """tell_instructor in the background (a chat turn or a console page never waits for WeChat)."""
    services.pool.submit(_safe_tell_instructor, services, org_id, task_id)


def _safe_tell_instructor(services: Services, org_id: int, task_id: int) -> None:
    try:
        tell_instructor(services, org_id, task_id)
    except Exception:  # noqa: BLE001 - a background send: log it; the console shows the report anyway
        log.exception("instructor not told of a task report")


# Reminders ---------------------------------------------------------------------------------------------------------
def claim(db: Session, rows: list[tuple[int, str]], now: datetime) -> list[str]:
    """Insert the notice rows of one organisation's reminder (all at once; one by one if another process took some);
    the lines this process won."""
    db.add_all(TaskNotice(report_id=report_id, kind="remind", sent_at=now) for report_id, _ in rows)
    try:
        db.commit()
        return [line for _, line in rows]
    except IntegrityError:  # another scheduler process got there first (for some or all)
        db.rollback()
    won = []
    for report_id, line in rows:
        db.add(TaskNotice(report_id=report_id, kind="remind", sent_at=now))
        try:
            db.commit()
            won.append(line)
        except IntegrityError:
            db.rollback()
    return won


def remind(services: Services, now: datetime | None = None) -> int:
    """The scheduler's job: remind each organisation's bound secretaries of tasks due within task_remind_days (and
    send a copy to the instructor linked to its guidance group), once per report (a task_notices row is inserted
    first, so two scheduler processes cannot both send it). The number of messages that went out now."""
    now = now or utcnow()
    today = day_of(now)
    horizon = today + timedelta(days=TaskConfig.of(services.settings).remind_days)
    sent = 0
    with services.sessions() as db:
        due = db.execute(
            select(TaskReport.id, TaskReport.organisation_id, Task.title, Task.due_on)
            .join(Task, Task.id == TaskReport.task_id)
            .where(
                TaskReport.status.in_((TODO, RETURNED)),
                and_(Task.due_on >= today, Task.due_on <= horizon),
                ~select(TaskNotice.id)
                .where(TaskNotice.report_id == TaskReport.id, TaskNotice.kind == "remind")
                .exists(),
            )
            .order_by(TaskReport.organisation_id, Task.due_on)
        ).all()
        wanted: dict[int, list[tuple[int, str]]] = {}
        for report_id, org_id, title, due_on in due:
            wanted.setdefault(org_id, []).append((report_id, f"· {title}（{due_on:%m月%d日}截止）"))
        per_org = {org_id: claim(db, rows, now) for org_id, rows in wanted.items()}
        orgs = {o.id: o for o in db.scalars(select(Organisation).where(Organisation.id.in_(list(per_org))))}
        linked = group_instructors(db, {o.guidance_group_id for o in orgs.values()})
        for org_id, lines in per_org.items():
            if not lines:
                continue
            listed = "\n".join(lines)
            text = f"【任务清单】以下任务即将到期，请按时完成并上报：\n{listed}\n回复「任务清单」查看。"
            sent += tell(services, secretaries(db, org_id), text)
            org = orgs.get(org_id)
            instructor = linked.get(org.guidance_group_id or 0) if org is not None else None
            if org is not None and instructor is not None and instructor.openid:
                copy = f"【任务清单】您指导的{org.name}以下任务即将到期，尚未上报：\n{listed}"
                sent += tell(services, [instructor.openid], copy)
    if due:
        log.info("task reminders: %d reports, %d messages", sum(len(v) for v in per_org.values()), sent)
    return sent
