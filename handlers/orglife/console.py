"""The console's 组织生活 pages: meetings listed and planned within the account's scope; one meeting's notices,
replies, attendance (marked by hand), corrections, minutes and photos. Every route checks role and scope (404 out)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.scope import require_in_scope, scope_root_of
from bot.console.web import current, db, role_required, services
from bot.core.clock import TZ, china
from bot.core.organisations import Organisation, RosterMember, mask_name
from handlers.orglife import media, meetings, notices
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import CANCELLED, HELD, PLANNED, Attendance, Meeting

bp = Blueprint("meetings", __name__, url_prefix="/meetings", template_folder="templates")
ROLES = ("editor", "secretary", "instructor")  # and admin
LISTED = 200  # meetings on the index page


def cfg() -> OrgLifeConfig:
    return OrgLifeConfig.of(services().settings)


def full_names() -> bool:
    """Names in full for those who run organisations (and admins); masked for the others (editors)."""
    account = current()
    return account is not None and account.has_role("secretary", "instructor")


def scoped_orgs() -> list[Organisation]:
    """Live organisations in scope that may plan some kind of meeting."""
    root = scope_root_of()
    query = select(Organisation).where(Organisation.dissolved_at.is_(None)).order_by(Organisation.code)
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path, autoescape=True))
    kinds = {k for kind in cfg().kinds for k in kind.applies_to}
    return [o for o in db().scalars(query.where(Organisation.kind.in_(kinds)))]


def load(meeting_id: int) -> tuple[Meeting, Organisation]:
    meeting = db().get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    return meeting, require_in_scope(db().get(Organisation, meeting.organisation_id))


def checked() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def local_time(value: str) -> datetime | None:
    """A datetime-local field (China time) or typed text, as an aware moment."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=TZ).astimezone(UTC)
    except ValueError:
        return meetings.parse_time(value)


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    root = scope_root_of()
    query = select(Meeting, Organisation).join(Organisation, Organisation.id == Meeting.organisation_id)
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path, autoescape=True))
    rows = [tuple(r) for r in db().execute(query.order_by(Meeting.starts_at.desc()).limit(LISTED))]
    return render_template(
        "console/meetings.html", rows=rows, root=root, kinds={k.key: k.name for k in cfg().kinds}, shown=meetings.shown
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(*ROLES)
def new() -> str | Response:
    form, orgs = ActionForm(), scoped_orgs()
    groups = list({g.id: g for o in orgs for g in meetings.groups_of(db(), o)}.values())
    values: dict[str, Any] = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST" and form.validate_on_submit():
        result = plan_from(values)
        if isinstance(result, str):
            flash(result, "error")
        else:
            return redirect(url_for("console.meetings.show", meeting_id=result.id))
    kinds = cfg().kinds
    return render_template("console/meetings_new.html", form=form, orgs=orgs, groups=groups, kinds=kinds, v=values)


def plan_from(values: dict[str, Any]) -> Meeting | str:
    """Plan from the form's values: the meeting, or what is wrong (Chinese)."""
    org = db().get(Organisation, int(values.get("organisation") or 0))
    if org is None:
        return "请选择组织。"
    require_in_scope(org)
    kind = cfg().kind(str(values.get("kind") or ""))
    group = db().get(Organisation, int(values.get("group") or 0)) if values.get("group") else None
    when = local_time(str(values.get("starts_at") or ""))
    if kind is None or when is None:
        return "请选择会议类型并填写会议时间。"
    plan = meetings.Plan(org, kind, str(values.get("topic") or ""), when, str(values.get("place") or ""), group)
    account = current()
    assert account is not None
    try:
        meeting = meetings.create(db(), cfg(), plan, account.username, actor=account)
    except meetings.PlanError as exc:
        return str(exc)
    notices.send_later(services(), meeting.id, kind.name, meetings.shown(meeting.starts_at))
    flash("会议已安排，通知正在发出。", "success")
    return meeting


@bp.get("/<int:meeting_id>")
@role_required(*ROLES)
def show(meeting_id: int) -> str:
    meeting, org = load(meeting_id)
    rows = meetings.attendance(db(), meeting.id)
    ids = [r.member_id for r in rows if r.member_id]
    people = {m.id: m for m in db().scalars(select(RosterMember).where(RosterMember.id.in_(ids)))}
    full = full_names()
    names = {i: (m.name if full else mask_name(m.name, "middle")) for i, m in people.items()}
    others = [
        (m.id, m.name if full else mask_name(m.name, "middle"))
        for m in meetings.active_members(db(), [org.id, *(g.id for g in meetings.groups_of(db(), org))])
        if m.id not in people
    ]
    audit.record("meeting.view", str(meeting.id), members=ids, full=full)
    kind = cfg().kind(meeting.kind)
    checkin = "console.meeting_checkin.qr" in current_app.view_functions
    return render_template(
        "console/meetings_show.html",
        meeting=meeting,
        org=org,
        group=db().get(Organisation, meeting.group_id) if meeting.group_id else None,
        kind_name=kind.name if kind else meeting.kind,
        rows=rows,
        names=names,
        others=others,
        counts=meetings.counts(rows),
        photos=media.photos(db(), meeting.id),
        form=ActionForm(),
        shown=meetings.shown,
        local=china(meeting.starts_at).strftime("%Y-%m-%dT%H:%M"),
        statuses=meetings.STATUS_NAMES,
        notice_names=notices.NOTICE_NAMES,
        checkin=checkin,
    )


def back(meeting: Meeting, message: str, category: str = "success") -> Response:
    flash(message, category)
    return redirect(url_for("console.meetings.show", meeting_id=meeting.id))


@bp.post("/<int:meeting_id>/attendees")
@role_required(*ROLES)
def attendee_add(meeting_id: int) -> Response:
    checked()
    meeting, org = load(meeting_id)
    member = db().get(RosterMember, int(request.form.get("member_id") or 0))
    member_org = db().get(Organisation, member.organisation_id) if member else None
    if member is None or member_org is None or not member_org.path.startswith(org.path):
        abort(404)
    if meetings.add_attendee(db(), meeting, member):
        meetings.audit(db(), "meeting.attendees", current(), meeting.id, added=member.id)
        db().commit()
        kind = cfg().kind(meeting.kind)
        if meeting.status == PLANNED:
            notices.send_later(services(), meeting.id, kind.name if kind else "", meetings.shown(meeting.starts_at))
    return back(meeting, "已添加参会人员。")


@bp.post("/<int:meeting_id>/attendees/<int:member_id>/remove")
@role_required(*ROLES)
def attendee_remove(meeting_id: int, member_id: int) -> Response:
    checked()
    meeting, _org = load(meeting_id)
    if not meetings.remove_attendee(db(), meeting, member_id):
        return back(meeting, "无法移除（不在名单或已签到）。", "error")
    meetings.audit(db(), "meeting.attendees", current(), meeting.id, removed=member_id)
    db().commit()
    return back(meeting, "已移除参会人员。")


@bp.post("/<int:meeting_id>/mark/<int:row_id>")
@role_required(*ROLES)
def mark(meeting_id: int, row_id: int) -> Response:
    checked()
    meeting, _org = load(meeting_id)
    row = db().get(Attendance, row_id)
    if row is None or row.meeting_id != meeting.id:
        abort(404)
    present, reason = request.form.get("present") == "1", str(request.form.get("reason") or "")
    if not present and not reason.strip():
        return back(meeting, "标记缺席请填写原因。", "error")
    account = current()
    assert account is not None
    meetings.mark(db(), meeting, row, present, reason, account)
    return back(meeting, "已记录出席情况。")


@bp.post("/<int:meeting_id>/correct")
@role_required(*ROLES)
def correct(meeting_id: int) -> Response:
    checked()
    meeting, _org = load(meeting_id)
    form = request.form
    changes: dict[str, Any] = {k: form.get(k) for k in ("topic", "place", "minutes") if form.get(k) is not None}
    for key in ("topic", "place"):
        if key in changes and not str(changes[key]).strip():
            return back(meeting, "主题和地点不能为空。", "error")
    if form.get("starts_at"):
        changes["starts_at"] = local_time(str(form["starts_at"]))
        if changes["starts_at"] is None:
            return back(meeting, "会议时间格式不对。", "error")
    if form.get("status") in (PLANNED, HELD, CANCELLED):
        changes["status"] = form["status"]
    changed = meetings.correct(db(), meeting, changes, current())
    if "starts_at" in changed and meeting.status == PLANNED:  # the attendees already noticed hear of the new time
        kind = cfg().kind(meeting.kind)
        notices.send_change_later(services(), meeting.id, kind.name if kind else "", meetings.shown(meeting.starts_at))
    return back(meeting, f"已修改：{'、'.join(changed)}" if changed else "没有修改。")


@bp.post("/<int:meeting_id>/photos")
@role_required(*ROLES)
def photo_upload(meeting_id: int) -> Response:
    checked()
    meeting, _org = load(meeting_id)
    files = [f for f in request.files.getlist("photo") if f.filename]
    account = current()
    assert account is not None
    try:
        for file in files:
            media.add_upload(db(), meeting, file.read(media.MAX_BYTES + 1), account.username)
    except ValueError as exc:
        db().rollback()
        return back(meeting, str(exc), "error")
    if not files:
        return back(meeting, "请选择图片文件。", "error")
    meetings.audit(db(), "meeting.media", account, meeting.id, via="console", photos=len(files))
    db().commit()
    return back(meeting, f"已上传 {len(files)} 张照片。")


@bp.get("/<int:meeting_id>/photos/<int:photo_id>")
@role_required(*ROLES)
def photo(meeting_id: int, photo_id: int) -> Response:
    meeting, _org = load(meeting_id)
    row = db().get(media.MeetingMedia, photo_id)
    if row is None or row.meeting_id != meeting.id or row.data is None:
        abort(404)
    response = Response(row.data, content_type=row.content_type or "application/octet-stream")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
