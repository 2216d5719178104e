"""The ticket page's workflow steps (受理, 交办, 办结...): one form and one action per step, offered by status."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from bot.console.forms import REQUIRED
from bot.console.web import current, db, services
from bot.core.accounts import Account
from bot.core.errors import UserFacingError
from handlers.tickets import flow, suggest
from handlers.tickets.models import OPEN_STATUSES, STATUSES, Ticket
from handlers.tickets.rules import TicketConfig, by_number, can_view

TEXT_MAX = 1000  # characters of a reply or note


def config() -> TicketConfig:
    return TicketConfig.of(services().settings)


def tier_choices(cfg: TicketConfig) -> list[SelectChoice]:
    return [
        SelectChoice(key, f"{name}（{int(due.total_seconds() // 3600)} 小时）")
        for key, (name, due) in cfg.tiers.items()
    ]


def instructors(cfg: TicketConfig) -> list[Account]:
    """Active caseworkers the signed-in account may name as assignee (handlers.tickets.flow.may_name)."""
    rows = db().scalars(select(Account).where(Account.active.is_(True)).order_by(Account.username))
    return [a for a in rows if "caseworker" in (a.roles or []) and flow.may_name(cfg, current(), a)]


class StepForm(FlaskForm):
    """A workflow step's form; prepare() fills choices that depend on the config or the accounts.

    Choices are checked by the step itself (handlers.tickets.flow, run_assign), with its Chinese message."""

    def prepare(self, cfg: TicketConfig) -> StepForm:
        return self


class AcceptForm(StepForm):
    tier = SelectField("时限类别", validate_choice=False)

    def prepare(self, cfg: TicketConfig) -> StepForm:
        self.tier.choices = [SelectChoice("", "不调整")] + tier_choices(cfg)
        return self


class AssignForm(StepForm):
    department = SelectField("交办部门", validate_choice=False)
    assignee = SelectField("指导员", validate_choice=False)

    def prepare(self, cfg: TicketConfig) -> StepForm:
        self.department.choices = [SelectChoice("", "（不选）")] + [
            SelectChoice(k, n) for k, (n, _) in cfg.departments.items()
        ]
        named = [SelectChoice(str(a.id), a.username) for a in instructors(cfg)]
        if named:
            self.assignee.choices = [SelectChoice("", "（不选）")] + named
        else:  # only an admin or a department's supervisor names a person
            del self.assignee
        return self


class DispatchForm(StepForm):
    """The dispatch suggestion's form: a category and a department (checked by suggest.dispatch and flow.assign)."""

    category = SelectField("诉求类别", validate_choice=False, id="dispatch-category")
    department = SelectField("交办部门", validate_choice=False, id="dispatch-department")

    def prepare(self, cfg: TicketConfig) -> StepForm:
        self.category.choices = [SelectChoice(c, c) for c in cfg.categories]
        self.department.choices = [SelectChoice(k, n) for k, (n, _) in cfg.departments.items()]
        return self


class ResolveForm(StepForm):
    reply = TextAreaField("办理结果（提交人可见）", validators=[DataRequired(REQUIRED), Length(max=TEXT_MAX)])


class ReturnForm(StepForm):
    return_reason = TextAreaField(
        "退回原因（提交人不可见）", validators=[DataRequired(REQUIRED), Length(max=flow.REASON_MAX)]
    )


class RejectForm(StepForm):
    reject_reason = TextAreaField(
        "不予受理原因（提交人可见）", validators=[DataRequired(REQUIRED), Length(max=flow.REASON_MAX)]
    )


class MergeForm(StepForm):
    into = StringField("合并到诉求编号", validators=[DataRequired(REQUIRED), Length(max=16)])


class TierForm(StepForm):
    new_tier = SelectField("时限类别", validate_choice=False)

    def prepare(self, cfg: TicketConfig) -> StepForm:
        self.new_tier.choices = tier_choices(cfg)
        return self


class NoteForm(StepForm):
    note = TextAreaField("备注（仅工作人员可见）", validators=[DataRequired(REQUIRED), Length(max=TEXT_MAX)])


