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
from bot.core.accounts import SCOPED_ROLES, Account, AuditEntry
from bot.core.clock import TZ
from bot.core.database import utcnow
from bot.core.errors import SelfApproval
from bot.core.organisations import Organisation, OrganisationsConfig, scope_root
from handlers.pushes import audience, service as pushes
from handlers.pushes.choices import choices as form_choices, describe_audience, describe_content
from handlers.pushes.config import PushConfig
from handlers.pushes.content import audience_openids
from handlers.pushes.models import Push, PushRun
from handlers.pushes.report import report
from handlers.pushes.schedule import calendar as plan_calendar
from handlers.pushes.service import EDITABLE

bp = Blueprint("pushes", __name__, url_prefix="/pushes", template_folder="templates", static_folder="static")
audit.ACTIONS.update(
    {  # how the audit page names push actions
        "push.create": "新建推送",
        "push.edit": "修改推送",
        "push.preview": "预览推送",
        "push.approve": "审核通过推送",
        "push.pause": "暂停推送",
        "push.resume": "恢复推送",
        "push.cancel": "取消推送",
        "push.refused": "推送受众超出范围被拒绝",
    }
)


class PushForm(FlaskForm):
    title = StringField("标题", validators=[DataRequired(REQUIRED), Length(max=100)])
    content_kind = SelectField("内容", choices=choices(pushes.CONTENT_KINDS))
    episode = SelectField("新声单集", choices=[], validate_choice=False)
    article = SelectField("专辑文章", choices=[], validate_choice=False)
    body = TextAreaField("文字", validators=[Optional(), Length(max=600)])
    audience_kind = SelectField("受众", choices=choices(pushes.AUDIENCES), validate_choice=False)  # checked by plan
    audience_tag = SelectField("标签", choices=[], validate_choice=False)
    audience_org = SelectField("组织（含下级组织）", choices=[], validate_choice=False)
    audience_district = SelectField("片区", choices=[], validate_choice=False)
    audience_category = SelectField("党员类别", choices=[], validate_choice=False)
    test_openids = TextAreaField("测试 openid（每行一个，用于预览）", validators=[Optional(), Length(max=2000)])
    channel = SelectField("渠道", choices=choices(pushes.CHANNELS))
    timing = SelectField("时间", choices=choices(pushes.TIMINGS))
    run_at = DateTimeLocalField("发送时间 / 系列开始（北京时间）", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    recurrence = StringField("重复规则（如：每月第一个周一 09:00）", validators=[Optional(), Length(max=64)])
    series_from = IntegerField("系列起始集", validators=[Optional()])
    series_to = IntegerField("系列结束集", validators=[Optional()])
    series_every_days = IntegerField("每隔几天", validators=[Optional()])
    needs_approval = BooleanField("需要审核后才能发出")


PICKED = ("content_ref", "audience_ref")  # set from the form's pickers, not typed


def fill(push: Push, form: PushForm) -> None:
    """The form's values onto the push (times entered in China time; refs from the pickers)."""
    for name in EDITABLE:
        if name in PICKED:
            continue
        value = getattr(form, name).data
        setattr(push, name, value.strip() if isinstance(value, str) else value)
    kind = push.content_kind
    push.content_ref = (
        form.episode.data if kind == "episode" else form.article.data if kind == "article" else ""
    ) or None
    parts = audience.Ref(
        org=form.audience_org.data or "",
        district=form.audience_district.data or "",
        category=form.audience_category.data or "",
        tag=form.audience_tag.data or "",
    )
    push.audience_ref = audience.compose(push.audience_kind, parts)
    push.test_openids = [o.strip() for o in (form.test_openids.data or "").split() if o.strip()]
    push.run_at = form.run_at.data.replace(tzinfo=TZ) if form.run_at.data else None


def form_of(push: Push, root: Organisation | None) -> PushForm:
    """The form for `push`, its pickers' choices loaded (a scoped account's: its subtree only)."""
    form = PushForm(obj=push)
    found = form_choices(
        db(), services().content.current(), root, OrganisationsConfig.of(services().settings).districts
    )
    none = [("", "（请选择）")]
    form.episode.choices = none + found.episodes
    form.article.choices = none + found.articles
    form.audience_tag.choices = none + found.tags
    form.audience_org.choices = [("", "（请选择）" if root else "（全园区）")] + found.organisations
    form.audience_district.choices = none + found.districts
    form.audience_category.choices = none + found.categories
    if root is not None:
        form.audience_kind.choices = [(k, v) for k, v in pushes.AUDIENCES.items() if k in audience.SCOPED_KINDS]
    if request.method == "GET":
        form.test_openids.data = "\n".join(push.test_openids or [])
        form.run_at.data = local(push.run_at)
        parts = audience.parse(push.audience_kind, push.audience_ref)
        form.audience_org.data, form.audience_district.data = parts.org, parts.district
        form.audience_category.data, form.audience_tag.data = parts.category, parts.tag
        form.episode.data = push.content_ref if push.content_kind == "episode" else ""
        form.article.data = push.content_ref if push.content_kind == "article" else ""
    return form


def local(value: datetime | None) -> datetime | None:
    """A stored UTC time as naive China time (what datetime-local shows)."""
    if value is None:
        return None
    return pushes.aware(value).astimezone(TZ).replace(tzinfo=None)


def load(push_id: int) -> Push:
    """The push, if the signed-in account may manage it (a scoped account: its subtree's pushes only)."""
    push = db().get(Push, push_id)
    if push is None or not pushes.may_manage(db(), push, current()):
        abort(404)
    return push


def scope() -> Organisation | None:
    """The signed-in account's organisation subtree (None: the whole park)."""
    return scope_root(db(), current())


def may_push(account: Account | None) -> bool:
    """Editors, and secretaries / instructors scoped to an organisation (never one without a scope)."""
    if account is None:
        return False
    return account.has_role("editor") or (account.has_role(*SCOPED_ROLES) and account.organisation_id is not None)


def pushers_only() -> None:
    if not may_push(current()):
        abort(403)


def action_done(push: Push, action: str, message: str, **details: Any) -> Response:
    audit.record(action, f"push:{push.id}", title=push.title, **details)
    flash(message, "success")
    return redirect(url_for(".detail", push_id=push.id))


@bp.get("/")
@login_required
def index() -> str:
    root, query = scope(), select(Push).order_by(Push.id.desc()).limit(200)
    rows = db().scalars(query.where(pushes.managed_within(root)) if root is not None else query).all()
    return render_template(
        "console/pushes.html", pushes=rows, labels=labels(), action_form=ActionForm(), can_push=may_push(current())
    )


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
@login_required
def new() -> Any:
    pushers_only()
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
@login_required
def edit(push_id: int) -> Any:
    pushers_only()
    push = load(push_id)
    if push.status in ("cancelled", "done"):
        flash("已取消或已完成的推送不能修改。", "error")
        return redirect(url_for(".detail", push_id=push.id))
    return edit_page(push, created=False)


def edit_page(push: Push, created: bool) -> Any:
    root = scope()
    form = form_of(push, root)
    problems: list[str] = []
    if form.validate_on_submit():
        fill(push, form)
        pushes.reset_approval(push)
        if root is not None or not current().has_role("editor"):
            push.needs_approval = True  # a scoped account's push goes through a reviewer's approval
        problems = pushes.scope_problems(db(), push, current()) + pushes.plan(db(), services(), push)
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
    return render_template(
        "console/pushes_form.html", form=form, push=push, created=created, problems=problems, scoped=root
    )


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
        can_edit=may_push(current()),
        can_approve=reviewer and not author,
        own_push=reviewer and author,
        tag_names=tags.names(db()),
        audience_name=describe_audience(db(), push, pushes.AUDIENCES, tags.names(db())),
        content_name=describe_content(services().content.current(), push),
        size=audience_size(push),
    )


