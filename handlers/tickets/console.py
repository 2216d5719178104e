"""The console's ticket pages (caseworkers): the queue, one ticket with its workflow steps and likely duplicates,
and the signed-in account's staff notices. Every step and every view of personal data is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.paging import page_number
from bot.console.web import current, db, login_required, role_required, services
from bot.core.database import utcnow
from bot.core.errors import AccessRefused, UserFacingError
from bot.core.organisations import Organisation, OrganisationsConfig
from bot.core.phones import mask_phones
from handlers.tickets import flow, suggest
from handlers.tickets.console_steps import STEPS, DispatchForm, StepForm, account_names, config
from handlers.tickets.media import INLINE_TYPES, attachments, download_name
from handlers.tickets.models import (
    OPEN_STATUSES,
    RATINGS,
    STATUSES,
    DispatchSuggestion,
    StaffNotice,
    Ticket,
    TicketEvent,
    TicketMedia,
)
from handlers.tickets.notify import deliver_later, overdue, unread_staff_notices
from handlers.tickets.queue import QueueFilter, queue_page, visible_to
from handlers.tickets.rules import (
    TicketConfig,
    by_number,
    can_see_phone,
    can_see_submitter,
    can_view,
    mask_phone,
    timeline,
)
from handlers.tickets.similar import likely_duplicates

bp = Blueprint("tickets", __name__, url_prefix="/tickets", template_folder="templates")
PER_PAGE = 20  # tickets per queue page
NOTICES_SHOWN = 100  # unread staff notices listed
MEDIA = {"voice": "语音", "image": "图片"}  # media type → name
FILE_TYPES = ("image/", "audio/", "video/")  # a download keeps its own Content-Type; anything else is octet-stream
audit.ACTIONS.update(
    {  # how the audit page names ticket actions
        "ticket.view_personal": "查看诉求人信息",
        "ticket.accept": "受理诉求",
        "ticket.assign": "交办诉求",
        "ticket.dispatch": "按派单建议交办",
        "ticket.start": "诉求办理中",
        "ticket.resolve": "办结诉求",
        "ticket.return": "退回诉求",
        "ticket.reject": "不予受理诉求",
        "ticket.merge": "合并诉求",
        "ticket.tier": "调整诉求时限",
        "ticket.note": "诉求备注",
        "ticket.notices_read": "已读超期提醒",
        "ticket.refused": "越权操作被拒绝",
    }
)


def load(number: str, lock: bool = False) -> Ticket:
    """The ticket with this number, if the signed-in account may see it (locked for a step on PostgreSQL)."""
    query = select(Ticket).where(Ticket.number == number.strip().upper())
    ticket = db().scalar(query.with_for_update() if lock else query)
    if ticket is None:
        abort(404)
    if not can_view(current(), ticket):
        abort(403)
    return ticket


def unread_count() -> int:
    """The signed-in account's unread staff notices (the nav badge)."""
    me = current()
    if me is None:
        return 0
    return (
        db().scalar(
            select(func.count())
            .select_from(StaffNotice)
            .where(StaffNotice.account_id == me.id, StaffNotice.read_at.is_(None))
        )
        or 0
    )


def wanted() -> QueueFilter:
    """The queue's filters from the query string."""
    args = request.args
    return QueueFilter(
        status=args.get("status", ""),
        category=args.get("category", ""),
        department=args.get("department", ""),
        district=args.get("district", "").strip()[:32],
        organisation=args.get("organisation", "").strip()[:32],
        q=args.get("q", "").strip()[:50],
        overdue=args.get("overdue") == "1",
        mine=args.get("mine") == "1",
    )


@bp.get("/")
@role_required("caseworker")
def index() -> str:
    """The queue: filtered, soonest deadline first, overdue tickets highlighted."""
    f, cfg, now = wanted(), config(), utcnow()
    page = queue_page(db(), f, current(), now, page_number(), PER_PAGE)
    names = account_names(t.assignee_id for t in page.items)
    return render_template(
        "console/tickets.html",
        page=page,
        f=f,
        cfg=cfg,
        statuses=STATUSES,
        names=names,
        late={t.id for t in page.items if overdue(t, now)},
        unread=unread_count(),
        organisations=organisation_options(),
        districts=OrganisationsConfig.of(services().settings).districts,
        org_names=organisation_names(t.organisation_id for t in page.items),
    )


