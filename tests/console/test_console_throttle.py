"""Login throttling: per username + address, per address (password spraying), overall; and the bound on how many
Argon2 password checks (64 MiB each) run at once in one process."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from bot.console.security import gate
from bot.core.accounts import AuditEntry
from tests.console.console_helpers import PASSWORD, login, submit
from tests.console.security_helpers import flashed, http_login

SPRAYER = "10.1.1.1"


def locked_scopes(services: Any) -> list[str]:
    with services.sessions() as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "login.locked").order_by(AuditEntry.id))
        return [r.details.get("scope") for r in rows]


def test_spraying_many_usernames_from_one_address_is_blocked(client: Any, make_account: Any, services: Any):
    make_account("root", "admin")
    limit = services.settings.section("console")["login_address_max_failures"]
    codes = [
        login(client, f"user{i}", "Spring2026!", environ_base={"REMOTE_ADDR": SPRAYER}).status_code for i in range(40)
    ]
    assert codes[: limit - 1] == [401] * (limit - 1)
    assert codes[limit - 1 :] == [429] * (40 - limit + 1)  # blocked after the limit, whatever the username
    right = login(client, "root", environ_base={"REMOTE_ADDR": SPRAYER})
    assert right.status_code == 429 and "此网络地址登录失败次数过多" in flashed(right)
    assert "address" in locked_scopes(services)
    assert login(client, "root", environ_base={"REMOTE_ADDR": "10.1.1.2"}).status_code == 302  # others still sign in


@pytest.mark.config(console={"login_global_max_failures": 6, "login_address_max_failures": 50})
def test_failures_from_everywhere_together_hit_the_global_limit(client: Any, make_account: Any, services: Any):
    make_account("root", "admin")
    for i in range(5):
        assert login(client, f"guess{i}", "wrong guess", environ_base={"REMOTE_ADDR": f"10.2.0.{i}"}).status_code == 401
    assert login(client, "guess5", "wrong guess", environ_base={"REMOTE_ADDR": "10.2.0.5"}).status_code == 429
    res = login(client, "root", environ_base={"REMOTE_ADDR": "10.2.0.99"})  # a new address, the right password
    assert res.status_code == 429 and "登录已暂停" in flashed(res)
    assert locked_scopes(services)[-1] == "global"


def test_the_username_lockout_still_counts_per_address(client: Any, make_account: Any, services: Any):
    make_account("root", "admin")
    limit = services.settings.section("console")["login_max_failures"]
    for _ in range(limit - 1):
        assert login(client, "root", "nope nope").status_code == 401
    res = login(client, "root", "nope nope")
    assert res.status_code == 429 and "该账号已在此设备上锁定" in flashed(res)


@pytest.mark.config(console={"password_checks": 2, "password_check_wait": 60})
def test_concurrent_logins_never_run_more_password_checks_than_the_bound(live: str, make_account: Any):
    make_account("root", "admin")
    gate.resize(2)
    gate.peak = 0
    results: list[int] = []
    start = threading.Barrier(8)

    def one() -> None:
        start.wait()
        results.append(http_login(live, "root").status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == [302] * 8  # all signed in, in turns
    assert 1 <= gate.peak <= 2  # measured by the gate's own counter, in the server's process
    assert gate.running == 0


@pytest.mark.config(console={"password_checks": 1, "password_check_wait": 0.2})
def test_a_login_that_finds_no_free_check_is_told_to_try_again(client: Any, make_account: Any, services: Any):
    make_account("root", "admin")
    gate.resize(1)
    with gate.slot(1):  # another login is checking its password
        res = login(client, "root")
    assert res.status_code == 503 and "系统繁忙，请稍后再试" in flashed(res)
    assert services.redis.keys("console:login-fail*") == []  # not counted as a failure
    assert login(client, "root").status_code == 302  # once the slot is free


def test_guessing_the_current_password_on_the_own_password_form_is_limited(editor: Any, services: Any):
    limit = services.settings.section("console")["login_max_failures"]
    new = {"password": "lantern orchard 58", "confirm": "lantern orchard 58"}
    for _ in range(limit):
        res = submit(editor, "/console/password", {"current": "a wrong guess", **new})
        assert "当前密码不正确" in res.get_data(as_text=True)
    res = submit(editor, "/console/password", {"current": PASSWORD, **new})
    assert res.status_code == 429 and "登录失败次数过多" in flashed(res)
    assert login(editor.application.test_client(), "wang").status_code == 429  # this address waits to sign in too
