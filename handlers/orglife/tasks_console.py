"""The console's 任务清单 (/console/tasks): issue a list, report a task done, accept or return it, progress + Excel.

Every route checks the role and the account's scope: a report, list or photo outside the subtree answers 404.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from typing import IO, TypeVar

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from openpyxl import Workbook
from sqlalchemy import Select, func, or_, select
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from bot.console import audit
from bot.console.scope import scope_root_of
from bot.console.web import current, db, role_required, services
from bot.core.clock import day_of
from bot.core.database import utcnow
from bot.core.organisations import GuidanceGroup, Organisation, OrganisationsConfig, guided_group_ids, in_subtree
from handlers.orglife import task_notify, tasks
from handlers.orglife.task_models import STATUSES, Task, TaskList, TaskPhoto, TaskReport
from handlers.orglife.tasks import Counts

bp = Blueprint("tasks", __name__, url_prefix="/tasks", template_folder="templates")
ROLES = ("editor", "secretary", "instructor")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOW = [SelectChoice("all", "全部"), SelectChoice("district", "按片区"), SelectChoice("group", "按指导小组")]
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


class IssueForm(FlaskForm):
    title = StringField("清单标题", validators=[DataRequired("请填写标题"), Length(max=200)])
    period = StringField("周期", validators=[DataRequired("请填写周期，如 2026年11-12月"), Length(max=64)])
    how = RadioField("下发范围", choices=HOW, default="all")
    district = SelectField("片区", validate_choice=False)
    group = SelectField("指导小组", validate_choice=False)
    items = TextAreaField("任务（每行一项：标题｜截止日期｜说明）", validators=[DataRequired("请至少填写一项任务")])


class ReportForm(FlaskForm):
    text = TextAreaField("完成情况", validators=[Length(max=4000)])
    photos = MultipleFileField("图片")


class ReviewForm(FlaskForm):
    verdict = RadioField(
        "验收", choices=[SelectChoice("accept", "通过"), SelectChoice("return", "退回")], default="accept"
    )
    comment = TextAreaField("意见（退回时必填）", validators=[Length(max=2000)])


def scope() -> Organisation | None:
    """The account's scope root; a scoped-only account whose organisation is gone sees nothing."""
    root, me = scope_root_of(), current()
    if root is None and me is not None and me.is_scoped_only:
        abort(403)
    return root


Q = TypeVar("Q", bound=Select)  # any SELECT joined to Organisation


def guided() -> list[int]:
    """The guidance groups linked to the signed-in instructor account (their reports are theirs to review), once
    per request."""
    if "orglife_guided" not in g:
        me = current()
        g.orglife_guided = guided_group_ids(db(), me) if me is not None and "instructor" in (me.roles or []) else []
    return g.orglife_guided


def within(query: Q, root: Organisation | None) -> Q:
    """`query` (joined to Organisation) limited to the scope's subtree and the organisations of the guided groups."""
    if root is None:
        return query
    inside = Organisation.path.startswith(root.path, autoescape=True)
    groups = guided()
    return query.where(or_(inside, Organisation.guidance_group_id.in_(groups)) if groups else inside)


def visible_lists(root: Organisation | None) -> list[tuple[TaskList, int, int]]:
    """Lists with a report inside the scope, newest first: (list, reports in scope, accepted in scope)."""
    query = (
        select(TaskList, func.count(TaskReport.id), func.count(TaskReport.id).filter(TaskReport.status == "accepted"))
        .join(Task, Task.list_id == TaskList.id)
        .join(TaskReport, TaskReport.task_id == Task.id)
        .join(Organisation, Organisation.id == TaskReport.organisation_id)
        .group_by(TaskList.id)
        .order_by(TaskList.id.desc())
    )
    query = within(query, root)
    return [(lst, n, accepted) for lst, n, accepted in db().execute(query)]


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    root = scope()
    return render_template(
        "console/tasks.html",
        lists=visible_lists(root),
        root=root,
        can_issue=tasks.can_issue(db(), current()),
    )


def target_choices(form: IssueForm, root: Organisation | None) -> None:
    districts = [root.district] if root is not None and root.district else []
    if root is None:
        districts = list(OrganisationsConfig.of(services().settings).districts)
    form.district.choices = [SelectChoice(d, d) for d in districts]
    groups = db().scalars(select(GuidanceGroup).order_by(GuidanceGroup.name))
    form.group.choices = [SelectChoice(str(g.id), g.name) for g in groups]


