"""Signing in and out of the console: passwords, the lockout, CSRF, session cookies, own password changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.console.web import SESSION_MAX
from bot.core.accounts import Account, AuditEntry
from bot.core.errors import AppendOnlyError
from tests.console.console_helpers import PASSWORD, csrf_token, login, submit

MAX_FAILURES = 5  # config.yaml console.login_max_failures


def entries(services, action: str | None = None) -> list[AuditEntry]:
    with services.sessions() as db:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(db.execute(query).scalars())


def test_anonymous_visitor_is_sent_to_login(client):
    res = client.get("/console/followers/")
    assert res.status_code == 302
    assert res.headers["Location"] == "/console/login?next=/console/followers/"


def test_login_opens_the_dashboard_and_is_audited(client, make_account, services):
    make_account("root", "admin")
    res = login(client, "root", follow_redirects=True)
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and "你好，root" in page and "已关注粉丝" in page
    [entry] = entries(services, "login")
    assert (entry.actor, entry.ip) == ("root", "127.0.0.1")


def test_login_returns_to_the_page_asked_for_but_never_off_site(client, make_account):
    make_account("root", "admin")
    url = "/console/login?next=/console/audit/"
    res = submit(client, url, {"username": "root", "password": PASSWORD})
    assert res.headers["Location"] == "/console/audit/"
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    url = "/console/login?next=//evil.example/console"
    res = submit(client, url, {"username": "root", "password": PASSWORD})
    assert res.headers["Location"] == "/console/"


def test_wrong_password_and_unknown_user_look_the_same(client, make_account, services):
    make_account("root", "admin")
    bad = login(client, "root", "wrong password")
    unknown = login(client, "nobody", "wrong password")
    for res in (bad, unknown):
        assert res.status_code == 401
        assert "用户名或密码错误" in res.get_data(as_text=True)
    assert [e.target for e in entries(services, "login.failed")] == ["root", "nobody"]
    assert client.get("/console/").status_code == 302


def test_five_failures_lock_the_username_on_this_ip(client, make_account, services):
    make_account("root", "admin")
    for _ in range(MAX_FAILURES - 1):
        assert login(client, "root", "guess").status_code == 401
    fifth = login(client, "root", "guess")
    assert fifth.status_code == 429
    assert "登录失败次数过多" in fifth.get_data(as_text=True)
    right = login(client, "root")  # even the right password waits out the lockout
    assert right.status_code == 429
    assert "15 分钟后再试" in right.get_data(as_text=True)
    assert len(entries(services, "login.locked")) == 1
    other_ip = login(client, "root", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 302  # the lockout is per username + IP
    assert services.redis.ttl("console:login-fail:root:127.0.0.1") > 800


def test_disabled_account_cannot_sign_in(client, make_account):
    make_account("old", "editor", active=False)
    res = login(client, "old")
    assert res.status_code == 403 and "已停用" in res.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, make_account, services):
    make_account("root", "admin")
    res = client.post("/console/login", data={"username": "root", "password": PASSWORD})
    assert res.status_code == 400
    assert "CSRF" in res.get_data(as_text=True)
    assert entries(services) == []
    login(client, "root")
    res = client.post("/console/accounts/new", data={"username": "evil", "password": "x" * 12, "confirm": "x" * 12})
    assert res.status_code == 400
    with services.sessions() as db:
        assert db.execute(select(Account.username)).scalars().all() == ["root"]


def test_logout_ends_the_session(admin, services):
    res = admin.post("/console/logout", data={"csrf_token": csrf_token(admin, "/console/")})
    assert res.headers["Location"] == "/console/login"
    assert admin.get("/console/").status_code == 302
    assert [e.action for e in entries(services)] == ["login", "logout"]


def test_session_cookie_is_http_only_and_lax(client, make_account):
    make_account("root", "admin")
    cookie = login(client, "root").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # testing runs over plain HTTP


PRODUCTION = {
    "BOT_ENV": "production",
    "WECHAT_TOKEN": "prodtoken",
    "WECHAT_APPID": "wx0123456789abcdef",
    "WECHAT_SECRET": "s",
    "SECRET_KEY": "a-long-production-secret-of-32-bytes-or-more",
}


@pytest.mark.config(env=PRODUCTION)
def test_production_cookie_is_secure(client, make_account):
    make_account("root", "admin")
    assert "Secure" in login(client, "root").headers["Set-Cookie"]


def test_own_password_change_keeps_this_session_and_ends_others(client, app, make_account, services):
    make_account("wang", "editor")
    other = app.test_client()
    login(other, "wang")
    login(client, "wang")
    res = submit(
        client, "/console/password", {"current": PASSWORD, "password": "a new secret 7", "confirm": "a new secret 7"}
    )
    assert res.headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    assert other.get("/console/").status_code == 302
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert login(client, "wang", "a new secret 7").status_code == 302
    assert "password.change" in [e.action for e in entries(services)]


def test_own_password_change_checks_the_form(editor):
    res = submit(
        editor, "/console/password", {"current": "nope", "password": "a new secret 7", "confirm": "a new secret 7"}
    )
    assert "当前密码不正确" in res.get_data(as_text=True)
    res = submit(editor, "/console/password", {"current": PASSWORD, "password": "a new secret 7", "confirm": "other"})
    assert "两次输入的密码不一致" in res.get_data(as_text=True)
    res = submit(editor, "/console/password", {"current": PASSWORD, "password": "short", "confirm": "short"})
    assert "密码至少需要 12 个字符" in res.get_data(as_text=True)
    res = submit(editor, "/console/password", {"current": PASSWORD, "password": "wang", "confirm": "wang"})
    assert "密码至少需要" in res.get_data(as_text=True)
    assert login(editor.application.test_client(), "wang").status_code == 302  # unchanged


def test_session_older_than_the_maximum_ends(editor):
    with editor.session_transaction() as sess:
        sess["since"] -= SESSION_MAX.total_seconds() + 1
    assert editor.get("/console/").status_code == 302


def test_audit_entries_cannot_be_changed_or_deleted(editor, services):
    with services.sessions() as db:
        entry = db.execute(select(AuditEntry)).scalars().first()
        entry.action = "nothing happened"
        with pytest.raises(AppendOnlyError):
            db.commit()
        db.rollback()
        db.delete(db.get(AuditEntry, entry.id))
        with pytest.raises(AppendOnlyError):
            db.commit()
