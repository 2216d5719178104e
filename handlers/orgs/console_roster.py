"""The console's roster pages (routes of the orgs blueprint, added by handlers/orgs/console.py): the list of an
organisation's subtree, one member with their history and binding, edit, transfer, off the roster, masked export.

Every view and change is audited with the member id and organisation code, never a name or a phone number.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.paging import paginate
from bot.console.web import current, db, role_required, services
from bot.core.organisations import CATEGORIES, POSTS, Organisation, RosterMember
from handlers.orgs import access, roster
from handlers.orgs.forms import MemberForm, TransferForm, problems_to
from handlers.orgs.orgedit import EditRefused
from handlers.orgs.tree import bump

PER_PAGE = 50  # members per roster page
VIEW = access.VIEW_ROLES


def wanted(can_search: bool) -> roster.RosterFilter:
    args = request.args
    return roster.RosterFilter(
        category=args.get("category", "") if args.get("category", "") in CATEGORIES else "",
        post=args.get("post", "") if args.get("post", "") in POSTS else "",
        q=args.get("q", "").strip()[:32] if can_search else "",
        left=args.get("left") == "1",
    )


def listed_root() -> Organisation | None:
    """?org=<id> inside the account's scope, else the scope's root (None: the whole park)."""
    raw = request.args.get("org", "")
    return access.org_or_404(int(raw)) if raw.isdigit() else access.scope()


@role_required(*VIEW)
def roster_list() -> str:
    """The members of an organisation and everything under it, filtered and paged; audited."""
    root, full = listed_root(), access.runs_scope()
    f = wanted(full)
    page = paginate(db(), roster.query(root, f), PER_PAGE)
    orgs, bound = roster.organisations_of(db(), page.items), roster.statuses(db(), page.items)
    code = root.code if root else "*"
    audit.record("roster.view", code, page=page.number, rows=len(page.items), full=full, searched=bool(f.q))
    return render_template(
        "console/orgs_roster.html",
        page=page,
        root=root,
        f=f,
        full=full,
        rows=[(m, roster.shown(m, full), orgs.get(m.organisation_id), bound.get(m.id)) for m in page.items],
        categories=CATEGORIES,
        posts=POSTS,
        status_names=roster.STATUS_NAMES,
        args=dict(f.args(), **({"org": str(root.id)} if root and root != access.scope() else {})),
    )


def member_form(member: RosterMember, full: bool) -> MemberForm:
    if not full:
        return MemberForm(data={"category": member.category, "post": member.post or ""})
    return MemberForm(
        data={
            "name": member.name,
            "sex": member.sex or "",
            "phone": member.phone,
            "category": member.category,
            "joined_on": member.joined_on.isoformat() if member.joined_on else "",
            "post": member.post or "",
        }
    )


def show_member(member: RosterMember, org: Organisation, form: MemberForm | None = None, move: Any = None) -> str:
    full = access.runs(org)
    audit.record("roster.view", f"member:{member.id}", organisation=org.code, full=full)
    return render_template(
        "console/orgs_member.html",
        member=member,
        org=org,
        who=roster.shown(member, full),
        full=full,
        history=roster.history(db(), member),
        bound=roster.binding(db(), member),
        status_names=roster.STATUS_NAMES,
        form=form or member_form(member, full),
        move=move or TransferForm(),
        action_form=ActionForm(),
        can_move=access.can_move_members(),
    )


@role_required(*VIEW)
def member(member_id: int) -> str:
    """One member: details (masked unless the viewer runs the organisation), transfers, binding status."""
    found, org = access.member_or_404(member_id)
    return show_member(found, org)


@role_required(*VIEW)
def member_edit(member_id: int) -> Any:
    """Save the roster fields; only for those who see them in full (admins and the organisation's runners)."""
    found, org = access.member_or_404(member_id)
    if not access.runs(org):
        abort(403)
    form = MemberForm()
    if not form.validate_on_submit():
        return show_member(found, org, form)
    wanted_fields = roster.MemberFields(
        name=form.name.data or "",
        sex=form.sex.data or "",
        phone=form.phone.data or "",
        category=form.category.data or "",
        joined_on=form.joined_on.data or "",
        post=form.post.data or "",
    )
    try:
        changed = roster.edit(db(), found, wanted_fields)
    except EditRefused as exc:
        db().rollback()
        problems_to(form, exc.problems)
        return show_member(found, org, form)
    if changed:
        audit.record("roster.edit", f"member:{found.id}", organisation=org.code, fields=changed)
        flash("已保存。", "success")
    else:
        flash("没有修改。", "success")
    return redirect(url_for(".member", member_id=found.id))


@role_required(*VIEW)
def member_transfer(member_id: int) -> Any:
    """Move the member to another organisation inside the account's scope, keeping their entry and history."""
    found, org = access.member_or_404(member_id)
    if not access.can_move_members():
        abort(403)
    form = TransferForm()
    if not form.validate_on_submit():
        return show_member(found, org, move=form)
    to = access.code_in_scope(form.to_code.data or "")
    bound = roster.binding(db(), found)
    old = (bound.organisation, bound.district) if bound is not None else None
    try:
        if to is None:
            raise EditRefused({"to_code": "组织编码不存在或不在你的管理范围内"})
        roster.transfer(db(), found, to, current().username)  # type: ignore[union-attr]
    except EditRefused as exc:
        db().rollback()
        problems_to(form, exc.problems)
        return show_member(found, org, move=form)
    audit.record("roster.transfer", f"member:{found.id}", organisation=org.code, to=to.code)
    bump(services().redis)
    points = getattr(services(), "points", None)  # the member's points follow them to the new organisation's boards
    if bound is not None and old is not None and points is not None:
        points.move(db(), bound.openid, old, (to.code, to.district))
    flash(f"已转入「{to.name}」。", "success")
    return redirect(url_for(".member", member_id=found.id))


@role_required(*VIEW)
def member_left(member_id: int, action: str) -> Response:
    """Take the member off the roster (移出) or back onto it."""
    found, org = access.member_or_404(member_id)
    if not access.can_move_members():
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    roster.set_left(found, action == "leave")
    audit.record(f"roster.{action}", f"member:{found.id}", organisation=org.code)
    bump(services().redis)
    flash("已移出花名册。" if action == "leave" else "已恢复在册。", "success")
    return redirect(url_for(".member", member_id=found.id))


ROUTES = (  # (rule, endpoint, view, methods): added to the orgs blueprint
    ("/roster", "roster", roster_list, ["GET"]),
    ("/roster/<int:member_id>", "member", member, ["GET"]),
    ("/roster/<int:member_id>", "member_edit", member_edit, ["POST"]),
    ("/roster/<int:member_id>/transfer", "member_transfer", member_transfer, ["POST"]),
    ("/roster/<int:member_id>/<any(leave, rejoin):action>", "member_left", member_left, ["POST"]),
)
