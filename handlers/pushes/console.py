"""The console's push pages: list, create/edit, preview, approve, pause/resume/cancel, live report, calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from bot.console import audit, tags
from bot.console.forms import REQUIRED, ActionForm, choices
from bot.console.web import current, db, login_required, role_required, services
from bot.core.accounts import AuditEntry
from bot.core.clock import TZ
from bot.core.database import utcnow
from bot.core.errors import SelfApproval
from handlers.pushes import service as pushes
from handlers.pushes.config import PushConfig
from handlers.pushes.models import Push, PushRun
from handlers.pushes.report import report
from handlers.pushes.schedule import calendar as plan_calendar
from handlers.pushes.service import EDITABLE

bp = Blueprint("pushes", __name__, url_prefix="/pushes", template_folder="templates")
audit.ACTIONS.update(
    {  # how the audit page names push actions
        "push.create": "新建推送",
        "push.edit": "修改推送",
        "push.preview": "预览推送",
        "push.approve": "审核通过推送",
        "push.pause": "暂停推送",
        "push.resume": "恢复推送",
        "push.cancel": "取消推送",
    }
)


class PushForm(FlaskForm):
    title = StringField("标题", validators=[DataRequired(REQUIRED), Length(max=100)])
    content_kind = SelectField("内容", choices=choices(pushes.CONTENT_KINDS))
    content_ref = StringField("集数 / 文章编号", validators=[Optional(), Length(max=64)])
    body = TextAreaField("文字", validators=[Optional(), Length(max=600)])
    audience_kind = SelectField("受众", choices=choices(pushes.AUDIENCES))
    audience_ref = StringField("标签编号 / 组织编号 / 片区", validators=[Optional(), Length(max=64)])
    test_openids = TextAreaField("测试 openid（每行一个，用于预览）", validators=[Optional(), Length(max=2000)])
    channel = SelectField("渠道", choices=choices(pushes.CHANNELS))
    timing = SelectField("时间", choices=choices(pushes.TIMINGS))
    run_at = DateTimeLocalField("发送时间 / 系列开始（北京时间）", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    recurrence = StringField("重复规则（如：每月第一个周一 09:00）", validators=[Optional(), Length(max=64)])
    series_from = IntegerField("系列起始集", validators=[Optional()])
    series_to = IntegerField("系列结束集", validators=[Optional()])
    series_every_days = IntegerField("每隔几天", validators=[Optional()])
    needs_approval = BooleanField("需要审核后才能发出")


def fill(push: Push, form: PushForm) -> None:
    """The form's values onto the push (times entered in China time)."""
    for name in EDITABLE:
        value = getattr(form, name).data
        setattr(push, name, value.strip() if isinstance(value, str) else value)
    push.test_openids = [o.strip() for o in (form.test_openids.data or "").split() if o.strip()]
    push.run_at = form.run_at.data.replace(tzinfo=TZ) if form.run_at.data else None


def form_of(push: Push) -> PushForm:
    form = PushForm(obj=push)
    if request.method == "GET":
        form.test_openids.data = "\n".join(push.test_openids or [])
        form.run_at.data = local(push.run_at)
    return form


def local(value: datetime | None) -> datetime | None:
    """A stored UTC time as naive China time (what datetime-local shows)."""
    if value is None:
        return None
    return pushes.aware(value).astimezone(TZ).replace(tzinfo=None)


def load(push_id: int) -> Push:
    push = db().get(Push, push_id)
    if push is None:
        abort(404)
    return push


def action_done(push: Push, action: str, message: str, **details: Any) -> Response:
    audit.record(action, f"push:{push.id}", title=push.title, **details)
    flash(message, "success")
    return redirect(url_for(".detail", push_id=push.id))


@bp.get("/")
@login_required
def index() -> str:
    rows = db().scalars(select(Push).order_by(Push.id.desc()).limit(200)).all()
    return render_template("console/pushes.html", pushes=rows, labels=labels(), action_form=ActionForm())


def labels() -> dict[str, Any]:
    return {
        "content": pushes.CONTENT_KINDS,
        "audience": pushes.AUDIENCES,
        "channel": pushes.CHANNELS,
        "status": pushes.STATUSES,
        "run": pushes.RUN_STATUSES,
        "timing": pushes.describe_timing,
    }


@bp.route("/new", methods=["GET", "POST"])
@role_required("editor")
def new() -> Any:
    return edit_page(
        Push(
            title="",
            content_kind="text",
            audience_kind="all",
            channel="custom",
            timing="once",
            body="",
            test_openids=[],
            series_done=0,
        ),
        created=True,
    )


