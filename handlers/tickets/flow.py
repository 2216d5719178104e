"""The handling workflow: each step checks the status, changes the ticket, appends an event and queues notices.

Callers commit; after the commit they hand the returned notice ids to handlers.tickets.notify.deliver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.accounts import Account
from bot.core.database import aware, utcnow
from bot.core.errors import AccessRefused, UserFacingError
from handlers.tickets.models import OPEN_STATUSES, RATINGS, STATUSES, Ticket, TicketEvent, TicketNotice
from handlers.tickets.rules import TicketConfig, china

# Event kind → the Chinese name on timelines.
EVENTS = {
    "submit": "提交",
    "accept": "受理",
    "assign": "交办",
    "process": "办理中",
    "resolve": "办结",
    "rate": "回访",
    "return": "退回",
    "reject": "不予受理",
    "merge": "合并",
    "reopen": "重办",
    "tier": "调整时限",
    "category": "调整类别",
    "escalate": "超期提醒",
    "note": "备注",
}
REASON_MAX = 200  # characters of a reason (退回, 不予受理)


@dataclass
class Step:
    """Who takes a step and when; `notices` collects the TicketNotice rows it queued."""

    db: Session
    cfg: TicketConfig
    actor: str
    now: datetime
    notices: list[TicketNotice]

    @classmethod
    def by(cls, db: Session, cfg: TicketConfig, actor: str, now: datetime | None = None) -> Step:
        return cls(db, cfg, actor, now or utcnow(), [])

    def event(self, ticket: Ticket, kind: str, note: str | None = None, public: bool = True, **details: Any) -> None:
        self.db.add(
            TicketEvent(
                ticket_id=ticket.id, at=self.now, kind=kind, actor=self.actor, note=note, details=details, public=public
            )
        )
        ticket.updated_at = self.now

    def notify(self, ticket: Ticket, text: str) -> None:
        """Queue `text` for the submitter and for submitters of tickets merged into this one."""
        merged = self.db.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id)).all()
        for t in [ticket, *merged]:
            row = TicketNotice(
                openid=t.openid, ticket_id=t.id, text=text.replace("{number}", t.number), created_at=self.now
            )
            self.db.add(row)
            self.notices.append(row)

    def notice_ids(self) -> list[int]:
        """Ids of the queued notices (after flush or commit)."""
        self.db.flush()
        return [n.id for n in self.notices]


def require(ticket: Ticket, *statuses: str) -> None:
    """Refuse a step the ticket's status does not allow, naming the status."""
    if ticket.status not in statuses:
        raise UserFacingError(f"诉求 {ticket.number} 当前状态为「{ticket.status_name}」，不能进行此操作。")


