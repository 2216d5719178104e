"""Task lists (every two months): issue to organisations, report done, accept or return, progress, reminders.

Flask-free: the console (tasks_console.py), the chat (task_chat.py) and the scheduler call these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import case, extract, func, select
from sqlalchemy.orm import Session

from bot.core.accounts import Account
from bot.core.database import utcnow
from bot.core.errors import WeChatAPIError
from bot.core.organisations import GuidanceGroup, Organisation, in_subtree, scope_root
from handlers.orglife.task_models import (
    ACCEPTED,
    REPORTED,
    RETURNED,
    TODO,
    Task,
    TaskList,
    TaskPhoto,
    TaskReport,
)

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
TARGET_KINDS = ("党委", "党总支", "党支部")  # who receives task lists: 党支部-level and above, not 党小组
OPEN = (TODO, RETURNED, REPORTED)  # a secretary's open tasks (reported ones may still be amended)
REPORTABLE = (TODO, RETURNED, REPORTED)
LABELS = {TODO: "待完成", REPORTED: "已上报", ACCEPTED: "已通过", RETURNED: "已退回"}
MAX_PHOTOS = 9  # photos per report
MAX_BYTES = 10 * 1024 * 1024  # the largest image WeChat keeps
NO_GROUP = "（未划入指导小组）"


class TaskError(ValueError):
    """A change that cannot be made (the message is for people)."""


# Issuing ---------------------------------------------------------------------------------------------------------
def targets(db: Session, root: Organisation | None, how: str, value: str = "") -> list[Organisation]:
    """The live organisations (TARGET_KINDS) inside `root` that a list goes to: all, a 片区, or a guidance group."""
    query = select(Organisation).where(Organisation.kind.in_(TARGET_KINDS), Organisation.dissolved_at.is_(None))
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path, autoescape=True))
    if how == "district":
        query = query.where(Organisation.district == value)
    elif how == "group":
        query = query.where(Organisation.guidance_group_id == (int(value) if value.isdigit() else -1))
    elif how != "all":
        raise TaskError("请选择下发范围")
    return list(db.scalars(query.order_by(Organisation.path)))


def can_issue(db: Session, account: Account | None) -> bool:
    """The committee (admin, or an unscoped editor) or an account scoped to a 片区党委."""
    if account is None:
        return False
    if account.organisation_id is None:
        return account.is_admin or account.has_role("editor")
    root = scope_root(db, account)
    return root is not None and root.kind == "片区党委"


def parse_items(text: str) -> list[tuple[str, str, date]]:
    """Tasks typed one per line as 「标题｜截止日期｜说明」 (the description may be left out)."""
    items: list[tuple[str, str, date]] = []
    for n, line in enumerate((raw.strip() for raw in text.splitlines()), 1):
        if not line:
            continue
        parts = [p.strip() for p in line.replace("|", "｜").split("｜", 2)]
        if len(parts) < 2 or not parts[0]:
            raise TaskError(f"第{n}行：请按「标题｜截止日期｜说明」填写")
        try:
            due = date.fromisoformat(parts[1])
        except ValueError:
            raise TaskError(f"第{n}行：截止日期请写成 2026-12-31") from None
        items.append((parts[0][:200], parts[2] if len(parts) > 2 else "", due))
    if not items:
        raise TaskError("请至少填写一项任务")
    return items


def issue(
    db: Session,
    *,
    title: str,
    period: str,
    items: list[tuple[str, str, date]],
    orgs: list[Organisation],
    target: str,
    scope: Organisation | None,
    by: str,
) -> TaskList:
    """A new list with its tasks and one `todo` report per (task, organisation); the caller commits."""
    if not orgs:
        raise TaskError("所选范围内没有党支部及以上的组织")
    lst = TaskList(
        title=title[:200], period=period[:64], target=target[:200], scope_id=scope.id if scope else None, issued_by=by
    )
    db.add(lst)
    db.flush()
    for n, (name, description, due) in enumerate(items, 1):
        task = Task(list_id=lst.id, position=n, title=name, description=description, due_on=due)
        db.add(task)
        db.flush()
        db.add_all(TaskReport(task_id=task.id, organisation_id=o.id, status=TODO, history=[]) for o in orgs)
    db.flush()
    return lst


# Reporting and reviewing -----------------------------------------------------------------------------------------
def note(report: TaskReport, status: str, by: str, comment: str = "") -> None:
    report.history = [*(report.history or []), {"at": utcnow().isoformat(), "by": by, "status": status, "c": comment}]


def submit(db: Session, report: TaskReport, text: str, by: str) -> None:
    """The organisation reports the task done (again after a return); the caller commits."""
    if report.status not in REPORTABLE:
        raise TaskError("该任务已通过验收，不能再修改")
    if not text.strip() and not has_photos(db, report):
        raise TaskError("请填写完成情况说明或上传图片")
    report.text, report.status = text.strip()[:4000] or report.text, REPORTED
    report.reported_at, report.reported_by = utcnow(), by
    note(report, REPORTED, by)


def add_photo(db: Session, report: TaskReport, media_id: str, data: bytes | None = None, ctype: str = "") -> bool:
    """A photo of the report (a WeChat media id to fetch, or uploaded bytes); False when there are enough already."""
    count = db.scalar(select(func.count()).select_from(TaskPhoto).where(TaskPhoto.report_id == report.id)) or 0
    if count >= MAX_PHOTOS:
        return False
    photo = TaskPhoto(report_id=report.id, media_id=media_id[:128], data=data, content_type=ctype or None)
    photo.fetched_at = utcnow() if data is not None else None
    db.add(photo)
    return True


def has_photos(db: Session, report: TaskReport) -> bool:
    return db.scalar(select(TaskPhoto.id).where(TaskPhoto.report_id == report.id).limit(1)) is not None


def review(db: Session, report: TaskReport, accept: bool, comment: str, by: str) -> None:
    """The instructor accepts the report or returns it with a comment; the caller commits."""
    if report.status != REPORTED:
        raise TaskError("只有已上报的任务可以验收或退回")
    if not accept and not comment.strip():
        raise TaskError("退回时请填写意见")
    report.status = ACCEPTED if accept else RETURNED
    report.reviewed_at, report.reviewed_by, report.comment = utcnow(), by, comment.strip()[:2000] or None
    note(report, report.status, by, comment.strip())


def can_report(account: Account | None, org: Organisation, root: Organisation | None) -> bool:
    """Admins, or a secretary scoped to cover the organisation."""
    if account is None:
        return False
    return account.is_admin or (account.has_role("secretary") and root is not None and in_subtree(org, root))


def can_review(
    account: Account | None, org: Organisation, root: Organisation | None, guided: Iterable[int] = ()
) -> bool:
    """Admins, an instructor scoped to cover the organisation, or the instructor linked to its guidance group
    (`guided`: the groups linked to the account, bot.core.organisations.guided_group_ids)."""
    if account is None:
        return False
    if account.is_admin:
        return True
    if not account.has_role("instructor"):
        return False
    linked = org.guidance_group_id is not None and org.guidance_group_id in set(guided)
    return linked or (root is not None and in_subtree(org, root))


def open_reports(db: Session, org_id: int) -> list[tuple[TaskReport, Task]]:
    """The organisation's open tasks, soonest due first (what 「任务清单」 numbers)."""
    rows = db.execute(
        select(TaskReport, Task)
        .join(Task, Task.id == TaskReport.task_id)
        .where(TaskReport.organisation_id == org_id, TaskReport.status.in_(OPEN))
        .order_by(Task.due_on, Task.id)
    ).all()
    return [(r, t) for r, t in rows]


