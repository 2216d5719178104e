"""The console's 指导小组 pages (routes of the orgs blueprint): the groups, one group's organisations, its
党建指导员 and the instructor account linked to it (who is told of overdue 三会一课 and reviews task reports).

Only unscoped admins and editors change a group; a scoped account sees the groups covering its subtree. Every change
is audited.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.web import db, role_required, services
from bot.core.accounts import Account
from bot.core.organisations import GuidanceGroup, Organisation, eligible_instructors
from handlers.orgs import access, orgedit, tree as org_tree
from handlers.orgs.access import VIEW_ROLES as VIEW
from handlers.orgs.forms import AssignForm, GroupForm, InstructorForm, options, problems_to


def groups() -> list[GuidanceGroup]:
    return list(db().scalars(select(GuidanceGroup).order_by(GuidanceGroup.name)))


def can_edit_groups() -> bool:
    """Guidance groups span subtrees: only unscoped admins and editors change them."""
    me = access.current()
    return me is not None and (me.is_admin or "editor" in (me.roles or [])) and not access.scoped()


def covered(group_ids: list[int]) -> dict[int, list[Organisation]]:
    """Group id → the organisations it covers, inside the account's scope."""
    query = select(Organisation).where(Organisation.guidance_group_id.in_(group_ids)).order_by(Organisation.code)
    if access.scope() is not None:
        query = query.where(Organisation.path.startswith(access.scope().path, autoescape=True))  # type: ignore[union-attr]
    out: dict[int, list[Organisation]] = {gid: [] for gid in group_ids}
    for o in db().scalars(query):
        out[o.guidance_group_id or 0].append(o)
    return out


@role_required(*VIEW)
def group_list() -> str:
    """Every guidance group with its instructor and the organisations it covers (a scoped account: its own)."""
    every = groups()
    cover = covered([g.id for g in every])
    if access.scope() is not None:
        every = [g for g in every if cover[g.id]]
    return render_template(
        "console/orgs_groups.html", groups=every, cover=cover, form=GroupForm(), can_edit=can_edit_groups()
    )


@role_required("editor")
def group_new() -> Any:
    if not can_edit_groups():
        abort(403)
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = orgedit.save_group(
                db(), None, form.name.data or "", form.instructor.data or "", form.phone.data or ""
            )
        except orgedit.EditRefused as exc:
            db().rollback()
            problems_to(form, exc.problems)
        else:
            audit.record("orgs.group", group.name, created=True)
            flash(f"已新建指导小组「{group.name}」。", "success")
            return redirect(url_for(".group", group_id=group.id))
    every = groups()
    return render_template(
        "console/orgs_groups.html", groups=every, cover=covered([g.id for g in every]), form=form, can_edit=True
    )


def instructor_form(group: GuidanceGroup, form: InstructorForm | None = None) -> InstructorForm:
    """The instructor select: the accounts eligible for this group (every instructor when an admin chooses)."""
    form = form or InstructorForm(data={"account_id": str(group.instructor_account_id or "")})
    me = access.current()
    eligible = eligible_instructors(db(), group.id, everyone=me is not None and me.is_admin)
    linked = db().get(Account, group.instructor_account_id) if group.instructor_account_id else None
    if linked is not None and linked not in eligible:
        eligible.append(linked)  # shown as it is, even if no longer eligible
    form.account_id.choices = options([(str(a.id), label(a)) for a in eligible], "（未关联）")
    return form


def label(account: Account) -> str:
    """An account in the select: username, bound or not (never the openid)."""
    return f"{account.username}（{'已绑定微信' if account.openid else '未绑定微信'}）"


def show_group(
    group: GuidanceGroup,
    form: GroupForm | None = None,
    assign: AssignForm | None = None,
    instructor: InstructorForm | None = None,
) -> str:
    if form is None:
        form = GroupForm(data={"name": group.name, "instructor": group.instructor or "", "phone": group.phone or ""})
    linked = db().get(Account, group.instructor_account_id) if group.instructor_account_id else None
    return render_template(
        "console/orgs_group.html",
        group=group,
        form=form,
        assign=assign or AssignForm(),
        instructor_form=instructor_form(group, instructor) if can_edit_groups() else None,
        linked=linked,
        linked_label=label(linked) if linked else "",
        action_form=ActionForm(),
        orgs=covered([group.id])[group.id],
        can_edit=can_edit_groups(),
    )