def organisation_options() -> list[tuple[str, str]]:
    """(code, indented name) of every organisation not dissolved, in tree order: the queue's organisation filter."""
    rows = db().execute(
        select(Organisation.code, Organisation.name, Organisation.path).where(Organisation.dissolved_at.is_(None))
    )
    ordered = sorted(rows, key=lambda r: [int(p) for p in r.path.strip("/").split("/") if p.isdigit()])
    return [(r.code, "　" * max(0, r.path.count("/") - 2) + r.name) for r in ordered]


def organisation_names(ids: Any) -> dict[int, str]:
    """Organisation id → "name（code）" for the tickets shown."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = db().execute(
        select(Organisation.id, Organisation.name, Organisation.code).where(Organisation.id.in_(wanted))
    )
    return {r.id: f"{r.name}（{r.code}）" for r in rows}


def event_text(event: TicketEvent, cfg: TicketConfig, names: dict[int, str]) -> str:
    """What an event's details say, in words (its note is shown apart)."""
    d = event.details or {}
    if event.kind == "assign":
        who = [
            cfg.department_name(d.get("department")) if d.get("department") else "",
            names.get(d.get("assignee_id") or 0, ""),
        ]
        return "交办至 " + "、".join(w for w in who if w) if any(who) else ""
    if event.kind == "category":
        return f"类别由「{d.get('before', '')}」改为「{d.get('category', '')}」"
    if event.kind == "tier":
        return f"时限类别改为「{cfg.tier_name(d.get('tier', ''))}」"
    if event.kind == "merge":
        return f"合并到 {d['into']}" if d.get("into") else f"{d.get('merged', '')} 合并到本诉求"
    if event.kind == "rate":
        return RATINGS.get(d.get("rating", ""), "")
    if event.kind == "escalate":
        return "受理时限已过" if d.get("deadline") == "intake" else "办理时限已过"
    if event.kind == "return" and d.get("department"):
        return f"从 {cfg.department_name(d['department'])} 退回"
    return ""


def personal(ticket: Ticket) -> dict[str, Any]:
    """The submitter and phone as the signed-in account may see them; a full view is audited."""
    me = current()
    show_submitter, show_phone = can_see_submitter(me, ticket), can_see_phone(me, ticket)
    fields = [name for name, shown in (("submitter", show_submitter), ("phone", show_phone)) if shown]
    if fields:
        audit.record("ticket.view_personal", ticket.number, fields=fields)
    return {
        "submitter": ticket.openid if show_submitter else None,
        "phone": ticket.phone if show_phone else mask_phone(ticket.phone),
        "phone_full": show_phone,
        "text": (lambda text: text) if show_submitter else mask_phones,
    }  # numbers typed in free text


@bp.get("/<number>")
@role_required("caseworker")
def detail(number: str) -> str:
    """One ticket: details, media, submitter (per the privacy rules), timeline, steps, likely duplicates."""
    ticket, cfg, now = load(number), config(), utcnow()
    events = timeline(db(), ticket)
    names = account_names(
        [ticket.assignee_id, ticket.accepted_by_id, *((e.details or {}).get("assignee_id") for e in events)]
    )
    seen = visible_to(current())
    duplicates = (
        likely_duplicates(db(), cfg, ticket, now, [] if seen is None else [seen])
        if ticket.status in OPEN_STATUSES
        else []
    )
    merged_into = db().get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    merged_here = (
        db().scalars(select(Ticket.number).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)).all()
    )
    forms = {key: spec.form().prepare(cfg) for key, spec in STEPS.items() if ticket.status in spec.statuses}
    suggested = suggest.suggestion(db(), cfg, ticket)
    return render_template(
        "console/tickets_detail.html",
        ticket=ticket,
        cfg=cfg,
        events=events,
        names=names,
        steps=STEPS,
        forms=forms,
        event_names=flow.EVENTS,
        event_text=lambda e: event_text(e, cfg, names),
        duplicates=duplicates,
        merged_into=merged_into,
        merged_here=merged_here,
        late=overdue(ticket, now),
        media_names=MEDIA,
        attachments=attachments(db(), ticket, now),
        ratings=RATINGS,
        who=personal(ticket),
        statuses=STATUSES,
        org_names=organisation_names([ticket.organisation_id]),
        suggested=suggested,
        similar_past=suggest.similar(db(), ticket, [] if seen is None else [seen]) if suggested else [],
        dispatch_form=dispatch_form(cfg, suggested) if "assign" in forms else None,
    )


def dispatch_form(cfg: TicketConfig, suggested: DispatchSuggestion | None) -> StepForm | None:
    """The suggestion's form, its choices preset to the suggestion."""
    if suggested is None:
        return None
    return DispatchForm(data={"category": suggested.category, "department": suggested.department or ""}).prepare(cfg)


