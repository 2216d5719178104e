"""Signing in and out of the console, with the login limiter and the bound on password checks, and changing one's
own password."""

from __future__ import annotations

import math
from typing import Any

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.accounts import by_username, set_password
from bot.console.forms import ActionForm, LoginForm, OwnPasswordForm
from bot.console.security import (
    Limit,
    LoginLimiter,
    LoginRules,
    gate,
    hash_password,
    needs_rehash,
    safe_next,
    verify_password,
)
from bot.console.web import client_ip, current, db, login_required, services, sign_in, sign_out
from bot.core.accounts import Account
from bot.core.database import utcnow
from bot.core.errors import LoginBusy

bp = Blueprint("auth", __name__)
BAD_LOGIN = "用户名或密码错误"  # the same message whether the username exists or not
DISABLED = "该账号已停用，请联系管理员。"  # shown only to someone who typed the right password
BUSY = "登录的人太多，系统繁忙，请稍后再试。"  # every password-check slot stayed taken, or Redis did not answer
LOCKED = {  # the limit reached → what the login page says
    "user": "登录失败次数过多，该账号已在此设备上锁定，请 {} 分钟后再试。",
    "address": "此网络地址登录失败次数过多，已暂时锁定，请 {} 分钟后再试。",
    "global": "近期登录失败次数异常，登录已暂停，请 {} 分钟后再试。",
}


def rules() -> LoginRules:
    return LoginRules.read(services().settings.console)


def limiter() -> LoginLimiter:
    return LoginLimiter(services().redis, rules())


def locked_message(limit: Limit) -> str:
    return LOCKED[limit.scope or "user"].format(max(1, math.ceil(limit.retry_after / 60)))


def password_matches(account: Account | None, password: str) -> bool:
    """The Argon2 check, holding one of this process's few slots (LoginBusy if none frees up soon)."""
    cfg = rules()
    gate.resize(cfg.password_checks)
    with gate.slot(cfg.password_check_wait):
        return verify_password(account.password_hash if account else None, password)


def check_login(username: str, password: str) -> tuple[Account | None, str, int]:
    """The account if the password matches and it may sign in, else the message and status to show."""
    lim = limiter().status(username, client_ip())
    if lim.locked:
        audit.record("login.locked", username, actor_name=username, scope=lim.scope)
        return None, locked_message(lim), 429
    account = by_username(db(), username)
    if password_matches(account, password) and account:
        if account.active:
            return account, "", 200
        audit.record("login.failed", username, actor_name=username, reason="disabled")
        return None, DISABLED, 403
    failed = limiter().fail(username, client_ip())
    audit.record("login.failed", username, actor_name=username, reason="password", failures=failed.failures)
    if failed.locked:
        return None, locked_message(failed), 429
    return None, BAD_LOGIN, 401


def finish_login(account: Account, password: str) -> None:
    """Clear the failure count, upgrade an old hash, remember the time, start the session."""
    limiter().clear(account.username, client_ip())
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = utcnow()
    sign_in(account)
    audit.record("login", account.username)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; after signing in, back to where the user was going."""
    if current() is not None:
        return redirect(url_for("console.home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            account, problem, status = check_login(form.username.data.strip(), form.password.data)
        except (LoginBusy, redis.RedisError):
            account, problem, status = None, BUSY, 503
        if account is not None:
            finish_login(account, form.password.data)
            return redirect(safe_next(request.args.get("next"), url_for("console.home.index")))
        flash(problem, "locked" if status == 429 else "error")
        return render_template("console/login.html", form=form), status
    return render_template("console/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    if current() is not None:
        audit.record("logout", current().username)
    sign_out("logout")
    flash("你已退出登录。", "success")
    return redirect(url_for(".login"))


def check_current(account: Account, password: str) -> tuple[str, int]:
    """The own-password form's current password: ("", 200) if right; wrong ones count like failed logins."""
    lim = limiter().status(account.username, client_ip())
    if lim.locked:
        return locked_message(lim), 429
    if password_matches(account, password):
        return "", 200
    limiter().fail(account.username, client_ip())
    return "当前密码不正确", 200


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Change one's own password (required after an admin's reset); other sessions end."""
    account = current()
    form = OwnPasswordForm()
    form.owner = account.username
    if form.validate_on_submit():
        try:
            problem, status = check_current(account, form.current.data)
        except (LoginBusy, redis.RedisError):
            problem, status = BUSY, 503
        if status != 200:
            flash(problem, "locked" if status == 429 else "error")
            return render_template("console/password.html", form=form, forced=account.must_change_password), status
        if problem:
            form.current.errors.append(problem)
        else:
            set_password(account, form.password.data, must_change=False)
            audit.record("password.change", account.username)
            sign_in(account)
            flash("密码已修改。", "success")
            return redirect(url_for("console.home.index"))
    return render_template("console/password.html", form=form, forced=account.must_change_password)