@role_required(*VIEW)
def group(group_id: int) -> str:
    return show_group(access.group_or_404(group_id))


@role_required("editor")
def group_edit(group_id: int) -> Any:
    found = access.group_or_404(group_id)
    if not can_edit_groups():
        abort(403)
    form = GroupForm()
    if not form.validate_on_submit():
        return show_group(found, form)
    try:
        orgedit.save_group(db(), found, form.name.data or "", form.instructor.data or "", form.phone.data or "")
    except orgedit.EditRefused as exc:
        db().rollback()
        problems_to(form, exc.problems)
        return show_group(found, form)
    audit.record("orgs.group", found.name)
    flash("已保存。", "success")
    return redirect(url_for(".group", group_id=found.id))


@role_required("editor")
def group_assign(group_id: int) -> Any:
    found = access.group_or_404(group_id)
    if not can_edit_groups():
        abort(403)
    form = AssignForm()
    if not form.validate_on_submit():
        return show_group(found, assign=form)
    try:
        codes = orgedit.assign(db(), found, form.codes.data or "", access.scope())
    except orgedit.EditRefused as exc:
        db().rollback()
        problems_to(form, exc.problems)
        return show_group(found, assign=form)
    audit.record("orgs.group_assign", found.name, codes=codes[:50], count=len(codes))
    org_tree.bump(services().redis)
    flash(f"已将 {len(codes)} 个组织划入「{found.name}」。", "success")
    return redirect(url_for(".group", group_id=found.id))


@role_required("editor")
def group_remove(group_id: int, org_id: int) -> Response:
    found, org_ = access.group_or_404(group_id), access.org_or_404(org_id)
    if not can_edit_groups() or not ActionForm().validate_on_submit():
        abort(403 if not can_edit_groups() else 400)
    if org_.guidance_group_id == found.id:
        org_.guidance_group_id = None
        audit.record("orgs.group_remove", found.name, code=org_.code)
        org_tree.bump(services().redis)
        flash(f"已将「{org_.name}」移出本小组。", "success")
    return redirect(url_for(".group", group_id=found.id))


@role_required("editor")
def group_instructor(group_id: int) -> Any:
    """Link the group to an instructor account (or none): audited; the account must be eligible."""
    found = access.group_or_404(group_id)
    if not can_edit_groups():
        abort(403)
    form = InstructorForm()
    if not form.validate_on_submit():
        return show_group(found, instructor=form)
    raw = form.account_id.data or ""
    me = access.current()
    eligible = {a.id: a for a in eligible_instructors(db(), found.id, everyone=me is not None and me.is_admin)}
    chosen = eligible.get(int(raw)) if raw.isdigit() else None
    if raw and chosen is None:
        form.account_id.errors = ["该账号不是党建指导员，或其管理范围不包含本小组的全部组织"]
        return show_group(found, instructor=form)
    before = found.instructor_account_id
    if before != (chosen.id if chosen else None):
        found.instructor_account_id = chosen.id if chosen else None
        audit.record("orgs.group_instructor", found.name, account=chosen.username if chosen else None, before=before)
    flash(f"已{'关联指导员账号 ' + chosen.username if chosen else '取消关联指导员账号'}。", "success")
    return redirect(url_for(".group", group_id=found.id))


ROUTES = (  # (rule, endpoint, view, methods): added to the orgs blueprint
    ("/groups", "group_list", group_list, ["GET"]),
    ("/groups", "group_new", group_new, ["POST"]),
    ("/groups/<int:group_id>", "group", group, ["GET"]),
    ("/groups/<int:group_id>", "group_edit", group_edit, ["POST"]),
    ("/groups/<int:group_id>/assign", "group_assign", group_assign, ["POST"]),
    ("/groups/<int:group_id>/remove/<int:org_id>", "group_remove", group_remove, ["POST"]),
    ("/groups/<int:group_id>/instructor", "group_instructor", group_instructor, ["POST"]),
)