def secretary_of(db: Session, openid: str) -> Account | None:
    """The active secretary account bound to this WeChat user and scoped to an organisation."""
    account = db.scalar(select(Account).where(Account.openid == openid, Account.active.is_(True)))
    ok = account is not None and account.has_role("secretary") and account.organisation_id is not None
    return account if ok else None


# Photos copied from WeChat -------------------------------------------------------------------------------------
def fetch_photos(services: Services, report_id: int) -> int:
    """Copy the report's photos not fetched yet from WeChat (media ids expire in 3 days); the number fetched."""
    fetched = 0
    with services.sessions() as db:
        photos = db.scalars(
            select(TaskPhoto).where(TaskPhoto.report_id == report_id, TaskPhoto.fetched_at.is_(None))
        ).all()
        for photo in photos:
            try:
                got = services.wx.download_media(photo.media_id, MAX_BYTES)
            except WeChatAPIError as exc:
                photo.error = "network" if exc.errcode is None else f"errcode {exc.errcode}"
                continue
            photo.data, photo.fetched_at, photo.error = got.data, utcnow(), None
            photo.content_type = (got.content_type.split(";")[0].strip().lower() or "image/jpeg")[:64]
            fetched += 1
        db.commit()
    return fetched


def safe_fetch(services: Services, report_id: int) -> None:
    try:
        fetch_photos(services, report_id)
    except Exception:  # noqa: BLE001 - a background job: log it
        log.exception("photos of task report %s not fetched", report_id)