def run_accept(step: flow.Step, ticket: Ticket, form: AcceptForm) -> dict[str, Any]:
    flow.accept(step, ticket, current().id, form.tier.data or None)
    return {"tier": ticket.tier}


def run_assign(step: flow.Step, ticket: Ticket, form: AssignForm) -> dict[str, Any]:
    """The workflow checks who may be named (handlers.tickets.flow.may_name), whatever the form offered."""
    picked = (request.form.get("assignee") or "").strip()  # read even when the form offered no one
    if picked and not picked.isdigit():
        raise UserFacingError("所选指导员不存在或已停用。")
    flow.assign(step, ticket, form.department.data or None, int(picked) if picked else None, "", current().id)
    suggest.record_choice(step.db, ticket, step.actor, step.now)  # a suggestion not used is kept as changed
    names = account_names([ticket.assignee_id]) if ticket.assignee_id else {}
    return {"department": ticket.department, "assignee": names.get(ticket.assignee_id or 0)}


def run_start(step: flow.Step, ticket: Ticket, _form: StepForm) -> dict[str, Any]:
    flow.start(step, ticket)
    return {}


def run_resolve(step: flow.Step, ticket: Ticket, form: ResolveForm) -> dict[str, Any]:
    flow.resolve(step, ticket, form.reply.data)
    return {"reply": ticket.reply}


def run_return(step: flow.Step, ticket: Ticket, form: ReturnForm) -> dict[str, Any]:
    department = ticket.department
    flow.return_(step, ticket, form.return_reason.data)
    return {"reason": ticket.reason, "department": department}


def run_reject(step: flow.Step, ticket: Ticket, form: RejectForm) -> dict[str, Any]:
    flow.reject(step, ticket, form.reject_reason.data, current().id)
    return {"reason": ticket.reason}


def run_merge(step: flow.Step, ticket: Ticket, form: MergeForm) -> dict[str, Any]:
    number = form.into.data.strip().upper()
    into = by_number(db(), number)
    if into is None or not can_view(current(), into):
        raise UserFacingError(f"找不到诉求 {number}。")
    flow.merge(step, ticket, into)
    return {"into": into.number}


def run_tier(step: flow.Step, ticket: Ticket, form: TierForm) -> dict[str, Any]:
    flow.change_tier(step, ticket, form.new_tier.data or "")
    return {"tier": ticket.tier}


def run_note(step: flow.Step, ticket: Ticket, form: NoteForm) -> dict[str, Any]:
    flow.note(step, ticket, form.note.data)
    return {"note": form.note.data.strip()}


@dataclass(frozen=True)
class StepSpec:
    """One workflow action of the ticket page."""

    label: str  # the button
    form: type[StepForm]
    statuses: tuple[str, ...]  # when it is offered (handlers.tickets.flow checks again)
    run: Callable[[flow.Step, Ticket, Any], dict[str, Any]]  # takes the step; what the audit entry records
    done: str  # the success message


STEPS = {
    "accept": StepSpec("受理", AcceptForm, ("new",), run_accept, "已受理，已通知提交人。"),
    "assign": StepSpec("交办", AssignForm, OPEN_STATUSES, run_assign, "已交办，已通知提交人。"),
    "start": StepSpec("开始办理", StepForm, ("assigned",), run_start, "已标记为办理中，已通知提交人。"),
    "resolve": StepSpec("办结", ResolveForm, ("assigned", "processing"), run_resolve, "已办结，办理结果已发给提交人。"),
    "return": StepSpec("退回", ReturnForm, ("assigned", "processing"), run_return, "已退回，诉求回到待交办。"),
    "reject": StepSpec("不予受理", RejectForm, ("new", "accepted"), run_reject, "已不予受理，原因已告知提交人。"),
    "merge": StepSpec("合并", MergeForm, OPEN_STATUSES, run_merge, "已合并，提交人将随合并后的诉求收到进展。"),
    "tier": StepSpec("调整时限", TierForm, ("accepted", "assigned", "processing"), run_tier, "已调整时限。"),
    "note": StepSpec("添加备注", NoteForm, tuple(STATUSES), run_note, "已添加备注。"),
}


def account_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db().execute(select(Account.id, Account.username).where(Account.id.in_(wanted))).all())