@bp.post("/<int:push_id>/preview")
@login_required
def preview(push_id: int) -> Response:
    pushers_only()
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
        refused = approval_scope_problems(push)
        if refused:
            audit.record("push.refused", f"push:{push.id}", problems=refused)
            flash("不能审核通过：" + "；".join(refused), "error")
            return redirect(url_for(".detail", push_id=push.id))
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
@login_required
def control(push_id: int, what: str) -> Response:
    pushers_only()
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
    run = db().get(PushRun, run_id)
    if run is None:
        abort(404)
    load(run.push_id)  # a scoped account: its subtree's pushes only
    return jsonify(report(services(), run_id))


@bp.get("/calendar")
@login_required
def calendar() -> str:
    quiet = list(PushConfig.of(services().settings).quiet_hours)
    days, root = plan_calendar(db(), utcnow(), quiet), scope()
    if root is not None:  # a scoped account: its subtree's pushes only
        days = [(day, [item for item in items if pushes.may_manage(db(), item[1], current())]) for day, items in days]
    return render_template("console/pushes_calendar.html", days=days, quiet=quiet)


def approval_scope_problems(push: Push) -> list[str]:
    """At approval: the audience must still lie inside the scope of the reviewer and of everyone who wrote the push
    (the tree or an account's scope may have changed since it was saved)."""
    names = authors(push)
    accounts = list(db().scalars(select(Account).where(Account.username.in_(names)))) + [current()]
    problems: list[str] = []
    for account in accounts:
        for problem in pushes.scope_problems(db(), push, account):
            if problem not in problems:
                problems.append(problem)
    return problems


def audience_size(push: Push) -> tuple[int, int]:
    """(followers in the audience, of them subscribed) as the fan-out would read it now."""
    if push.audience_kind == "test":
        return audience.tests_size(db(), push.test_openids or [])
    return audience.size(db(), audience_openids(db(), push))


@bp.get("/audience-size")
@login_required
def size_json() -> Response:
    """The size of the audience the form is picking (kind, ref), for the editor to see before saving."""
    pushers_only()
    kind, ref = request.args.get("kind", ""), request.args.get("ref", "").strip()[:64] or None
    probe = Push(audience_kind=kind, audience_ref=ref, test_openids=[])
    if kind not in pushes.AUDIENCES or kind == "test":
        return jsonify({"size": None, "subscribed": None, "problems": []})
    cfg_districts = OrganisationsConfig.of(services().settings).districts
    problems = pushes.scope_problems(db(), probe, current()) + audience.ref_problems(db(), kind, ref, cfg_districts)
    if problems:
        return jsonify({"size": None, "subscribed": None, "problems": problems})
    total, subscribed = audience.size(db(), audience_openids(db(), probe))
    return jsonify({"size": total, "subscribed": subscribed, "problems": []})
