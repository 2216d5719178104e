"""Accounts and roles: admins manage accounts, other roles get the 403 page; every change is in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.accounts import Account, AuditEntry
from tests.console.console_helpers import PASSWORD, csrf_token, login, submit

NEW_PASSWORD = "first secret 1"  # the password an admin gives a new account


def account(services, username: str) -> Account:
    with services.sessions() as db:
        return db.execute(select(Account).where(Account.username == username)).scalar_one()


def last_entry(services) -> AuditEntry:
    with services.sessions() as db:
        return db.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()


@pytest.mark.parametrize("url", ["/console/accounts/", "/console/accounts/new", "/console/audit/"])
def test_editor_gets_the_403_page_for_admin_pages(editor, url):
    res = editor.get(url)
    assert res.status_code == 403
    assert "没有权限" in res.get_data(as_text=True)


def test_editor_sees_no_admin_links_and_cannot_post_admin_forms(editor, make_account):
    other = make_account("li", "reviewer")
    page = editor.get("/console/").get_data(as_text=True)
    assert "审计日志" not in page and "/console/accounts/" not in page
    token = csrf_token(editor, "/console/")
    res = editor.post(f"/console/accounts/{other}/roles", data={"csrf_token": token, "roles": ["admin"]})
    assert res.status_code == 403


def test_admin_creates_an_account_who_must_then_change_password(admin, app, services):
    res = submit(
        admin,
        "/console/accounts/new",
        {"username": "zhang", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "roles": ["editor", "reviewer"]},
    )
    assert res.status_code == 302
    made = account(services, "zhang")
    assert made.roles == ["editor", "reviewer"] and made.must_change_password
    entry = last_entry(services)
    assert (entry.actor, entry.action, entry.target, entry.details) == (
        "root",
        "account.create",
        "zhang",
        {"roles": ["editor", "reviewer"]},
    )
    page = admin.get("/console/accounts/").get_data(as_text=True)
    assert "zhang" in page and "编辑" in page and "审核" in page and "待改密码" in page

    newcomer = app.test_client()
    login(newcomer, "zhang", NEW_PASSWORD)
    res = newcomer.get("/console/followers/")
    assert res.headers["Location"] == "/console/password"
    submit(
        newcomer,
        "/console/password",
        {"current": NEW_PASSWORD, "password": "my own secret", "confirm": "my own secret"},
    )
    assert newcomer.get("/console/followers/").status_code == 200


def test_account_form_refuses_bad_input(admin, make_account):
    make_account("taken", "editor")
    res = submit(
        admin, "/console/accounts/new", {"username": "taken", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert "已被使用" in res.get_data(as_text=True)
    res = submit(admin, "/console/accounts/new", {"username": "a b", "password": "short", "confirm": "other"})
    page = res.get_data(as_text=True)
    assert "用户名为 3–32 个字母" in page and "密码至少需要 12 个字符" in page and "两次输入的密码不一致" in page


def test_admin_changes_roles_and_it_takes_effect_at_once(admin, app, services, make_account):
    wang = make_account("wang", "editor")
    other = app.test_client()
    login(other, "wang")
    assert other.get("/console/audit/").status_code == 403
    res = submit(admin, f"/console/accounts/{wang}", {"roles": ["editor", "admin"]}, f"/console/accounts/{wang}/roles")
    assert res.status_code == 302
    entry = last_entry(services)
    assert (entry.action, entry.target, entry.details) == (
        "account.roles",
        "wang",
        {"before": ["editor"], "after": ["admin", "editor"]},
    )
    assert other.get("/console/audit/").status_code == 200


def test_admin_cannot_lock_themself_out(admin, services):
    root = account(services, "root").id
    res = submit(
        admin,
        f"/console/accounts/{root}",
        {"roles": ["editor"]},
        f"/console/accounts/{root}/roles",
        follow_redirects=True,
    )
    assert "不能取消自己的管理员角色" in res.get_data(as_text=True)
    res = submit(admin, f"/console/accounts/{root}", {}, f"/console/accounts/{root}/disable", follow_redirects=True)
    assert "不能取消自己的管理员角色或停用自己的账号" in res.get_data(as_text=True)
    assert account(services, "root").roles == ["admin"] and account(services, "root").active


def test_disabling_ends_sessions_and_enabling_restores(admin, app, services, make_account):
    wang = make_account("wang", "editor")
    other = app.test_client()
    login(other, "wang")
    submit(admin, f"/console/accounts/{wang}", {}, f"/console/accounts/{wang}/disable")
    assert other.get("/console/").status_code == 302
    assert login(other, "wang").status_code == 403
    assert last_entry(services).action == "login.failed"
    submit(admin, f"/console/accounts/{wang}", {}, f"/console/accounts/{wang}/enable")
    assert login(other, "wang").status_code == 302


def test_reset_password_forces_a_change(admin, app, services, make_account):
    wang = make_account("wang", "editor")
    res = submit(
        admin,
        f"/console/accounts/{wang}",
        {"password": "temporary pass 123", "confirm": "temporary pass 123"},
        f"/console/accounts/{wang}/password",
    )
    assert res.status_code == 302
    assert last_entry(services).action == "account.reset_password"
    other = app.test_client()
    assert login(other, "wang", PASSWORD).status_code == 401
    assert login(other, "wang", "temporary pass 123").status_code == 302
    assert other.get("/console/").headers["Location"] == "/console/password"


def test_audit_log_filters_by_user_and_action_and_pages(admin, app, make_account):
    make_account("wang", "editor")
    other = app.test_client()
    for _ in range(3):
        login(other, "wang", "bad guess")
    login(other, "wang")
    page = admin.get("/console/audit/?actor=wang&action=login.failed").get_data(as_text=True)
    assert page.count('<span class="action action-login">登录失败</span>') == 3
    assert "共 3 条" in page
    everything = admin.get("/console/audit/").get_data(as_text=True)
    assert "共 5 条" in everything  # root's login, three failures, wang's login
    stranger = app.test_client()
    for i in range(60):
        login(stranger, f"ghost{i}", "x")
    first = admin.get("/console/audit/").get_data(as_text=True)
    assert "第 1 / 2 页" in first and 'rel="next"' in first
    second = admin.get("/console/audit/?page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in second and "ghost0" not in first and "ghost0" in second
