"""The /console blueprint tree: CSRF check, account loading, security headers and error pages around the views."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.console import accounts, audit, auth, followers, home, nav
from bot.console.forms import ActionForm
from bot.console.web import close_db, current, load_account
from bot.core.accounts import ROLES
from bot.core.clock import TZ  # times are stored in UTC and shown in China time

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()  # checked by before() on every console POST (WTF_CSRF_CHECK_DEFAULT is off elsewhere)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # methods that change nothing and need no CSRF token
# Sent with every console page: no framing, no third-party anything, nothing cached.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
ERRORS = {  # status → (title, explanation) of the error page
    400: ("请求无效", "提交的内容无法处理，请返回重试。"),
    403: ("没有权限", "你的账号没有打开此页面的权限。如需开通，请联系管理员。"),
    404: ("页面不存在", "找不到这个页面，可能已被删除或地址有误。"),
}

SHELL = (auth.bp, home.bp, accounts.bp, audit.bp, followers.bp)  # the shell's own pages; features add theirs


def add_pages(children: list[Blueprint]) -> None:
    """The shell's pages and the features' as children of /console (once per process: the tree is module-level)."""
    if bp._got_registered_once:  # an app of this process registered the tree already (tests build many apps)
        return
    for child in (*SHELL, *children):
        if child.name not in bp_children():
            bp.register_blueprint(child)


def bp_children() -> set[str]:
    """Names of the child blueprints registered so far."""
    return {child.name for child, _ in bp._blueprints}


@bp.before_request
def before() -> None:
    """CSRF token on every change, then the signed-in account into g."""
    if request.endpoint == "console.static":
        return
    if request.method not in SAFE_METHODS:
        csrf.protect()
    load_account()


@bp.after_request
def headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.teardown_request
def teardown(exc: BaseException | None = None) -> None:
    close_db(exc)


def error_page(status: int, detail: str | None = None) -> tuple[str, int]:
    title, text = ERRORS[status]
    return render_template("console/error.html", status=status, title=title, text=detail or text), status


@bp.errorhandler(CSRFError)
def csrf_refused(_exc: CSRFError) -> tuple[str, int]:
    return error_page(400, "页面已过期或表单来源无法验证（CSRF 校验未通过）。请刷新页面后重新提交。")


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def http_error(exc: Any) -> tuple[str, int]:
    return error_page(exc.code)


@bp.context_processor
def context() -> dict[str, Any]:
    """What every console template may use: the account, role names, a logout form, the features' nav links."""
    me = current()
    links = current_app.extensions.get("console_nav", [])
    return {
        "me": me,
        "role_names": ROLES,
        "logout_form": ActionForm(),
        "nav_links": (lambda: nav.visible(links, me)) if me else list,
        "nav_current": nav.current,
    }


@bp.app_template_filter("console_time")
def console_time(value: datetime | None) -> str:
    """A stored UTC time as China time, e.g. 2026-11-21 22:04 ('—' when unset)."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("console_value")
def console_value(value: Any) -> str:
    """An audit detail as text: strings as they are, lists and numbers as JSON (Chinese kept readable)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
