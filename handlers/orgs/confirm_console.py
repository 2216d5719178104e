"""The console's 党员认证 pages: applications awaiting confirmation and the confirmed members (scoped to the account's
organisation subtree), confirm / reject / un-bind, and each organisation's printable QR code. Every view of the names
and every change is audited (target: the roster member's id)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.paging import Page, page_number
from bot.console.web import current, db, role_required, services
from bot.core.errors import UserFacingError
from bot.core.members import CONFIRMED, PENDING, Membership
from bot.core.organisations import Organisation, RosterMember, by_code, in_subtree, mask_phone, scope_root
from handlers.orgs import binding, notify, qr, tree

bp = Blueprint(
    "org_confirmations",
    __name__,
    url_prefix="/orgs/confirmations",
    template_folder="templates",
    static_folder="static",  # orgs_qr.css: the printable QR sheet
)
PER_PAGE = 50  # confirmed members per page
PENDING_SHOWN = 200  # applications listed at once (oldest first)
DECIDERS = ("secretary", "instructor")  # and admins: who confirms members
QR_ROLES = ("secretary", "instructor", "editor")  # and admins: who prints an organisation's code


def rows(status: str) -> Select[Membership, RosterMember, Organisation]:
    """Memberships in `status` inside the signed-in account's scope."""
    return binding.scoped(status, scope_root(db(), current()))


def confirmed_page() -> Page:
    query = rows(CONFIRMED)
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    number = min(page_number(), max(1, -(-total // PER_PAGE)))
    ordered = query.order_by(Membership.confirmed_at.desc(), Membership.openid)
    items = db().execute(ordered.limit(PER_PAGE).offset((number - 1) * PER_PAGE))
    return Page([tuple(r) for r in items], number, PER_PAGE, total)


@bp.get("/")
@role_required(*DECIDERS)
def index() -> str:
    """Pending applications (oldest first) and confirmed members; the view of their names is audited."""
    pending = [tuple(r) for r in db().execute(rows(PENDING).order_by(Membership.bound_at).limit(PENDING_SHOWN))]
    page = confirmed_page()
    root = scope_root(db(), current())
    audit.record(
        "member.view_confirmations",
        root.code if root else None,
        pending=len(pending),
        confirmed=len(page.items),
        page=page.number,
        members=[member.id for _m, member, _o in [*pending, *page.items]],  # whose names were shown
    )
    return render_template(
        "console/orgs_confirm.html",
        pending=pending,
        page=page,
        root=root,
        form=ActionForm(),
        mask_phone=mask_phone,
    )


def load(member_id: int) -> tuple[RosterMember, Organisation]:
    """The roster member and organisation, if the signed-in account may decide for it (else 404 / 403)."""
    member = db().get(RosterMember, member_id)
    org = db().get(Organisation, member.organisation_id) if member else None
    if member is None or org is None:
        abort(404)
    if not binding.may_decide(db(), current(), org):
        abort(403)
    return member, org


def checked() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.post("/<int:member_id>/confirm")
@role_required(*DECIDERS)
def confirm(member_id: int) -> Response:
    checked()
    member, org = load(member_id)
    row = binding.pending_of(db(), member_id)
    if row is None:
        flash("该申请已处理。", "warning")
        return redirect(url_for(".index"))
    binding.confirm(db(), row, current().username, "console")  # type: ignore[union-attr]
    audit.record("member.confirm", str(member_id), via="console")
    tree.bump(services().redis)
    binding.recount(services(), db(), row)
    notify.tell(services(), row.openid, f"您的党员认证已通过：{org.name}。回复「我的认证」查看。")
    flash(f"已确认 {member.name} 的党员认证。", "success")
    return redirect(url_for(".index"))


@bp.post("/<int:member_id>/reject")
@role_required(*DECIDERS)
def reject(member_id: int) -> Response:
    return undo(member_id, binding.pending_of, "member.reject", REJECTED)


@bp.post("/<int:member_id>/unbind")
@role_required(*DECIDERS)
def unbind(member_id: int) -> Response:
    return undo(member_id, binding.bound_to, "member.unbind", UNBOUND)


REJECTED = (
    "该申请已处理。",
    "您的党员认证申请未通过。如有疑问，请联系所在党组织书记。",
    "已拒绝 {name} 的认证申请。",
)
UNBOUND = (
    "该党员没有绑定微信。",
    "您的党员认证已由党组织解除。如有疑问，请联系所在党组织书记。",
    "已解除 {name} 的微信绑定。",
)


def undo(
    member_id: int, lookup: Callable[[Session, int], Membership | None], action: str, texts: tuple[str, ...]
) -> Response:
    """Reject an application or remove a binding: `texts` are (nothing to do, to the member, done) messages."""
    checked()
    member, _org = load(member_id)
    row = lookup(db(), member_id)
    if row is None:
        flash(texts[0], "warning")
        return redirect(url_for(".index"))
    unbind_row(row, action)
    notify.tell(services(), row.openid, texts[1])
    flash(texts[2].format(name=member.name), "success")
    return redirect(url_for(".index"))


def unbind_row(row: Membership, action: str) -> None:
    """Remove the binding, audit it (same commit), move the follower's points off the organisation boards."""
    openid, member_id = row.openid, row.member_id
    old = binding.remove(db(), row)
    audit.record(action, str(member_id), via="console")
    tree.bump(services().redis)
    points = getattr(services(), "points", None)
    if points is not None:
        points.move(db(), openid, old, (None, None))


def qr_org() -> Organisation:
    """The organisation of ?code=, if inside the signed-in account's scope."""
    org = by_code(db(), request.args.get("code", "").strip()[:32])
    if org is None:
        abort(404)
    if not in_subtree(org, scope_root(db(), current())):
        abort(403)
    return org


@bp.get("/qr", endpoint="qr")  # other pages link here: console.org_confirmations.qr, ?code=<organisation code>
@role_required(*QR_ROLES)
def qr_page() -> str:
    """The organisation's QR code ready to print (name under it), or the button that creates it."""
    org = qr_org()
    code = qr.existing(db(), org)
    return render_template("console/orgs_qr.html", org=org, code=code, form=ActionForm())


@bp.get("/qr.png")
@role_required(*QR_ROLES)
def qr_image() -> Response:
    """The code's picture from showqrcode, served from the console (its CSP admits images of its own origin only)."""
    org = qr_org()
    code = qr.existing(db(), org)
    if code is None:
        abort(404)
    try:
        data, kind = services().wx.qrcode_image(code.ticket)
    except UserFacingError:
        abort(404)
    return Response(data, mimetype=kind)


@bp.post("/qr")
@role_required(*QR_ROLES)
def qr_create() -> Response:
    checked()
    org = qr_org()
    if org.dissolved_at is not None:
        flash("该组织已撤销，不能生成二维码。", "error")
        return redirect(url_for(".qr", code=org.code))
    try:
        _code, created = qr.ensure(db(), services().wx, org)
        if created:
            audit.record("org.qr_create", org.code)  # commits the code with the entry
    except UserFacingError as exc:
        db().rollback()
        flash(str(exc), "error")
    except IntegrityError:  # made at the same moment by someone else: theirs is shown
        db().rollback()
    return redirect(url_for(".qr", code=org.code))