@bp.route("/<int:push_id>/edit", methods=["GET", "POST"])
@role_required("editor")
def edit(push_id: int) -> Any:
    push = load(push_id)
    if push.status in ("cancelled", "done"):
        flash("已取消或已完成的推送不能修改。", "error")
        return redirect(url_for(".detail", push_id=push.id))
    return edit_page(push, created=False)


def edit_page(push: Push, created: bool) -> Any:
    form = form_of(push)
    problems: list[str] = []
    if form.validate_on_submit():
        fill(push, form)
        pushes.reset_approval(push)
        problems = pushes.plan(db(), services(), push)
        if not problems:
            if created:
                push.created_by = current().username
                db().add(push)
                db().flush()
            audit.record("push.create" if created else "push.edit", f"push:{push.id}", **pushes.as_dict(push))
            flash("已保存并排期。" + ("（需要审核后才会发出）" if push.needs_approval else ""), "success")
            return redirect(url_for(".detail", push_id=push.id))
        if not created:
            db().rollback()
    return render_template("console/pushes_form.html", form=form, push=push, created=created, problems=problems)


@bp.get("/<int:push_id>")
@login_required
def detail(push_id: int) -> str:
    push = load(push_id)
    runs = pushes.runs_of(db(), push.id)
    reports = {r.id: report(services(), r.id) for r in runs[:10]}
    reviewer, author = current().has_role("reviewer"), current().username in authors(push)
    return render_template(
        "console/pushes_detail.html",
        push=push,
        runs=runs,
        reports=reports,
        labels=labels(),
        action_form=ActionForm(),
        can_edit=current().has_role("editor"),
        can_approve=reviewer and not author,
        own_push=reviewer and author,
        tag_names=tags.names(db()),
    )


@bp.post("/<int:push_id>/preview")
@role_required("editor")
def preview(push_id: int) -> Response:
    push = load(push_id)
    if not ActionForm().validate_on_submit() or not push.test_openids:
        flash("请先在推送中填写测试 openid。", "error")
        return redirect(url_for(".detail", push_id=push.id))
    results = pushes.preview(services(), push)
    ok = sum(1 for _, r in results if r.ok)
    return action_done(
        push, "push.preview", f"预览已发给 {ok}/{len(results)} 个测试账号。", results={o: r.kind for o, r in results}
    )


@bp.post("/<int:push_id>/approve")
@role_required("reviewer")
def approve(push_id: int) -> Response:
    push = load(push_id)
    if ActionForm().validate_on_submit():
        try:
            pushes.approve(push, current().username, authors=authors(push))
        except SelfApproval as exc:
            flash(str(exc), "error")
            return redirect(url_for(".detail", push_id=push.id))
        return action_done(push, "push.approve", "已审核通过。")
    return redirect(url_for(".detail", push_id=push.id))


def authors(push: Push) -> set[str]:
    """Everyone who created or edited the push (from the audit log), and its creator."""
    rows = db().scalars(
        select(AuditEntry.actor).where(
            AuditEntry.target == f"push:{push.id}", AuditEntry.action.in_(("push.create", "push.edit"))
        )
    )
    return {push.created_by, *rows}


@bp.post("/<int:push_id>/<any(pause, resume, cancel):what>")
@role_required("editor")
def control(push_id: int, what: str) -> Response:
    push = load(push_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".detail", push_id=push.id))
    if what == "pause":
        n = pushes.pause(db(), push)
        return action_done(push, "push.pause", "已暂停" + (f"，{n} 个发送中的批次已停下。" if n else "。"), runs=n)
    if what == "resume":
        n = pushes.resume(db(), services(), push)
        return action_done(push, "push.resume", "已恢复" + ("，未发完的批次将在一分钟内继续。" if n else "。"), runs=n)
    n = pushes.cancel(db(), push)
    return action_done(push, "push.cancel", "已取消" + (f"，{n} 个批次中未发出的不再发送。" if n else "。"), runs=n)


@bp.get("/runs/<int:run_id>.json")
@login_required
def progress(run_id: int) -> Response:
    """Live progress of a run, polled by the report page."""
    if db().get(PushRun, run_id) is None:
        abort(404)
    return jsonify(report(services(), run_id))


@bp.get("/calendar")
@login_required
def calendar() -> str:
    quiet = list(PushConfig.of(services().settings).quiet_hours)
    days = plan_calendar(db(), utcnow(), quiet)
    return render_template("console/pushes_calendar.html", days=days, quiet=quiet)