@bp.route("/new", methods=["GET", "POST"])
@role_required(*ROLES)
def new() -> str | Response:
    """Issue a list: the committee to all / a 片区 / a guidance group; a 片区 inside its own subtree."""
    if not tasks.can_issue(db(), current()):
        abort(403)
    root, form = scope(), IssueForm()
    target_choices(form, root)
    error = ""
    if form.validate_on_submit():
        value = {"district": form.district.data, "group": form.group.data}.get(form.how.data or "all", "") or ""
        try:
            items = tasks.parse_items(form.items.data or "")
            orgs = tasks.targets(db(), root, form.how.data or "all", value)
            label = target_label(form.how.data or "all", value)
            lst = tasks.issue(
                db(),
                title=form.title.data or "",
                period=form.period.data or "",
                items=items,
                orgs=orgs,
                target=label,
                scope=root,
                by=current().username,  # type: ignore[union-attr]
            )
        except tasks.TaskError as exc:
            error = str(exc)
        else:
            target = f"task_list:{lst.id}"
            audit.record("task.issue", target, title=lst.title, to=label, orgs=len(orgs), tasks=len(items))
            db().commit()
            flash(f"已下发「{lst.title}」：{len(items)}项任务，{len(orgs)}个组织。")
            return redirect(url_for(".show", list_id=lst.id))
    return render_template("console/tasks_new.html", form=form, error=error, root=root)


def target_label(how: str, value: str) -> str:
    if how == "district":
        return f"片区：{value}"
    if how == "group":
        group = db().get(GuidanceGroup, int(value)) if value.isdigit() else None
        return f"指导小组：{group.name if group else value}"
    return "全部"


def list_or_404(list_id: int, root: Organisation | None) -> TaskList:
    lst = db().get(TaskList, list_id)
    if lst is None or not any(lst.id == row[0].id for row in visible_lists(root)):
        abort(404)
    return lst


@bp.get("/<int:list_id>")
@role_required(*ROLES)
def show(list_id: int) -> str:
    """One list: its tasks and, per organisation in scope, each report's status."""
    root = scope()
    lst = list_or_404(list_id, root)
    items = db().scalars(select(Task).where(Task.list_id == lst.id).order_by(Task.position)).all()
    query = (
        select(TaskReport, Organisation)
        .join(Organisation, Organisation.id == TaskReport.organisation_id)
        .where(TaskReport.task_id.in_([t.id for t in items]))
        .order_by(Organisation.path)
    )
    query = within(query, root)
    grid: dict[int, tuple[Organisation, dict[int, TaskReport]]] = {}
    for report, org in db().execute(query):
        grid.setdefault(org.id, (org, {}))[1][report.task_id] = report
    return render_template(
        "console/tasks_list.html", lst=lst, items=items, grid=list(grid.values()), labels=tasks.LABELS
    )


def report_or_404(report_id: int) -> tuple[TaskReport, Task, Organisation]:
    report = db().get(TaskReport, report_id)
    if report is None:
        abort(404)
    org = db().get(Organisation, report.organisation_id)
    if org is None or not (in_subtree(org, scope()) or org.guidance_group_id in guided()):
        abort(404)  # outside the scope and not a guided group's: as if it did not exist
    task = db().get(Task, report.task_id)
    assert task is not None
    return report, task, org


