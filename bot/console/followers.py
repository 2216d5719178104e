"""The followers page: counts, organisation bindings, a searchable paged list, and tags (changed through WeChat)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import Select, func, or_, select
from werkzeug.wrappers import Response

from bot.console import audit, tags
from bot.console.forms import ActionForm, TagForm, TagMembersForm, choices
from bot.console.paging import paginate
from bot.console.security import safe_next
from bot.console.web import current, db, login_required, role_required
from bot.core.database import Follower
from bot.core.errors import WeChatAPIError
from bot.core.followers import has_tag
from bot.core.logs import mask
from bot.core.members import Membership
from bot.core.organisations import Organisation

bp = Blueprint("followers", __name__, url_prefix="/followers")
PER_PAGE = 20  # followers per page
STATUSES = {"": "全部", "subscribed": "已关注", "unsubscribed": "已取消关注"}  # ?status= filter
REF_SALT = b"console follower ref"  # derives the key that hides openids in the page from SECRET_KEY


def fernet() -> Fernet:
    digest = hashlib.sha256(REF_SALT + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def ref(openid: str) -> str:
    """An opaque reference to a follower: the page never carries a non-admin's view of the openid."""
    return fernet().encrypt(openid.encode()).decode()


def openid_of(token: str) -> str | None:
    try:
        return fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def shown(openid: str) -> str:
    """The openid as this viewer may see it: whole for admins, masked for the rest."""
    account = current()
    return openid if account is not None and account.is_admin else mask(openid)


def status_counts() -> dict[str, int]:
    rows = db().execute(select(Follower.subscribed, func.count()).group_by(Follower.subscribed)).all()
    found = {bool(sub): n for sub, n in rows}
    return {"subscribed": found.get(True, 0), "unsubscribed": found.get(False, 0)}


def organisation_names() -> dict[str, str]:
    """Organisation code → name, from the organisations table (the imported tree)."""
    return dict(db().execute(select(Organisation.code, Organisation.name)).all())


def organisation_counts() -> dict[str, int]:
    """Members bound to each organisation (「党员认证」 in chat, or carried over from the old 绑定组织)."""
    rows = db().execute(select(Membership.organisation, func.count()).group_by(Membership.organisation)).all()
    return {org: n for org, n in rows}


def bindings(openids: list[str]) -> dict[str, str]:
    """The organisation id of each follower on the page who bound one."""
    if not openids:
        return {}
    rows = db().execute(select(Membership.openid, Membership.organisation).where(Membership.openid.in_(openids)))
    return {openid: org for openid, org in rows}


def search(q: str, status: str, tag: int | None, organisation: str = "") -> Select:
    """Followers matching the filters, most recently active first."""
    query = select(Follower)
    if q:
        admin = current() is not None and current().is_admin
        by_openid = Follower.openid.contains(q, autoescape=True) if admin else Follower.openid == q
        query = query.where(or_(by_openid, Follower.scene.contains(q, autoescape=True)))
    if status in ("subscribed", "unsubscribed"):
        query = query.where(Follower.subscribed.is_(status == "subscribed"))
    if tag is not None:
        query = query.where(has_tag(tag))
    if organisation:
        query = query.where(
            Follower.openid.in_(select(Membership.openid).where(Membership.organisation == organisation))
        )
    return query.order_by(Follower.last_interaction.desc().nulls_last(), Follower.openid)


def filters() -> dict[str, Any]:
    tag = request.args.get("tag", "")
    return {
        "q": request.args.get("q", "").strip()[:64],
        "status": request.args.get("status", ""),
        "tag": int(tag) if tag.isdigit() else None,
        "org": request.args.get("org", "").strip()[:32],
    }


def members_form(tag_names: dict[int, str]) -> TagMembersForm:
    form = TagMembersForm()
    form.tag.choices = choices(tag_names)
    return form


@bp.get("/")
@login_required
def index() -> str:
    """Counts, tags, the filter form and one page of followers (the whole park's: not for scoped-only accounts)."""
    if current().is_scoped_only:
        abort(403)
    wanted = filters()
    tag_names = tags.names(db())
    page = paginate(db(), search(wanted["q"], wanted["status"], wanted["tag"], wanted["org"]), PER_PAGE)
    return render_template(
        "console/followers.html",
        page=page,
        counts=status_counts(),
        tag_names=tag_names,
        org_names=organisation_names(),
        org_counts=organisation_counts(),
        bound=bindings([f.openid for f in page.items]),
        tag_counts=tags.counts(db(), tag_names),
        wanted=wanted,
        statuses=STATUSES,
        ref=ref,
        shown=shown,
        members_form=members_form(tag_names),
        tag_form=TagForm(),
        action_form=ActionForm(),
        can_edit=current().has_role("editor"),
    )


def back() -> Response:
    """Back to the list the form was posted from (same filters and page)."""
    return redirect(safe_next(request.form.get("back"), url_for(".index")))


@bp.post("/tags")
@role_required("editor")
def create_tag() -> Response:
    form = TagForm()
    if not form.validate_on_submit():
        flash("；".join(form.name.errors) or "标签名无效", "error")
        return back()
    try:
        tag = tags.create(db(), form.name.data)
    except WeChatAPIError as exc:
        flash(tags.wx_message(exc), "error")
        return back()
    audit.record("tag.create", tag.name, tag_id=tag.id)
    flash(f"已新建标签「{tag.name}」。", "success")
    return back()


@bp.post("/tags/sync")
@role_required("editor")
def sync_tags() -> Response:
    if not ActionForm().validate_on_submit():
        return back()
    try:
        remote = tags.sync(db())
    except WeChatAPIError as exc:
        flash(tags.wx_message(exc), "error")
        return back()
    audit.record("tag.sync", None, tags={str(k): v for k, v in remote.items()})
    flash(f"已从微信同步 {len(remote)} 个标签。", "success")
    return back()


@bp.post("/members")
@role_required("editor")
def members() -> Response:
    """Add or remove one tag on the ticked followers: WeChat first, then our rows."""
    tag_names = tags.names(db())
    form = members_form(tag_names)
    openids = [o for o in (openid_of(r) for r in form.refs.data or []) if o]
    if not form.validate_on_submit() or not openids:
        flash("请先勾选粉丝并选择标签。", "error")
        return back()
    add, tag_id = not form.remove.data, form.tag.data
    try:
        changed = tags.change_members(db(), tag_id, openids, add)
    except WeChatAPIError as exc:
        flash(tags.wx_message(exc), "error")
        return back()
    audit.record(
        "tag.assign" if add else "tag.remove", tag_names[tag_id], tag_id=tag_id, followers=openids, changed=changed
    )
    flash(f"已为 {len(openids)} 位粉丝{'添加' if add else '移除'}标签「{tag_names[tag_id]}」。", "success")
    return back()
