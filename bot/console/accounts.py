"""Console accounts (admin): list, create, change roles, organisation scope, department and supervisor, disable /
enable, reset a password; all audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from werkzeug.wrappers import Response

from bot.console import audit, sessions
from bot.console.forms import AccountForm, ActionForm, ResetPasswordForm, RolesForm, ScopeForm, TicketingForm
from bot.console.security import hash_password
from bot.console.web import current, db, role_required, services
from bot.core.accounts import ROLES, SCOPED_ROLES, Account
from bot.core.organisations import Organisation

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
WHOLE_PARK = "整个园区"  # the scope picker's "no scope"


class AccountError(ValueError):
    """A refused account change; the message is shown to the admin as is (Chinese)."""


class ScopeError(AccountError):
    """A secretary or instructor without an organisation."""


def clean_roles(roles: Iterable[str]) -> list[str]:
    """Known roles only, in ROLES order."""
    wanted = set(roles)
    return [r for r in ROLES if r in wanted]


def by_username(session: Session, username: str) -> Account | None:
    return session.execute(select(Account).where(Account.username == username.strip())).scalar_one_or_none()


def create_account(
    session: Session,
    username: str,
    password: str,
    roles: Iterable[str],
    must_change_password: bool = False,
    organisation_id: int | None = None,
) -> Account:
    """A new active account (not committed); AccountError if the username is taken or a scoped role lacks a scope."""
    if by_username(session, username) is not None:
        raise AccountError(f"用户名「{username}」已被使用")
    check_scope(roles, organisation_id)
    account = Account(
        organisation_id=organisation_id,
        username=username.strip(),
        password_hash=hash_password(password),
        roles=clean_roles(roles),
        active=True,
        must_change_password=must_change_password,
        session_version=1,
    )
    session.add(account)
    session.flush()
    return account


def check_scope(roles: Iterable[str], organisation_id: int | None) -> None:
    """A secretary or instructor needs an organisation unless the account also holds a park-wide role."""
    held = set(roles)
    if held & set(SCOPED_ROLES) and not held - set(SCOPED_ROLES) and organisation_id is None:
        raise ScopeError("党组织书记、党建指导员账号须先指定所辖组织")


def scope_choices(session: Session, keep: int | None = None) -> list[tuple[str, str]]:
    """The scope picker: the whole park, then the organisations by code (dissolved ones only if `keep`)."""
    query = select(Organisation.id, Organisation.code, Organisation.name, Organisation.kind).order_by(Organisation.code)
    query = query.where((Organisation.dissolved_at.is_(None)) | (Organisation.id == (keep or 0)))
    return [("", WHOLE_PARK)] + [(str(i), f"{code} {name}（{kind}）") for i, code, name, kind in session.execute(query)]


def scope_label(session: Session, organisation_id: int | None) -> str:
    """An account's scope as the audit log and the pages name it: "<code> <name>" or 整个园区."""
    org = session.get(Organisation, organisation_id) if organisation_id else None
    return f"{org.code} {org.name}" if org else WHOLE_PARK


def set_password(account: Account, password: str, must_change: bool) -> None:
    """A new password; every session of the account ends (the caller may start a new one for this browser)."""
    account.password_hash = hash_password(password)
    account.must_change_password = must_change
    account.session_version += 1
    db_ = object_session(account)
    if db_ is not None and account.id is not None:
        sessions.end_all(db_, account.id, "password")


def other_active_admins(session: Session, account: Account) -> int:
    rows = session.execute(select(Account).where(Account.active.is_(True), Account.id != account.id)).scalars()
    return sum(1 for a in rows if a.is_admin)


def guard_last_admin(session: Session, account: Account, keeps_admin: bool) -> None:
    """Refuse a change that would leave no active admin, or that an admin makes to lock themself out."""
    if keeps_admin or not account.is_admin:
        return
    me = current()
    if me is not None and me.id == account.id:
        raise AccountError("不能取消自己的管理员角色或停用自己的账号")
    if other_active_admins(session, account) == 0:
        raise AccountError("至少需要保留一个启用的管理员账号")


def get_or_404(account_id: int) -> Account:
    account = db().get(Account, account_id)
    if account is None:
        abort(404)
    return account


@bp.get("/")
@role_required("admin")
def index() -> str:
    accounts = db().execute(select(Account).order_by(Account.username)).scalars().all()
    ids = {a.organisation_id for a in accounts if a.organisation_id}
    found = db().execute(select(Organisation.id, Organisation.code, Organisation.name).where(Organisation.id.in_(ids)))
    scopes = {i: f"{code} {name}" for i, code, name in found}
    return render_template("console/accounts.html", accounts=accounts, roles=ROLES, scopes=scopes)


@bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new() -> Any:
    """Create an account; its first sign-in asks for a new password."""
    form = AccountForm()
    form.organisation.choices = scope_choices(db())
    if form.validate_on_submit():
        scope = int(form.organisation.data) if form.organisation.data else None
        try:
            account = create_account(db(), form.username.data, form.password.data, form.roles.data, True, scope)
        except AccountError as exc:
            (form.organisation if isinstance(exc, ScopeError) else form.username).errors.append(str(exc))
        else:
            details = {"scope": scope_label(db(), scope)} if scope else {}
            audit.record("account.create", account.username, roles=account.roles, **details)
            flash(f"已创建账号「{account.username}」，首次登录时需修改密码。", "success")
            return redirect(url_for(".show", account_id=account.id))
    return render_template("console/account_new.html", form=form)


