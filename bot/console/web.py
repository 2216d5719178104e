"""Request helpers for the console views: the request's database session, the signed-in account (checked against its
server-side session row on every request), role guards."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from bot.console import sessions
from bot.core.accounts import Account
from bot.core.services import Services

SESSION_IDLE = timedelta(hours=2)  # a session unused this long expires (PERMANENT_SESSION_LIFETIME)
SESSION_MAX = timedelta(hours=12)  # a session older than this expires however busy it is
PASSWORD_EXEMPT = {"console.auth.password", "console.auth.logout"}  # open while a new password is due

View = TypeVar("View", bound=Callable[..., Any])


def services() -> Services:
    """The current app's services (inside a request or app context; create_app attached them)."""
    return current_app.extensions["bot"]


def db() -> Session:
    """The request's database session (closed when the request ends)."""
    if "console_db" not in g:
        g.console_db = services().sessions()
    return g.console_db


def close_db(_exc: BaseException | None = None) -> None:
    session_ = g.pop("console_db", None)
    if session_ is not None:
        session_.close()


def client_ip() -> str:
    return request.remote_addr or "-"


def current() -> Account | None:
    """The signed-in account of this request, if any (loaded by load_account)."""
    return g.get("account")


def sign_in(account: Account) -> None:
    """Start a fresh session for `account` (a new cookie and a new server-side row: nothing of the old one survives)."""
    old = session.get("sid")
    if old:
        sessions.end(db(), old, "replaced")
    session.clear()
    session.permanent = True
    session.update(uid=account.id, ver=account.session_version, sid=sessions.start(db(), account.id), since=time.time())
    db().commit()
    g.account = account


def sign_out(reason: str) -> None:
    """End this request's session on the server and clear the cookie."""
    sid = session.get("sid")
    if sid:
        sessions.end(db(), sid, reason)
        db().commit()
    session.clear()
    g.account = None


def load_account() -> None:
    """Before each console request: the account from the session, if its server-side row is live, into g.account.

    No row, an ended row or a database that cannot be read opens nothing (the cookie alone is never enough)."""
    g.account = None
    uid, ver, sid, since = session.get("uid"), session.get("ver"), session.get("sid"), session.get("since", 0)
    if uid is None:
        return
    account = db().get(Account, uid)
    expired = time.time() - float(since) > SESSION_MAX.total_seconds()
    live = sid and not expired and sessions.find(db(), str(sid), int(uid), SESSION_IDLE, SESSION_MAX)
    if account is None or not account.active or account.session_version != ver or not live:
        session.clear()
        return
    g.account = account


def login_required(view: View) -> View:
    """Signed-in accounts only; others go to the login page (and come back after)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        account = current()
        if account is None:
            return redirect(url_for("console.auth.login", next=request.full_path.rstrip("?")))
        if account.must_change_password and request.endpoint not in PASSWORD_EXEMPT:
            flash("管理员重置了你的密码，请先设置新密码。", "warning")
            return redirect(url_for("console.auth.password"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(*roles: str) -> Callable[[View], View]:
    """Signed-in accounts holding one of `roles` (admin holds all); others get the 403 page."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def check(*args: Any, **kwargs: Any) -> Any:
            account = current()
            if account is not None and not account.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return login_required(check)  # type: ignore[return-value]

    return decorate