@bp.route("/report/<int:report_id>", methods=["GET", "POST"])
@role_required(*ROLES)
def report(report_id: int) -> str | Response:
    """One organisation's task: report it done (its secretary), accept or return it (its instructor)."""
    row, task, org = report_or_404(report_id)
    root, me = scope(), current()
    may_report, may_review = tasks.can_report(me, org, root), tasks.can_review(me, org, root, guided())
    form, review = ReportForm(), ReviewForm()
    error = ""
    if request.method == "POST":
        try:
            if request.form.get("action") == "report" and may_report and form.validate():
                add_uploads(row, form)
                tasks.submit(db(), row, form.text.data or "", me.username)  # type: ignore[union-attr]
                audit.record("task.report", f"task_report:{row.id}", task=task.title, org=org.code)
                db().commit()
                task_notify.tell_instructor_later(services(), org.id, task.id)
                return redirect(url_for(".report", report_id=row.id))
            elif request.form.get("action") == "review" and may_review and review.validate():
                accept = review.verdict.data == "accept"
                tasks.review(db(), row, accept, review.comment.data or "", me.username)  # type: ignore[union-attr]
                audit.record("task.accept" if accept else "task.return", f"task_report:{row.id}", org=org.code)
                db().commit()
                task_notify.tell(services(), task_notify.secretaries(db(), org.id), task_notify.verdict_text(task, row))
                return redirect(url_for(".report", report_id=row.id))
            else:
                abort(403)
        except tasks.TaskError as exc:
            db().rollback()
            error = str(exc)
    photos = db().scalars(select(TaskPhoto).where(TaskPhoto.report_id == row.id).order_by(TaskPhoto.id)).all()
    lst = db().get(TaskList, task.list_id)
    return render_template(
        "console/tasks_report.html",
        row=row,
        task=task,
        org=org,
        lst=lst,
        photos=photos,
        form=form,
        review=review,
        may_report=may_report and row.status in tasks.REPORTABLE,
        may_review=may_review and row.status == "reported",
        error=error,
        labels=tasks.LABELS,
    )


def add_uploads(row: TaskReport, form: ReportForm) -> None:
    for upload in form.photos.data or []:
        if not getattr(upload, "filename", ""):
            continue
        ctype = (upload.mimetype or "").lower()
        if ctype not in IMAGE_TYPES:
            raise tasks.TaskError("只能上传图片（JPG、PNG、GIF、WebP）")
        data = upload.read(tasks.MAX_BYTES + 1)
        if len(data) > tasks.MAX_BYTES:
            raise tasks.TaskError("图片不能超过 10 MB")
        if not tasks.add_photo(db(), row, f"upload:{uuid.uuid4().hex}", data, ctype):
            raise tasks.TaskError(f"每项任务最多{tasks.MAX_PHOTOS}张图片")
        db().flush()


@bp.get("/photo/<int:photo_id>")
@role_required(*ROLES)
def photo(photo_id: int) -> Response:
    found = db().get(TaskPhoto, photo_id)
    if found is None or found.data is None:
        abort(404)
    report_or_404(found.report_id)

    ctype = found.content_type if found.content_type in IMAGE_TYPES else "application/octet-stream"
    return send_file(io.BytesIO(found.data), mimetype=ctype, max_age=0)


@bp.get("/progress")
@role_required(*ROLES)
def progress() -> str:
    root = scope()
    list_id = request.args.get("list", "")
    by_org, by_group = tasks.progress(db(), root, day_of(utcnow()), int(list_id) if list_id.isdigit() else None)
    return render_template("console/tasks_progress.html", by_org=by_org, by_group=by_group, root=root, list_id=list_id)


@bp.get("/progress.xlsx")
@role_required(*ROLES)
def export() -> Response:
    root = scope()
    list_id = request.args.get("list", "")
    by_org, by_group = tasks.progress(db(), root, day_of(utcnow()), int(list_id) if list_id.isdigit() else None)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    write_workbook(out, by_org, by_group)
    audit.record("task.export", None, scope=root.code if root else "整个园区", rows=len(by_org))
    db().commit()
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name="任务清单进度.xlsx", max_age=0)


# Excel export ------------------------------------------------------------------------------------------------------
HEADERS = ("待完成", "已上报", "已通过", "已退回", "逾期", "下发数", "完成率")


def write_workbook(out: IO[bytes], by_org: list[Counts], by_group: list[Counts]) -> int:
    """The progress tables as an Excel workbook (aggregates only); the number of rows written."""
    book = Workbook(write_only=True)
    written = 0
    for title, rows in (("按组织", by_org), ("按指导小组", by_group)):
        sheet = book.create_sheet(title)
        sheet.append([title[1:], *HEADERS])
        for c in rows:
            rate = round(c.rate, 4) if c.rate is not None else None
            counts = [c.counts[s] for s in STATUSES]
            sheet.append([c.label, *counts, c.overdue, c.issued, rate])
            written += 1
    book.save(out)
    return written