# Progress ----------------------------------------------------------------------------------------------------------
@dataclass
class Counts:
    """A row of the progress tables."""

    label: str
    key: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((TODO, REPORTED, ACCEPTED, RETURNED), 0))
    overdue: int = 0

    @property
    def issued(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        return self.counts[ACCEPTED] / self.issued if self.issued else None

    def add(self, status: str, n: int = 1, overdue: int = 0) -> None:
        self.counts[status] = self.counts.get(status, 0) + n
        self.overdue += overdue


def progress(
    db: Session, root: Organisation | None, today: date, list_id: int | None = None
) -> tuple[list[Counts], list[Counts]]:
    """Per organisation (inside `root`) and per guidance group: counts, overdue (not done after the due date), rate."""
    late = case((Task.due_on < today, 1), else_=0)
    query = (
        select(
            Organisation.id, Organisation.name, Organisation.guidance_group_id, TaskReport.status, late, func.count()
        )
        .join(Task, Task.id == TaskReport.task_id)
        .join(Organisation, Organisation.id == TaskReport.organisation_id)
        .group_by(Organisation.id, Organisation.name, Organisation.guidance_group_id, TaskReport.status, late)
    )
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path, autoescape=True))
    if list_id is not None:
        query = query.where(Task.list_id == list_id)
    groups = {g.id: g.name for g in db.scalars(select(GuidanceGroup))}
    by_org: dict[int, Counts] = {}
    by_group: dict[int | None, Counts] = {}
    for org_id, name, group_id, status, past_due, n in db.execute(query):
        overdue = n if past_due and status in (TODO, RETURNED) else 0
        by_org.setdefault(org_id, Counts(name, str(org_id))).add(status, n, overdue)
        label = groups.get(group_id, NO_GROUP) if group_id else NO_GROUP
        by_group.setdefault(group_id, Counts(label, str(group_id or ""))).add(status, n, overdue)
    return sorted(by_org.values(), key=lambda c: c.label), sorted(by_group.values(), key=lambda c: c.label)


def completion(db: Session, year: int) -> dict[int, float]:
    """Organisation id → accepted ÷ issued, over the tasks due in `year` (for the yearly assessment)."""
    rows = db.execute(
        select(
            TaskReport.organisation_id,
            func.count(),
            func.sum(case((TaskReport.status == ACCEPTED, 1), else_=0)),
        )
        .join(Task, Task.id == TaskReport.task_id)
        .where(extract("year", Task.due_on) == year)
        .group_by(TaskReport.organisation_id)
    ).all()
    return {org_id: (accepted or 0) / issued for org_id, issued, accepted in rows if issued}