def ticketing_form(account: Account, **data: Any) -> TicketingForm:
    """The department and supervisor form, its choices from the config and the other active accounts."""
    form = TicketingForm(**data)
    departments = services().departments  # from the tickets feature's setup
    form.department.choices = [("", "（无）")] + list(departments.items())
    others = (
        db()
        .execute(select(Account).where(Account.active.is_(True), Account.id != account.id).order_by(Account.username))
        .scalars()
    )
    form.supervisor.choices = [("", "（无）")] + [(str(a.id), a.username) for a in others]
    return form


def account_page(account: Account, **forms: Any) -> str:
    roles_form = forms.get("roles_form") or RolesForm(roles=account.roles)
    scope_form = forms.get("scope_form") or ScopeForm(organisation=str(account.organisation_id or ""))
    scope_form.organisation.choices = scope_choices(db(), account.organisation_id)
    reset_form = forms.get("reset_form") or ResetPasswordForm()
    ticket_form = forms.get("ticket_form") or ticketing_form(
        account, department=account.department or "", supervisor=str(account.supervisor_id or "")
    )
    supervisor = db().get(Account, account.supervisor_id) if account.supervisor_id else None
    return render_template(
        "console/account.html",
        account=account,
        roles=ROLES,
        roles_form=roles_form,
        scope_form=scope_form,
        scope=scope_label(db(), account.organisation_id),
        reset_form=reset_form,
        ticket_form=ticket_form,
        action_form=ActionForm(),
        department_name=services().departments.get(account.department or "", account.department or ""),
        supervisor=supervisor,
    )


@bp.get("/<int:account_id>")
@role_required("admin")
def show(account_id: int) -> str:
    return account_page(get_or_404(account_id))


@bp.post("/<int:account_id>/roles")
@role_required("admin")
def roles(account_id: int) -> Any:
    account = get_or_404(account_id)
    form = RolesForm()
    if not form.validate_on_submit():
        return account_page(account, roles_form=form), 400
    new_roles = clean_roles(form.roles.data or [])
    try:
        guard_last_admin(db(), account, "admin" in new_roles)
        check_scope(new_roles, account.organisation_id)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".show", account_id=account.id))
    before, account.roles = account.roles, new_roles
    audit.record("account.roles", account.username, before=before, after=new_roles)
    flash(f"已更新「{account.username}」的角色。", "success")
    return redirect(url_for(".show", account_id=account.id))


@bp.post("/<int:account_id>/scope")
@role_required("admin")
def scope(account_id: int) -> Any:
    """The organisation subtree the account is limited to (secretaries and instructors: their own)."""
    account = get_or_404(account_id)
    form = ScopeForm()
    form.organisation.choices = scope_choices(db(), account.organisation_id)
    if not form.validate_on_submit():
        return account_page(account, scope_form=form), 400
    new_scope = int(form.organisation.data) if form.organisation.data else None
    try:
        check_scope(account.roles, new_scope)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".show", account_id=account.id))
    before, account.organisation_id = scope_label(db(), account.organisation_id), new_scope
    after = scope_label(db(), new_scope)
    audit.record("account.scope", account.username, before=before, after=after)
    flash(f"已将「{account.username}」的所辖组织设为{after}。", "success")
    return redirect(url_for(".show", account_id=account.id))


@bp.post("/<int:account_id>/ticketing")
@role_required("admin")
def ticketing(account_id: int) -> Any:
    """The department whose tickets a caseworker sees, and the supervisor told when theirs are overdue."""
    account = get_or_404(account_id)
    form = ticketing_form(account)
    if not form.validate_on_submit():
        return account_page(account, ticket_form=form), 400
    before = {"department": account.department, "supervisor": supervisor_name(account.supervisor_id)}
    account.department = form.department.data or None
    account.supervisor_id = int(form.supervisor.data) if form.supervisor.data else None
    after = {"department": account.department, "supervisor": supervisor_name(account.supervisor_id)}
    audit.record("account.ticketing", account.username, before=before, after=after)
    flash(f"已更新「{account.username}」的部门和主管。", "success")
    return redirect(url_for(".show", account_id=account.id))


def supervisor_name(account_id: int | None) -> str | None:
    found = db().get(Account, account_id) if account_id else None
    return found.username if found else None


def set_active(account_id: int, active: bool) -> Response:
    """Disable (ending its sessions) or enable an account."""
    account = get_or_404(account_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        guard_last_admin(db(), account, active)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".show", account_id=account.id))
    account.active = active
    account.session_version += 0 if active else 1
    if not active:
        sessions.end_all(db(), account.id, "disabled")
    audit.record("account.enable" if active else "account.disable", account.username)
    flash(f"已{'启用' if active else '停用'}账号「{account.username}」。", "success")
    return redirect(url_for(".show", account_id=account.id))


@bp.post("/<int:account_id>/disable")
@role_required("admin")
def disable(account_id: int) -> Response:
    return set_active(account_id, False)


@bp.post("/<int:account_id>/enable")
@role_required("admin")
def enable(account_id: int) -> Response:
    return set_active(account_id, True)


@bp.post("/<int:account_id>/password")
@role_required("admin")
def reset_password(account_id: int) -> Any:
    """Set a temporary password; the owner must choose a new one at the next sign-in."""
    account = get_or_404(account_id)
    form = ResetPasswordForm()
    form.owner = account.username
    if not form.validate_on_submit():
        return account_page(account, reset_form=form), 400
    set_password(account, form.password.data, must_change=True)
    audit.record("account.reset_password", account.username)
    flash(f"已重置「{account.username}」的密码，对方下次登录时需修改。", "success")
    return redirect(url_for(".show", account_id=account.id))