@bp.get("/<number>/media/<int:media_id>")
@role_required("caseworker")
def media(number: str, media_id: int) -> Response:
    """A copied image (inline) or voice message (a download), for whoever may see the ticket."""
    ticket = load(number)
    row = db().get(TicketMedia, media_id)
    if row is None or row.ticket_id != ticket.id or row.data is None:
        abort(404)
    ctype = row.content_type or ""
    how = "inline" if ctype in INLINE_TYPES else "attachment"  # only plain image types are shown in the browser
    res = Response(row.data, mimetype=ctype if ctype.startswith(FILE_TYPES) else "application/octet-stream")
    res.headers["Content-Disposition"] = f'{how}; filename="{download_name(ticket.number, row)}"'
    res.headers["X-Content-Type-Options"] = "nosniff"
    return res


def problems(form: FlaskForm) -> str:
    return (
        "；".join(
            f"{getattr(form, name).label.text}：{'、'.join(errors)}"
            for name, errors in form.errors.items()
            if name != "csrf_token"
        )
        or "表单无效，请刷新页面后重试。"
    )


def back(number: str) -> Response:
    """To the ticket's page, or to the queue if the step took it out of the account's sight."""
    ticket = by_number(db(), number)
    if ticket is not None and can_view(current(), ticket):
        return redirect(url_for(".detail", number=number))
    flash(f"诉求 {number} 已不在你的处理范围内。", "warning")
    return redirect(url_for(".index"))


@bp.post("/<number>/<any(accept, assign, start, resolve, return, reject, merge, tier, note):action>")
@role_required("caseworker")
def act(number: str, action: str) -> Response:
    """Take one workflow step; committed with its audit entry, then the submitter's notices go out."""
    spec = STEPS[action]
    return take_step(number, action, spec.form, spec.run, spec.done)


@bp.post("/<number>/dispatch")
@role_required("caseworker")
def dispatch(number: str) -> Response:
    """交办 by the dispatch suggestion, taken as it is or changed; what was chosen is recorded beside it."""

    def run(step: flow.Step, ticket: Ticket, form: Any) -> dict[str, Any]:
        return suggest.dispatch(step, ticket, form.category.data or "", form.department.data or "", current().id)

    return take_step(number, "dispatch", DispatchForm, run, "已交办，已通知提交人。")


def take_step(number: str, action: str, form_type: type[StepForm], run: Any, done: str) -> Response:
    """Load and lock the ticket (refused unless the account may see it), validate, run, audit, notify."""
    ticket, cfg = load(number, lock=True), config()
    number = ticket.number
    form = form_type().prepare(cfg)
    if not form.validate_on_submit():
        flash(problems(form), "error")
        return back(number)
    step = flow.Step.by(db(), cfg, current().username)
    try:
        details = run(step, ticket, form)
        notice_ids = step.notice_ids()
    except UserFacingError as exc:
        db().rollback()
        if isinstance(exc, AccessRefused):  # someone tried to widen their access: keep a trace
            audit.record("ticket.refused", number, step=action, reason=str(exc))
        flash(str(exc), "error")
        return back(number)
    audit.record(f"ticket.{action}", number, **details)  # commits the step together with its audit entry
    deliver_later(services(), notice_ids)
    flash(done, "success")
    return back(number)


@bp.get("/notices")
@login_required
def notices() -> str:
    """The signed-in account's unread notices (deadlines passed), newest first."""
    rows = unread_staff_notices(db(), current().id, limit=NOTICES_SHOWN)
    ids = {n.ticket_id for n in rows}
    numbers = dict(db().execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all()) if ids else {}
    return render_template("console/tickets_notices.html", notices=rows, numbers=numbers, action_form=ActionForm())


@bp.post("/notices/read")
@login_required
def read_notices() -> Response:
    """Mark one notice (?notice=id) or all of the account's unread notices as read."""
    if not ActionForm().validate_on_submit():
        abort(400)
    me, raw = current(), request.form.get("notice", "")
    query = update(StaffNotice).where(StaffNotice.account_id == me.id, StaffNotice.read_at.is_(None))
    if raw.isdigit():
        query = query.where(StaffNotice.id == int(raw))
    count = db().execute(query.values(read_at=utcnow())).rowcount
    audit.record("ticket.notices_read", me.username, count=count)
    flash(f"已将 {count} 条提醒标为已读。", "success")
    return redirect(url_for(".notices"))