def text_needed(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise UserFacingError(f"请填写{what}。")
    return value[:REASON_MAX] if what.endswith("原因") else value


def responded(step: Step, ticket: Ticket) -> None:
    """The first answer to a submission: the 响应率 counts it if within the intake hours."""
    if ticket.responded_at is None:
        ticket.responded_at = step.now
        ticket.responded_on_time = step.now <= aware(ticket.accept_due_at)


def due_text(cfg: TicketConfig, ticket: Ticket) -> str:
    return china(ticket.due_at).strftime("%m月%d日 %H:%M")


def accept(step: Step, ticket: Ticket, account_id: int | None, tier: str | None = None) -> None:
    """受理: intake done; optionally a different deadline tier (counted from submission)."""
    require(ticket, "new")
    if tier and tier != ticket.tier:
        change_tier(step, ticket, tier)
    ticket.status, ticket.accepted_by_id = "accepted", account_id
    responded(step, ticket)
    step.event(ticket, "accept")
    step.notify(ticket, f"您的诉求 {{number}} 已受理，我们将在 {due_text(step.cfg, ticket)} 前给您答复。")


def change_tier(step: Step, ticket: Ticket, tier: str) -> None:
    """A different tier: the deadline moves to submission (or reopening) + the tier's hours."""
    if tier not in step.cfg.tiers:
        raise UserFacingError(f"未知的时限类别：{tier}")
    start = step.now if ticket.reopened else aware(ticket.created_at)
    ticket.tier, ticket.due_at, ticket.escalated_at = tier, start + step.cfg.tiers[tier][1], None
    step.event(ticket, "tier", public=False, tier=tier)


def recategorise(step: Step, ticket: Ticket, category: str) -> None:
    """Another category (staff's reading of the submission); the deadline tier follows the category's."""
    require(ticket, *OPEN_STATUSES)
    if category not in step.cfg.categories:
        raise UserFacingError(f"未知的诉求类别：{category}")
    before, ticket.category = ticket.category, category
    step.event(ticket, "category", public=False, category=category, before=before)
    tier = step.cfg.categories[category]
    if tier != ticket.tier and tier in step.cfg.tiers:
        change_tier(step, ticket, tier)


def may_name(cfg: TicketConfig, actor: Account, assignee: Account) -> bool:
    """Who may name a person as assignee (the person then sees the submitter's phone): an admin, or the supervisor
    (tickets.departments[].supervisor) of the assignee's department; never the actor themself."""
    if actor.id == assignee.id:
        return False
    if actor.is_admin:
        return True
    return bool(assignee.department) and cfg.departments.get(assignee.department, ("", ""))[1] == actor.username


def named_assignee(step: Step, assignee_id: int, account_id: int | None) -> Account:
    """The active caseworker `account_id` names as assignee, if the rule allows it (AccessRefused otherwise)."""
    actor = step.db.get(Account, account_id) if account_id else None
    assignee = step.db.get(Account, assignee_id)
    if assignee is None or not assignee.active or "caseworker" not in (assignee.roles or []):
        raise UserFacingError("所选指导员不存在或已停用。")
    if actor is not None and actor.id == assignee.id:
        raise AccessRefused("不能把诉求交办给自己。请由管理员或部门主管指定承办人。")
    if actor is None or not may_name(step.cfg, actor, assignee):
        raise AccessRefused("只有管理员或该指导员所在部门的主管可以指定指导员；你可以只选择交办部门。")
    return assignee


def assign(
    step: Step,
    ticket: Ticket,
    department: str | None,
    assignee_id: int | None,
    assignee_name: str = "",
    account_id: int | None = None,
) -> None:
    """交办 to a department and/or an instructor; a new ticket is accepted on the way.

    Naming an instructor is limited by may_name (account_id is who takes the step)."""
    require(ticket, "new", "accepted", "assigned", "processing")
    if not department and not assignee_id:
        raise UserFacingError("请选择交办的部门或指导员。")
    if department and department not in step.cfg.departments:
        raise UserFacingError(f"未知的部门：{department}")
    if assignee_id:
        assignee_name = named_assignee(step, assignee_id, account_id).username
    if ticket.status == "new":
        accept(step, ticket, account_id)
    ticket.status, ticket.department, ticket.assignee_id = "assigned", department, assignee_id
    to = step.cfg.department_name(department) if department else assignee_name
    step.event(ticket, "assign", department=department, assignee_id=assignee_id, to=to)
    step.notify(ticket, f"您的诉求 {{number}} 已交办{('至' + to) if to else ''}办理。")


def start(step: Step, ticket: Ticket) -> None:
    """办理中: the assignee is working on it."""
    require(ticket, "assigned")
    ticket.status = "processing"
    step.event(ticket, "process")
    step.notify(ticket, "您的诉求 {number} 正在办理中。")


def resolve(step: Step, ticket: Ticket, reply: str) -> None:
    """办结, with the answer the submitter sees and an invitation to rate."""
    require(ticket, "assigned", "processing")
    ticket.reply = text_needed(reply, "办理结果")
    ticket.status, ticket.solved, ticket.resolved_at = "resolved", True, step.now
    step.event(ticket, "resolve", note=ticket.reply)
    step.notify(
        ticket,
        f"您的诉求 {{number}} 已办结。\n办理结果：{ticket.reply}\n\n"
        "请回复「满意」「基本满意」或「不满意」评价（可附意见，如：不满意 仍未解决）。",
    )


def rate(step: Step, ticket: Ticket, rating: str, comment: str = "") -> None:
    """回访: the submitter's rating; 不满意 reopens the ticket (重办) with a new deadline."""
    require(ticket, "resolved")
    if rating not in RATINGS:
        raise UserFacingError("请回复「满意」「基本满意」或「不满意」。")
    ticket.rating, ticket.rating_comment = rating, (comment or "").strip()[:200] or None
    step.event(ticket, "rate", note=ticket.rating_comment, rating=rating)
    if rating != "unsatisfied":
        ticket.status, ticket.closed_at = "closed", step.now
        return
    reopen(step, ticket)


def reopen(step: Step, ticket: Ticket) -> None:
    """重办: back to the assignee (or intake) with the tier's deadline from now; escalation may fire again."""
    ticket.reopened += 1
    ticket.status = "assigned" if (ticket.department or ticket.assignee_id) else "accepted"
    ticket.solved, ticket.resolved_at = False, None
    ticket.due_at, ticket.escalated_at = step.now + step.cfg.tiers[ticket.tier][1], None
    step.event(ticket, "reopen", due_at=ticket.due_at.isoformat())
    step.notify(ticket, f"您的诉求 {{number}} 已重新交办办理，将在 {due_text(step.cfg, ticket)} 前再次答复。")


def return_(step: Step, ticket: Ticket, reason: str) -> None:
    """退回: a wrongly assigned ticket goes back to intake, with the reason (not shown to the submitter)."""
    require(ticket, "assigned", "processing")
    reason = text_needed(reason, "退回原因")
    ticket.status, ticket.reason = "accepted", reason
    step.event(
        ticket, "return", note=reason, public=False, department=ticket.department, assignee_id=ticket.assignee_id
    )
    ticket.department, ticket.assignee_id = None, None


def reject(step: Step, ticket: Ticket, reason: str, account_id: int | None = None) -> None:
    """不予受理, with the reason the submitter sees."""
    require(ticket, "new", "accepted")
    ticket.reason = text_needed(reason, "不予受理原因")
    ticket.status = "rejected"
    ticket.accepted_by_id = ticket.accepted_by_id or account_id
    responded(step, ticket)
    step.event(ticket, "reject", note=ticket.reason)
    step.notify(ticket, f"您的诉求 {{number}} 不予受理。\n原因：{ticket.reason}")


def merge(step: Step, ticket: Ticket, into: Ticket) -> None:
    """合并 a duplicate into `into`: its submitter follows `into` from now on."""
    require(ticket, *OPEN_STATUSES)
    if into.id == ticket.id or into.status in ("merged", "rejected"):
        raise UserFacingError(f"不能合并到诉求 {into.number}（{STATUSES.get(into.status, into.status)}）。")
    responded(step, ticket)
    ticket.status, ticket.merged_into_id = "merged", into.id
    step.event(ticket, "merge", into=into.number)
    step.event(into, "merge", public=False, merged=ticket.number)
    step.notify(
        ticket, f"您的诉求 {{number}} 与诉求 {into.number} 反映的是同一问题，已合并办理，后续进展会一并告知您。"
    )


def note(step: Step, ticket: Ticket, text: str) -> None:
    """An internal note on the timeline."""
    step.event(ticket, "note", note=text_needed(text, "备注"), public=False)


def public_events(events: Sequence[TicketEvent]) -> list[TicketEvent]:
    """What the submitter's timeline shows."""
    return [e for e in events if e.public]
